//! Streams the JSON records of one input, whatever its shape, in bounded memory:
//!
//! - NDJSON (one record per line; a bad line is reported with its number and the next line is
//!   read), where a line may itself be a wrapper (`{"Records": [...]}` on one line, as in
//!   CloudTrail's S3 delivery files), or hold several documents back to back (`{...}{...}`,
//!   as Kinesis Firehose writes records through a transform, each batch on its own line):
//!   only a line that fails to parse as one value is looked at again for several
//!   (`deliver_documents`), so the common line costs nothing more;
//! - a document: a bare array of records, or one wrapper object whose array key is one of
//!   [`WRAPPER_KEYS`] (CloudTrail `Records`, Azure Monitor `records`, Graph `value`,
//!   LookupEvents `Events`, CloudTrail Lake `QueryResultRows`, CloudWatch Logs `logEvents` and
//!   `events`), or one pretty-printed record. An input of documents up to
//!   [`DOCUMENT_IN_MEMORY_LIMIT`] is parsed in memory, each record handed on as a slice of the
//!   buffer; a larger one is streamed element by element (a `serde` visitor over the reader),
//!   never loaded whole. Documents may follow one another (concatenated JSON, as Firehose
//!   writes CloudWatch Logs payloads). A syntax error ends the input (reported with its line;
//!   the complete records before it are delivered).
//!
//! CloudWatch Logs control messages (health checks with no events) are skipped.
//!
//! An input whose first line is a CSV header is read as CSV rows ([`super::csv_rows`]).
//!
//! Container logs from nodes (containerd / CRI-O lines, `ContainerLine`) give the JSON
//! messages their containers wrote; a message the runtime split over several lines (`P` pieces,
//! then `F`) is joined again (`Partials`), in bounded memory. Such an input is read in order
//! on one thread, never cut into blocks.
//!
//! The mode is chosen from the first line (when it is not longer than [`LINE_MODE_LIMIT`]):
//! one or several complete JSON values, or a line that is not JSON, mean NDJSON; a value
//! that continues past the first line (a pretty-printed document, or documents back to back
//! whose last one does) means documents.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, Cursor, Read};
use std::rc::Rc;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::lenient::Arr;

/// Array keys of the wrapper objects records travel in: CloudTrail S3 delivery `Records`, Azure
/// Monitor `records`, Graph `value`, LookupEvents `Events`, CloudTrail Lake `QueryResultRows`,
/// CloudWatch Logs subscription payloads `logEvents` (as Firehose, Lambda and Kinesis deliver
/// them), the `events` of `aws logs filter-log-events` / `get-log-events` output, Kubernetes
/// `EventList` `items` (what the audit webhook backend posts), Cloud Logging `entries.list`
/// `entries`, Splunk REST search `results`, and Elasticsearch / OpenSearch search responses
/// (`hits`, an object whose own `hits` array holds the documents: [`NESTED_KEY`]).
pub const WRAPPER_KEYS: &[&str] = &[
    "Records",
    "records",
    "value",
    "Events",
    "QueryResultRows",
    "logEvents",
    "events",
    "items",
    "entries",
    "results",
    NESTED_KEY,
];

/// The wrapper key whose value may be an object holding the array under the same key
/// (Elasticsearch and OpenSearch: `{"hits": {"total": ..., "hits": [...]}}`).
pub const NESTED_KEY: &str = "hits";

/// True when `text` may hold a wrapper array: some `[` follows a quoted [`WRAPPER_KEYS`] key and
/// a colon (whitespace allowed around it). One `memchr` pass over the text whatever the number
/// of keys; a false positive (a key inside a string) only costs the exact check after it.
fn maybe_wrapper(text: &[u8]) -> bool {
    memchr::memchr_iter(b'[', text).any(|at| {
        let Some(before) = text[..at].trim_ascii_end().strip_suffix(b":") else {
            return false;
        };
        let Some(key_end) = before.trim_ascii_end().strip_suffix(b"\"") else {
            return false;
        };
        WRAPPER_KEYS.iter().any(|k| {
            key_end
                .strip_suffix(k.as_bytes())
                .is_some_and(|b| b.ends_with(b"\""))
        })
    })
}

/// The `messageType` of CloudWatch Logs payloads that carry no log events (the health checks
/// CloudWatch sends down a new subscription); their `logEvents` are skipped.
const CONTROL_MESSAGE: &str = "CONTROL_MESSAGE";

/// A first line longer than this is streamed as a document instead of parsed as one line.
pub const LINE_MODE_LIMIT: u64 = 16 * 1024 * 1024;

/// Where a record is: its line (for streamed documents, the line its closing brace is on) and,
/// inside a wrapper or array, its index (in a streamed input, counted across its documents:
/// concatenated documents on one line still give each record its own place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordAt {
    pub line: u64,
    pub index: Option<u64>,
}

impl fmt::Display for RecordAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "{}#{}", self.line, i),
            None => write!(f, "{}", self.line),
        }
    }
}

/// Receives the records of an input.
pub trait RecordSink {
    fn record(&mut self, at: RecordAt, record: Value);
    /// A record as its JSON text, not yet checked. Sinks with a fast path for some formats
    /// read the text directly; the default builds the `Value`. Text that is not one JSON value
    /// gives its parse error back, with nothing delivered or reported: the reader reports it
    /// (or, for an NDJSON line holding several documents back to back, reads each of them).
    fn raw(&mut self, at: RecordAt, text: &str) -> Result<(), serde_json::Error> {
        let v = serde_json::from_str::<Value>(text)?;
        self.record(at, merge_row(v));
        Ok(())
    }
    /// A line or document that is not JSON.
    fn malformed(&mut self, line: u64, reason: String);
    /// Offered the rest of an NDJSON input, its lines numbered from `done + 1`. The default
    /// hands it back, and the reader delivers its lines one by one; a sink that parses on
    /// several threads takes it and cuts it into blocks of whole lines for them
    /// ([`split_lines`], [`read_block`]).
    fn take_lines(
        &mut self,
        input: Box<dyn BufRead + Send>,
        done: u64,
    ) -> io::Result<Option<Box<dyn BufRead + Send>>> {
        let _ = done;
        Ok(Some(input))
    }
}

/// Reads every record of `input` into `sink`. I/O errors end the input and are returned
/// (what was read before stays delivered).
pub fn read_records(input: Box<dyn BufRead + Send>, sink: &mut dyn RecordSink) -> io::Result<()> {
    read_records_limited(input, sink, Limits::default())
}

/// The sizes that choose how an input is read (tests use small ones).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A first line longer than this is read as a document ([`LINE_MODE_LIMIT`]); a container
    /// log message joined from its pieces may not be longer either (`Partials`).
    pub line: u64,
    /// A document input larger than this is streamed ([`DOCUMENT_IN_MEMORY_LIMIT`]).
    pub document: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            line: LINE_MODE_LIMIT,
            document: DOCUMENT_IN_MEMORY_LIMIT,
        }
    }
}

