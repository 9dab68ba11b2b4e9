//! Kubernetes audit events (`audit.k8s.io/v1` `Event`, as written by the API server, EKS via
//! CloudWatch, or AKS diagnostics after [`super::unwrap_envelope`]). Service accounts are
//! `system:serviceaccount:<ns>:<name>`; with impersonation the actor is the impersonated user
//! and the authenticated user is the delegator (`chain`). `auditID` repeats across stages, so
//! the event id is `auditID:stage`.

use nhiscope_engine::model::EventRow;
use serde_json::Value;

use super::fields::{self, at, first, text};
use super::{Format, LogParser, Reject};

pub struct K8sAudit;

impl LogParser for K8sAudit {
    fn format(&self) -> Format {
        Format::K8sAudit
    }

    fn detect(&self, r: &Value) -> bool {
        let Some(o) = r.as_object() else { return false };
        (o.get("kind").and_then(Value::as_str) == Some("Event")
            && (o.contains_key("auditID") || o.contains_key("verb")))
            || (o.contains_key("auditID") && o.contains_key("requestURI"))
    }

    fn parse(&self, r: &Value) -> Result<EventRow, Reject> {
        let action = text(r, "verb").ok_or_else(|| Reject::missing("verb"))?;
        let event_time = fields::first_time(r, &["stageTimestamp", "requestReceivedTimestamp"])
            .ok_or_else(|| Reject::missing("requestReceivedTimestamp"))?;
        let user = text(r, "user.username");
        let impersonated = text(r, "impersonatedUser.username");
        let actor = impersonated.clone().or(user.clone());
        let actor_type = actor.as_deref().map(kind_of_user);
        let chain: Vec<String> = if impersonated.is_some() {
            user.into_iter().collect()
        } else {
            Vec::new()
        };
        let credential_id = at(r, "user.extra")
            .and_then(|x| x.get("authentication.kubernetes.io/credential-id"))
            .and_then(|v| v.as_array().and_then(|a| a.first()).or(Some(v)))
            .and_then(fields::as_text);
        let code = at(r, "responseStatus.code").and_then(Value::as_i64);
        let outcome = match code {
            Some(c) if c >= 400 => "failure",
            Some(_) => "success",
            None => "unknown",
        };
        let target = match (
            text(r, "objectRef.namespace"),
            text(r, "objectRef.resource"),
            text(r, "objectRef.name"),
        ) {
            (_, None, _) => text(r, "requestURI"),
            (ns, Some(res), name) => Some(
                [ns, Some(res), name]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("/"),
            ),
        };
        let audit_id = text(r, "auditID");
        let event_id = match (audit_id, text(r, "stage")) {
            (Some(id), Some(stage)) => format!("{id}:{stage}"),
            (Some(id), None) => id,
            (None, _) => fields::digest(r),
        };
        let attributes = fields::attributes(&[
            ("stage", at(r, "stage").cloned()),
            ("uid", at(r, "user.uid").cloned()),
            ("groups", at(r, "user.groups").cloned()),
            (
                "pod",
                at(r, "user.extra")
                    .and_then(|x| x.get("authentication.kubernetes.io/pod-name"))
                    .cloned(),
            ),
            (
                "decision",
                at(r, "annotations")
                    .and_then(|a| a.get("authorization.k8s.io/decision"))
                    .cloned(),
            ),
        ]);
        Ok(EventRow {
            provider: "k8s".into(),
            tenant: text(r, "annotations.cluster").unwrap_or_default(),
            event_id,
            event_time,
            source_format: Format::K8sAudit.name().into(),
            event_source: Some(text(r, "objectRef.apiGroup").unwrap_or_else(|| "core".into())),
            action,
            actor_type: actor_type.map(str::to_string),
            actor: actor.clone(),
            actor_id: actor,
            credential_kind: credential_id.as_ref().map(|_| "token".to_string()),
            credential_id,
            session_issuer: None,
            chain,
            target: target.map(|t| fields::redact(&t)),
            region: None,
            source_ip: at(r, "sourceIPs")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(fields::as_text)
                .map(|s| fields::ip(&s)),
            user_agent: text(r, "userAgent").map(|u| fields::redact(&u)),
            interactive: None,
            outcome: outcome.into(),
            error_code: code.filter(|c| *c >= 400).map(|c| c.to_string()),
            request_id: first(r, &["auditID"]),
            issued_credential_id: None,
            raw_ref: String::new(),
            attributes,
        })
    }
}

/// serviceaccount, node, system or user (also for GKE's Kubernetes audit events, which reach
/// nhiscope as GCP audit logs).
pub fn kind_of_user(name: &str) -> &'static str {
    if name.starts_with("system:serviceaccount:") {
        "serviceaccount"
    } else if name.starts_with("system:node:") {
        "node"
    } else if name.starts_with("system:") {
        "system"
    } else {
        "user"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn impersonation_puts_the_delegator_in_the_chain() {
        let r = json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a1", "stage": "ResponseComplete",
            "verb": "get", "requestURI": "/api/v1/namespaces/prod/secrets/db",
            "user": {"username": "alice@example.com", "groups": ["devs"]},
            "impersonatedUser": {"username": "system:serviceaccount:prod:deployer"},
            "sourceIPs": ["10.0.0.7"], "userAgent": "kubectl/v1.29",
            "objectRef": {"resource": "secrets", "namespace": "prod", "name": "db"},
            "responseStatus": {"code": 403},
            "requestReceivedTimestamp": "2024-03-01T10:00:00.000000Z",
            "stageTimestamp": "2024-03-01T10:00:00.010000Z"
        });
        let e = K8sAudit.parse(&r).expect("parse");
        assert_eq!(
            e.actor.as_deref(),
            Some("system:serviceaccount:prod:deployer")
        );
        assert_eq!(e.actor_type.as_deref(), Some("serviceaccount"));
        assert_eq!(e.chain, vec!["alice@example.com".to_string()]);
        assert_eq!(e.event_id, "a1:ResponseComplete");
        assert_eq!(e.target.as_deref(), Some("prod/secrets/db"));
        assert_eq!(e.outcome, "failure");
        assert_eq!(e.error_code.as_deref(), Some("403"));
    }
}
