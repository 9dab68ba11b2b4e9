//! Log ingestion: audit and access logs of every provider, normalised into the model's
//! `events` table ([`nhiscope_engine::model::EventRow`]).
//!
//! - [`input`]: what to read (files, directories, globs, stdin; `.gz` by magic bytes).
//! - [`reader`]: streams the records of one input whatever its shape (NDJSON, a bare array,
//!   a wrapper object such as CloudTrail's `{"Records": [...]}` or Graph's `{"value": [...]}`),
//!   with file and line for each, in bounded memory.
//! - one module per format behind [`LogParser`]: [`cloudtrail`], [`gcp_audit`],
//!   [`k8s_audit`], [`entra`] (sign-ins and audit logs), [`azure_activity`],
//!   [`github_audit`], [`access_log`] (AWS API Gateway and Envoy JSON access logs). [`PARSERS`]
//!   lists them explicitly, in detection order.
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
pub mod entra;
pub mod fields;
pub mod gcp_audit;
pub mod generate;
pub mod github_audit;
#[cfg(feature = "collect")]
pub mod ingest;
pub mod input;
pub mod k8s_audit;
pub mod lenient;
pub mod normalise;
pub mod reader;
pub mod robustness;

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
/// event as a JSON string), CloudTrail Lake (`eventJson`), and AKS diagnostic exports of
/// Kubernetes audit events (`properties.log`). Other records come back as they are.
pub fn unwrap_envelope(record: Value) -> Result<Value, Reject> {
    let inner = match &record {
        Value::Object(o) => ["CloudTrailEvent", "eventJson"]
            .iter()
            .find_map(|k| {
                o.get(*k)
                    .and_then(Value::as_str)
                    .map(|s| (*k, s.to_string()))
            })
            .or_else(|| {
                let log = fields::at(&record, "properties.log")?.as_str()?;
                let category = fields::text_ci(&record, "category")?;
                category
                    .starts_with("kube-audit")
                    .then(|| ("properties.log", log.to_string()))
            }),
        _ => None,
    };
    match inner {
        None => Ok(record),
        Some((field, text)) => serde_json::from_str(&text)
            .map_err(|e| Reject(format!("field `{field}` is not a JSON event: {e}"))),
    }
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
    }
}