/// [`read_records`] with the limits as a parameter.
pub fn read_records_limited(
    mut input: Box<dyn BufRead + Send>,
    sink: &mut dyn RecordSink,
    limits: Limits,
) -> io::Result<()> {
    let line_limit = limits.line;
    // Skip a UTF-8 BOM and leading whitespace to find the first byte.
    let first = loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        let skip = buf
            .iter()
            .take_while(|b| b.is_ascii_whitespace() || matches!(b, 0xEF | 0xBB | 0xBF))
            .count();
        if skip < buf.len() {
            let b = buf[skip];
            input.consume(skip);
            break b;
        }
        let n = buf.len();
        input.consume(n);
    };
    if first == b'[' {
        return read_document(input, 0, sink, limits.document);
    }
    if first != b'{' {
        let mut line = Vec::new();
        (&mut input).take(64 * 1024).read_until(b'\n', &mut line)?;
        if container_log_line(&line).is_some() {
            // Read here, line after line, never offered to the sink to be cut into blocks:
            // a message the runtime split (`P` lines, then `F`) may run across any cut, with
            // stdout's and stderr's pieces interleaved, so only one reader in file order can
            // join it. Nodes rotate these files at a few MiB (the kubelet's default is 10 MiB),
            // so little parallelism is lost.
            return read_lines(
                Box::new(Cursor::new(line).chain(input)),
                0,
                sink,
                limits.line,
            );
        }
        if super::syslog::message(&line).is_some() {
            // Syslog lines carrying JSON records: read line by line (or cut into blocks)
            // as NDJSON is, each line's message taken from it ([`deliver_text`]).
            return offer_lines(
                Box::new(Cursor::new(line).chain(input)),
                0,
                sink,
                limits.line,
            );
        }
        if super::csv_rows::looks_like_header(&line) {
            return super::csv_rows::read_csv(Box::new(Cursor::new(line).chain(input)), sink);
        }
        sink.malformed(
            1,
            format!(
                "not a JSON log, syslog lines of JSON records nor a CSV export with a header \
                 (starts with {:?}): input skipped",
                char::from(first)
            ),
        );
        return Ok(());
    }
    // Read the first line (bounded) and decide.
    let mut line = Vec::new();
    (&mut input).take(line_limit).read_until(b'\n', &mut line)?;
    let complete_line = line.ends_with(b"\n") || (line.len() as u64) < line_limit;
    if complete_line {
        match serde_json::from_slice::<IgnoredAny>(&line) {
            Err(e) if e.is_eof() && line.ends_with(b"\n") => {} // a multi-line document
            // `{...}{\n`: documents one after another, the last continuing past the line.
            Err(_) if runs_past_the_line(&line) => {}
            // One value, several back to back (each line read as its documents), or a line
            // that is not JSON (reported with its number, and the next line read).
            _ => {
                let all: Box<dyn BufRead + Send> = Box::new(Cursor::new(line).chain(input));
                return offer_lines(all, 0, sink, line_limit);
            }
        }
    }
    let rest: Box<dyn BufRead + Send> =
        Box::new(io::BufReader::new(Cursor::new(line).chain(input)));
    read_document(rest, 0, sink, limits.document)
}

/// True when `line` is a complete JSON value followed by documents the last of which is not
/// finished at the end of the line: concatenated documents spread over lines (read as
/// documents, not line by line).
fn runs_past_the_line(line: &[u8]) -> bool {
    if !line.ends_with(b"\n") {
        return false;
    }
    let mut values = serde_json::Deserializer::from_slice(line).into_iter::<IgnoredAny>();
    matches!(values.next(), Some(Ok(_)))
        && loop {
            match values.next() {
                None => break false,
                Some(Ok(_)) => {}
                Some(Err(e)) => break e.is_eof(),
            }
        }
}

/// NDJSON after line `done`: the sink's to take, or read here line by line (`limit`: the size
/// of a container log message joined from its pieces, [`Partials`]).
fn offer_lines(
    input: Box<dyn BufRead + Send>,
    done: u64,
    sink: &mut dyn RecordSink,
    limit: u64,
) -> io::Result<()> {
    match sink.take_lines(input, done)? {
        Some(input) => read_lines(input, done, sink, limit),
        None => Ok(()),
    }
}

/// Cuts NDJSON after line `done` into blocks of whole lines of about `block_size` bytes (a
/// longer line makes a longer block), each read into a buffer from `buffer` (reused buffers
/// come back with their contents, which are overwritten: the allocator and the kernel do not
/// zero them again), and hands each to `send` with the number of its first line; stops early
/// when `send` returns false.
pub fn split_lines(
    mut input: Box<dyn BufRead + Send>,
    done: u64,
    block_size: usize,
    mut buffer: impl FnMut() -> Vec<u8>,
    mut send: impl FnMut(u64, Vec<u8>) -> bool,
) -> io::Result<()> {
    let mut next_line = done + 1;
    loop {
        let mut block = buffer();
        // Room for the block and the end of its last line, so a new buffer is not grown
        // (and copied) when the line is finished.
        block.reserve_exact((block_size + 64 * 1024).saturating_sub(block.len()));
        block.resize(block_size, 0);
        // Fill to the block size (reads this large go past a buffered reader's buffer, so
        // the bytes are copied once), then on to the end of a line.
        let mut filled = 0;
        let mut eof = false;
        while filled < block_size {
            match input.read(&mut block[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        block.truncate(filled);
        if !eof && input.read_until(b'\n', &mut block)? == 0 {
            eof = true;
        }
        if eof && block.is_empty() {
            return Ok(());
        }
        let lines = memchr::memchr_iter(b'\n', &block).count() as u64;
        let first = next_line;
        next_line += lines;
        if !send(first, block) || eof {
            return Ok(());
        }
    }
}

/// Delivers the lines of one block cut by [`split_lines`], the first numbered `first_line`,
/// as the reader delivers NDJSON lines. Blocks only come from inputs whose first line is JSON
/// (container logs are read in order, see [`read_records_limited`]): a container log message
/// split over lines among them is joined within its block, and one cut by the block's end is
/// reported as incomplete.
pub fn read_block(block: &[u8], first_line: u64, sink: &mut dyn RecordSink) {
    let mut partials = Partials::new(LINE_MODE_LIMIT);
    // Line ends found with `memchr` (a byte-at-a-time split was 6% of an ingest's CPU).
    // The last end is the block's: empty when the block ends with a newline.
    let ends = memchr::memchr_iter(b'\n', block).map(|i| i + 1);
    let mut start = 0;
    for (n, end) in (first_line..).zip(ends.chain(std::iter::once(block.len()))) {
        let line = &block[start..end];
        start = end;
        if !line.iter().all(u8::is_ascii_whitespace) {
            deliver_text(line, n, sink, &mut partials);
        }
    }
    partials.finish(sink);
}

/// NDJSON after line `done`; `limit` bounds a container log message joined from its pieces.
fn read_lines(
    mut input: Box<dyn BufRead + Send>,
    done: u64,
    sink: &mut dyn RecordSink,
    limit: u64,
) -> io::Result<()> {
    let mut partials = Partials::new(limit);
    let mut n = done;
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            partials.finish(sink);
            return Ok(());
        }
        n += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        deliver_text(&buf, n, sink, &mut partials);
    }
}

/// One line: a container runtime's line goes to `partials` (which joins split messages), a
/// syslog line gives its message ([`deliver_syslog_message`]), anything else is read as an
/// NDJSON line ([`deliver_json_line`]).
fn deliver_text(buf: &[u8], line: u64, sink: &mut dyn RecordSink, partials: &mut Partials) {
    if buf.first() == Some(&b'{') {
        return deliver_json_line(buf, line, sink);
    }
    if let Some(piece) = container_log_line(buf) {
        return partials.piece(piece, line, sink);
    }
    match super::syslog::message(buf) {
        Some(message) => deliver_syslog_message(message, line, sink),
        None if super::syslog::is_syslog(buf) => sink.malformed(
            line,
            "syslog line whose message is not a JSON log record (plain-text messages are not \
             read)"
                .into(),
        ),
        None => deliver_json_line(buf, line, sink),
    }
}

/// The message of a syslog line: JSON read as an NDJSON line is, a Ruby hash (GitHub
/// Enterprise Server's audit entries) read as the JSON it stands for.
fn deliver_syslog_message(message: &[u8], line: u64, sink: &mut dyn RecordSink) {
    let Ok(text) = std::str::from_utf8(message) else {
        return deliver_json_line(message, line, sink);
    };
    // `{:key=>...}`: a Ruby hash. A JSON object's first key is quoted: read as JSON straight
    // away unless a quoted key is followed by `=>` (a Ruby hash with string keys, or JSON
    // whose text holds `"=>`: then JSON is tried first). Otherwise (`{key: ...}`, Ruby 3.4's
    // printing) a Ruby hash, else the JSON error is reported.
    let first = text[1..].trim_start();
    let symbol_keys = first.starts_with(':');
    let json_shaped = first.starts_with(['"', '}']);
    if json_shaped && memchr::memmem::find(message, b"\"=>").is_none() {
        return deliver_json_line(message, line, sink);
    }
    if !symbol_keys && serde_json::from_str::<IgnoredAny>(text).is_ok() {
        return deliver_json_line(message, line, sink);
    }
    match super::ruby_hash::to_json(text) {
        Some(json) => deliver_json_line(json.as_bytes(), line, sink),
        None if symbol_keys => sink.malformed(
            line,
            "syslog line whose message is neither JSON nor a plain Ruby hash".into(),
        ),
        None => deliver_json_line(message, line, sink),
    }
}

/// One NDJSON line as text: a record goes to the sink as text, a wrapper's elements each as
/// their own text, and what is not a JSON object (an array of records, a bare value) through
/// a `Value`.
fn deliver_json_line(buf: &[u8], line: u64, sink: &mut dyn RecordSink) {
    let text = match std::str::from_utf8(buf) {
        Ok(t) => t.trim_end(),
        Err(_) => {
            // Not UTF-8: serde_json's own error names the position.
            match serde_json::from_slice::<Value>(buf) {
                Ok(v) => deliver_line(v, line, sink),
                Err(e) => sink.malformed(line, format!("invalid JSON: {e}")),
            }
            return;
        }
    };
    let outcome = if text.trim_start().starts_with('{') {
        // Every element of a wrapper on this line is placed on it, numbered from 0.
        let mut next = 0u64;
        deliver_object(text, sink, &mut |part| RecordAt {
            line,
            index: part.map(|_| {
                next += 1;
                next - 1
            }),
        })
    } else {
        serde_json::from_str::<Value>(text).map(|v| deliver_line(v, line, sink))
    };
    if let Err(e) = outcome {
        // Only a line that is not one JSON value is looked at again: it may be several.
        deliver_documents(text, line, sink, e);
    }
}

/// A line that is not one JSON value (`error` says why). When it begins with one, it holds
/// JSON documents back to back (`{...}{...}` or `{...} {...}`, as Kinesis Firehose writes
/// records with a transform, or a batch writer that ends each batch rather than each record
/// with a newline): each is read as records of this line, every one with its index, counted
/// across the line, so each has its own place. Text after them that is not a JSON document is
/// reported at the line, with how many documents came before it and the column where it
/// starts (the documents before it are read). A line that does not begin with a JSON value,
/// or that is one the sink refused, is reported with `error`.
fn deliver_documents(text: &str, line: u64, sink: &mut dyn RecordSink, error: serde_json::Error) {
    let mut documents = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    let mut document = match documents.next() {
        Some(Ok(first)) if documents.byte_offset() < text.len() => first,
        _ => return sink.malformed(line, format!("invalid JSON: {error}")),
    };
    let mut next = 0u64;
    let mut place = |_: Option<&str>| {
        next += 1;
        RecordAt {
            line,
            index: Some(next - 1),
        }
    };
    for n in 1u64.. {
        let outcome = match document.get().as_bytes().first() {
            Some(b'{') => deliver_object(document.get(), sink, &mut place),
            Some(b'[') => serde_json::from_str::<Vec<&RawValue>>(document.get()).map(|items| {
                for item in items {
                    give(sink, place(Some(item.get())), item.get());
                }
            }),
            _ => sink.raw(place(None), document.get()),
        };
        if let Err(e) = outcome {
            sink.malformed(
                line,
                format!("invalid JSON in document {n} of the line: {e}"),
            );
        }
        let end = documents.byte_offset();
        document = match documents.next() {
            None => return,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                // Its column, counted from 1 as serde_json counts them.
                let rest = &text[end..];
                let from = end + rest.len() - rest.trim_start().len() + 1;
                return sink.malformed(
                    line,
                    format!(
                        "invalid JSON after {n} document{} on this line (the rest of the \
                         line, from column {from}, skipped): {e}",
                        if n == 1 { "" } else { "s" }
                    ),
                );
            }
        };
    }
}

