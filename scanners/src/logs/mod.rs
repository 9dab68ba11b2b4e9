//! Log ingestion: audit and access logs of every provider, normalised into the model's
//! `events` table ([`nhiscope_engine::model::EventRow`]).
//!
//! - [`input`]: what to read (files, directories, globs, stdin; `.gz` by magic bytes).
//! - [`reader`]: streams the records of one input whatever its shape (NDJSON, a bare array,
//!   a wrapper object such as CloudTrail's `{"Records": [...]}` or Graph's `{"value": [...]}`),
//!   with file and line for each, in bounded memory; CSV exports through [`csv_rows`] (the
//!   CloudTrail console's Event history download through [`event_history`], the Entra admin
//!   center's sign-in and audit log downloads through [`entra_download`] and
//!   [`entra_audit_download`], GitHub's audit log export through [`github_export`]).
//! - one module per format behind [`LogParser`]: [`cloudtrail`], [`gcp_audit`],
//!   [`k8s_audit`], [`entra`] (sign-ins and audit logs), [`azure_activity`],
//!   [`github_audit`] (with [`github_events`]: the actions that issue a credential or record
//!   a refused attempt), [`access_log`] (AWS API Gateway and Envoy JSON access logs). [`Format::ALL`]
//!   lists them explicitly, in detection order.
//! - [`syslog`]: JSON records in syslog lines (RFC 3164 and 5424, as forwarders write them),
//!   and [`ruby_hash`]: GitHub Enterprise Server's audit entries, Ruby hashes read as JSON.
//! - [`siem`]: records as SIEMs and pipelines export them (Splunk, Elasticsearch / OpenSearch,
//!   Sentinel, Pub/Sub), taken back to the source's record.
//! - [`generate`]: synthetic CloudTrail for the ingest benchmark.
//! - [`normalise`]: one record → detection → parser → event (and whole inputs in memory).
//! - [`ingest`]: the pipeline: inputs → parsing threads → Arrow batches → store, with dedupe,
//!   quarantine and per-format counts (feature `collect`).
//!
//! [`robustness`] mutates the fixtures of every format (tree and byte mutations) and checks the
//! reader and parsers never panic and always give an outcome.
//!
//! Parsers keep identifiers (access key ids, key names, token ids), never secret values: no
//! raw record is stored, only a pointer to it (`raw_ref`), and free text that is kept (paths,
//! user agents) goes through [`fields::redact`].

pub mod access_log;
pub mod azure_activity;
pub mod cloudtrail;
pub mod csv_rows;
pub mod entra;
pub mod entra_audit_download;
pub mod entra_download;
pub mod event_history;
pub mod fields;
pub mod gcp_audit;
pub mod generate;
pub mod github_audit;
pub mod github_events;
pub mod github_export;
#[cfg(feature = "collect")]
pub mod ingest;
pub mod input;
pub mod k8s_audit;
pub mod lenient;
pub mod normalise;
pub mod reader;
pub mod robustness;
pub mod ruby_hash;
pub mod siem;
pub mod syslog;

use nhiscope_engine::model::EventRow;
use serde_json::Value;

/// The log formats nhiscope reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    CloudTrail,
    GcpAudit,
    K8sAudit,
    EntraSignIn,
    EntraAudit,
    AzureActivity,
    GithubAudit,
    ApiGatewayAccess,
    EnvoyAccess,
}

impl Format {
    /// Every format, in detection order.
    pub const ALL: [Format; 9] = [
        Format::CloudTrail,
        Format::GcpAudit,
        Format::K8sAudit,
        Format::EntraSignIn,
        Format::EntraAudit,
        Format::AzureActivity,
        Format::GithubAudit,
        Format::ApiGatewayAccess,
        Format::EnvoyAccess,
    ];

