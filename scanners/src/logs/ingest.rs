//! The ingest pipeline: inputs → [`reader`] →
//! [`normalise`](super::normalise) (envelope, detection, parser) → [`EventBatchBuilder`] →
//! `events`, deduplicated once when the run is closed. Records that
//! cannot be normalised are quarantined with file, line and reason and counted per format; an
//! input that cannot be read is reported and the others are still ingested. A run that fails
//! stores nothing.
//!
//! Normalising runs on [`IngestOptions::threads`] parsing threads: small inputs are read whole
//! by whichever thread takes them, large ones (and stdin) are read by one reading thread that
//! cuts their NDJSON lines into blocks for all of them. Each thread appends its batches through
//! its own [`EventWriter`] (DuckDB compresses on every thread); counts, progress and the
//! quarantine go to the caller's thread. Bounded channels join the stages: memory is bounded by
//! a few blocks and batches per thread and the quarantine buffer; DuckDB writes full row
//! groups to the file as they fill.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nhiscope_engine::model::EventBatchBuilder;
use nhiscope_engine::store::{EventWriter, IngestRun, IngestTotals, Quarantined};
use nhiscope_engine::time::Micros;
use nhiscope_engine::{Store, StoreError};
use serde::Serialize;
use serde_json::Value;

use super::input::Input;
use super::normalise::{normalise, normalise_document, Normalised};
use super::reader::{self, read_records, RecordAt, RecordSink};
use super::Format;

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Parse every record as this format instead of detecting it.
    pub format: Option<Format>,
    /// Rows per Arrow batch.
    pub batch_rows: usize,
    /// Cap on the store's memory during the run (DuckDB syntax: `1GB`), if any.
    pub memory_limit: Option<String>,
    /// The tenant of records that name none (a Kubernetes cluster, a mesh).
    pub default_tenant: Option<String>,
    /// Parsing threads (the reading stage and the store writer run beside them).
    pub threads: usize,
    /// Inputs at least this large on disk (and stdin) are cut into blocks of lines for every
    /// parsing thread; smaller ones are read whole by one.
    pub split_from: u64,
    /// Bytes of NDJSON per block.
    pub block_bytes: usize,
}

