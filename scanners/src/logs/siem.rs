//! Records as SIEMs and log pipelines hand them over, taken back to the record their source
//! wrote. The general path ([`super::unwrap_envelope`]) asks [`unwrap`] about a record no
//! parser recognises; each step gives the record inside, or a record rebuilt in the shape its
//! parser reads:
//!
//! - Elasticsearch / OpenSearch documents (`_source`, as `_search` hits and elasticdump lines
//!   carry them), and ECS documents that kept the source's text (`event.original`);
//! - Splunk: search export lines (`{"preview": false, "result": {...}}`), events with the raw
//!   text (`_raw`), HTTP Event Collector payloads (`event`, as Firehose delivers to Splunk);
//! - Google Cloud Pub/Sub messages (`message.data`, base64: a logging sink's `LogEntry`);
//! - Docker json-file container logs (`{"log": "<line>", "stream": "stdout", "time": ...}`);
//! - systemd journal entries exported as JSON (`journalctl -o json`: the line in `MESSAGE`);
//! - CloudTrail as SIEMs re-model it: Microsoft Sentinel `AWSCloudTrail` rows (PascalCase
//!   columns), Elastic ECS documents (`aws.cloudtrail.*`, `event.action`, ...) and OCSF API
//!   Activity events (Amazon Security Lake), mapped back to CloudTrail's record
//!   ([`SENTINEL_CLOUDTRAIL`], [`ECS_CLOUDTRAIL`], [`OCSF_CLOUDTRAIL`]);
//! - flattened keys (`"userIdentity.arn"`), as SIEM field extraction and JSON exports of
//!   tables write them.

use base64::Engine;
use serde_json::{Map, Value};

use super::{fields, Reject};

/// Nests the flattened top-level keys of `record` (`"userIdentity.arn"` → `userIdentity` →
/// `arn`), which is how every parser reads paths; other records are left as they are.
pub fn nest_flattened_keys(record: &mut Value) {
    if let Some(o) = record.as_object_mut() {
        if o.keys().any(|k| k.contains('.')) {
            let flat = std::mem::take(o);
            *o = unflatten(flat);
        }
    }
}

/// Lifts the properties the Graph PowerShell SDK keeps apart (`AdditionalProperties`: beta
/// and unmodelled ones such as `signInEventTypes`) next to the others; a property already
/// there wins.
pub fn lift_additional_properties(record: &mut Value) {
    let Some(o) = record.as_object_mut() else {
        return;
    };
    if !o.get("AdditionalProperties").is_some_and(Value::is_object) {
        return;
    }
    if let Some(Value::Object(extra)) = o.remove("AdditionalProperties") {
        for (k, v) in extra {
            if !o.keys().any(|have| have.eq_ignore_ascii_case(&k)) {
                o.insert(k, v);
            }
        }
    }
}

