//! `nhiscope bench rules`: the rule pack over a synthetic estate at scale. Generation is
//! skipped when the store already holds a synthetic scan, so a second run measures the
//! evaluation alone (and its peak RSS).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use nhiscope_engine::analysis::Analysis;
use nhiscope_engine::rules::RuleSet;
use nhiscope_engine::store::{ScanStatus, Snapshot};

use crate::cli::BenchAction;

/// Peak resident set size of this process, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn run(
    action: BenchAction,
    rules: &RuleSet,
    store_path: &std::path::Path,
    now: i64,
) -> Result<ExitCode> {
    let BenchAction::Rules {
        identities,
        credentials,
        grants,
        concurrency,
        only,
        record,
        explain,
        memory_limit,
    } = action;
    let selected: Vec<_> = rules
        .rules
        .iter()
        .filter(|r| only.as_deref().is_none_or(|o| r.id.contains(o)))
        .cloned()
        .collect();
    let mut store = super::open_store(store_path, memory_limit.as_deref())?;
    let existing = store
        .scans(Some("synthetic:100000000001"), 1)?
        .into_iter()
        .find(|s| s.status == ScanStatus::Complete);
    if existing.is_none() {
        let started = Instant::now();
        let c = store.generate_synthetic(identities, credentials, grants, now)?;
        outln!(
            "generated {} identities, {} credentials, {} grants, {} trusts in {:.1} s (store {})",
            c.identities,
            c.credentials,
            c.grants,
            c.trusts,
            started.elapsed().as_secs_f64(),
            store_path.display()
        );
        outln!("run again to measure the evaluation alone (peak RSS includes generation now)");
    }
    let runtime = super::runtime()?;
    if explain {
        return runtime.block_on(async {
            let analysis = Analysis::new(&store, Snapshot::Current, now, true).await?;
            analysis.cache_tables(&selected).await?;
            for rule in &selected {
                outln!("== {}", rule.id);
                outln!("{}", analysis.explain_analyze(rule).await?);
            }
            Ok(ExitCode::SUCCESS)
        });
    }
    let started = Instant::now();
    let (eval, setup) = runtime.block_on(async {
        let analysis = Analysis::new(&store, Snapshot::Current, now, true)
            .await?
            .with_concurrency(concurrency);
        let setup = started.elapsed();
        anyhow::Ok((analysis.evaluate(&store, &selected).await?, setup))
    })?;
    let total = started.elapsed();
    let mut runs = eval.runs.clone();
    runs.sort_by_key(|r| std::cmp::Reverse(r.millis));
    outln!(
        "evaluated {} rules: {} findings in {:.2} s (derived tables {:.2} s), peak RSS {:.0} MiB",
        eval.runs.len(),
        eval.findings,
        total.as_secs_f64(),
        setup.as_secs_f64(),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    for r in runs
        .iter()
        .take(if only.is_some() { runs.len() } else { 8 })
    {
        outln!(
            "  {:<14} {:>6} ms  {:>8} findings{}",
            r.rule_id,
            r.millis,
            r.findings,
            r.error
                .as_deref()
                .map(|e| format!("  ERROR {e}"))
                .unwrap_or_default()
        );
    }
    if record {
        let started = Instant::now();
        let summary = store.record_evaluation(&eval)?;
        outln!(
            "recorded the lifecycle in {:.2} s ({} opened, {} resolved), peak RSS {:.0} MiB",
            started.elapsed().as_secs_f64(),
            summary.opened,
            summary.resolved,
            peak_rss_mib().unwrap_or(f64::NAN)
        );
    }
    Ok(if eval.failed().count() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