    /// The name used in `events.source_format`, summaries and `--format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::CloudTrail => "cloudtrail",
            Format::GcpAudit => "gcp_audit",
            Format::K8sAudit => "k8s_audit",
            Format::EntraSignIn => "entra_signin",
            Format::EntraAudit => "entra_audit",
            Format::AzureActivity => "azure_activity",
            Format::GithubAudit => "github_audit",
            Format::ApiGatewayAccess => "apigw_access",
            Format::EnvoyAccess => "envoy_access",
        }
    }

    /// The format called `name`.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Its parser.
    pub fn parser(self) -> &'static dyn LogParser {
        match self {
            Format::CloudTrail => &cloudtrail::CloudTrail,
            Format::GcpAudit => &gcp_audit::GcpAudit,
            Format::K8sAudit => &k8s_audit::K8sAudit,
            Format::EntraSignIn => &entra::EntraSignIn,
            Format::EntraAudit => &entra::EntraAudit,
            Format::AzureActivity => &azure_activity::AzureActivity,
            Format::GithubAudit => &github_audit::GithubAudit,
            Format::ApiGatewayAccess => &access_log::ApiGateway,
            Format::EnvoyAccess => &access_log::Envoy,
        }
    }
}

/// Why a record was not normalised (names the field concerned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject(pub String);

impl Reject {
    /// A required field is missing or unreadable.
    pub fn missing(field: &str) -> Reject {
        Reject(format!("missing or unreadable field `{field}`"))
    }
}

/// One log format: recognise a record, normalise it.
pub trait LogParser: Sync {
    fn format(&self) -> Format;
    /// True when `record` is of this format (checked on every record, in [`Format::ALL`]
    /// order; cheap key lookups only).
    fn detect(&self, record: &Value) -> bool;
    /// Normalises one record; `raw_ref` is left for the caller to fill.
    fn parse(&self, record: &Value) -> Result<EventRow, Reject>;
}

/// The format of `record`, if any parser recognises it.
pub fn detect(record: &Value) -> Option<Format> {
    Format::ALL.into_iter().find(|f| f.parser().detect(record))
}

/// Unwraps the envelopes records travel in: CloudTrail LookupEvents (`CloudTrailEvent`, the
/// event as a JSON string), CloudTrail Lake (`eventJson`), AKS diagnostic exports of Kubernetes
/// audit events (`properties.log`) and CloudWatch Logs events (`message`, as subscriptions
/// deliver them and `aws logs filter-log-events` prints them: CloudTrail, EKS audit and API
/// Gateway access logs all travel this way) and EventBridge events of CloudTrail (`detail`,
/// as EventBridge rules hand them to Firehose, SQS or Lambda), then, for a record no parser
/// recognises, what SIEMs and pipelines wrap or re-model records in ([`siem`]: Splunk,
/// Elasticsearch / OpenSearch, Sentinel, Pub/Sub, flattened keys). Envelopes may nest (a
/// LookupEvents record in a CloudWatch message). Other records come back as they are.
pub fn unwrap_envelope(record: Value) -> Result<Value, Reject> {
    unwrap_and_detect(record).map(|(record, _)| record)
}

/// [`unwrap_envelope`], and the format of the record it gives, if any parser recognises it
/// (detected once: the SIEM steps need it to know whether to run).
pub fn unwrap_and_detect(record: Value) -> Result<(Value, Option<Format>), Reject> {
    let mut record = record;
    // Bounded: each level is a strictly smaller record (or one rebuilt from it, which no step
    // unwraps again).
    for _ in 0..6 {
        siem::nest_flattened_keys(&mut record);
        siem::lift_additional_properties(&mut record);
        if let Some(detail) = eventbridge_detail(&mut record) {
            record = detail;
            continue;
        }
        let Some((field, text)) = envelope(&record) else {
            let format = detect(&record);
            if format.is_none() {
                if let Some(inner) = siem::unwrap(&mut record) {
                    record = inner?;
                    continue;
                }
            }
            return Ok((record, format));
        };
        record = serde_json::from_str(&text).map_err(|e| match field {
            "message" => cloudwatch_reason(&e),
            _ => Reject(format!("field `{field}` is not a JSON event: {e}")),
        })?;
    }
    let format = detect(&record);
    Ok((record, format))
}