/// The record inside `record`, or rebuilt from it; `None` when no step applies.
pub fn unwrap(record: &mut Value) -> Option<Result<Value, Reject>> {
    let o = record.as_object_mut()?;
    // Elasticsearch / OpenSearch hit or dump line.
    if o.get("_source").is_some_and(Value::is_object)
        && (o.contains_key("_index") || o.contains_key("_id"))
    {
        return o.remove("_source").map(Ok);
    }
    // Splunk search export line.
    if o.get("result").is_some_and(Value::is_object)
        && (o.len() == 1
            || ["preview", "offset", "lastrow"]
                .iter()
                .any(|k| o.contains_key(*k)))
    {
        return o.remove("result").map(Ok);
    }
    match o.get("_raw") {
        // A CSV export's `_raw` cell arrives already read as JSON.
        Some(Value::Object(_)) => return o.remove("_raw").map(Ok),
        Some(Value::String(raw)) => return Some(inner_json(raw, "_raw", "a Splunk event")),
        _ => {}
    }
    if let Some(original) = fields::at(record, "event.original").and_then(Value::as_str) {
        if original.trim_start().starts_with('{') {
            return Some(inner_json(original, "event.original", "an ECS document"));
        }
    }
    let ecs_name = ["event.action", "aws.cloudtrail.event_name"];
    if fields::at(record, "aws.cloudtrail").is_some() && fields::first(record, &ecs_name).is_some()
    {
        return Some(Ok(remap(record, ECS_CLOUDTRAIL)));
    }
    let ocsf_api_activity = fields::text(record, "class_uid").as_deref() == Some("6003")
        && fields::text(record, "metadata.product.name").is_some_and(|p| p.contains("CloudTrail"));
    if ocsf_api_activity {
        return Some(Ok(remap(record, OCSF_CLOUDTRAIL)));
    }
    let sentinel = fields::text(record, "Type").as_deref() == Some("AWSCloudTrail")
        || (fields::at(record, "AwsEventId").is_some()
            && fields::at(record, "EventName").is_some());
    if sentinel {
        return Some(Ok(remap(record, SENTINEL_CLOUDTRAIL)));
    }
    // Docker's json-file log driver: one line of a container's output in `log`.
    let o = record.as_object_mut()?;
    if let (Some(Value::String(line)), Some(Value::String(_))) = (o.get("log"), o.get("stream")) {
        return Some(inner_json(line.trim_end(), "log", "a container log line"));
    }
    // systemd's journal exported as JSON (`journalctl -o json`, as node agents ship it): the
    // line a service logged, in `MESSAGE`.
    let journal = [
        "__REALTIME_TIMESTAMP",
        "__CURSOR",
        "_SYSTEMD_UNIT",
        "SYSLOG_IDENTIFIER",
    ]
    .iter()
    .any(|k| o.contains_key(*k));
    if let (true, Some(Value::String(message))) = (journal, o.get("MESSAGE")) {
        return Some(journal_message(message.trim()));
    }
    // Splunk HTTP Event Collector payload (its metadata are text or numbers; ECS documents
    // have `event`, `host` and `source` objects).
    let hec = ["sourcetype", "source", "host", "index", "time"]
        .iter()
        .any(|k| o.get(*k).is_some_and(|v| v.is_string() || v.is_number()));
    if hec {
        match o.get("event") {
            Some(Value::Object(_)) => return o.remove("event").map(Ok),
            Some(Value::String(text)) => {
                return Some(inner_json(text, "event", "a Splunk HEC event"))
            }
            _ => {}
        }
    }
    pubsub_data(record)
}

/// The record a journal entry's `MESSAGE` holds: JSON, or a Ruby hash (GitHub Enterprise
/// Server's `github_audit` entries, [`super::ruby_hash`]).
fn journal_message(text: &str) -> Result<Value, Reject> {
    let ruby = text
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim_start().starts_with(':'));
    match ruby.then(|| super::ruby_hash::to_json(text)).flatten() {
        Some(json) => inner_json(&json, "MESSAGE", "a systemd journal entry"),
        None => inner_json(text, "MESSAGE", "a systemd journal entry"),
    }
}

/// The JSON record held as text in `field` of `what`.
fn inner_json(text: &str, field: &str, what: &str) -> Result<Value, Reject> {
    serde_json::from_str(text).map_err(|e| {
        Reject(format!(
            "{what} whose `{field}` is not a JSON log record (plain-text events are not read): {e}"
        ))
    })
}

/// The record a Pub/Sub message carries (`message.data`, base64; push deliveries and
/// `gcloud pubsub subscriptions pull --format=json` lines both have it).
fn pubsub_data(record: &Value) -> Option<Result<Value, Reject>> {
    let message = record.get("message")?.as_object()?;
    let data = message.get("data")?.as_str()?;
    let is_message = ["messageId", "message_id", "publishTime", "publish_time"]
        .iter()
        .any(|k| message.contains_key(*k));
    if !is_message {
        return None;
    }
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes = engine
        .decode(data.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(data.trim()))
        .map_err(|e| {
            Reject(format!(
                "Pub/Sub message whose `message.data` is not base64: {e}"
            ))
        });
    Some(bytes.and_then(|b| {
        serde_json::from_slice(&b).map_err(|e| {
            Reject(format!(
                "Pub/Sub message whose `message.data` is not a JSON log record: {e}"
            ))
        })
    }))
}