impl Default for IngestOptions {
    fn default() -> IngestOptions {
        IngestOptions {
            format: None,
            batch_rows: 32 * 1024,
            memory_limit: None,
            default_tenant: None,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            split_from: 8 * 1024 * 1024,
            block_bytes: 2 * 1024 * 1024,
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

/// Progress callbacks (the CLI draws a bar). Inputs are read concurrently, so several may be
/// started and not yet finished at once.
pub trait IngestObserver {
    /// Before anything is read: how many inputs, and their total size on disk when known.
    fn run_started(&self, _inputs: usize, _bytes: Option<u64>) {}
    fn input_started(&self, _name: &str) {}
    /// Bytes read from all inputs so far (before decompression), records seen so far.
    fn progress(&self, _bytes: u64, _records: u64) {}
    fn input_finished(&self, _name: &str) {}
}

/// An observer that does nothing.
pub struct Silent;
impl IngestObserver for Silent {}

const SAMPLE: usize = 20;
/// Quarantined records sent to the store at once.
const QUARANTINE_BUFFER: usize = 1_000;
/// Messages in flight to the store stage, per parsing thread.
const CHANNEL_DEPTH: usize = 2;

/// What the parsing threads tell the store side.
enum Msg {
    Started {
        name: String,
    },
    /// A batch was appended: per format, how many of its rows are of that format.
    Appended(Vec<(String, u64)>),
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
    /// One parsing thread is done: its counts and its first rejections.
    Done(BTreeMap<String, FormatCounts>, Vec<Sample>),
    /// The parsing stage cannot go on.
    Failed(String),
}

/// A rejection kept for the report, with what orders it: input, line, index.
type Sample = ((usize, u64), String);

/// Work for a parsing thread.
enum Work {
    /// A whole input (by index), read by the thread that takes it.
    Input(usize),
    /// Whole NDJSON lines of an input, the first numbered `first_line`.
    Block {
        input: usize,
        first_line: u64,
        bytes: Vec<u8>,
    },
}

/// Ingests `inputs` into `store` as one run started at `now`. Three stages run concurrently:
/// a reader that hands out work (whole small inputs, blocks of lines of large ones),
/// [`IngestOptions::threads`] parsing threads that normalise it into Arrow batches, and the
/// store writer on this thread, joined by bounded channels (so memory stays bounded whichever
/// side is slower).
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
    let sizes: Option<Vec<u64>> = inputs.iter().map(Input::size).collect();
    observer.run_started(inputs.len(), sizes.map(|s| s.iter().sum()));
    let threads = options.threads.max(1);
    let mut appended_per_format: BTreeMap<String, u64> = BTreeMap::new();
    let mut samples: Vec<Sample> = Vec::new();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(CHANNEL_DEPTH * (threads + 1));
    // One writer (connection and transaction) per parsing thread and one for the reading
    // stage, so DuckDB compresses and writes on every thread.
    let writers = (0..=threads)
        .map(|_| store.event_writer())
        .collect::<Result<Vec<_>, _>>();
    let outcome: Result<(), StoreError> = std::thread::scope(|scope| {
        let mut writers = writers?;
        let shared = Arc::new(Shared {
            inputs,
            names: inputs.iter().map(Input::name).collect(),
            run: run.clone(),
            options: options.clone(),
            bytes: Arc::new(AtomicU64::new(0)),
            records: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            spare_blocks: Mutex::new(Vec::new()),
        });
        let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Work>(threads * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let mut handles = Vec::new();
        for writer in writers.drain(1..) {
            let (shared, tx, work_rx) = (shared.clone(), tx.clone(), work_rx.clone());
            handles.push(scope.spawn(move || parse_work(&shared, tx, writer, &work_rx)));
        }
        if let Some(writer) = writers.pop() {
            let shared = shared.clone();
            handles.push(scope.spawn(move || hand_out(&shared, tx, writer, work_tx)));
        }
        let mut result = Ok(());
        for msg in rx.iter() {
            let step = (|| -> Result<(), StoreError> {
                match msg {
                    Msg::Started { name } => observer.input_started(&name),
                    Msg::Appended(per_format) => {
                        for (f, n) in per_format {
                            *appended_per_format.entry(f).or_default() += n;
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
                    Msg::Done(formats, first) => {
                        for (f, c) in formats {
                            let t = report.formats.entry(f).or_default();
                            t.read += c.read;
                            t.quarantined += c.quarantined;
                        }
                        samples.extend(first);
                    }
                    Msg::Failed(reason) => return Err(StoreError::Invalid(reason)),
                }
                Ok(())
            })();
            if let Err(e) = step {
                // The parsing threads stop at their next step; the channel is drained below
                // so none stays blocked on a send.
                shared.stop.store(true, Ordering::Relaxed);
                result = Err(e);
                break;
            }
        }
        if result.is_err() {
            for _ in rx.iter() {}
        }
        drop(rx);
        let panicked = handles.into_iter().any(|h| h.join().is_err());
        if panicked {
            return Err(StoreError::Invalid("a log parsing thread panicked".into()));
        }
        result
    });
    let elapsed = started.elapsed();
    let counted = report.total();
    let totals = IngestTotals {
        read: counted.read,
        appended: appended_per_format.values().sum(),
        quarantined: counted.quarantined,
    };
    let closed = outcome.and_then(|()| {
        store.finish_ingest(
            &run,
            now + elapsed.as_micros() as Micros,
            elapsed.as_millis() as i64,
            totals,
        )
    });
    let closed = match closed {
        Ok(closed) => closed,
        Err(e) => {
            let reason = format!("ingest failed: {e}");
            if let Err(abort) = store.abort_ingest(
                &run,
                now + elapsed.as_micros() as Micros,
                elapsed.as_millis() as i64,
                &reason,
            ) {
                tracing::error!(message = "Cannot record the failed ingest run.", error = %abort);
            }
            return Err(e);
        }
    };
    report.owner_candidates = closed.owner_candidates as u64;
    samples.sort();
    report.quarantine_sample = samples.into_iter().take(SAMPLE).map(|(_, s)| s).collect();
    for (format, appended) in appended_per_format {
        let ingested = closed.stored.get(&format).copied().unwrap_or(0) as u64;
        let c = report.formats.entry(format).or_default();
        c.ingested = ingested;
        c.duplicates = appended.saturating_sub(ingested);
    }
    report.seconds = started.elapsed().as_secs_f64();
    let t = report.total();
    tracing::info!(
        message = "Ingest finished.",
        scan_id = run.scan_id,
        read = t.read,
        ingested = t.ingested,
        duplicates = t.duplicates,
        quarantined = t.quarantined,
        threads
    );
    Ok(report)
}

/// What every stage of one run shares.
struct Shared<'a> {
    inputs: &'a [Input],
    names: Vec<String>,
    run: IngestRun,
    options: IngestOptions,
    /// Bytes read from every input so far (progress).
    bytes: Arc<AtomicU64>,
    /// Records seen so far (progress).
    records: AtomicU64,
    /// The store stage failed: stop.
    stop: AtomicBool,
    /// Emptied block buffers, for the reading stage to fill again.
    spare_blocks: Mutex<Vec<Vec<u8>>>,
}

/// The reading stage: small inputs go whole to the parsing threads; large ones (and stdin) are
/// opened here and their NDJSON lines cut into blocks for them. A large input that is not
/// NDJSON (one big document) is parsed here, as a parsing thread would.
fn hand_out(shared: &Shared<'_>, tx: SyncSender<Msg>, writer: EventWriter, work: SyncSender<Work>) {
    let mut p = Parsing::new(shared, tx, writer);
    for (i, input) in shared.inputs.iter().enumerate() {
        if p.hung_up() {
            break;
        }
        // A directory of S3 delivery files is read file by file on every thread.
        let small = input.size().is_some_and(|n| n < shared.options.split_from);
        if small {
            if work.send(Work::Input(i)).is_err() {
                break;
            }
            continue;
        }
        p.read_input(i, Some(&work));
    }
    drop(work);
    p.finish();
}

/// A parsing thread: takes work until there is none.
fn parse_work(
    shared: &Shared<'_>,
    tx: SyncSender<Msg>,
    writer: EventWriter,
    work: &Mutex<Receiver<Work>>,
) {
    let mut p = Parsing::new(shared, tx, writer);
    loop {
        let next = match work.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => break,
        };
        let Ok(next) = next else { break };
        if p.hung_up() {
            continue; // drain, so the reading stage is never left blocked
        }
        match next {
            Work::Input(i) => p.read_input(i, None),
            Work::Block {
                input,
                first_line,
                bytes,
            } => {
                p.input = input;
                reader::read_block(&bytes, first_line, &mut p);
                if let Ok(mut spare) = shared.spare_blocks.lock() {
                    if spare.len() < 4 * shared.options.threads {
                        spare.push(bytes);
                    }
                }
            }
        }
    }
    p.finish();
}

/// One thread's parsing state: its batch builder, its writer, counts and quarantine buffer.
struct Parsing<'s, 'a> {
    shared: &'s Shared<'a>,
    tx: SyncSender<Msg>,
    /// This thread's events go to the store through it; taken when committed.
    writer: Option<EventWriter>,
    builder: EventBatchBuilder,
    /// Rows per format in the batch being built.
    per_format: BTreeMap<String, u64>,
    counts: BTreeMap<String, FormatCounts>,
    samples: Vec<Sample>,
    quarantine: Vec<Quarantined>,
    /// The input being parsed (index into `shared.inputs`).
    input: usize,
    /// Where blocks of lines go, while reading a large input.
    blocks: Option<SyncSender<Work>>,
    records: u64,
    /// The store stage stopped (it failed): parse nothing more.
    hung_up: bool,
}

impl<'s, 'a> Parsing<'s, 'a> {
    fn new(shared: &'s Shared<'a>, tx: SyncSender<Msg>, writer: EventWriter) -> Parsing<'s, 'a> {
        Parsing {
            shared,
            tx,
            writer: Some(writer),
            builder: EventBatchBuilder::new(shared.run.scan_id, &shared.run.collector),
            per_format: BTreeMap::new(),
            counts: BTreeMap::new(),
            samples: Vec::new(),
            quarantine: Vec::new(),
            input: 0,
            blocks: None,
            records: 0,
            hung_up: false,
        }
    }

    fn hung_up(&mut self) -> bool {
        if self.shared.stop.load(Ordering::Relaxed) {
            self.hung_up = true;
        }
        self.hung_up
    }

    fn send(&mut self, msg: Msg) {
        if !self.hung_up && self.tx.send(msg).is_err() {
            self.hung_up = true;
        }
    }

    /// Reads input `i` here; with `blocks`, its NDJSON lines are cut into blocks sent there.
    fn read_input(&mut self, i: usize, blocks: Option<&SyncSender<Work>>) {
        let name = self.shared.names[i].clone();
        self.send(Msg::Started { name: name.clone() });
        self.input = i;
        self.blocks = blocks.cloned();
        let own = Arc::new(AtomicU64::new(0));
        let outcome = self.shared.inputs[i]
            .open(&[own.clone(), self.shared.bytes.clone()])
            .and_then(|reader| read_records(reader, self));
        self.blocks = None;
        let error = outcome.err().map(|e| e.to_string());
        if let Some(e) = &error {
            self.reject(0, None, format!("cannot read input: {e}"));
        }
        self.send_quarantine();
        let bytes = own.load(Ordering::Relaxed);
        self.send(Msg::Finished { name, bytes, error });
    }

    /// Appends what is left, commits this thread's writer and sends its counts.
    fn finish(mut self) {
        self.send_batch();
        self.send_quarantine();
        if !self.hung_up() {
            if let Some(Err(e)) = self.writer.take().map(EventWriter::commit) {
                self.fail(format!("cannot store events: {e}"));
            }
        }
        let done = Msg::Done(
            std::mem::take(&mut self.counts),
            std::mem::take(&mut self.samples),
        );
        self.send(done);
    }

    fn send_batch(&mut self) {
        if self.builder.is_empty() {
            return;
        }
        // The builder and the schema are one module's; a mismatch is a bug, and it ends the
        // run visibly rather than dropping rows.
        let batch = match self.builder.finish() {
            Ok(batch) => batch,
            Err(e) => return self.fail(format!("cannot build an events batch: {e}")),
        };
        let appended = match self.writer.as_mut() {
            Some(w) => w.append(batch),
            None => return,
        };
        match appended {
            Ok(()) => {
                let per_format = std::mem::take(&mut self.per_format).into_iter().collect();
                self.send(Msg::Appended(per_format));
            }
            Err(e) => self.fail(format!("cannot store events: {e}")),
        }
    }

    /// Ends this thread's part of the run with a failure the store side reports.
    fn fail(&mut self, reason: String) {
        self.send(Msg::Failed(reason));
        self.hung_up = true;
    }

    fn send_quarantine(&mut self) {
        if !self.quarantine.is_empty() {
            let q = std::mem::take(&mut self.quarantine);
            self.send(Msg::Quarantine(q));
        }
    }

    fn reject(&mut self, line: u64, format: Option<&str>, reason: String) {
        let c = count(&mut self.counts, format.unwrap_or("unknown"));
        c.read += 1;
        c.quarantined += 1;
        let file = &self.shared.names[self.input];
        if self.samples.len() < SAMPLE {
            self.samples
                .push(((self.input, line), format!("{file}:{line}: {reason}")));
        }
        self.quarantine.push(Quarantined {
            file: file.clone(),
            line: line as i64,
            source_format: format.map(str::to_string),
            reason,
        });
        if self.quarantine.len() >= QUARANTINE_BUFFER {
            self.send_quarantine();
        }
    }

    /// Counts one record and reports progress now and then; false when nothing more is to be
    /// parsed.
    fn tick(&mut self) -> bool {
        if self.hung_up {
            return false;
        }
        self.records += 1;
        if self.records.is_multiple_of(4096) {
            let records = self.shared.records.fetch_add(4096, Ordering::Relaxed) + 4096;
            let bytes = self.shared.bytes.load(Ordering::Relaxed);
            self.send(Msg::Progress { bytes, records });
            return !self.hung_up();
        }
        true
    }

    /// One record's outcome into the batch or the quarantine.
    fn accept(&mut self, at: RecordAt, outcome: Normalised) {
        match outcome {
            Ok((format, mut event)) => {
                let name = format.name();
                count(&mut self.counts, name).read += 1;
                event.raw_ref = format!("{}:{at}", self.shared.names[self.input]);
                if event.tenant.is_empty() {
                    if let Some(t) = &self.shared.options.default_tenant {
                        event.tenant.clone_from(t);
                    }
                }
                self.builder.push(&event);
                *count(&mut self.per_format, name) += 1;
                if self.builder.len() >= self.shared.options.batch_rows {
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

impl RecordSink for Parsing<'_, '_> {
    fn record(&mut self, at: RecordAt, record: Value) {
        if self.tick() {
            let outcome = normalise(record, self.shared.options.format);
            self.accept(at, outcome);
        }
    }

    fn raw(&mut self, at: RecordAt, text: &str) -> Result<(), serde_json::Error> {
        if self.tick() {
            let outcome = normalise_document(text, self.shared.options.format)?;
            self.accept(at, outcome);
        }
        Ok(())
    }

    fn malformed(&mut self, line: u64, reason: String) {
        if !self.hung_up {
            self.reject(line, None, reason);
        }
    }

    fn take_lines(
        &mut self,
        input: Box<dyn BufRead + Send>,
        done: u64,
    ) -> std::io::Result<Option<Box<dyn BufRead + Send>>> {
        let Some(blocks) = self.blocks.clone() else {
            return Ok(Some(input));
        };
        let i = self.input;
        let stop = &self.shared.stop;
        let size = self.shared.options.block_bytes;
        let spare = &self.shared.spare_blocks;
        let buffer = || {
            spare
                .lock()
                .ok()
                .and_then(|mut s| s.pop())
                .unwrap_or_default()
        };
        reader::split_lines(input, done, size, buffer, |first_line, bytes| {
            !stop.load(Ordering::Relaxed)
                && blocks
                    .send(Work::Block {
                        input: i,
                        first_line,
                        bytes,
                    })
                    .is_ok()
        })?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::generate::write_ndjson;

    /// Every value of text column `name` in the store's current events.
    fn event_texts(store: &Store, name: &str) -> Vec<String> {
        let batches = store
            .table_rows(
                nhiscope_engine::Table::Events,
                nhiscope_engine::store::Snapshot::Current,
            )
            .expect("rows");
        let mut out = Vec::new();
        for batch in batches {
            let column = batch.column_by_name(name).expect("column");
            let texts = column
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .expect("text");
            out.extend(texts.iter().flatten().map(str::to_string));
        }
        out
    }

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
    fn blocks_on_several_threads_give_what_one_thread_gives() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("ct.ndjson");
        let mut file = std::fs::File::create(&path).expect("create");
        write_ndjson(&mut file, 2000, 7, 1_767_225_600).expect("generate");
        // A bad line, a blank line and a record without its time among the records.
        use std::io::Write;
        file.write_all(b"{oops\n\n").expect("write");
        write_ndjson(&mut file, 500, 8, 1_767_225_600).expect("generate");
        file.write_all(
            b"{\"eventVersion\":\"1.08\",\"eventName\":\"X\",\"eventSource\":\"iam.amazonaws.com\",\"eventID\":\"z\"}\n",
        )
            .expect("write");
        drop(file);
        let text = std::fs::read_to_string(&path).expect("read");
        let lines = text.lines().count() as i64;

        let outcome = |threads: usize, split_from: u64| {
            let mut store = Store::open_in_memory().expect("store");
            let options = IngestOptions {
                threads,
                split_from,
                block_bytes: 8 * 1024,
                batch_rows: 300,
                ..IngestOptions::default()
            };
            let inputs = [Input::File(path.clone())];
            let report = ingest(&mut store, &inputs, &options, 0, &Silent).expect("ingest");
            let quarantined = store.quarantined(report.scan_id).expect("quarantine");
            let mut refs = event_texts(&store, "raw_ref");
            refs.sort();
            (report.formats, report.quarantine_sample, quarantined, refs)
        };
        let one = outcome(1, u64::MAX);
        let many = outcome(3, 0);
        assert_eq!(one, many);
        let (formats, sample, quarantined, refs) = one;
        let c = &formats["cloudtrail"];
        assert_eq!((c.read, c.quarantined), (2501, 1), "{formats:?}");
        assert_eq!(c.ingested as usize, refs.len());
        assert_eq!(formats["unknown"].quarantined, 1);
        let bad: Vec<i64> = quarantined.iter().map(|q| q.line).collect();
        assert_eq!(bad, vec![2001, lines], "{quarantined:?}");
        assert!(sample[0].contains(":2001: invalid JSON"), "{sample:?}");
        assert!(
            refs.iter().any(|r| r.ends_with(":2502")),
            "line numbers run on across blocks"
        );
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
        let tenants = event_texts(&store, "tenant");
        assert_eq!(tenants.first().map(String::as_str), Some("prod-eu-1"));
    }
}