/// The CloudTrail record of an EventBridge event (`"detail-type": "AWS API Call via
/// CloudTrail"`, "AWS Console Sign In via CloudTrail", ...), taken out of it.
fn eventbridge_detail(record: &mut Value) -> Option<Value> {
    let o = record.as_object_mut()?;
    let kind = o.get("detail-type")?.as_str()?;
    if !kind.ends_with("via CloudTrail") || !o.get("detail")?.is_object() {
        return None;
    }
    o.remove("detail")
}

/// Why a CloudWatch Logs event was not read: its message is not JSON.
pub fn cloudwatch_reason(e: &serde_json::Error) -> Reject {
    Reject(format!(
        "CloudWatch Logs event whose `message` is not a JSON log record (plain-text messages \
         are not read): {e}"
    ))
}

/// The field of `record` holding the inner record as text, and that text.
fn envelope(record: &Value) -> Option<(&'static str, String)> {
    let o = record.as_object()?;
    let text = |k: &'static str| o.get(k).and_then(Value::as_str).map(|s| (k, s.to_string()));
    text("CloudTrailEvent")
        .or_else(|| text("eventJson"))
        .or_else(|| {
            let log = fields::at(record, "properties.log")?.as_str()?;
            let category = fields::text_ci(record, "category")?;
            category
                .starts_with("kube-audit")
                .then(|| ("properties.log", log.to_string()))
        })
        .or_else(|| {
            let cloudwatch = o.get("timestamp").is_some_and(Value::is_number)
                && ["id", "eventId", "ingestionTime"]
                    .iter()
                    .any(|k| o.contains_key(*k));
            cloudwatch.then(|| text("message")).flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
            assert_eq!(f.parser().format(), f);
        }
    }

    #[test]
    fn envelopes_are_unwrapped() {
        let lookup = json!({"EventId": "x", "CloudTrailEvent": "{\"eventVersion\":\"1.08\",\"eventID\":\"x\"}"});
        assert_eq!(
            unwrap_envelope(lookup).expect("inner")["eventVersion"],
            "1.08"
        );
        let aks = json!({"category": "kube-audit", "properties": {"log": "{\"kind\":\"Event\"}"}});
        assert_eq!(unwrap_envelope(aks).expect("inner")["kind"], "Event");
        let bad = json!({"CloudTrailEvent": "{not json"});
        assert!(unwrap_envelope(bad)
            .expect_err("bad")
            .0
            .contains("CloudTrailEvent"));
        // CloudWatch Logs: a subscription's event, and the CLI's, around a LookupEvents record.
        let lookup = r#"{"EventId":"x","CloudTrailEvent":"{\"eventVersion\":\"1.08\"}"}"#;
        let sub = json!({"id": "3791", "timestamp": 1761991200000_u64, "message": lookup});
        assert_eq!(unwrap_envelope(sub).expect("inner")["eventVersion"], "1.08");
        let cli = json!({"logStreamName": "s", "timestamp": 1, "ingestionTime": 2,
                         "eventId": "e", "message": "{\"kind\":\"Event\"}"});
        assert_eq!(unwrap_envelope(cli).expect("inner")["kind"], "Event");
        let text = json!({"id": "1", "timestamp": 1, "message": "START RequestId: 42"});
        let reason = unwrap_envelope(text).expect_err("plain text").0;
        assert!(
            reason.starts_with("CloudWatch Logs event whose `message`"),
            "{reason}"
        );
        // EventBridge: the CloudTrail record under `detail`.
        let bridge = json!({"version": "0", "id": "b-1", "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.iam", "account": "111122223333", "time": "2026-05-02T10:00:00Z",
            "detail": {"eventVersion": "1.09", "eventName": "CreateAccessKey", "eventID": "e-1"}});
        assert_eq!(unwrap_envelope(bridge).expect("inner")["eventID"], "e-1");
        let other = json!({"detail-type": "EC2 Instance State-change Notification", "detail": {}});
        assert_eq!(unwrap_envelope(other.clone()).expect("as is"), other);
        // A record that only has a `message` is not an envelope.
        let plain = json!({"message": "{}", "level": "info"});
        assert_eq!(unwrap_envelope(plain.clone()).expect("as is"), plain);
    }
}