/// `"a.b": 1` → `"a": {"b": 1}`, recursively; a key that would clash with a value already
/// there (`"a": 1` and `"a.b": 2`) stays as it is.
fn unflatten(flat: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut clashes = Vec::new();
    for (key, value) in flat {
        if let Err(value) = fields::insert_path(&mut out, &key, value) {
            clashes.push((key, value));
        }
    }
    for (key, value) in clashes {
        out.entry(key).or_insert(value);
    }
    out
}

/// A CloudTrail field (`.`-path in the record CloudTrail writes) and where a SIEM keeps it
/// (the first present wins; text holding JSON is parsed for the object fields).
type Mapping = &'static [(&'static str, &'static [&'static str])];

/// Microsoft Sentinel's `AWSCloudTrail` table (Azure Monitor Logs reference) → CloudTrail.
/// `TimeGenerated` is the event's time in this table.
pub const SENTINEL_CLOUDTRAIL: Mapping = &[
    ("eventVersion", &["EventVersion"]),
    ("eventTime", &["TimeGenerated"]),
    ("eventSource", &["EventSource"]),
    ("eventName", &["EventName"]),
    ("awsRegion", &["AWSRegion"]),
    ("sourceIPAddress", &["SourceIpAddress"]),
    ("userAgent", &["UserAgent"]),
    ("errorCode", &["ErrorCode"]),
    ("errorMessage", &["ErrorMessage"]),
    ("requestID", &["AwsRequestId_", "AwsRequestId"]),
    ("eventID", &["AwsEventId"]),
    ("eventType", &["EventTypeName"]),
    ("readOnly", &["ReadOnly"]),
    ("recipientAccountId", &["RecipientAccountId"]),
    ("managementEvent", &["ManagementEvent"]),
    ("eventCategory", &["Category"]),
    ("sharedEventID", &["SharedEventId"]),
    ("vpcEndpointId", &["VpcEndpointId"]),
    ("requestParameters", &["RequestParameters"]),
    ("responseElements", &["ResponseElements"]),
    ("additionalEventData", &["AdditionalEventData"]),
    ("resources", &["Resources"]),
    ("userIdentity.type", &["UserIdentityType"]),
    ("userIdentity.principalId", &["UserIdentityPrincipalid"]),
    ("userIdentity.arn", &["UserIdentityArn"]),
    ("userIdentity.accountId", &["UserIdentityAccountId"]),
    ("userIdentity.accessKeyId", &["UserIdentityAccessKeyId"]),
    ("userIdentity.userName", &["UserIdentityUserName"]),
    ("userIdentity.invokedBy", &["UserIdentityInvokedBy"]),
    (
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        &["SessionMfaAuthenticated"],
    ),
    (
        "userIdentity.sessionContext.attributes.creationDate",
        &["SessionCreationDate"],
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.type",
        &["SessionIssuerType"],
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.principalId",
        &["SessionIssuerPrincipalId"],
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.arn",
        &["SessionIssuerArn"],
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.accountId",
        &["SessionIssuerAccountId"],
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.userName",
        &["SessionIssuerUserName"],
    ),
];

