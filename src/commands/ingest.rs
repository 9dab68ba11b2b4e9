//! `nhiscope ingest PATH...`: reads audit and access logs into the store's `events` table with
//! a progress bar, then prints what happened per format (read, ingested, duplicates,
//! quarantined) and the first quarantined records with file, line and reason. Exits 2 when an
//! input could not be read or a record was quarantined (everything else is stored).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nhiscope_engine::Store;
use nhiscope_scanners::logs::ingest::{ingest, IngestObserver, IngestOptions, IngestReport};
use nhiscope_scanners::logs::input::expand;
use nhiscope_scanners::logs::Format;

use crate::cli::{Format as Output, IngestArgs};
use crate::commands::EXIT_PARTIAL;
use crate::output;

/// One bar for the run: bytes read of all inputs (on disk) and records seen; the message names
/// the input started last (several are read at once).
struct Bar {
    bar: ProgressBar,
}

impl IngestObserver for Bar {
    fn run_started(&self, _inputs: usize, bytes: Option<u64>) {
        match bytes {
            Some(n) => {
                self.bar.set_length(n);
                self.bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
            }
            None => self.bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:.bold} {bytes} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        }
    }

    fn input_started(&self, name: &str) {
        self.bar.set_prefix(name.to_string());
    }

    fn progress(&self, bytes: u64, records: u64) {
        self.bar.set_position(bytes);
        self.bar.set_message(format!("{records} records"));
    }
}

pub fn run(args: &IngestArgs, mut store: Store, quiet: bool, now: i64) -> Result<ExitCode> {
    let format = match &args.format {
        None => None,
        Some(name) => match Format::from_name(name) {
            Some(f) => Some(f),
            None => bail!(
                "--format {name:?}: expected one of {}",
                Format::ALL.map(Format::name).join(", ")
            ),
        },
    };
    let (inputs, errors) = expand(&args.paths);
    for e in &errors {
        eprintln!("warning: {e}");
    }
    if inputs.is_empty() {
        bail!("nothing to ingest: {}", errors.join("; "));
    }
    let bar = ProgressBar::with_draw_target(
        None,
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let defaults = IngestOptions::default();
    let options = IngestOptions {
        format,
        memory_limit: Some(args.memory_limit.clone()),
        default_tenant: args.tenant.clone(),
        threads: args.threads.map_or(defaults.threads, usize::from),
        ..defaults
    };
    let mut report = ingest(
        &mut store,
        &inputs,
        &options,
        now,
        &Bar { bar: bar.clone() },
    )?;
    bar.finish_and_clear();
    // The run is a scan and may add owner candidates: keep the dashboard's summary current
    // (where a dashboard serves this store), or its pages fall back to aggregating.
    if store.has_identity_summary()? {
        store.refresh_identity_summary(now)?;
    }
    report.failed_inputs.extend(errors);
    print(&report, args.output)?;
    let t = report.total();
    Ok(if report.failed_inputs.is_empty() && t.quarantined == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PARTIAL)
    })
}

fn print(report: &IngestReport, format: Output) -> Result<()> {
    if format == Output::Json {
        return output::json(report);
    }
    if format == Output::Csv {
        let mut w = csv::Writer::from_writer(std::io::stdout().lock());
        w.write_record(["format", "read", "ingested", "duplicates", "quarantined"])?;
        for (name, c) in report.formats.iter().map(|(k, v)| (k.as_str(), v.clone())) {
            w.write_record([
                name.to_string(),
                c.read.to_string(),
                c.ingested.to_string(),
                c.duplicates.to_string(),
                c.quarantined.to_string(),
            ])?;
        }
        w.flush()?;
        return Ok(());
    }
    outln!(
        "ingest run {} ({} inputs, {} bytes read, {:.1} s, {:.0} records/s)",
        report.scan_id,
        report.inputs,
        report.bytes,
        report.seconds,
        report.total().read as f64 / report.seconds.max(1e-6)
    );
    outln!(
        "  {:<16} {:>10} {:>10} {:>10} {:>11}",
        "format",
        "read",
        "ingested",
        "duplicates",
        "quarantined"
    );
    let mut rows: Vec<(&str, _)> = report
        .formats
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    rows.push(("total", report.total()));
    for (name, c) in rows {
        outln!(
            "  {:<16} {:>10} {:>10} {:>10} {:>11}",
            name,
            c.read,
            c.ingested,
            c.duplicates,
            c.quarantined
        );
    }
    if report.owner_candidates > 0 {
        outln!(
            "  {} owner candidates from issuance events (ownership, source creator)",
            report.owner_candidates
        );
    }
    for f in &report.failed_inputs {
        outln!("  failed input: {f}");
    }
    if !report.quarantine_sample.is_empty() {
        outln!("  quarantined (first {}):", report.quarantine_sample.len());
        for q in &report.quarantine_sample {
            outln!("    {q}");
        }
    }
    Ok(())
}
