//! One module per subcommand; [`run`] dispatches.

mod bench;
mod bench_ingest;
pub(crate) mod bench_web;
mod demo;
mod evaluate;
mod findings;
mod ingest;
mod inventory;
mod rules;
mod scan;
mod scans;
pub(crate) mod serve;
mod trace;
pub(crate) mod user;

use std::process::ExitCode;

use anyhow::{Context, Result};
use nhiscope_engine::store::Snapshot;
use nhiscope_engine::Store;

use crate::cli::{BenchCommand, Cli, Command, SnapshotArgs};
use crate::config::Config;

/// Exit code when a scan was partial or failed (the data that was collected is stored).
pub const EXIT_PARTIAL: u8 = 2;
/// Exit code when `--fail-on` finds an open finding at or above the threshold.
pub const EXIT_FINDINGS: u8 = 3;

/// Opens (creating or migrating) the store at `path`, with DuckDB's memory capped at `limit`
/// when one is given (`--memory-limit`); errors name the store or the flag.
pub(crate) fn open_store(path: &std::path::Path, limit: Option<&str>) -> Result<Store> {
    let store = Store::open(path).with_context(|| format!("store {}", path.display()))?;
    if let Some(limit) = limit {
        store
            .set_memory_limit(limit)
            .with_context(|| format!("--memory-limit {limit}"))?;
    }
    Ok(store)
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    let store_path = config.store_path(cli.store.as_deref());
    let open = || -> Result<Store> {
        Store::open(&store_path).with_context(|| format!("store {}", store_path.display()))
    };
    let read = || -> Result<Store> {
        Store::open_read_only(&store_path)
            .with_context(|| format!("store {}", store_path.display()))
    };
    let now = match &cli.now {
        Some(text) => nhiscope_engine::time::parse(text)
            .with_context(|| format!("--now {text:?}: expected RFC 3339 or a date"))?,
        None => now(),
    };
    let rule_set = || rules::load(&config, &cli.rules_dirs);
    match cli.command {
        Command::Scan { provider } => {
            scan::run(provider, &config, open()?, cli.quiet, &rule_set, now)
        }
        Command::Rules { action } => rules::run(action, &config, &cli.rules_dirs, now),
        Command::Evaluate(args) => evaluate::run(&args, &config, &rule_set()?, &store_path, now),
        Command::Findings(args) => findings::run(&args, &rule_set()?, &store_path, now),
        Command::Ingest(args) => ingest::run(&args, open()?, cli.quiet, now),
        Command::Trace(args) => trace::run(&args, &read()?, now),
        Command::Bench {
            action: BenchCommand::Rules(action),
        } => bench::run(action, &rule_set()?, &store_path, now),
        Command::Bench {
            action: BenchCommand::Ingest(args),
        } => bench_ingest::run(&args, now),
        Command::Inventory(args) => {
            let snapshot = snapshot(&args.snapshot)?;
            inventory::run(&args, snapshot, &read()?)
        }
        Command::Scans { action } => scans::run(action, &read()?),
        Command::Demo(args) => demo::run(&args, &store_path, &config, &rule_set()?, now),
        Command::Serve(args) => serve::run(&args, &store_path, &rule_set()?, now),
        Command::User { action } => user::run(&action, &store_path, now),
        Command::BenchWeb(args) => bench_web::run(&args, &store_path, &rule_set()?, now),
    }
}

/// The current time in micros: the one place the CLI reads the clock.
pub fn now() -> i64 {
    nhiscope_engine::time::from_datetime(chrono::Utc::now())
}

/// A runtime for the async parts (scanners, DataFusion).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Resolves `--as-of` / `--scan` into a snapshot selection.
pub fn snapshot(args: &SnapshotArgs) -> Result<Snapshot> {
    if let Some(id) = args.scan {
        return Ok(Snapshot::Scan(id));
    }
    match &args.as_of {
        None => Ok(Snapshot::Current),
        Some(text) => nhiscope_engine::time::parse(text)
            .map(Snapshot::AsOf)
            .with_context(|| format!("--as-of {text:?}: expected RFC 3339 (2026-01-31T12:00:00Z) or a date (2026-01-31)")),
    }
}
