//! `nhiscope demo`: loads the bundled demo estate as two labelled snapshots and prints the
//! inventory summary. The demo has its own source, so it never mixes with real scans.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use nhiscope_engine::model::Stamp;
use nhiscope_engine::store::{CollectorRecord, InventoryFilter, Snapshot};
use nhiscope_engine::time::DAY;
use nhiscope_engine::Store;

use nhiscope_engine::rules::RuleSet;

use crate::cli::{DemoArgs, Format};
use crate::config::Config;
use crate::demo_estate;
use crate::output;

/// Loads the demo estate into `store`: a snapshot a week ago and one now. Returns scan ids.
pub fn load(store: &mut Store, now: i64) -> Result<(i64, i64)> {
    let mut ids = Vec::new();
    for (at, later) in [(now - 7 * DAY, false), (now, true)] {
        let rows = demo_estate::estate(now, at, later);
        let id = store.begin_scan(demo_estate::SOURCE, "aws", demo_estate::ACCOUNT, at)?;
        let stamp = Stamp {
            scan_id: id,
            collector: demo_estate::COLLECTOR.into(),
            provider: "aws".into(),
            tenant: demo_estate::ACCOUNT.into(),
        };
        store.write_collection(&stamp, &rows)?;
        store.record_collector(
            id,
            &CollectorRecord::ok(demo_estate::COLLECTOR, &rows, 0, 0),
        )?;
        store.finish_scan(id, at + 1_000_000, Some(0), Some("{\"demo\":true}"))?;
        ids.push(id);
    }
    Ok((ids[0], ids[1]))
}

pub fn run(
    args: &DemoArgs,
    store_path: &Path,
    config: &Config,
    rules: &RuleSet,
    now: i64,
) -> Result<ExitCode> {
    if args.fresh && store_path.exists() {
        std::fs::remove_file(store_path)
            .with_context(|| format!("cannot remove {}", store_path.display()))?;
        let _ = std::fs::remove_file(store_path.with_extension("duckdb.wal"));
    }
    let mut store =
        Store::open(store_path).with_context(|| format!("store {}", store_path.display()))?;
    let (before, after) = load(&mut store, now)?;
    outln!(
        "DEMO DATA — a fictitious AWS account (source {}), not a scan of yours.",
        demo_estate::SOURCE
    );
    outln!("Store: {}\n", store_path.display());
    output::batches(Format::Table, &store.summary(Snapshot::Current)?)?;
    let unowned = store.inventory(&InventoryFilter {
        has_owner: Some(false),
        kind: Some("user".into()),
        tenant: Some(demo_estate::ACCOUNT.into()),
        limit: Some(5),
        ..Default::default()
    })?;
    outln!("\nUsers without an owner candidate (first 5):");
    output::batches(Format::Table, &unowned)?;
    let diff = store.diff(before, after)?;
    outln!(
        "\nChanges during the demo week (scan {before} → {after}): {} differences",
        diff.entries.len()
    );
    let (eval, summary) = super::evaluate::evaluate_current(&mut store, rules, config, now)?;
    outln!();
    super::evaluate::print_summary(&eval, &summary)?;
    super::evaluate::print_counts(&store, now)?;
    let top = store.findings(
        &nhiscope_engine::store::FindingFilter {
            limit: Some(8),
            ..Default::default()
        },
        now,
    )?;
    super::findings::print(&top, crate::cli::FindingFormat::Table, rules)?;
    let store_flag = format!("--store {}", store_path.display());
    let serve = args.serve || (!args.no_serve && std::io::stdout().is_terminal());
    if serve {
        outln!("\nAlso try: nhiscope {store_flag} inventory --search ci-deploy   (after stopping the dashboard)");
        return super::serve::serve(store, rules, &args.bind, None, now);
    }
    outln!("\nNext:\n  nhiscope {store_flag} serve   # the dashboard\n  nhiscope {store_flag} inventory --search ci-deploy\n  nhiscope {store_flag} inventory --credentials --kind access_key\n  nhiscope {store_flag} scans diff {before} {after}\n  nhiscope {store_flag} findings --severity high\n  duckdb {}   # the store opens in the DuckDB CLI", store_path.display());
    Ok(ExitCode::SUCCESS)
}
