//! One record to one normalised event: envelope unwrapping, format detection (per record, or
//! forced), the format's parser, and the typed CloudTrail fast path for records given as text.
//! [`parse_all`] runs a whole input through the reader and these in memory (tests, fuzzing,
//! small inputs); the [`ingest`](super::ingest) pipeline streams instead.

use nhiscope_engine::model::EventRow;
use serde_json::Value;

use super::reader::{self, read_records, RecordAt, RecordSink};
use super::{cloudtrail, detect, unwrap_envelope, Format};

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