/// Elastic Common Schema documents of CloudTrail (Filebeat's `aws` module, Elastic Agent's AWS
/// integration) → CloudTrail.
pub const ECS_CLOUDTRAIL: Mapping = &[
    ("eventVersion", &["aws.cloudtrail.event_version"]),
    ("eventTime", &["@timestamp"]),
    (
        "eventSource",
        &["event.provider", "aws.cloudtrail.event_source"],
    ),
    ("eventName", &["event.action", "aws.cloudtrail.event_name"]),
    ("awsRegion", &["cloud.region"]),
    ("sourceIPAddress", &["source.address", "source.ip"]),
    ("userAgent", &["user_agent.original"]),
    ("errorCode", &["aws.cloudtrail.error_code"]),
    ("errorMessage", &["aws.cloudtrail.error_message"]),
    ("requestID", &["aws.cloudtrail.request_id"]),
    ("eventID", &["event.id", "aws.cloudtrail.event_id"]),
    ("eventType", &["aws.cloudtrail.event_type"]),
    ("readOnly", &["aws.cloudtrail.read_only"]),
    (
        "recipientAccountId",
        &["aws.cloudtrail.recipient_account_id"],
    ),
    ("managementEvent", &["aws.cloudtrail.management_event"]),
    ("eventCategory", &["aws.cloudtrail.event_category"]),
    ("sharedEventID", &["aws.cloudtrail.shared_event_id"]),
    ("vpcEndpointId", &["aws.cloudtrail.vpc_endpoint_id"]),
    (
        "requestParameters",
        &[
            "aws.cloudtrail.flattened.request_parameters",
            "aws.cloudtrail.request_parameters",
        ],
    ),
    (
        "responseElements",
        &[
            "aws.cloudtrail.flattened.response_elements",
            "aws.cloudtrail.response_elements",
        ],
    ),
    (
        "additionalEventData",
        &[
            "aws.cloudtrail.flattened.additional_eventdata",
            "aws.cloudtrail.additional_eventdata",
        ],
    ),
    ("resources", &["aws.cloudtrail.resources"]),
    ("userIdentity.type", &["aws.cloudtrail.user_identity.type"]),
    ("userIdentity.principalId", &["user.id"]),
    ("userIdentity.arn", &["aws.cloudtrail.user_identity.arn"]),
    ("userIdentity.accountId", &["cloud.account.id"]),
    (
        "userIdentity.accessKeyId",
        &["aws.cloudtrail.user_identity.access_key_id"],
    ),
    ("userIdentity.userName", &["user.name"]),
    (
        "userIdentity.invokedBy",
        &["aws.cloudtrail.user_identity.invoked_by"],
    ),
    (
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        &["aws.cloudtrail.user_identity.session_context.mfa_authenticated"],
    ),
    (
        "userIdentity.sessionContext.attributes.creationDate",
        &["aws.cloudtrail.user_identity.session_context.creation_date"],
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.type",
        &["aws.cloudtrail.user_identity.session_context.session_issuer.type"],
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.principalId",
        &["aws.cloudtrail.user_identity.session_context.session_issuer.principal_id"],
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.arn",
        &["aws.cloudtrail.user_identity.session_context.session_issuer.arn"],
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.accountId",
        &["aws.cloudtrail.user_identity.session_context.session_issuer.account_id"],
    ),
];

/// OCSF API Activity events (class 6003) of CloudTrail, as Amazon Security Lake stores them
/// (and OpenSearch and other OCSF pipelines map them) → CloudTrail.
pub const OCSF_CLOUDTRAIL: Mapping = &[
    ("eventVersion", &["metadata.product.version"]),
    ("eventTime", &["time_dt", "time"]),
    ("eventSource", &["api.service.name"]),
    ("eventName", &["api.operation"]),
    ("awsRegion", &["cloud.region"]),
    (
        "sourceIPAddress",
        &["src_endpoint.ip", "src_endpoint.domain"],
    ),
    ("userAgent", &["http_request.user_agent"]),
    ("errorCode", &["api.response.error"]),
    ("errorMessage", &["api.response.message"]),
    ("requestID", &["api.request.uid"]),
    ("eventID", &["metadata.uid"]),
    ("eventType", &["unmapped.eventType", "metadata.event_code"]),
    ("readOnly", &["unmapped.readOnly"]),
    ("recipientAccountId", &["cloud.account.uid"]),
    ("managementEvent", &["unmapped.managementEvent"]),
    ("eventCategory", &["metadata.product.feature.name"]),
    ("vpcEndpointId", &["unmapped.vpcEndpointId"]),
    (
        "requestParameters",
        &["api.request.data", "unmapped.requestParameters"],
    ),
    (
        "responseElements",
        &["api.response.data", "unmapped.responseElements"],
    ),
    ("additionalEventData", &["unmapped.additionalEventData"]),
    ("userIdentity.type", &["actor.user.type"]),
    ("userIdentity.principalId", &["actor.user.uid"]),
    ("userIdentity.arn", &["actor.user.uid_alt"]),
    ("userIdentity.accountId", &["actor.user.account.uid"]),
    ("userIdentity.accessKeyId", &["actor.user.credential_uid"]),
    ("userIdentity.userName", &["actor.user.name"]),
    ("userIdentity.invokedBy", &["actor.invoked_by"]),
    (
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        &["actor.session.is_mfa", "actor.session.mfa"],
    ),
    (
        "userIdentity.sessionContext.attributes.creationDate",
        &[
            "actor.session.created_time_dt",
            "actor.session.created_time",
        ],
    ),
    (
        "userIdentity.sessionContext.sessionIssuer.arn",
        &["actor.session.issuer"],
    ),
];

