//! The ingest pipeline: inputs → [`reader`](super::reader) → envelope unwrapping → format
//! detection (per record, or forced) → parser → [`EventBatchBuilder`] → the store's staging
//! table, flushed into `events` with dedupe every [`IngestOptions::flush_rows`] rows. Records
//! that cannot be normalised are quarantined with file, line and reason and counted per
//! format; an input that cannot be read is reported and the others are still ingested.
//! Memory is bounded by one batch, one staging flush and the quarantine buffer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use nhiscope_engine::model::{EventBatchBuilder, EventRow};
use nhiscope_engine::store::{IngestRun, Quarantined};
use nhiscope_engine::time::Micros;
use nhiscope_engine::{Store, StoreError};
use serde::Serialize;
use serde_json::Value;

use super::input::Input;
use super::reader::{read_records, RecordAt, RecordSink};
use super::{detect, unwrap_envelope, Format};

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Parse every record as this format instead of detecting it.
    pub format: Option<Format>,
    /// Rows per Arrow batch.
    pub batch_rows: usize,
    /// Staged rows between two moves into `events`.
    pub flush_rows: usize,
    /// Cap on the store's memory during the run (DuckDB syntax: `1GB`), if any.
    pub memory_limit: Option<String>,
}

impl Default for IngestOptions {
    fn default() -> IngestOptions {
        IngestOptions {
            format: None,
            batch_rows: 16 * 1024,
            flush_rows: 256 * 1024,
            memory_limit: None,
        }
    }
}

/// What happened to the records of one format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FormatCounts {
    /// Records recognised as this format.
    pub read: u64,
    /// Stored as new events.
    pub ingested: u64,
    /// Normalised but already stored (same provider, event id and time).
    pub duplicates: u64,
    /// Not normalised (see the quarantine).
    pub quarantined: u64,
}

/// The outcome of one ingest run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    pub scan_id: i64,
    pub inputs: u64,
    pub bytes: u64,
    /// Per source format; `unknown` counts records no parser recognised.
    pub formats: BTreeMap<String, FormatCounts>,
    /// Inputs that could not be read (named, with the reason).
    pub failed_inputs: Vec<String>,
    /// The first quarantined records (all are in the store's `ingest_quarantine`).
    pub quarantine_sample: Vec<String>,
    /// Owner candidates written to `ownership` from issuance events (source `creator`).
    pub owner_candidates: u64,
}

impl IngestReport {
    pub fn total(&self) -> FormatCounts {
        let mut t = FormatCounts::default();
        for c in self.formats.values() {
            t.read += c.read;
            t.ingested += c.ingested;
            t.duplicates += c.duplicates;
            t.quarantined += c.quarantined;
        }
        t
    }
}

/// Progress callbacks (the CLI draws a bar).
pub trait IngestObserver {
    fn input_started(&self, _name: &str, _size: Option<u64>) {}
    /// Bytes read from the current input so far, records seen in the run so far.
    fn progress(&self, _bytes: u64, _records: u64) {}
    fn input_finished(&self, _name: &str) {}
}

/// An observer that does nothing.
pub struct Silent;
impl IngestObserver for Silent {}

const SAMPLE: usize = 20;
const QUARANTINE_BUFFER: usize = 10_000;

/// Ingests `inputs` into `store` as one run started at `now`.
pub fn ingest(
    store: &mut Store,
    inputs: &[Input],
    options: &IngestOptions,
    now: Micros,
    observer: &dyn IngestObserver,
) -> Result<IngestReport, StoreError> {
    let started = Instant::now();
    if let Some(limit) = &options.memory_limit {
        store.set_memory_limit(limit)?;
    }
    let run = store.begin_ingest(now)?;
    let mut state = State {
        store,
        run: run.clone(),
        options: options.clone(),
        builder: EventBatchBuilder::new(run.scan_id, &run.collector),
        staged: 0,
        staged_per_format: BTreeMap::new(),
        report: IngestReport {
            scan_id: run.scan_id,
            ..Default::default()
        },
        quarantine: Vec::new(),
        file: String::new(),
        error: None,
        records: 0,
        bytes: Arc::new(AtomicU64::new(0)),
        observer,
    };
    for input in inputs {
        let name = input.name();
        observer.input_started(&name, input.size());
        state.file = name.clone();
        state.bytes.store(0, Ordering::Relaxed);
        let outcome = input
            .open(state.bytes.clone())
            .and_then(|reader| read_records(reader, &mut state));
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        state.report.inputs += 1;
        state.report.bytes += state.bytes.load(Ordering::Relaxed);
        if let Err(e) = outcome {
            tracing::warn!(message = "Input could not be read.", input = %name, error = %e);
            state.report.failed_inputs.push(format!("{name}: {e}"));
            state.quarantine(0, None, format!("cannot read input: {e}"));
        }
        observer.input_finished(&name);
    }
    state.flush_batch()?;
    state.flush_store()?;
    state.flush_quarantine()?;
    let owners = state.store.derive_ownership(&run)?;
    let stored = state.store.stored_events(&run)?;
    let mut report = state.report;
    report.owner_candidates = owners as u64;
    for (format, staged) in state.staged_per_format {
        let ingested = stored.get(&format).copied().unwrap_or(0) as u64;
        let c = report.formats.entry(format).or_default();
        c.ingested = ingested;
        c.duplicates = staged.saturating_sub(ingested);
    }
    let t = report.total();
    let summary = format!(
        "{} records: {} ingested, {} duplicates, {} quarantined",
        t.read, t.ingested, t.duplicates, t.quarantined
    );
    let elapsed = started.elapsed();
    store.finish_ingest(
        &run,
        now + elapsed.as_micros() as Micros,
        elapsed.as_millis() as i64,
        &summary,
    )?;
    tracing::info!(
        message = "Ingest finished.",
        scan_id = run.scan_id,
        read = t.read,
        ingested = t.ingested,
        duplicates = t.duplicates,
        quarantined = t.quarantined
    );
    Ok(report)
}

