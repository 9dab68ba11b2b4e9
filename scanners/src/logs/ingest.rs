//! The ingest pipeline: inputs → [`reader`](super::reader) → envelope unwrapping → format
//! detection (per record, or forced) → parser → [`EventBatchBuilder`] → the store's staging
//! table, flushed into `events` with dedupe every [`IngestOptions::flush_rows`] rows. Records
//! that cannot be normalised are quarantined with file, line and reason and counted per
//! format; an input that cannot be read is reported and the others are still ingested.
//! Reading and normalising run on a worker thread, store writes on the caller's, joined by a
//! bounded channel: memory is bounded by a few batches, one staging flush and the quarantine
//! buffer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use nhiscope_engine::model::{EventBatchBuilder, EventRow};
use nhiscope_engine::store::{IngestRun, Quarantined};
use nhiscope_engine::time::Micros;
use nhiscope_engine::{Store, StoreError};
use serde::Serialize;
use serde_json::Value;

use super::input::Input;
use super::reader::{self, read_records, RecordAt, RecordSink};
use super::{cloudtrail, detect, unwrap_envelope, Format};

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
    /// The tenant of records that name none (a Kubernetes cluster, a mesh).
    pub default_tenant: Option<String>,
}

impl Default for IngestOptions {
    fn default() -> IngestOptions {
        IngestOptions {
            format: None,
            batch_rows: 16 * 1024,
            flush_rows: 256 * 1024,
            memory_limit: None,
            default_tenant: None,
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
    /// Wall time of the run.
    pub seconds: f64,
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
/// Quarantined records sent to the store at once.
const QUARANTINE_BUFFER: usize = 1_000;
/// Batches in flight between the parsing thread and the store.
const CHANNEL_DEPTH: usize = 2;

/// What the parsing thread tells the store side.
enum Msg {
    Started {
        name: String,
        size: Option<u64>,
    },
    /// A batch and, per format, how many of its rows are of that format.
    Batch(RecordBatch, Vec<(String, u64)>),
    Quarantine(Vec<Quarantined>),
    Progress {
        bytes: u64,
        records: u64,
    },
    Finished {
        name: String,
        bytes: u64,
        error: Option<String>,
    },
    Done(BTreeMap<String, FormatCounts>, Vec<String>),
    /// The parsing stage cannot go on.
    Failed(String),
}

/// Ingests `inputs` into `store` as one run started at `now`. Two stages run concurrently:
/// reading and normalising on a worker thread, writing to the store on this one, joined by a
/// bounded channel (so memory stays bounded whichever side is slower).
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
    let mut report = IngestReport {
        scan_id: run.scan_id,
        ..Default::default()
    };
    let mut staged_per_format: BTreeMap<String, u64> = BTreeMap::new();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(CHANNEL_DEPTH);
    let outcome: Result<(), StoreError> = std::thread::scope(|scope| {
        let worker = {
            let run = run.clone();
            let options = options.clone();
            scope.spawn(move || parse_inputs(inputs, &run, &options, tx))
        };
        let mut staged = 0usize;
        let mut result = Ok(());
        for msg in rx.iter() {
            let step = (|| -> Result<(), StoreError> {
                match msg {
                    Msg::Started { name, size } => observer.input_started(&name, size),
                    Msg::Batch(batch, per_format) => {
                        staged += batch.num_rows();
                        store.stage_events(batch)?;
                        for (f, n) in per_format {
                            *staged_per_format.entry(f).or_default() += n;
                        }
                        if staged >= options.flush_rows {
                            store.flush_events(&run)?;
                            staged = 0;
                        }
                    }
                    Msg::Quarantine(q) => store.quarantine(&run, &q)?,
                    Msg::Progress { bytes, records } => observer.progress(bytes, records),
                    Msg::Finished { name, bytes, error } => {
                        report.inputs += 1;
                        report.bytes += bytes;
                        if let Some(e) = error {
                            tracing::warn!(message = "Input could not be read.", input = %name, error = %e);
                            report.failed_inputs.push(format!("{name}: {e}"));
                        }
                        observer.input_finished(&name);
                    }
                    Msg::Done(formats, samples) => {
                        report.formats = formats;
                        report.quarantine_sample = samples;
                    }
                    Msg::Failed(reason) => return Err(StoreError::Invalid(reason)),
                }
                Ok(())
            })();
            if let Err(e) = step {
                // Dropping the receiver stops the parsing thread at its next send.
                result = Err(e);
                break;
            }
        }
        drop(rx);
        if worker.join().is_err() {
            return Err(StoreError::Invalid(
                "the log parsing thread panicked".into(),
            ));
        }
        result?;
        if staged > 0 {
            store.flush_events(&run)?;
        }
        Ok(())
    });
    outcome?;
    let owners = store.derive_ownership(&run)?;
    let stored = store.stored_events(&run)?;
    report.owner_candidates = owners as u64;
    for (format, staged) in staged_per_format {
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
    report.seconds = elapsed.as_secs_f64();
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

/// The parsing stage: every input, record by record, into batches sent to the store stage.
/// Returns early when the store stage hung up (it failed).
fn parse_inputs(inputs: &[Input], run: &IngestRun, options: &IngestOptions, tx: SyncSender<Msg>) {
    let mut p = Parsing {
        tx,
        forced: options.format,
        default_tenant: options.default_tenant.clone(),
        batch_rows: options.batch_rows,
        builder: EventBatchBuilder::new(run.scan_id, &run.collector),
        per_format: BTreeMap::new(),
        counts: BTreeMap::new(),
        samples: Vec::new(),
        quarantine: Vec::new(),
        file: String::new(),
        records: 0,
        bytes: Arc::new(AtomicU64::new(0)),
        hung_up: false,
    };
    for input in inputs {
        let name = input.name();
        p.send(Msg::Started {
            name: name.clone(),
            size: input.size(),
        });
        p.file = name.clone();
        p.bytes.store(0, Ordering::Relaxed);
        let outcome = input
            .open(p.bytes.clone())
            .and_then(|reader| read_records(reader, &mut p));
        let error = outcome.err().map(|e| e.to_string());
        if let Some(e) = &error {
            p.reject(0, None, format!("cannot read input: {e}"));
        }
        p.send_quarantine();
        let bytes = p.bytes.load(Ordering::Relaxed);
        p.send(Msg::Finished { name, bytes, error });
        if p.hung_up {
            return;
        }
    }
    p.send_batch();
    p.send_quarantine();
    let done = Msg::Done(
        std::mem::take(&mut p.counts),
        std::mem::take(&mut p.samples),
    );
    p.send(done);
}

struct Parsing {
    tx: SyncSender<Msg>,
    forced: Option<Format>,
    default_tenant: Option<String>,
    batch_rows: usize,
    builder: EventBatchBuilder,
    /// Rows per format in the batch being built.
    per_format: BTreeMap<String, u64>,
    counts: BTreeMap<String, FormatCounts>,
    samples: Vec<String>,
    quarantine: Vec<Quarantined>,
    file: String,
    records: u64,
    bytes: Arc<AtomicU64>,
    /// The store stage stopped (it failed): parse nothing more.
    hung_up: bool,
}

impl Parsing {
    fn send(&mut self, msg: Msg) {
        if !self.hung_up && self.tx.send(msg).is_err() {
            self.hung_up = true;
        }
    }

    fn send_batch(&mut self) {
        if self.builder.is_empty() {
            return;
        }
        match self.builder.finish() {
            Ok(batch) => {
                let per_format = std::mem::take(&mut self.per_format).into_iter().collect();
                self.send(Msg::Batch(batch, per_format));
            }
            // The builder and the schema are one module's; a mismatch is a bug, and it ends
            // the run visibly rather than dropping rows.
            Err(e) => {
                self.send(Msg::Failed(format!("cannot build an events batch: {e}")));
                self.hung_up = true;
            }
        }
    }

    fn send_quarantine(&mut self) {
        if !self.quarantine.is_empty() {
            let q = std::mem::take(&mut self.quarantine);
            self.send(Msg::Quarantine(q));
        }
    }

    fn reject(&mut self, line: u64, format: Option<&str>, reason: String) {
        let c = self
            .counts
            .entry(format.unwrap_or("unknown").to_string())
            .or_default();
        c.read += 1;
        c.quarantined += 1;
        if self.samples.len() < SAMPLE {
            self.samples.push(format!("{}:{line}: {reason}", self.file));
        }
        self.quarantine.push(Quarantined {
            file: self.file.clone(),
            line: line as i64,
            source_format: format.map(str::to_string),
            reason,
        });
        if self.quarantine.len() >= QUARANTINE_BUFFER {
            self.send_quarantine();
        }
    }
}

impl Parsing {
    /// Counts one record and reports progress now and then; false when nothing more is to be
    /// parsed.
    fn tick(&mut self) -> bool {
        if self.hung_up {
            return false;
        }
        self.records += 1;
        if self.records.is_multiple_of(4096) {
            let (bytes, records) = (self.bytes.load(Ordering::Relaxed), self.records);
            self.send(Msg::Progress { bytes, records });
        }
        true
    }

    /// One record's outcome into the batch or the quarantine.
    fn accept(&mut self, at: RecordAt, outcome: Normalised) {
        match outcome {
            Ok((format, mut event)) => {
                let name = format.name();
                count(&mut self.counts, name).read += 1;
                event.raw_ref = format!("{}:{at}", self.file);
                if event.tenant.is_empty() {
                    if let Some(t) = &self.default_tenant {
                        event.tenant.clone_from(t);
                    }
                }
                self.builder.push(&event);
                *count(&mut self.per_format, name) += 1;
                if self.builder.len() >= self.batch_rows {
                    self.send_batch();
                }
            }
            Err((format, reason)) => self.reject(at.line, format.map(Format::name), reason),
        }
    }
}

/// The entry of `name`, without allocating its key when it is there.
fn count<'m, V: Default>(map: &'m mut BTreeMap<String, V>, name: &str) -> &'m mut V {
    if !map.contains_key(name) {
        map.insert(name.to_string(), V::default());
    }
    map.get_mut(name).expect("inserted above")
}

impl RecordSink for Parsing {
    fn record(&mut self, at: RecordAt, record: Value) {
        if self.tick() {
            let outcome = normalise(record, self.forced);
            self.accept(at, outcome);
        }
    }

    fn raw(&mut self, at: RecordAt, text: &str) {
        if self.tick() {
            let outcome = normalise_text(text, self.forced);
            self.accept(at, outcome);
        }
    }

    fn malformed(&mut self, line: u64, reason: String) {
        if !self.hung_up {
            self.reject(line, None, reason);
        }
    }
}

/// A record's format and event, or its format (when known) and why it was not normalised.
pub type Normalised = Result<(Format, EventRow), (Option<Format>, String)>;

/// One record given as JSON text: CloudTrail records take the typed fast path
/// ([`cloudtrail::parse_text`]), everything else (and any record it declines) the general one,
/// through a `Value`. Text that is not JSON is reported as such.
pub fn normalise_text(text: &str, forced: Option<Format>) -> Normalised {
    if matches!(forced, None | Some(Format::CloudTrail)) {
        if let Some(outcome) = cloudtrail::parse_text(text) {
            return outcome
                .map(|e| (Format::CloudTrail, e))
                .map_err(|r| (Some(Format::CloudTrail), format!("cloudtrail: {}", r.0)));
        }
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) => normalise(reader::merge_row(v), forced),
        Err(e) => Err((None, format!("invalid JSON: {e}"))),
    }
}

/// One record → its format and event, or the format (when known) and why not.
pub fn normalise(record: Value, forced: Option<Format>) -> Normalised {
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
        fn raw(&mut self, at: RecordAt, text: &str) {
            match normalise_text(text, self.forced) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::generate::write_ndjson;

    #[test]
    fn duplicates_across_batches_flushes_and_inputs_are_stored_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("ct.ndjson");
        let mut file = std::fs::File::create(&path).expect("create");
        write_ndjson(&mut file, 3000, 11, 1_767_225_600).expect("generate");
        drop(file);
        let mut store = Store::open_in_memory().expect("store");
        let inputs = vec![Input::File(path.clone()), Input::File(path)];
        let options = IngestOptions {
            batch_rows: 256,
            flush_rows: 1000,
            ..IngestOptions::default()
        };
        let report = ingest(&mut store, &inputs, &options, 0, &Silent).expect("ingest");
        let c = &report.formats["cloudtrail"];
        assert_eq!(
            (c.read, c.ingested, c.duplicates, c.quarantined),
            (6000, 3000, 3000, 0)
        );
        assert_eq!(report.inputs, 2);
        // A later run of the same file: everything is a duplicate.
        let again = ingest(&mut store, &inputs[..1], &options, 1, &Silent).expect("ingest");
        let c = &again.formats["cloudtrail"];
        assert_eq!((c.ingested, c.duplicates), (0, 3000));
    }

    #[test]
    fn records_without_a_tenant_get_the_default_one() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("audit.log");
        std::fs::write(
            &path,
            br#"{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"get","user":{"username":"system:serviceaccount:ns:sa"},"requestReceivedTimestamp":"2026-01-01T00:00:00Z"}
"#,
        )
        .expect("write");
        let mut store = Store::open_in_memory().expect("store");
        let options = IngestOptions {
            default_tenant: Some("prod-eu-1".into()),
            ..IngestOptions::default()
        };
        let report =
            ingest(&mut store, &[Input::File(path)], &options, 0, &Silent).expect("ingest");
        assert_eq!(report.formats["k8s_audit"].ingested, 1);
        let rows = store
            .table_rows(
                nhiscope_engine::Table::Events,
                nhiscope_engine::store::Snapshot::Current,
            )
            .expect("rows");
        let tenant = rows[0].column_by_name("tenant").and_then(|c| {
            c.as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .map(|a| a.value(0).to_string())
        });
        assert_eq!(tenant.as_deref(), Some("prod-eu-1"));
    }
}