/// Hands `text`, a JSON value already checked (an element of an array or wrapper), to the
/// sink; one it cannot take all the same is reported.
fn give(sink: &mut dyn RecordSink, at: RecordAt, text: &str) {
    if let Err(e) = sink.raw(at, text) {
        sink.malformed(at.line, format!("invalid JSON: {e}"));
    }
}

/// One line of a container runtime's log (CRI format, what containerd and CRI-O write under
/// `/var/log/containers/`: `<RFC 3339 time> <stdout|stderr> <F|P> <message>`), as Envoy
/// access logs or any JSON log written to a container's stdout are collected from a node.
struct ContainerLine<'a> {
    /// 0 for stdout, 1 for stderr (an index into [`Partials`]).
    stream: usize,
    /// Tagged `P`: a piece of a message the runtime split (lines over 16 KiB), more to come.
    partial: bool,
    /// The piece of the message on this line, without the line's end (its bytes as written:
    /// a split may fall inside a UTF-8 character).
    message: &'a [u8],
}

/// The line `line` (its newline included or not) as a container runtime's log line, or
/// `None` for other text.
fn container_log_line(line: &[u8]) -> Option<ContainerLine<'_>> {
    if !line.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut parts = line.splitn(4, |b| *b == b' ');
    let (time, stream, tag, rest) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let stream = match stream {
        b"stdout" => 0,
        b"stderr" => 1,
        _ => return None,
    };
    let partial = match tag {
        b"P" => true,
        b"F" => false,
        _ => return None,
    };
    let time = std::str::from_utf8(time).ok()?;
    if !time.contains('T') || nhiscope_engine::time::parse(time).is_none() {
        return None;
    }
    let message = rest.strip_suffix(b"\n").unwrap_or(rest);
    let message = message.strip_suffix(b"\r").unwrap_or(message);
    Some(ContainerLine {
        stream,
        partial,
        message,
    })
}

/// A container log message as the runtime wrote it (whole, or joined from its pieces) and
/// the line it starts on: a JSON record is read as an NDJSON line is; plain-text output is
/// reported, not read.
fn deliver_message(message: &[u8], line: u64, sink: &mut dyn RecordSink) {
    if message.first() == Some(&b'{') {
        deliver_json_line(message, line, sink);
    } else {
        sink.malformed(
            line,
            "container log line whose message is not a JSON log record (plain-text output is \
             not read)"
                .into(),
        );
    }
}

/// Joins the messages a container runtime split over several lines: the runtime writes a
/// message longer than 16 KiB as `P` (partial) lines followed by one `F` (final) line, and
/// the message is their pieces in order. stdout's and stderr's pieces interleave, so each
/// stream has its own message being joined. A joined message is delivered at the line of
/// its first piece; one longer than `limit` bytes is reported (at that line) and its
/// pieces skipped, so memory stays bounded; one the input ends inside is reported by
/// [`Partials::finish`].
struct Partials {
    runs: [Option<Run>; 2],
    limit: u64,
}

/// The pieces of one stream's split message so far.
struct Run {
    first_line: u64,
    text: Vec<u8>,
    /// Longer than the limit: reported, its pieces skipped up to its `F` line.
    skipped: bool,
}

impl Partials {
    fn new(limit: u64) -> Partials {
        Partials {
            runs: [None, None],
            limit,
        }
    }

    /// One line of the container log, numbered `line`.
    fn piece(&mut self, piece: ContainerLine<'_>, line: u64, sink: &mut dyn RecordSink) {
        let limit = self.limit;
        let slot = &mut self.runs[piece.stream];
        if !piece.partial && slot.is_none() {
            // The common case: a message on one line.
            deliver_message(piece.message, line, sink);
            return;
        }
        let run = slot.get_or_insert_with(|| Run {
            first_line: line,
            text: Vec::new(),
            skipped: false,
        });
        if !run.skipped {
            if (run.text.len() + piece.message.len()) as u64 > limit {
                run.skipped = true;
                run.text = Vec::new();
                sink.malformed(
                    run.first_line,
                    format!(
                        "container log message split over several lines from line {} is \
                         longer than {limit} bytes: skipped up to its final (`F`) line",
                        run.first_line
                    ),
                );
            } else {
                run.text.extend_from_slice(piece.message);
            }
        }
        if piece.partial {
            return;
        }
        if let Some(run) = slot.take().filter(|r| !r.skipped) {
            deliver_message(&run.text, run.first_line, sink);
        }
    }

    /// The input ended: a message still being joined is incomplete, and reported at its
    /// first line.
    fn finish(&mut self, sink: &mut dyn RecordSink) {
        for run in self.runs.iter_mut().filter_map(Option::take) {
            if !run.skipped {
                sink.malformed(
                    run.first_line,
                    format!(
                        "container log message split over several lines from line {} has no \
                         final (`F`) line: the input ends inside it",
                        run.first_line
                    ),
                );
            }
        }
    }
}