struct State<'a> {
    store: &'a mut Store,
    run: IngestRun,
    options: IngestOptions,
    builder: EventBatchBuilder,
    staged: usize,
    staged_per_format: BTreeMap<String, u64>,
    report: IngestReport,
    quarantine: Vec<Quarantined>,
    file: String,
    /// A store error raised inside the sink callbacks; ends the run.
    error: Option<StoreError>,
    records: u64,
    bytes: Arc<AtomicU64>,
    observer: &'a dyn IngestObserver,
}

impl State<'_> {
    fn counts(&mut self, format: &str) -> &mut FormatCounts {
        self.report.formats.entry(format.to_string()).or_default()
    }

    fn quarantine(&mut self, line: u64, format: Option<&str>, reason: String) {
        if self.report.quarantine_sample.len() < SAMPLE {
            self.report
                .quarantine_sample
                .push(format!("{}:{line}: {reason}", self.file));
        }
        self.quarantine.push(Quarantined {
            file: self.file.clone(),
            line: line as i64,
            source_format: format.map(str::to_string),
            reason,
        });
        if self.quarantine.len() >= QUARANTINE_BUFFER {
            if let Err(e) = self.flush_quarantine() {
                self.error.get_or_insert(e);
            }
        }
    }

    fn flush_quarantine(&mut self) -> Result<(), StoreError> {
        let q = std::mem::take(&mut self.quarantine);
        self.store.quarantine(&self.run, &q)
    }

    fn flush_batch(&mut self) -> Result<(), StoreError> {
        if self.builder.is_empty() {
            return Ok(());
        }
        let n = self.builder.len();
        let batch = self.builder.finish()?;
        self.store.stage_events(batch)?;
        self.staged += n;
        if self.staged >= self.options.flush_rows {
            self.flush_store()?;
        }
        Ok(())
    }

    fn flush_store(&mut self) -> Result<(), StoreError> {
        if self.staged > 0 {
            self.store.flush_events(&self.run)?;
            self.staged = 0;
        }
        Ok(())
    }

    fn handle(&mut self, at: RecordAt, record: Value) -> Result<(), StoreError> {
        match normalise(record, self.options.format) {
            Ok((format, mut event)) => {
                let name = format.name();
                self.counts(name).read += 1;
                event.raw_ref = format!("{}:{at}", self.file);
                self.builder.push(&event);
                *self.staged_per_format.entry(name.to_string()).or_default() += 1;
                if self.builder.len() >= self.options.batch_rows {
                    self.flush_batch()?;
                }
            }
            Err((format, reason)) => {
                let name = format.map(Format::name);
                let c = self.counts(name.unwrap_or("unknown"));
                c.read += 1;
                c.quarantined += 1;
                self.quarantine(at.line, name, reason);
            }
        }
        Ok(())
    }
}

/// One record → its format and event, or the format (when known) and why not.
pub fn normalise(
    record: Value,
    forced: Option<Format>,
) -> Result<(Format, EventRow), (Option<Format>, String)> {
    let record = unwrap_envelope(record).map_err(|r| (None, r.0))?;
    let Some(format) = forced.or_else(|| detect(&record)) else {
        let keys: Vec<&str> = record
            .as_object()
            .map(|o| o.keys().take(8).map(String::as_str).collect())
            .unwrap_or_default();
        return Err((
            None,
            format!(
                "no known log format recognises this record (keys: {})",
                keys.join(", ")
            ),
        ));
    };
    format
        .parser()
        .parse(&record)
        .map(|e| (format, e))
        .map_err(|r| (Some(format), format!("{}: {}", format.name(), r.0)))
}

/// Events of one input and `(line, reason)` for each record that was not normalised.
pub type Parsed = (Vec<EventRow>, Vec<(u64, String)>);

/// Every event of one input, in memory, with the reasons of what was not normalised as
/// `(line, reason)` (tests, fuzzing and small inputs; `ingest` streams instead).
pub fn parse_all(
    input: Box<dyn std::io::BufRead + Send>,
    name: &str,
    forced: Option<Format>,
) -> std::io::Result<Parsed> {
    struct Collect<'a> {
        name: &'a str,
        forced: Option<Format>,
        events: Vec<EventRow>,
        rejected: Vec<(u64, String)>,
    }
    impl RecordSink for Collect<'_> {
        fn record(&mut self, at: RecordAt, record: Value) {
            match normalise(record, self.forced) {
                Ok((_, mut e)) => {
                    e.raw_ref = format!("{}:{at}", self.name);
                    self.events.push(e);
                }
                Err((_, reason)) => self.rejected.push((at.line, reason)),
            }
        }
        fn malformed(&mut self, line: u64, reason: String) {
            self.rejected.push((line, reason));
        }
    }
    let mut c = Collect {
        name,
        forced,
        events: Vec::new(),
        rejected: Vec::new(),
    };
    read_records(input, &mut c)?;
    Ok((c.events, c.rejected))
}

impl RecordSink for State<'_> {
    fn record(&mut self, at: RecordAt, record: Value) {
        if self.error.is_some() {
            return;
        }
        self.records += 1;
        if self.records.is_multiple_of(4096) {
            self.observer
                .progress(self.bytes.load(Ordering::Relaxed), self.records);
        }
        if let Err(e) = self.handle(at, record) {
            self.error = Some(e);
        }
    }

    fn malformed(&mut self, line: u64, reason: String) {
        self.counts("unknown").read += 1;
        self.counts("unknown").quarantined += 1;
        self.quarantine(line, None, reason);
    }
}