/// The fields CloudTrail writes as times: an epoch in milliseconds (OCSF's `time`) becomes
/// RFC 3339 text, as CloudTrail writes it.
const TIMES: &[&str] = &[
    "eventTime",
    "userIdentity.sessionContext.attributes.creationDate",
];

/// The fields CloudTrail writes as objects or arrays (a SIEM may keep them as JSON text).
const STRUCTURED: &[&str] = &[
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "resources",
];

/// The CloudTrail record `mapping` rebuilds from `record`.
fn remap(record: &Value, mapping: Mapping) -> Value {
    let mut out = Map::new();
    for (target, sources) in mapping {
        let Some(value) = sources
            .iter()
            .filter_map(|s| fields::at_ci(record, s))
            .find(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.is_empty()))
        else {
            continue;
        };
        let value = match value {
            Value::String(text) if STRUCTURED.contains(target) => {
                serde_json::from_str(text).unwrap_or_else(|_| value.clone())
            }
            // ECS keeps one resource as an object; CloudTrail writes a list.
            Value::Object(_) if *target == "resources" => Value::Array(vec![value.clone()]),
            Value::Number(ms) if TIMES.contains(target) => ms
                .as_i64()
                .map(|ms| Value::from(nhiscope_engine::time::format(ms * 1000)))
                .unwrap_or_else(|| value.clone()),
            // CloudTrail writes this flag as text; Sentinel's column is a bool.
            Value::Bool(b) if target.ends_with("mfaAuthenticated") => Value::from(b.to_string()),
            _ => value.clone(),
        };
        // Each target appears once in a mapping: nothing is in the way.
        let _ = fields::insert_path(&mut out, target, value);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::normalise::normalise;
    use crate::logs::Format;
    use serde_json::json;

    /// A fixture record (`n`-th line of an NDJSON fixture).
    fn fixture(name: &str, n: usize) -> Value {
        let path = format!(
            "{}/../tests/fixtures/logs/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).expect("fixture");
        serde_json::from_str(text.lines().nth(n).expect("line")).expect("json")
    }

    /// `{"a": {"b": 1}}` → `{"a.b": 1}` (arrays kept), as Splunk field extraction writes it.
    fn flatten(prefix: &str, v: &Value, out: &mut Map<String, Value>) {
        match v {
            Value::Object(o) if !o.is_empty() => {
                for (k, x) in o {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, x, out);
                }
            }
            _ => {
                out.insert(prefix.to_string(), v.clone());
            }
        }
    }

    /// The event `shape` normalises to equals the one of the record it carries.
    fn same_event(shape: Value, record: &Value) {
        let want = normalise(record.clone(), None).expect("the record itself");
        let got = normalise(shape.clone(), None);
        assert_eq!(got, Ok(want), "{shape:#}");
    }

    #[test]
    fn siem_exports_give_the_events_of_the_records_they_carry() {
        let assumed = json!({"eventVersion": "1.09", "userIdentity": {"type": "AssumedRole", "principalId": "AROADEPLOY:ci-run-42", "arn": "arn:aws:sts::111122223333:assumed-role/deploy/ci-run-42", "accountId": "111122223333", "accessKeyId": "ASIADEPLOYSESSION001", "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROADEPLOY", "arn": "arn:aws:iam::111122223333:role/deploy", "accountId": "111122223333", "userName": "deploy"}, "attributes": {"creationDate": "2026-05-02T10:00:00Z", "mfaAuthenticated": "false"}}}, "eventTime": "2026-05-02T10:01:00Z", "eventSource": "s3.amazonaws.com", "eventName": "PutObject", "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.10", "userAgent": "aws-sdk-go-v2/1.30.0 os/linux", "requestParameters": {"bucketName": "releases", "key": "app.tar.gz"}, "responseElements": null, "requestID": "req-ct-0004", "eventID": "ct-0004", "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "111122223333"});
        let iam_user = fixture("cloudtrail.ndjson", 0);
        for record in [&assumed, &iam_user] {
            let text = record.to_string();
            // Splunk: search export line, result row with `_raw`, HEC payloads.
            same_event(
                json!({"preview": false, "offset": 0, "result": {"_raw": text, "_time": "2026-05-02T10:01:00.000+00:00", "sourcetype": "aws:cloudtrail"}}),
                record,
            );
            same_event(
                json!({"_raw": text, "host": "h", "source": "s3://trail"}),
                record,
            );
            same_event(
                json!({"time": 1777716060, "sourcetype": "aws:cloudtrail", "event": record}),
                record,
            );
            same_event(
                json!({"time": 1777716060, "sourcetype": "aws:cloudtrail", "event": text}),
                record,
            );
            // Elasticsearch / OpenSearch hit, and an ECS document that kept the original.
            same_event(
                json!({"_index": "cloudtrail-2026.05", "_id": "x1", "_source": record}),
                record,
            );
            same_event(
                json!({"@timestamp": "2026-05-02T10:01:00Z", "event": {"original": text, "action": "PutObject"}}),
                record,
            );
            // Extracted fields with flattened keys (a Splunk result without `_raw`).
            let mut flat = Map::new();
            flatten("", record, &mut flat);
            same_event(
                json!({"preview": false, "result": Value::Object(flat)}),
                record,
            );
        }
        // The same AssumedRole call as a Sentinel `AWSCloudTrail` row (JSON fields as text).
        let sentinel = json!({
            "TenantId": "0c5f-tenant", "SourceSystem": "AWS", "TimeGenerated": "2026-05-02T10:01:00Z",
            "EventVersion": "1.09", "EventSource": "s3.amazonaws.com", "EventName": "PutObject",
            "AWSRegion": "eu-west-1", "SourceIpAddress": "203.0.113.10", "UserAgent": "aws-sdk-go-v2/1.30.0 os/linux",
            "UserIdentityType": "AssumedRole", "UserIdentityPrincipalid": "AROADEPLOY:ci-run-42",
            "UserIdentityArn": "arn:aws:sts::111122223333:assumed-role/deploy/ci-run-42",
            "UserIdentityAccountId": "111122223333", "UserIdentityAccessKeyId": "ASIADEPLOYSESSION001",
            "UserIdentityUserName": "", "SessionMfaAuthenticated": false, "SessionCreationDate": "2026-05-02T10:00:00Z",
            "SessionIssuerType": "Role", "SessionIssuerPrincipalId": "AROADEPLOY",
            "SessionIssuerArn": "arn:aws:iam::111122223333:role/deploy", "SessionIssuerAccountId": "111122223333",
            "SessionIssuerUserName": "deploy", "ErrorCode": "", "ErrorMessage": "",
            "RequestParameters": "{\"bucketName\":\"releases\",\"key\":\"app.tar.gz\"}", "ResponseElements": "",
            "AwsRequestId_": "req-ct-0004", "AwsEventId": "ct-0004", "EventTypeName": "AwsApiCall",
            "ReadOnly": false, "RecipientAccountId": "111122223333", "ManagementEvent": true,
            "Type": "AWSCloudTrail", "_ResourceId": ""
        });
        same_event(sentinel, &assumed);
        // ... and as Filebeat / Elastic Agent index it (ECS, no original kept), dotted keys.
        let ecs = json!({
            "@timestamp": "2026-05-02T10:01:00.000Z", "event.action": "PutObject", "event.provider": "s3.amazonaws.com",
            "event.id": "ct-0004", "event.kind": "event", "event.outcome": "success", "cloud.region": "eu-west-1",
            "cloud.account.id": "111122223333", "source.address": "203.0.113.10", "source.ip": "203.0.113.10",
            "user_agent.original": "aws-sdk-go-v2/1.30.0 os/linux", "user.id": "AROADEPLOY:ci-run-42",
            "aws.cloudtrail.event_version": "1.09", "aws.cloudtrail.event_type": "AwsApiCall",
            "aws.cloudtrail.request_id": "req-ct-0004", "aws.cloudtrail.read_only": false,
            "aws.cloudtrail.recipient_account_id": "111122223333", "aws.cloudtrail.management_event": true,
            "aws.cloudtrail.user_identity.type": "AssumedRole",
            "aws.cloudtrail.user_identity.arn": "arn:aws:sts::111122223333:assumed-role/deploy/ci-run-42",
            "aws.cloudtrail.user_identity.access_key_id": "ASIADEPLOYSESSION001",
            "aws.cloudtrail.user_identity.session_context.mfa_authenticated": "false",
            "aws.cloudtrail.user_identity.session_context.creation_date": "2026-05-02T10:00:00.000Z",
            "aws.cloudtrail.user_identity.session_context.session_issuer.type": "Role",
            "aws.cloudtrail.user_identity.session_context.session_issuer.principal_id": "AROADEPLOY",
            "aws.cloudtrail.user_identity.session_context.session_issuer.arn": "arn:aws:iam::111122223333:role/deploy",
            "aws.cloudtrail.user_identity.session_context.session_issuer.account_id": "111122223333",
            "aws.cloudtrail.flattened.request_parameters": {"bucketName": "releases", "key": "app.tar.gz"},
            "aws.cloudtrail.request_parameters": "{bucketName=releases, key=app.tar.gz}"
        });
        same_event(
            json!({"_index": ".ds-logs-aws.cloudtrail-default", "_id": "e1", "_source": ecs}),
            &assumed,
        );
        // ... and as Amazon Security Lake stores it (OCSF 1.1 API Activity).
        let ocsf = json!({
            "class_uid": 6003, "category_uid": 6, "activity_id": 2, "type_uid": 600302, "severity_id": 1,
            "time": 1777716060000_i64,
            "metadata": {"uid": "ct-0004", "event_code": "AwsApiCall", "version": "1.1.0",
                "product": {"name": "CloudTrail", "vendor_name": "AWS", "version": "1.09", "feature": {"name": "Management"}}},
            "api": {"operation": "PutObject", "service": {"name": "s3.amazonaws.com"},
                "request": {"uid": "req-ct-0004", "data": {"bucketName": "releases", "key": "app.tar.gz"}}, "response": {}},
            "actor": {"user": {"type": "AssumedRole", "uid": "AROADEPLOY:ci-run-42",
                    "uid_alt": "arn:aws:sts::111122223333:assumed-role/deploy/ci-run-42",
                    "account": {"uid": "111122223333"}, "credential_uid": "ASIADEPLOYSESSION001"},
                "session": {"created_time": 1777716000000_i64, "is_mfa": false, "issuer": "arn:aws:iam::111122223333:role/deploy"}},
            "src_endpoint": {"ip": "203.0.113.10"}, "http_request": {"user_agent": "aws-sdk-go-v2/1.30.0 os/linux"},
            "cloud": {"provider": "AWS", "region": "eu-west-1", "account": {"uid": "111122223333"}},
            "unmapped": {"readOnly": "false", "managementEvent": "true"}
        });
        same_event(ocsf, &assumed);
        // An Envoy access log line as Docker's json-file driver keeps a container's stdout.
        let envoy = fixture("envoy_access.ndjson", 0);
        let docker = json!({"log": format!("{envoy}\n"), "stream": "stdout", "time": "2026-05-02T12:00:00.1Z"});
        same_event(docker, &envoy);
        // The same in systemd's journal (`journalctl -o json`), and GitHub Enterprise Server's
        // audit entry, a Ruby hash, there.
        let journal = json!({"__CURSOR": "s=1;i=2", "__REALTIME_TIMESTAMP": "1777723200000000",
            "_HOSTNAME": "node-1", "SYSLOG_IDENTIFIER": "envoy", "MESSAGE": envoy.to_string()});
        same_event(journal, &envoy);
        let ghes = json!({"__REALTIME_TIMESTAMP": "1351215728326000", "_HOSTNAME": "github-ent",
            "SYSLOG_IDENTIFIER": "github_audit",
            "MESSAGE": r#"{:created_at=>1351215728326, :actor=>"some-user", :action=>"repo.create", :repo=>"some-user/app"}"#});
        let hash = json!({"created_at": 1351215728326_i64, "actor": "some-user",
            "action": "repo.create", "repo": "some-user/app"});
        same_event(ghes, &hash);
        // Kubernetes audit in an Elasticsearch hit; a Cloud Logging entry through Pub/Sub.
        let k8s = fixture("k8s_audit.ndjson", 0);
        same_event(
            json!({"_index": "k8s-audit", "_id": "k1", "_source": k8s}),
            &k8s,
        );
        let entry = fixture("gcp_audit.ndjson", 0);
        let data = base64::engine::general_purpose::STANDARD.encode(entry.to_string());
        let push = json!({"message": {"data": data, "messageId": "77", "publishTime": "2026-05-02T12:00:02Z", "attributes": {"logging.googleapis.com/timestamp": "2026-05-02T12:00:00Z"}}, "subscription": "projects/prod-payments/subscriptions/audit"});
        same_event(push, &entry);
        assert_eq!(normalise(k8s, None).expect("k8s").0, Format::K8sAudit);
    }

    #[test]
    fn siem_events_that_are_not_json_are_named() {
        for (shape, field) in [
            (
                json!({"_raw": "Jan 1 sshd[1]: Accepted", "_time": "t"}),
                "`_raw`",
            ),
            (
                json!({"event": "plain text", "sourcetype": "syslog"}),
                "`event`",
            ),
            (json!({"log": "started\n", "stream": "stderr"}), "`log`"),
            (
                json!({"MESSAGE": "Started Session 4.", "_SYSTEMD_UNIT": "session-4.scope"}),
                "`MESSAGE`",
            ),
        ] {
            let reason = normalise(shape, None).expect_err("not JSON").1;
            assert!(reason.contains(field), "{reason}");
        }
    }

    #[test]
    fn flattened_keys_nest_and_clashes_stay() {
        let flat = json!({"a.b": 1, "a.c.d": 2, "x": 1, "x.y": 3, "plain": true});
        let Value::Object(flat) = flat else {
            unreachable!()
        };
        let nested = Value::Object(unflatten(flat));
        assert_eq!(nested["a"]["b"], 1);
        assert_eq!(nested["a"]["c"]["d"], 2);
        assert_eq!(nested["x"], 1);
        assert_eq!(nested["x.y"], 3, "a clashing key is kept as it was");
        assert_eq!(nested["plain"], true);
    }

    #[test]
    fn pubsub_data_is_decoded_and_bad_data_named() {
        let entry = json!({"logName": "projects/p/logs/x", "insertId": "1"}).to_string();
        let data = base64::engine::general_purpose::STANDARD.encode(entry);
        let mut push = json!({"message": {"data": data, "messageId": "9"}, "subscription": "s"});
        let inner = unwrap(&mut push).expect("envelope").expect("decoded");
        assert_eq!(inner["insertId"], "1");
        let mut bad = json!({"message": {"data": "%%%", "publishTime": "t"}});
        let reason = unwrap(&mut bad)
            .expect("envelope")
            .expect_err("not base64")
            .0;
        assert!(reason.contains("message.data"), "{reason}");
    }
}