/// One JSON object's text: a wrapper's elements (the first wrapper key in [`WRAPPER_KEYS`]
/// order whose value is an array; none for a CloudWatch Logs control message), or the record
/// it is. `place` gives the place of an element (`Some`) or of the object as one record. When
/// `text` is not one JSON value, its parse error (nothing was delivered or reported).
fn deliver_object(
    text: &str,
    sink: &mut dyn RecordSink,
    place: &mut dyn FnMut(Option<&str>) -> RecordAt,
) -> Result<(), serde_json::Error> {
    if bulk_action(text) {
        return Ok(());
    }
    if !maybe_wrapper(text.as_bytes()) {
        // The sink's parse checks the text.
        return sink.raw(place(None), text);
    }
    let Wrapped {
        mut arrays,
        control,
    } = serde_json::from_str::<Wrapped>(text)?;
    if control {
        return Ok(());
    }
    arrays.sort_by_key(|(k, _)| *k);
    match arrays.into_iter().next() {
        Some((_, items)) => {
            for item in items {
                give(sink, place(Some(item.get())), item.get());
            }
            Ok(())
        }
        None => sink.raw(place(None), text),
    }
}

/// The arrays under the wrapper keys of a JSON object (by index in [`WRAPPER_KEYS`]), each
/// element as its raw text, read in one pass; other entries are only checked. `control`: the
/// object is a CloudWatch Logs control message ([`CONTROL_MESSAGE`]).
struct Wrapped<'a> {
    arrays: Vec<(usize, Vec<&'a RawValue>)>,
    control: bool,
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Wrapped<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Wrapped<'a>, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Wrapped<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Wrapped<'a>, A::Error> {
                let mut out = Wrapped {
                    arrays: Vec::new(),
                    control: false,
                };
                while let Some(k) = map.next_key::<String>()? {
                    match WRAPPER_KEYS.iter().position(|w| *w == k) {
                        Some(i) if k == NESTED_KEY => {
                            let raw = map.next_value::<&'a RawValue>()?;
                            if let Some(items) = nested_items(raw) {
                                out.arrays.push((i, items));
                            }
                        }
                        Some(i) => {
                            if let Arr(Some(items)) = map.next_value::<Arr<&'a RawValue>>()? {
                                out.arrays.push((i, items));
                            }
                        }
                        None if k == "messageType" => {
                            out.control = map.next_value::<Value>()? == CONTROL_MESSAGE;
                        }
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// True for the action line of an Elasticsearch / OpenSearch bulk file (`{"index": {"_index":
/// ..., "_id": ...}}` before each document, as bulk exports and replays write them): metadata,
/// skipped (the document on the next line is the record). A prefix test first, so other lines
/// cost nothing.
fn bulk_action(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Action {
        #[serde(alias = "create")]
        index: Target,
    }
    #[derive(serde::Deserialize)]
    struct Target {
        #[serde(rename = "_index")]
        index: Option<IgnoredAny>,
        #[serde(rename = "_id")]
        id: Option<IgnoredAny>,
    }
    let t = text.trim_start_matches(|c: char| c == '{' || c.is_ascii_whitespace());
    if !(t.starts_with("\"index\"") || t.starts_with("\"create\"")) {
        return false;
    }
    serde_json::from_str::<Action>(text)
        .is_ok_and(|a| a.index.index.is_some() || a.index.id.is_some())
}

/// The elements under a [`NESTED_KEY`] value: an array, or an object's array under the same
/// key.
fn nested_items(raw: &RawValue) -> Option<Vec<&RawValue>> {
    #[derive(serde::Deserialize)]
    struct Nested<'a> {
        #[serde(borrow, rename = "hits")]
        items: Option<Arr<&'a RawValue>>,
    }
    match raw.get().as_bytes().first() {
        Some(b'[') => serde_json::from_str(raw.get()).ok(),
        Some(b'{') => serde_json::from_str::<Nested>(raw.get()).ok()?.items?.0,
        _ => None,
    }
}

/// Takes the elements of the first wrapper array of `o` ([`WRAPPER_KEYS`] order), if any.
fn take_wrapped(o: &mut Map<String, Value>) -> Option<Vec<Value>> {
    let key = WRAPPER_KEYS.iter().find(|k| match o.get(**k) {
        Some(Value::Array(_)) => true,
        Some(Value::Object(inner)) => {
            **k == NESTED_KEY && inner.get(**k).is_some_and(Value::is_array)
        }
        _ => false,
    })?;
    match o.remove(*key)? {
        Value::Array(items) => Some(items),
        Value::Object(mut inner) => match inner.remove(*key)? {
            Value::Array(items) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

/// One NDJSON line: a record, or a wrapper whose elements are records.
fn deliver_line(v: Value, line: u64, sink: &mut dyn RecordSink) {
    match v {
        Value::Object(mut o) => match take_wrapped(&mut o) {
            Some(items) => emit_items(sink, line, items),
            None => sink.record(RecordAt { line, index: None }, Value::Object(o)),
        },
        Value::Array(items) => emit_items(sink, line, items),
        other => sink.record(RecordAt { line, index: None }, other),
    }
}

/// Delivers the elements of an array found on `line`, each with its index.
fn emit_items(sink: &mut dyn RecordSink, line: u64, items: Vec<Value>) {
    for (i, item) in items.into_iter().enumerate() {
        sink.record(
            RecordAt {
                line,
                index: Some(i as u64),
            },
            merge_row(item),
        );
    }
}

/// CloudTrail Lake result rows are arrays of one-key objects: merge them into one object.
pub fn merge_row(v: Value) -> Value {
    match v {
        Value::Array(cells) if !cells.is_empty() && cells.iter().all(Value::is_object) => {
            let mut out = Map::new();
            for c in cells {
                if let Value::Object(o) = c {
                    out.extend(o);
                }
            }
            Value::Object(out)
        }
        other => other,
    }
}

/// Counts newlines as the deserializer pulls bytes.
struct Lines<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let nl = buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        self.count.set(self.count.get() + nl);
        Ok(n)
    }
}

/// A document input up to this size is read into memory and parsed from there: serde's
/// reader over a stream takes its bytes one at a time, several times slower than over a slice.
/// A larger document is streamed, so memory stays bounded per parsing thread.
pub const DOCUMENT_IN_MEMORY_LIMIT: u64 = 64 * 1024 * 1024;

/// A document input (not NDJSON) after line `done`: in memory when it fits `limit` bytes and
/// is UTF-8, streamed otherwise.
fn read_document(
    mut input: Box<dyn BufRead + Send>,
    done: u64,
    sink: &mut dyn RecordSink,
    limit: u64,
) -> io::Result<()> {
    let mut buf = Vec::new();
    (&mut input).take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 <= limit {
        if let Ok(text) = std::str::from_utf8(&buf) {
            read_text_documents(text, done, sink);
            return Ok(());
        }
    }
    stream_document(Box::new(Cursor::new(buf).chain(input)), done, sink)
}

/// The documents of an input held in memory, one after the other: each record goes to the
/// sink as the text it is in `text` (no copy), with the line its closing brace is on. A
/// document that is not valid JSON is streamed from its start, so its complete records are
/// still delivered before the error is reported (the rest of the input is skipped).
fn read_text_documents(text: &str, done: u64, sink: &mut dyn RecordSink) {
    let mut at = Places {
        text,
        counted_to: 0,
        lines: done,
        items: 0,
    };
    let mut documents = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    loop {
        let start = documents.byte_offset();
        match documents.next() {
            None => return,
            Some(Ok(doc)) => deliver_document(doc.get(), &mut at, sink),
            Some(Err(_)) => {
                let before = at.line_after(start) - 1;
                let rest = Cursor::new(text.as_bytes()[start..].to_vec());
                // Reading a buffer in memory cannot fail.
                let _ = stream_document(Box::new(rest), before, sink);
                return;
            }
        }
    }
}

/// Where the records of an in-memory input are: lines counted up to an offset (records come
/// in order, so each count goes on from the last), and array elements delivered so far
/// (counted across the documents of the input, as [`stream_document`] does).
struct Places<'a> {
    text: &'a str,
    counted_to: usize,
    lines: u64,
    items: u64,
}

impl Places<'_> {
    /// The line of the last byte before `end`.
    fn line_after(&mut self, end: usize) -> u64 {
        if end > self.counted_to {
            let bytes = &self.text.as_bytes()[self.counted_to..end];
            self.lines += memchr::memchr_iter(b'\n', bytes).count() as u64;
            self.counted_to = end;
        }
        self.lines + 1
    }

    /// The line `part` (a slice of the text) ends on.
    fn line_of(&mut self, part: &str) -> u64 {
        let start = (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        self.line_after((start + part.len()).min(self.text.len()))
    }

    /// The place of an element of an array or wrapper.
    fn element(&mut self, part: &str) -> RecordAt {
        let at = RecordAt {
            line: self.line_of(part),
            index: Some(self.items),
        };
        self.items += 1;
        at
    }
}

/// One document of an in-memory input: an array's elements, a wrapper's elements (as
/// [`deliver_text`] picks them; control messages skipped), or the record it is.
fn deliver_document(doc: &str, at: &mut Places<'_>, sink: &mut dyn RecordSink) {
    match doc.as_bytes().first() {
        Some(b'[') => match serde_json::from_str::<Vec<&RawValue>>(doc) {
            Ok(items) => {
                for item in items {
                    give(sink, at.element(item.get()), item.get());
                }
            }
            Err(e) => sink.malformed(at.line_of(doc), format!("invalid JSON: {e}")),
        },
        Some(b'{') => {
            let outcome = deliver_object(doc, sink, &mut |part| match part {
                Some(item) => at.element(item),
                // The document as one record (its line counted only then: elements come first).
                None => RecordAt {
                    line: at.line_of(doc),
                    index: None,
                },
            });
            if let Err(e) = outcome {
                sink.malformed(at.line_of(doc), format!("invalid JSON: {e}"));
            }
        }
        _ => sink.malformed(
            at.line_of(doc),
            "not a JSON object or array of log records".into(),
        ),
    }
}

/// A streamed document.
fn stream_document(
    input: Box<dyn BufRead + Send>,
    done: u64,
    sink: &mut dyn RecordSink,
) -> io::Result<()> {
    let count = Rc::new(Cell::new(done));
    let reader = Lines {
        inner: input,
        count: count.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let items = Rc::new(Cell::new(0));
    // One document after the other: concatenated JSON (`{...}{...}`, as some delivery
    // pipelines write it) and a large first line followed by NDJSON both read through.
    let mut values = || -> Result<(), serde_json::Error> {
        loop {
            let top = Top {
                sink: &mut *sink,
                lines: count.clone(),
                items: items.clone(),
            };
            top.deserialize(&mut de)?;
            if de.end().is_ok() {
                return Ok(());
            }
        }
    };
    match values() {
        Ok(()) => Ok(()),
        Err(e) if e.is_io() => Err(io::Error::other(e.to_string())),
        Err(e) => {
            sink.malformed(
                e.line() as u64 + done,
                format!("invalid JSON, rest of the input skipped: {e}"),
            );
            Ok(())
        }
    }
}

/// One document of a streamed input. `lines`: newlines read so far; `items`: array elements
/// delivered so far, counted across the documents of the input, so that each record's
/// [`RecordAt`] is its own even when concatenated documents share a line.
struct Top<'a> {
    sink: &'a mut dyn RecordSink,
    lines: Rc<Cell<u64>>,
    items: Rc<Cell<u64>>,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or array of log records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        stream(seq, self.sink, &self.lines, &self.items)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rest = Map::new();
        let mut wrapped = false;
        // A control message's events are skipped (`messageType` comes first in the payloads
        // CloudWatch Logs sends).
        let mut control = false;
        while let Some(key) = map.next_key::<String>()? {
            if WRAPPER_KEYS.contains(&key.as_str()) {
                let seed = Elements {
                    sink: &mut *self.sink,
                    lines: self.lines.clone(),
                    items: self.items.clone(),
                    skip: control,
                    nested: key == NESTED_KEY,
                };
                match map.next_value_seed(seed)? {
                    None => wrapped = true,
                    Some(v) => {
                        rest.insert(key, v);
                    }
                }
            } else {
                let value = map.next_value::<Value>()?;
                control |= key == "messageType" && value == CONTROL_MESSAGE;
                rest.insert(key, value);
            }
        }
        if !wrapped {
            let at = RecordAt {
                line: self.lines.get() + 1,
                index: None,
            };
            self.sink.record(at, Value::Object(rest));
        }
        Ok(())
    }
}

fn stream<'de, A: SeqAccess<'de>>(
    mut seq: A,
    sink: &mut dyn RecordSink,
    lines: &Cell<u64>,
    items: &Cell<u64>,
) -> Result<(), A::Error> {
    while let Some(v) = seq.next_element::<Box<RawValue>>()? {
        let at = RecordAt {
            line: lines.get() + 1,
            index: Some(items.get()),
        };
        give(sink, at, v.get());
        items.set(items.get() + 1);
    }
    Ok(())
}

/// The value of a wrapper key: streamed when it is an array (`None`; read and dropped when
/// `skip`), or, when `nested` ([`NESTED_KEY`]), an object holding that array under the same
/// key; kept otherwise.
struct Elements<'a> {
    sink: &'a mut dyn RecordSink,
    lines: Rc<Cell<u64>>,
    items: Rc<Cell<u64>>,
    skip: bool,
    nested: bool,
}

