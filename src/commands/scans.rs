//! `nhiscope scans list|show|diff`.

use std::process::ExitCode;

use anyhow::Result;
use nhiscope_engine::store::ScanRecord;
use nhiscope_engine::time;
use nhiscope_engine::Store;

use crate::cli::{Format, ScansAction};
use crate::output;

fn print_scan(s: &ScanRecord, with_collectors: bool) -> Result<()> {
    outln!(
        "{:>6}  {:<28} {:<9} started {}  finished {}  calls {}",
        s.scan_id,
        s.source,
        s.status.as_str(),
        time::format(s.started_at),
        s.finished_at
            .map(time::format)
            .unwrap_or_else(|| "-".into()),
        s.api_calls
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".into()),
    );
    if with_collectors {
        for c in &s.collectors {
            outln!(
                "        {:<30} {:<6} {:>8} rows {:>7} calls {:>7} ms  {}",
                c.collector,
                c.status.as_str(),
                c.items,
                c.api_calls,
                c.duration_ms,
                c.error.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}

pub fn run(action: ScansAction, store: &Store) -> Result<ExitCode> {
    match action {
        ScansAction::List {
            source,
            limit,
            format,
        } => {
            let scans = store.scans(source.as_deref(), limit)?;
            match format {
                Format::Json => output::json(&scans)?,
                _ => {
                    if scans.is_empty() {
                        outln!("(no scans)");
                    }
                    for s in &scans {
                        print_scan(s, false)?;
                    }
                }
            }
        }
        ScansAction::Show { scan_id, format } => {
            let scan = store.scan(scan_id)?;
            match format {
                Format::Json => output::json(&scan)?,
                _ => print_scan(&scan, true)?,
            }
        }
        ScansAction::Diff { from, to, format } => {
            let diff = store.diff(from, to)?;
            match format {
                Format::Json => output::json(&diff)?,
                Format::Csv => {
                    outln!("table,change,key,columns");
                    for e in &diff.entries {
                        outln!(
                            "{},{},\"{}\",\"{}\"",
                            e.table,
                            e.change,
                            e.key.replace('"', "\"\""),
                            e.columns.join(" ")
                        );
                    }
                }
                Format::Table => {
                    outln!(
                        "diff scan {from} → scan {to}; compared collectors: {}",
                        diff.compared.join(", ")
                    );
                    if !diff.not_compared.is_empty() {
                        outln!(
                            "not compared (failed in one of the scans): {}",
                            diff.not_compared.join(", ")
                        );
                    }
                    if diff.entries.is_empty() {
                        outln!("(no differences)");
                    }
                    for e in &diff.entries {
                        let cols = if e.columns.is_empty() {
                            String::new()
                        } else {
                            format!(" [{}]", e.columns.join(", "))
                        };
                        outln!("{:<8} {:<21} {}{}", e.change, e.table, e.key, cols);
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
