//! One record to one normalised event: envelope unwrapping, format detection (per record, or
//! forced), the format's parser, and the typed CloudTrail fast path for records given as text.
//! [`parse_all`] runs a whole input through the reader and these in memory (tests, fuzzing,
//! small inputs); the [`ingest`](super::ingest) pipeline streams instead.

use std::sync::LazyLock;

use memchr::memmem;
use nhiscope_engine::model::EventRow;
use serde_json::Value;

use super::reader::{self, read_records, RecordAt, RecordSink};
use super::{cloudtrail, cloudwatch_reason, unwrap_and_detect, Format};

/// A record's format and event, or its format (when known) and why it was not normalised.
pub type Normalised = Result<(Format, EventRow), (Option<Format>, String)>;

/// One record given as JSON text: CloudTrail records take the typed fast path
/// ([`cloudtrail::parse_text`]), everything else (and any record it declines) the general one,
/// through a `Value`. Text that is not JSON is reported as such.
pub fn normalise_text(text: &str, forced: Option<Format>) -> Normalised {
    normalise_document(text, forced).unwrap_or_else(|e| Err((None, format!("invalid JSON: {e}"))))
}

/// [`normalise_text`], but text that is not one JSON value gives its parse error instead of
/// a rejection (the reader then looks for several documents in it,
/// [`RecordSink::raw`]).
pub fn normalise_document(
    text: &str,
    forced: Option<Format>,
) -> Result<Normalised, serde_json::Error> {
    match cloudwatch_message(text) {
        Some(message) => Ok(normalise_json(&message, forced)
            .unwrap_or_else(|e| Err((None, cloudwatch_reason(&e).0)))),
        None => normalise_json(text, forced),
    }
}

/// [`normalise_document`] once envelopes given as text are off.
fn normalise_json(text: &str, forced: Option<Format>) -> Result<Normalised, serde_json::Error> {
    if matches!(forced, None | Some(Format::CloudTrail)) {
        if let Some(outcome) = cloudtrail::parse_text(text) {
            return Ok(outcome
                .map(|e| (Format::CloudTrail, e))
                .map_err(|r| (Some(Format::CloudTrail), format!("cloudtrail: {}", r.0))));
        }
    }
    let v = serde_json::from_str::<Value>(text)?;
    Ok(normalise(reader::merge_row(v), forced))
}

/// The message of a CloudWatch Logs event given as text, when it holds a JSON object (the
/// envelope [`super::unwrap_envelope`] recognises), so the record inside takes the fast path too;
/// anything else (a plain-text message included) is left to the general path and its reasons.
fn cloudwatch_message(text: &str) -> Option<String> {
    /// The keys of a CloudWatch Logs event (subscription payload or `aws logs` output).
    #[derive(serde::Deserialize)]
    struct Event {
        message: Option<String>,
        timestamp: Option<serde_json::Number>,
        id: Option<serde::de::IgnoredAny>,
        #[serde(rename = "eventId")]
        event_id: Option<serde::de::IgnoredAny>,
        #[serde(rename = "ingestionTime")]
        ingestion_time: Option<serde::de::IgnoredAny>,
        #[serde(rename = "CloudTrailEvent")]
        lookup: Option<serde::de::IgnoredAny>,
        #[serde(rename = "eventJson")]
        lake: Option<serde::de::IgnoredAny>,
        properties: Option<serde::de::IgnoredAny>,
    }
    static MESSAGE: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\"message\""));
    MESSAGE.find(text.as_bytes())?;
    let e: Event = serde_json::from_str(text).ok()?;
    let envelope = e.timestamp.is_some()
        && (e.id.is_some() || e.event_id.is_some() || e.ingestion_time.is_some())
        && e.lookup.is_none()
        && e.lake.is_none()
        && e.properties.is_none();
    let message = e.message?;
    (envelope && message.trim_start().starts_with('{')).then_some(message)
}

/// One record → its format and event, or the format (when known) and why not.
pub fn normalise(record: Value, forced: Option<Format>) -> Normalised {
    let (record, detected) = unwrap_and_detect(record).map_err(|r| (None, r.0))?;
    let Some(format) = forced.or(detected) else {
        if record.get("digestStartTime").is_some() && record.get("logFiles").is_some() {
            return Err((
                None,
                "a CloudTrail digest file (log file hashes, no events): not a log".into(),
            ));
        }
        if record.get("eventType").and_then(Value::as_str) == Some("AwsCloudTrailInsight") {
            return Err((
                None,
                "a CloudTrail Insights event (an API call rate anomaly, not a call): not ingested"
                    .into(),
            ));
        }
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
        fn raw(&mut self, at: RecordAt, text: &str) -> Result<(), serde_json::Error> {
            match normalise_document(text, self.forced)? {
                Ok((_, mut e)) => {
                    e.raw_ref = format!("{}:{at}", self.name);
                    self.events.push(e);
                }
                Err((_, reason)) => self.rejected.push((at.line, reason)),
            }
            Ok(())
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

    #[test]
    fn digest_and_insights_records_are_named_as_such() {
        let digest = r#"{"awsAccountId":"111122223333","digestStartTime":"2026-05-02T10:00:00Z","logFiles":[]}"#;
        let (format, reason) = normalise_text(digest, None).expect_err("not a log");
        assert_eq!(format, None);
        assert!(reason.starts_with("a CloudTrail digest file"), "{reason}");
        let insight = r#"{"eventVersion":"1.07","eventTime":"2026-05-02T10:00:00Z","eventID":"i","eventType":"AwsCloudTrailInsight","insightDetails":{"eventName":"CreateAccessKey"},"eventCategory":"Insight"}"#;
        let (_, reason) = normalise_text(insight, None).expect_err("not a call");
        assert!(
            reason.starts_with("a CloudTrail Insights event"),
            "{reason}"
        );
    }
}