impl<'de> DeserializeSeed<'de> for Elements<'_> {
    type Value = Option<Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        if self.skip {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(None);
        }
        stream(seq, self.sink, &self.lines, &self.items).map(|_| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        use serde::Deserialize;
        if !self.nested {
            return Value::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some);
        }
        let mut rest = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == NESTED_KEY && !streamed {
                let seed = Elements {
                    sink: &mut *self.sink,
                    lines: self.lines.clone(),
                    items: self.items.clone(),
                    skip: self.skip,
                    nested: false,
                };
                match map.next_value_seed(seed)? {
                    None => streamed = true,
                    Some(v) => {
                        rest.insert(key, v);
                    }
                }
            } else {
                rest.insert(key, map.next_value::<Value>()?);
            }
        }
        Ok((!streamed).then_some(Value::Object(rest)))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_lines_cuts_whole_lines_into_reused_dirty_buffers() {
        let text: String = (1..=200)
            .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 37)))
            .collect();
        // Reused buffers arrive holding old bytes, some longer than a block.
        let mut dirty = vec![vec![b'#'; 10], vec![b'#'; 500], vec![b'#'; 64]];
        let mut blocks = Vec::new();
        split_lines(
            Box::new(Cursor::new(text.clone().into_bytes())),
            0,
            64,
            || dirty.pop().unwrap_or_default(),
            |first, block| {
                blocks.push((first, block));
                true
            },
        )
        .expect("split");
        let mut line = 1;
        for (first, block) in &blocks {
            assert_eq!(*first, line);
            assert!(block.ends_with(b"\n"), "whole lines only");
            line += memchr::memchr_iter(b'\n', block).count() as u64;
        }
        let joined: Vec<u8> = blocks.into_iter().flat_map(|(_, b)| b).collect();
        assert_eq!(String::from_utf8(joined).expect("utf8"), text);
    }

    #[derive(Default)]
    struct Collect {
        records: Vec<(String, Value)>,
        bad: Vec<(u64, String)>,
    }

    impl RecordSink for Collect {
        fn record(&mut self, at: RecordAt, record: Value) {
            self.records.push((at.to_string(), record));
        }
        fn malformed(&mut self, line: u64, reason: String) {
            self.bad.push((line, reason));
        }
    }

    fn read(text: &str) -> Collect {
        let mut c = Collect::default();
        let input: Box<dyn BufRead + Send> = Box::new(Cursor::new(text.as_bytes().to_vec()));
        read_records(input, &mut c).expect("read");
        c
    }

    #[test]
    fn ndjson_with_a_bad_line_keeps_going() {
        let c = read("# a license\nline two\n");
        assert_eq!(c.bad.len(), 1, "one reason for a non-JSON input");
        let c = read("{\"a\":1}\n\n{oops\n{\"a\":3}\n");
        assert_eq!(c.records.len(), 2);
        assert_eq!(c.records[1].0, "4");
        assert_eq!(c.bad.len(), 1);
        assert_eq!(c.bad[0].0, 3);
    }

    #[test]
    fn one_line_s3_file_and_pretty_wrapper_stream_their_records() {
        let c = read("{\"Records\":[{\"a\":1},{\"a\":2}]}");
        assert_eq!(c.records.len(), 2);
        assert_eq!(c.records[1].0, "1#1");
        let pretty = "{\n  \"Records\": [\n    {\"a\": 1},\n    {\"a\": 2}\n  ]\n}\n";
        let c = read(pretty);
        assert_eq!(c.records.len(), 2, "{:?}", c.bad);
        assert_eq!(c.records[0].1["a"], 1);
        // Each element with the line its closing brace is on.
        let at: Vec<&str> = c.records.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(at, ["3#0", "4#1"]);
        let c = read(&format!("{pretty}{{\n \"a\": 3\n}}\n"));
        let at: Vec<&str> = c.records.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(at, ["3#0", "4#1", "9"], "{:?}", c.bad);
    }

    #[test]
    fn arrays_single_objects_and_lake_rows() {
        let c = read("[\n {\"a\": 1},\n {\"a\": 2}\n]");
        assert_eq!(c.records.len(), 2);
        let c = read("{\n \"eventName\": \"X\",\n \"value\": 5\n}\n");
        assert_eq!(c.records.len(), 1);
        assert_eq!(c.records[0].1["value"], 5);
        let c = read("{\"QueryResultRows\": [[{\"eventID\": \"e\"}, {\"eventName\": \"N\"}]]}");
        assert_eq!(c.records[0].1["eventName"], "N");
        assert_eq!(c.records[0].1["eventID"], "e");
    }

    #[test]
    fn a_first_line_over_the_limit_is_streamed() {
        let text = "{\"Records\":[{\"a\":1},{\"a\":2},{\"a\":3}]}\n{\"a\":4}\n";
        let mut c = Collect::default();
        let input: Box<dyn BufRead + Send> = Box::new(Cursor::new(text.as_bytes().to_vec()));
        let limits = Limits {
            line: 8,
            ..Limits::default()
        };
        read_records_limited(input, &mut c, limits).expect("read");
        // The wrapper's records are streamed, then the values after it are read too.
        assert_eq!(c.records.len(), 4, "{:?}", c.bad);
        assert_eq!(c.records[2].0, "1#2");
        assert_eq!(c.records[3].1["a"], 4);
        assert!(c.bad.is_empty(), "{:?}", c.bad);
        let c = read("[{\"a\":1}]{\"a\":2}\n{\"a\":3} oops");
        assert_eq!(c.records.len(), 3, "{:?}", c.bad);
        assert_eq!(c.bad.len(), 1, "trailing garbage is reported: {:?}", c.bad);
    }

    #[test]
    fn lines_of_several_documents_give_each_record_at_its_line() {
        let text = concat!(
            "{\"n\":1}\n",
            // Back to back, with and without a space, wrappers and arrays among them.
            "{\"n\":2}{\"n\":3} {\"Records\":[{\"n\":4},{\"n\":5}]}\t[{\"n\":6}]\n",
            // A garbage tail after two documents, then a line that is no JSON at all.
            "{\"n\":7}{\"n\":8} }oops\n",
            "oops {\"n\":0}\n",
            "{\"n\":9}\n",
        );
        let c = read(text);
        let got: Vec<(&str, i64)> = c
            .records
            .iter()
            .map(|(at, r)| (at.as_str(), r["n"].as_i64().unwrap_or(-1)))
            .collect();
        assert_eq!(
            got,
            [
                ("1", 1),
                ("2#0", 2),
                ("2#1", 3),
                ("2#2", 4),
                ("2#3", 5),
                ("2#4", 6),
                ("3#0", 7),
                ("3#1", 8),
                ("5", 9),
            ]
        );
        let lines: Vec<u64> = c.bad.iter().map(|b| b.0).collect();
        assert_eq!(lines, [3, 4], "{:?}", c.bad);
        assert!(
            c.bad[0].1.starts_with(
                "invalid JSON after 2 documents on this line (the rest of the line, from column 16, skipped)"
            ),
            "{:?}",
            c.bad
        );
        assert!(
            c.bad[1]
                .1
                .starts_with("invalid JSON: expected value at line 1 column 1"),
            "not several documents: {:?}",
            c.bad
        );
        // Cut into blocks, the same records and reports.
        let mut block = Collect::default();
        read_block(text.as_bytes(), 1, &mut block);
        assert_eq!((block.records, block.bad), (c.records, c.bad));
    }

    #[test]
    fn a_first_line_of_several_documents_is_read_line_by_line() {
        // As Firehose writes a batch per line: the bad third line does not end the input.
        let c = read("{\"n\":1}{\"n\":2}\n{\"n\":3} {\"n\":4}\n{\"n\":5}{oops\n{\"n\":6}\n");
        let at: Vec<&str> = c.records.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(at, ["1#0", "1#1", "2#0", "2#1", "3#0", "4"], "{:?}", c.bad);
        assert_eq!(c.bad.len(), 1, "{:?}", c.bad);
        assert_eq!(c.bad[0].0, 3);
        assert!(
            c.bad[0].1.contains("after 1 document on this line"),
            "{:?}",
            c.bad
        );
        // Documents back to back whose last one continues past the first line: documents.
        let c = read("{\"n\":1}{\n  \"n\": 2\n}\n{\"n\":3}");
        let at: Vec<&str> = c.records.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(at, ["1", "3", "4"], "{:?}", c.bad);
        assert!(c.bad.is_empty(), "{:?}", c.bad);
    }

    /// CloudTrail records (the typed fast path) and GCP audit entries (the general path) on
    /// lines of several documents, through the reader and the parsers: each record is one
    /// event pointing at its line and index, a garbage tail is reported at its line, and the
    /// lines around are read.
    #[test]
    fn several_cloudtrail_and_gcp_records_on_a_line_are_each_an_event() {
        let trail = |id: &str| {
            format!(
                r#"{{"eventVersion":"1.09","eventTime":"2026-05-02T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","eventID":"{id}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ci","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE000000001"}},"recipientAccountId":"111122223333"}}"#
            )
        };
        let gcp = |id: &str| {
            format!(
                r#"{{"insertId":"{id}","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2026-05-02T12:00:00Z","resource":{{"type":"gcs_bucket","labels":{{"project_id":"p"}}}},"protoPayload":{{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"storage.googleapis.com","methodName":"storage.objects.get","authenticationInfo":{{"principalEmail":"ci@p.iam.gserviceaccount.com"}}}}}}"#
            )
        };
        let text = format!(
            "{}\n{}{}\n{} {}\n{}{}, oops\n{}\n",
            trail("ct-1"),
            trail("ct-2"),
            trail("ct-3"),
            gcp("g-1"),
            gcp("g-2"),
            trail("ct-4"),
            gcp("g-3"),
            gcp("g-4"),
        );
        let input = Box::new(Cursor::new(text.into_bytes()));
        let (events, rejected) =
            crate::logs::normalise::parse_all(input, "firehose", None).expect("read");
        let got: Vec<(&str, &str, &str)> = events
            .iter()
            .map(|e| {
                (
                    e.raw_ref.as_str(),
                    e.source_format.as_str(),
                    e.event_id.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("firehose:1", "cloudtrail", "ct-1"),
                ("firehose:2#0", "cloudtrail", "ct-2"),
                ("firehose:2#1", "cloudtrail", "ct-3"),
                ("firehose:3#0", "gcp_audit", "g-1"),
                ("firehose:3#1", "gcp_audit", "g-2"),
                ("firehose:4#0", "cloudtrail", "ct-4"),
                ("firehose:4#1", "gcp_audit", "g-3"),
                ("firehose:5", "gcp_audit", "g-4"),
            ]
        );
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert_eq!(rejected[0].0, 4);
        assert!(
            rejected[0]
                .1
                .starts_with("invalid JSON after 2 documents on this line"),
            "{rejected:?}"
        );
    }

    #[test]
    fn cloudwatch_logs_payloads_concatenated_or_one_per_line() {
        let data = |ids: &[u32]| {
            let events: Vec<String> = ids
                .iter()
                .map(|i| format!(r#"{{"id":"{i}","timestamp":1,"message":"{{\"n\":{i}}}"}}"#))
                .collect();
            format!(
                r#"{{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[{}]}}"#,
                events.join(",")
            )
        };
        let control = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        // Firehose without a delimiter: payloads back to back on one line.
        let c = read(&format!("{control}{}{}", data(&[1, 2]), data(&[3])));
        let messages: Vec<&Value> = c.records.iter().map(|(_, r)| &r["message"]).collect();
        assert_eq!(
            messages,
            ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"],
            "{:?}",
            c.bad
        );
        assert!(c.bad.is_empty(), "{:?}", c.bad);
        let at: Vec<&str> = c.records.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(
            at,
            ["1#0", "1#1", "1#2"],
            "one line, each record its own place"
        );
        // One payload per line; the control message's event is skipped here too.
        let c = read(&format!("{}\n{control}\n{}\n", data(&[1, 2]), data(&[3])));
        let at: Vec<&str> = c.records.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(at, ["1#0", "1#1", "3#0"], "{:?}", c.bad);
        // `aws logs filter-log-events` output, pretty-printed.
        let cli = "{\n  \"events\": [\n    {\"logStreamName\": \"s\", \"timestamp\": 1, \"message\": \"{}\", \"ingestionTime\": 2, \"eventId\": \"e\"}\n  ],\n  \"searchedLogStreams\": []\n}\n";
        let c = read(cli);
        assert_eq!(c.records.len(), 1, "{:?}", c.bad);
        assert_eq!(c.records[0].1["eventId"], "e");
    }

    /// Documents read in memory and streamed give the same records at the same places, and
    /// the same reports.
    #[test]
    fn kubernetes_cloud_logging_and_siem_wrappers_give_their_elements() {
        let records = |c: &Collect| -> Vec<(String, i64)> {
            c.records
                .iter()
                .map(|(at, v)| (at.clone(), v["n"].as_i64().unwrap_or(-1)))
                .collect()
        };
        // One per line: audit webhook `EventList` batches, Cloud Logging `entries.list` pages,
        // Splunk REST `results`, Elasticsearch / OpenSearch `_search` responses (`hits.hits`,
        // spaced as some clients print them).
        let ndjson = concat!(
            "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[{\"n\":1},{\"n\":2}]}\n",
            "{\"entries\":[{\"n\":3}],\"nextPageToken\":\"t\"}\n",
            "{\"preview\":false,\"init_offset\":0,\"messages\":[],\"results\":[{\"n\":4}]}\n",
            "{\"took\":2,\"timed_out\":false,\"hits\" : {\"total\":{\"value\":2},\"hits\" : [{\"n\":5},{\"n\":6}]}}\n",
            "{\"n\":7,\"hits\":3,\"note\":\"\\\"items\\\": [not a wrapper]\"}\n",
        );
        let c = read(ndjson);
        assert!(c.bad.is_empty(), "{:?}", c.bad);
        let want = [
            ("1#0", 1),
            ("1#1", 2),
            ("2#0", 3),
            ("3#0", 4),
            ("4#0", 5),
            ("4#1", 6),
            ("5", 7),
        ];
        let want: Vec<(String, i64)> = want.iter().map(|(a, n)| (a.to_string(), *n)).collect();
        assert_eq!(records(&c), want);
        // The same response pretty-printed (a document) and as a bare `hits` array.
        let pretty = "{\n  \"hits\": {\n    \"hits\": [\n      {\"n\": 5},\n      {\"n\": 6}\n    ]\n  }\n}\n";
        assert_eq!(
            records(&read(pretty)),
            [("4#0".to_string(), 5), ("5#1".to_string(), 6)]
        );
        assert_eq!(
            records(&read("{\"hits\":[{\"n\":8}]}")),
            [("1#0".to_string(), 8)]
        );
    }

    #[test]
    fn blocks_deliver_the_lines_the_line_reader_does() {
        for text in [
            "{\"a\":1}\n{\"a\":2}\n",
            "{\"a\":1}\n\n  \n{\"a\":2}",
            "{\"a\":1}\r\n{oops\n{\"Records\":[{\"a\":3},{\"a\":4}]}\n\n",
            "{\"a\":1}\n2026-05-02T12:00:00Z stdout P {\"a\":\n2026-05-02T12:00:00Z stdout F 2}\n",
            "{\"a\":1}\n2026-05-02T12:00:00Z stderr P {\"a\":\n",
            "\n",
            "",
        ] {
            let mut block = Collect::default();
            read_block(text.as_bytes(), 7, &mut block);
            let mut lines = Collect::default();
            read_lines(
                Box::new(Cursor::new(text.as_bytes().to_vec())),
                6,
                &mut lines,
                LINE_MODE_LIMIT,
            )
            .expect("read");
            assert_eq!(block.records, lines.records, "{text:?}");
            assert_eq!(block.bad, lines.bad, "{text:?}");
        }
    }

    #[test]
    fn syslog_lines_give_their_json_and_ruby_hash_messages() {
        // GitHub Enterprise Server's audit.log: Ruby hashes and JSON behind a BSD header;
        // then forwarded records with RFC 5424 and RFC 3339 headers, a JSON message holding
        // `=>`, Ruby 3.4's printing, and lines that are not records.
        let text = concat!(
            "Oct 26 01:42:08 github-ent github_audit: {:created_at=>1351215728326, :actor=>\"some-user\", :action=>\"repo.create\", :data=>{}}\n",
            "Oct 26 02:19:31 github-ent github_audit: { \"pid\":22860, \"pusher\":\"some-user\" }\n",
            "Oct 26 02:19:32 github-ent sshd[1]: Accepted publickey for git\n",
            "<165>1 2026-01-05T07:01:02Z host app - - - {\"n\":4,\"ua\":\"a=>b\"}\n",
            "2026-01-05T07:01:03+00:00 host tag: {n: 5, ok: true}\n",
            "Oct 26 02:19:33 github-ent github_audit: {:at=>#<Time>}\n",
            "{\"n\":7}\n",
        );
        let c = read(text);
        let at: Vec<&str> = c.records.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(at, ["1", "2", "4", "5", "7"]);
        assert_eq!(c.records[0].1["action"], "repo.create");
        assert_eq!(c.records[0].1["created_at"], 1351215728326u64);
        assert_eq!(c.records[1].1["pusher"], "some-user");
        assert_eq!(c.records[2].1["ua"], "a=>b");
        assert_eq!(c.records[3].1["ok"], true);
        let bad: Vec<u64> = c.bad.iter().map(|b| b.0).collect();
        assert_eq!(bad, [3, 6], "{:?}", c.bad);
        assert!(c.bad[0].1.contains("plain-text messages"), "{:?}", c.bad);
        assert!(c.bad[1].1.contains("Ruby hash"), "{:?}", c.bad);
        // The same lines cut into blocks are read alike.
        let mut blocks = Collect::default();
        read_block(text.as_bytes(), 1, &mut blocks);
        assert_eq!(blocks.records, c.records);
        assert_eq!(blocks.bad, c.bad);
    }

    #[test]
    fn container_runtime_log_lines_give_their_json_messages() {
        // Startup text first, as a proxy's container log usually begins.
        let text = concat!(
            "2026-05-02T11:59:59.9Z stderr F [info][main] starting envoy\n",
            "2026-05-02T12:00:00.000000001Z stdout F {\"n\":1}\n",
            "2026-05-02T12:00:01.5Z stderr F [warning][config] plain text\n",
            "2026-05-02T12:00:02Z stdout F {\"n\":2}\n",
            "{\"n\":3}\n",
        );
        let c = read(text);
        let at: Vec<&str> = c.records.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(at, ["2", "4", "5"]);
        assert_eq!(c.records[1].1["n"], 2);
        let bad: Vec<u64> = c.bad.iter().map(|b| b.0).collect();
        assert_eq!(bad, [1, 3], "the plain-text messages: {:?}", c.bad);
        assert!(c.bad[0].1.contains("container log line"), "{:?}", c.bad);
        for other in [
            "2026 stdout F {}",
            "2026-05-02T12:00:00Z stdin F {}",
            "x stdout F {}",
        ] {
            assert!(container_log_line(other.as_bytes()).is_none(), "{other}");
        }
    }

    /// `record` as a container runtime writes it to `stream` when it splits it into pieces
    /// of `size` bytes: `P` lines, then the `F` one (bytes: a cut may fall inside a UTF-8
    /// character, as the runtime cuts bytes).
    fn split_by_runtime(record: &str, stream: &str, size: usize) -> Vec<Vec<u8>> {
        let pieces: Vec<&[u8]> = record.as_bytes().chunks(size).collect();
        let last = pieces.len() - 1;
        pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| {
                let tag = if i == last { "F" } else { "P" };
                let mut line = format!("2026-05-02T12:00:0{i}.5Z {stream} {tag} ").into_bytes();
                line.extend_from_slice(piece);
                line.push(b'\n');
                line
            })
            .collect()
    }

    /// The records of `text` read whole, with the given line limit.
    fn read_limited(text: Vec<u8>, line: u64) -> Collect {
        let mut c = Collect::default();
        let limits = Limits {
            line,
            ..Limits::default()
        };
        read_records_limited(Box::new(Cursor::new(text)), &mut c, limits).expect("read");
        c
    }

    #[test]
    fn container_messages_split_over_partial_lines_are_joined_per_stream() {
        // Four pieces of 20 bytes: the cut after `caf` falls inside the two bytes of `é`,
        // and the last piece begins with a space.
        let split = r#"{"n":1,"who":"ci-deployers","note":"café au lait, no sugar, thanks"}"#;
        let pieces = split_by_runtime(split, "stdout", 20);
        assert_eq!(pieces.len(), 3 + 1, "three P pieces and the F one");
        assert!(std::str::from_utf8(&pieces[1]).is_err(), "a cut inside `é`");
        assert!(
            pieces[3].ends_with(b" F  thanks\"}\n"),
            "a piece's spaces are its own"
        );
        let other = "2026-05-02T12:00:00.7Z stderr F {\"n\":2}\n";
        // stdout's pieces with a whole stderr record between them, then a plain JSON line.
        let mut text = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            text.extend_from_slice(piece);
            if i == 1 {
                text.extend_from_slice(other.as_bytes());
            }
        }
        text.extend_from_slice(b"{\"n\":3}\n");
        let c = read_limited(text.clone(), LINE_MODE_LIMIT);
        assert!(c.bad.is_empty(), "{:?}", c.bad);
        let at: Vec<&str> = c.records.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(at, ["3", "1", "6"], "each at its (first) line");
        let whole: Value = serde_json::from_str(split).expect("json");
        assert_eq!(c.records[1].1, whole, "the record given whole");
        assert_eq!(c.records[0].1["n"], 2);
        // A block holding the whole run gives the same.
        let mut block = Collect::default();
        read_block(&text, 1, &mut block);
        assert_eq!(block.records, c.records);
        assert!(block.bad.is_empty(), "{:?}", block.bad);
        // Plain text split over lines is one report, at its first line.
        let plain = split_by_runtime(&"[info] x".repeat(5), "stderr", 16).concat();
        let c = read_limited(plain, LINE_MODE_LIMIT);
        assert!(c.records.is_empty());
        assert_eq!(c.bad.len(), 1, "{:?}", c.bad);
        assert_eq!(c.bad[0].0, 1);
        assert!(c.bad[0].1.contains("plain-text output"), "{:?}", c.bad);
    }

    #[test]
    fn a_split_container_message_cut_by_the_end_of_the_input_is_reported() {
        let mut lines = split_by_runtime(r#"{"n":1,"pad":"0123456789abcdef"}"#, "stdout", 10);
        lines.pop(); // the `F` line never came
        let mut text = b"2026-05-02T11:59:00Z stdout F {\"n\":0}\n".to_vec();
        text.extend(lines.concat());
        let c = read_limited(text, LINE_MODE_LIMIT);
        assert_eq!(c.records.len(), 1, "the whole record before it");
        assert_eq!(c.bad.len(), 1, "{:?}", c.bad);
        assert_eq!(c.bad[0].0, 2, "its first line");
        assert!(
            c.bad[0].1.contains("from line 2 has no final (`F`) line"),
            "{:?}",
            c.bad
        );
    }

    #[test]
    fn a_split_container_message_over_the_limit_is_skipped_and_the_rest_read() {
        let long = format!(r#"{{"n":1,"pad":"{}"}}"#, "x".repeat(100));
        let mut text = split_by_runtime(r#"{"n":0}"#, "stderr", 4).concat();
        text.extend(split_by_runtime(&long, "stdout", 30).concat());
        text.extend(b"2026-05-02T12:00:09Z stdout F {\"n\":2}\n");
        let c = read_limited(text, 64);
        let ns: Vec<&Value> = c.records.iter().map(|(_, r)| &r["n"]).collect();
        assert_eq!(ns, [0, 2], "the records around it: {:?}", c.bad);
        assert_eq!(c.bad.len(), 1, "one report, none for its later pieces");
        assert_eq!(c.bad[0].0, 3, "the line of its first piece");
        assert!(c.bad[0].1.contains("longer than 64 bytes"), "{:?}", c.bad);
    }

    #[test]
    fn bulk_action_lines_are_skipped_and_their_documents_read() {
        let bulk = concat!(
            "{\"index\":{\"_index\":\"cloudtrail\",\"_id\":\"1\"}}\n",
            "{\"n\":1}\n",
            "{ \"create\" : { \"_index\": \"k8s\" } }\n",
            "{\"n\":2}\n",
            "{\"index\":{\"name\":\"not an action\"}}\n",
            "{\"index\":{\"_index\":\"x\"},\"more\":1}\n",
        );
        let c = read(bulk);
        let at: Vec<&str> = c.records.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(
            at,
            ["2", "4", "5", "6"],
            "records that only look like actions stay"
        );
    }

    #[test]
    fn the_wrapper_test_finds_every_key_however_spaced() {
        for key in WRAPPER_KEYS {
            for text in [
                format!("{{\"{key}\":[1]}}"),
                format!("{{\"a\":1, \"{key}\" :\t[ 1 ]}}"),
                format!("{{\n  \"{key}\":\n  [\n 1]}}"),
            ] {
                assert!(maybe_wrapper(text.as_bytes()), "{text}");
            }
            // The key as a value, as part of another key, or not before an array.
            for text in [
                format!("{{\"a\":\"{key}\",\"b\":[1]}}"),
                format!("{{\"x{key}\":[1]}}"),
                format!("{{\"{key}\":{{\"b\":1}}}}"),
            ] {
                assert!(!maybe_wrapper(text.as_bytes()), "{text}");
            }
        }
    }

    #[test]
    fn in_memory_and_streamed_documents_agree() {
        let inputs = [
            "[\n {\"a\": 1},\n {\"a\": 2}\n]",
            "{\n  \"Records\": [\n    {\"a\": 1},\n    {\"a\": 2}\n  ]\n}\n{\"Records\":[{\"a\":3}]}",
            "{\n \"eventName\": \"X\",\n \"value\": 5\n}\n",
            "[{\"a\":1}]{\"a\":2}\n{\"a\":3} oops",
            "[\n {\"a\": 1},\n {\"a\": \n",
            "{\"messageType\":\"CONTROL_MESSAGE\",\"logEvents\":[{\"id\":\"\",\"timestamp\":1,\"message\":\"x\"}]}{\"logEvents\":[{\"n\":1}]}",
            "{\"QueryResultRows\": [[{\"eventID\": \"e\"}, {\"eventName\": \"N\"}]]}",
            "{\"took\": 3,\n \"hits\": {\"total\": {\"value\": 2},\n  \"hits\": [\n  {\"_source\": {\"a\": 1}},\n  {\"_source\": {\"a\": 2}}]}}\n",
            "{\"kind\": \"EventList\",\n \"items\": [{\"a\": 1},\n {\"a\": 2}]}",
            "{\"hits\": {\"total\": 0}}",
        ];
        for text in inputs {
            let run = |document: u64| {
                let mut c = Collect::default();
                let input: Box<dyn BufRead + Send> =
                    Box::new(Cursor::new(text.as_bytes().to_vec()));
                let limits = Limits {
                    document,
                    ..Limits::default()
                };
                read_records_limited(input, &mut c, limits).expect("read");
                c
            };
            let (memory, streamed) = (run(DOCUMENT_IN_MEMORY_LIMIT), run(0));
            assert_eq!(memory.records, streamed.records, "{text}");
            assert_eq!(
                memory.bad.len(),
                streamed.bad.len(),
                "{text}: {:?}",
                memory.bad
            );
            let lines = |c: &Collect| c.bad.iter().map(|b| b.0).collect::<Vec<_>>();
            assert_eq!(lines(&memory), lines(&streamed), "{text}");
        }
    }

    #[test]
    fn truncated_document_reports_its_line() {
        let c = read("[\n {\"a\": 1},\n {\"a\": \n");
        assert_eq!(c.records.len(), 1);
        assert_eq!(c.bad.len(), 1);
        assert!(
            c.bad[0].1.contains("rest of the input skipped"),
            "{:?}",
            c.bad
        );
    }
}
