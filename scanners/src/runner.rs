//! Runs a provider's collectors into one snapshot: stage by stage, collectors of a stage
//! concurrently; each outcome is written (rows + collector record) as soon as it arrives.

use std::time::Instant;

use futures::future::join_all;
use nhiscope_engine::model::Stamp;
use nhiscope_engine::store::{CollectorRecord, CollectorStatus, ScanStatus};
use nhiscope_engine::time::Micros;
use nhiscope_engine::{Store, StoreError};

use crate::collector::{Collector, Stage};

/// What is being scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// `aws:123456789012`, `demo:aws:...`: one snapshot history per source.
    pub source: String,
    pub provider: String,
    pub tenant: String,
}

/// Receives progress while a scan runs (the CLI draws progress bars from it).
pub trait ScanObserver: Send + Sync {
    fn collector_started(&self, _source: &str, _collector: &str) {}
    fn collector_finished(&self, _source: &str, _record: &CollectorRecord) {}
}

/// A no-op observer.
impl ScanObserver for () {}

/// The result of one scan.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub scan_id: i64,
    pub source: SourceInfo,
    pub status: ScanStatus,
    pub collectors: Vec<CollectorRecord>,
    pub api_calls: i64,
    pub rows: usize,
}

/// Counts API calls per collector; implemented by provider contexts.
pub trait CallCounting {
    /// Calls (attempts, including retries) made so far on behalf of `collector`.
    fn calls_of(&self, collector: &str) -> i64;
    /// All calls made so far, including those of no collector (identity checks).
    fn total_calls(&self) -> i64;
}

/// Runs `collectors` against `ctx` and records a snapshot of `source` in `store`.
/// `clock` gives the current time (a parameter, so tests control it).
pub async fn run_scan<Ctx: CallCounting + Sync>(
    store: &mut Store,
    source: &SourceInfo,
    collectors: &[Box<dyn Collector<Ctx>>],
    ctx: &Ctx,
    clock: &(dyn Fn() -> Micros + Sync),
    observer: &dyn ScanObserver,
) -> Result<ScanOutcome, StoreError> {
    let scan_id = store.begin_scan(&source.source, &source.provider, &source.tenant, clock())?;
    tracing::info!(message = "Scan started.", scan_id, source = %source.source);
    let mut records = Vec::new();
    let mut rows_written = 0usize;
    for stage in [Stage::Bulk, Stage::Dependent] {
        let of_stage: Vec<&dyn Collector<Ctx>> = collectors
            .iter()
            .map(|c| c.as_ref())
            .filter(|c| c.stage() == stage)
            .collect();
        let results = join_all(of_stage.iter().map(|c| async move {
            observer.collector_started(&source.source, c.name());
            let started = Instant::now();
            let result = c.collect(ctx).await;
            (c.name(), started.elapsed(), result)
        }))
        .await;
        for (name, elapsed, result) in results {
            let mut record = CollectorRecord {
                collector: name.to_string(),
                status: CollectorStatus::Ok,
                items: 0,
                api_calls: ctx.calls_of(name),
                duration_ms: elapsed.as_millis() as i64,
                error: None,
                tables: Vec::new(),
            };
            match result {
                Ok(rows) => {
                    record.items = rows.len() as i64;
                    record.tables = rows.table_names().into_iter().map(str::to_string).collect();
                    rows_written += rows.len();
                    let stamp = Stamp {
                        scan_id,
                        collector: name.to_string(),
                        provider: source.provider.clone(),
                        tenant: source.tenant.clone(),
                    };
                    store.write_collection(&stamp, &rows)?;
                    tracing::info!(
                        message = "Collector finished.",
                        collector = name,
                        items = record.items,
                        api_calls = record.api_calls,
                        duration_ms = record.duration_ms
                    );
                }
                Err(e) => {
                    record.status = CollectorStatus::Failed;
                    record.error = Some(e.to_string());
                    tracing::warn!(message = "Collector failed.", collector = name, error = %e);
                }
            }
            store.record_collector(scan_id, &record)?;
            observer.collector_finished(&source.source, &record);
            records.push(record);
        }
    }
    let api_calls = ctx.total_calls();
    let status = store.finish_scan(scan_id, clock(), Some(api_calls), None)?;
    tracing::info!(message = "Scan finished.", scan_id, source = %source.source, status = status.as_str(), api_calls, rows = rows_written);
    Ok(ScanOutcome {
        scan_id,
        source: source.clone(),
        status,
        collectors: records,
        api_calls,
        rows: rows_written,
    })
}
