//! GCP Cloud Audit Logs: `LogEntry` JSON whose `protoPayload` is an `AuditLog`, as Logging
//! exports and sinks write it, or a row of a BigQuery log sink's `cloudaudit_googleapis_com_*`
//! tables exported as JSON (`protopayload_auditlog`, `requestJson`/`responseJson` as text,
//! integers as strings, `2026-05-02 10:00:00 UTC` times). The actor is
//! `authenticationInfo.principalEmail` (or `principalSubject` for federated identities); the
//! key it used is `serviceAccountKeyName`; `serviceAccountDelegationInfo` lists who delegated
//! to it (original caller first). `CreateServiceAccountKey` responses name the new key.

use nhiscope_engine::model::EventRow;
use serde_json::Value;

use super::fields::{self, at, first, text};
use super::{Format, LogParser, Reject};

pub struct GcpAudit;

impl LogParser for GcpAudit {
    fn format(&self) -> Format {
        Format::GcpAudit
    }

    fn detect(&self, r: &Value) -> bool {
        payload(r).is_some()
    }

    fn parse(&self, r: &Value) -> Result<EventRow, Reject> {
        let p = payload(r).ok_or_else(|| Reject::missing("protoPayload"))?;
        let action =
            text(p, "methodName").ok_or_else(|| Reject::missing("protoPayload.methodName"))?;
        let event_time = fields::first_time(r, &["timestamp", "receiveTimestamp"])
            .ok_or_else(|| Reject::missing("timestamp"))?;
        let auth = at(p, "authenticationInfo").cloned().unwrap_or(Value::Null);
        let email = text(&auth, "principalEmail");
        let actor = email.clone().or_else(|| text(&auth, "principalSubject"));
        let actor_type = actor.as_deref().map(|a| {
            if a.starts_with("system:") {
                // GKE's Kubernetes audit events (`serviceName` k8s.io): cluster identities.
                super::k8s_audit::kind_of_user(a)
            } else if a.ends_with(".gserviceaccount.com") {
                "serviceAccount"
            } else if a.contains('@') {
                "user"
            } else {
                "principalSubject"
            }
        });
        let key_name = text(&auth, "serviceAccountKeyName");
        let chain: Vec<String> = at(&auth, "serviceAccountDelegationInfo")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|d| {
                        first(
                            d,
                            &[
                                "firstPartyPrincipal.principalEmail",
                                "principalSubject",
                                "thirdPartyPrincipal.thirdPartyClaims.sub",
                            ],
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let code = at(p, "status.code")
            .and_then(|c| c.as_i64().or_else(|| c.as_str()?.trim().parse().ok()))
            .unwrap_or(0);
        let tenant = text(r, "resource.labels.project_id")
            .or_else(|| project_of_log(text(r, "logName").as_deref()))
            .unwrap_or_default();
        let issued = action
            .ends_with("CreateServiceAccountKey")
            .then(|| {
                text(p, "response.name")
                    .or_else(|| {
                        let json = text(p, "responseJson")?;
                        text(&serde_json::from_str(&json).ok()?, "name")
                    })
                    .map(|n| last_segment(&n))
            })
            .flatten();
        let attributes = fields::attributes(&[
            ("log_name", at(r, "logName").cloned()),
            ("resource_type", at(r, "resource.type").cloned()),
            ("key_name", key_name.clone().map(Value::from)),
            ("status_message", at(p, "status.message").cloned()),
            (
                "oauth_client_id",
                at(&auth, "oauthInfo.oauthClientId").cloned(),
            ),
        ]);
        Ok(EventRow {
            provider: "gcp".into(),
            tenant,
            event_id: text(r, "insertId").unwrap_or_else(|| fields::digest(r)),
            event_time,
            source_format: Format::GcpAudit.name().into(),
            event_source: text(p, "serviceName"),
            action,
            actor_type: actor_type.map(str::to_string),
            actor: actor.clone(),
            actor_id: actor,
            credential_kind: key_name.as_ref().map(|_| "sa_key".to_string()),
            credential_id: key_name.map(|k| last_segment(&k)),
            session_issuer: chain.first().cloned(),
            chain,
            target: text(p, "resourceName"),
            region: first(
                r,
                &[
                    "resource.labels.location",
                    "resource.labels.region",
                    "resource.labels.zone",
                ],
            ),
            source_ip: first(p, &["requestMetadata.callerIp", "requestMetadata.callerIP"])
                .map(|s| fields::ip(&s)),
            user_agent: text(p, "requestMetadata.callerSuppliedUserAgent")
                .map(|u| fields::redact(&u)),
            interactive: None,
            outcome: if code == 0 { "success" } else { "failure" }.into(),
            error_code: (code != 0).then(|| code.to_string()),
            request_id: text(r, "operation.id"),
            issued_credential_id: issued,
            raw_ref: String::new(),
            attributes,
        })
    }
}

/// The `AuditLog` of a record: `protoPayload`, or `protopayload_auditlog` in BigQuery rows.
fn payload(r: &Value) -> Option<&Value> {
    ["protoPayload", "protopayload_auditlog"]
        .iter()
        .find_map(|k| at(r, k).filter(|p| p.is_object()))
}

fn last_segment(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_string()
}

/// `projects/p/logs/...` → `p`.
fn project_of_log(log: Option<&str>) -> Option<String> {
    let rest = log?.strip_prefix("projects/")?;
    rest.split('/').next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn delegation_chain_and_key_are_kept() {
        let r = json!({
            "insertId": "abc", "timestamp": "2024-01-02T03:04:05.123Z",
            "logName": "projects/prod-1/logs/cloudaudit.googleapis.com%2Factivity",
            "protoPayload": {
                "serviceName": "iam.googleapis.com",
                "methodName": "google.iam.admin.v1.CreateServiceAccountKey",
                "authenticationInfo": {
                    "principalEmail": "deployer@prod-1.iam.gserviceaccount.com",
                    "serviceAccountKeyName": "//iam.googleapis.com/projects/prod-1/serviceAccounts/deployer@prod-1.iam.gserviceaccount.com/keys/0123abcd",
                    "serviceAccountDelegationInfo": [{"firstPartyPrincipal": {"principalEmail": "alice@example.com"}}]
                },
                "requestMetadata": {"callerIp": "010.001.002.003", "callerSuppliedUserAgent": "google-cloud-sdk"},
                "resourceName": "projects/-/serviceAccounts/123",
                "response": {"name": "projects/prod-1/serviceAccounts/app@prod-1.iam.gserviceaccount.com/keys/feed42"},
                "status": {}
            }
        });
        let e = GcpAudit.parse(&r).expect("parse");
        assert_eq!(e.tenant, "prod-1");
        assert_eq!(e.credential_id.as_deref(), Some("0123abcd"));
        assert_eq!(e.chain, vec!["alice@example.com".to_string()]);
        assert_eq!(e.issued_credential_id.as_deref(), Some("feed42"));
        assert_eq!(e.source_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(e.actor_type.as_deref(), Some("serviceAccount"));
        assert_eq!(e.outcome, "success");
    }

    #[test]
    fn bigquery_sink_rows() {
        // A row of `cloudaudit_googleapis_com_activity` exported from BigQuery as JSON.
        let r = json!({
            "logName": "projects/prod-1/logs/cloudaudit.googleapis.com%2Factivity",
            "resource": {"type": "service_account", "labels": {"project_id": "prod-1"}},
            "timestamp": "2026-05-02 10:00:00.250000 UTC", "receiveTimestamp": "2026-05-02 10:00:01 UTC",
            "severity": "NOTICE", "insertId": "bq-1",
            "protopayload_auditlog": {
                "serviceName": "iam.googleapis.com",
                "methodName": "google.iam.admin.v1.CreateServiceAccountKey",
                "resourceName": "projects/-/serviceAccounts/123",
                "authenticationInfo": {"principalEmail": "dave@example.com"},
                "requestMetadata": {"callerIp": "203.0.113.20", "callerSuppliedUserAgent": "gcloud"},
                "status": {"code": "7", "message": "PERMISSION_DENIED"},
                "responseJson": "{\"name\":\"projects/prod-1/serviceAccounts/ci@prod-1.iam.gserviceaccount.com/keys/beef01\"}"
            }
        });
        assert!(GcpAudit.detect(&r));
        let e = GcpAudit.parse(&r).expect("parse");
        assert_eq!(e.tenant, "prod-1");
        assert_eq!(e.actor.as_deref(), Some("dave@example.com"));
        assert_eq!(e.issued_credential_id.as_deref(), Some("beef01"));
        assert_eq!(
            (e.outcome.as_str(), e.error_code.as_deref()),
            ("failure", Some("7"))
        );
        assert_eq!(
            e.event_time,
            fields::timestamp(&json!("2026-05-02T10:00:00.25Z")).expect("t")
        );
        assert_eq!(e.event_id, "bq-1");
    }

    #[test]
    fn gke_kubernetes_audit_actors_are_cluster_identities() {
        let r = json!({
            "insertId": "gke-1", "timestamp": "2026-05-02T10:00:00Z",
            "resource": {"type": "k8s_cluster", "labels": {"project_id": "prod-1", "location": "europe-west1", "cluster_name": "prod"}},
            "protoPayload": {
                "serviceName": "k8s.io", "methodName": "io.k8s.core.v1.secrets.get",
                "resourceName": "core/v1/namespaces/payments/secrets/db",
                "authenticationInfo": {"principalEmail": "system:serviceaccount:payments:api"},
                "requestMetadata": {"callerIp": "10.2.3.4"}
            }
        });
        let e = GcpAudit.parse(&r).expect("parse");
        assert_eq!(e.actor_type.as_deref(), Some("serviceaccount"));
        assert_eq!(e.region.as_deref(), Some("europe-west1"));
    }
}
