//! Edge access logs carrying the caller's identity: AWS API Gateway JSON access logs and Envoy
//! (Istio) JSON access logs. Both formats are user-defined, so the parsers accept the field
//! names of the documented examples and the usual variants:
//!
//! - API Gateway: `requestId`, `requestTime` (CLF) or `requestTimeEpoch`, `httpMethod` /
//!   `routeKey`, `resourcePath` / `path`, `status`, `ip` / `sourceIp`, `userAgent`, and the
//!   caller: `accessKey` (SigV4 access key id), `userArn` / `caller` / `user`, `principalId`,
//!   `sub` / `claims.sub` / `authorizer.claims.sub` (JWT subject); nested `identity.*` too.
//! - Envoy: `start_time`, `method`, `path`, `authority`, `response_code`, `request_id`
//!   (`x-request-id`), `downstream_remote_address` / `x_forwarded_for`, `user_agent`, and the
//!   caller: `downstream_peer_uri_san` / `spiffe_id` (SPIFFE id), `jwt_sub` / `sub`.
//!
//! The request id is both the event id and `request_id`, which is how a trace goes from an
//! edge request to the workload identity behind it. Paths are redacted of secret parameters.

use nhiscope_engine::model::EventRow;
use serde_json::Value;

use super::fields::{self, first, text};
use super::{Format, LogParser, Reject};

pub struct ApiGateway;

impl LogParser for ApiGateway {
    fn format(&self) -> Format {
        Format::ApiGatewayAccess
    }

    fn detect(&self, r: &Value) -> bool {
        let Some(o) = r.as_object() else { return false };
        o.contains_key("requestId")
            && (o.contains_key("httpMethod") || o.contains_key("routeKey"))
            && (o.contains_key("requestTime") || o.contains_key("requestTimeEpoch"))
    }

    fn parse(&self, r: &Value) -> Result<EventRow, Reject> {
        let request_id = text(r, "requestId").ok_or_else(|| Reject::missing("requestId"))?;
        let event_time = fields::first_time(r, &["requestTimeEpoch", "requestTime"])
            .ok_or_else(|| Reject::missing("requestTime"))?;
        let method = first(r, &["httpMethod"]);
        let path = first(r, &["resourcePath", "path", "routeKey"]).map(|p| fields::redact(&p));
        let action = match (&method, &path) {
            (Some(m), Some(p)) if !p.starts_with(m.as_str()) => format!("{m} {p}"),
            (_, Some(p)) => p.clone(),
            (Some(m), None) => m.clone(),
            (None, None) => return Err(Reject::missing("httpMethod")),
        };
        let access_key = first(r, &["accessKey", "identity.accessKey"]);
        let arn = first(
            r,
            &[
                "userArn",
                "identity.userArn",
                "caller",
                "identity.caller",
                "user",
                "identity.user",
            ],
        );
        let sub = first(
            r,
            &[
                "sub",
                "claims.sub",
                "authorizer.claims.sub",
                "jwtSub",
                "principalId",
                "authorizer.principalId",
            ],
        );
        let (actor_type, actor) = match (&arn, &sub) {
            (Some(a), _) => (Some("iam"), Some(a.clone())),
            (None, Some(s)) => (Some("jwt_sub"), Some(s.clone())),
            _ => (None, None),
        };
        let status = first(r, &["status"]);
        let attributes = fields::attributes(&[
            ("api_id", r.get("apiId").cloned()),
            ("stage", r.get("stage").cloned()),
            ("status", status.clone().map(Value::from)),
            ("jwt_sub", sub.clone().map(Value::from)),
        ]);
        Ok(EventRow {
            provider: "aws".into(),
            tenant: first(r, &["accountId", "identity.accountId"]).unwrap_or_default(),
            event_id: request_id.clone(),
            event_time,
            source_format: Format::ApiGatewayAccess.name().into(),
            event_source: Some("apigateway".into()),
            action,
            actor_type: actor_type.map(str::to_string),
            actor_id: arn.clone().or(sub.clone()),
            actor,
            credential_kind: access_key
                .as_deref()
                .map(|k| super::cloudtrail::key_kind(k).to_string()),
            credential_id: access_key,
            session_issuer: arn.as_deref().and_then(super::cloudtrail::role_of_session),
            chain: Vec::new(),
            target: path,
            region: None,
            source_ip: first(r, &["ip", "sourceIp", "identity.sourceIp"]).map(|s| fields::ip(&s)),
            user_agent: first(r, &["userAgent", "identity.userAgent"]).map(|u| fields::redact(&u)),
            interactive: None,
            outcome: http_outcome(status.as_deref()).into(),
            error_code: status.filter(|s| s.starts_with('4') || s.starts_with('5')),
            request_id: Some(request_id),
            issued_credential_id: None,
            raw_ref: String::new(),
            attributes,
        })
    }
}

pub struct Envoy;

impl LogParser for Envoy {
    fn format(&self) -> Format {
        Format::EnvoyAccess
    }

    fn detect(&self, r: &Value) -> bool {
        let Some(o) = r.as_object() else { return false };
        o.contains_key("start_time")
            && (o.contains_key("method") || o.contains_key("response_code"))
    }

    fn parse(&self, r: &Value) -> Result<EventRow, Reject> {
        let event_time =
            fields::first_time(r, &["start_time"]).ok_or_else(|| Reject::missing("start_time"))?;
        let method = text(r, "method").ok_or_else(|| Reject::missing("method"))?;
        let path = text(r, "path").map(|p| fields::redact(&p));
        let spiffe = first(r, &["downstream_peer_uri_san", "peer_uri_san", "spiffe_id"])
            .filter(|s| s.starts_with("spiffe://"));
        let sub = first(r, &["jwt_sub", "sub"]);
        let (actor_type, actor) = match (&spiffe, &sub) {
            (Some(s), _) => (Some("spiffe"), Some(s.clone())),
            (None, Some(s)) => (Some("jwt_sub"), Some(s.clone())),
            _ => (None, None),
        };
        let status = first(r, &["response_code"]);
        let source = first(r, &["x_forwarded_for"])
            .map(|x| x.split(',').next().unwrap_or_default().trim().to_string())
            .filter(|x| !x.is_empty())
            .or_else(|| first(r, &["downstream_remote_address"]));
        let request_id = first(r, &["request_id", "x_request_id"]);
        let attributes = fields::attributes(&[
            ("authority", r.get("authority").cloned()),
            ("upstream_cluster", r.get("upstream_cluster").cloned()),
            ("response_flags", r.get("response_flags").cloned()),
            ("jwt_sub", sub.clone().map(Value::from)),
        ]);
        Ok(EventRow {
            provider: "gateway".into(),
            tenant: first(r, &["authority"]).unwrap_or_default(),
            event_id: request_id.clone().unwrap_or_else(|| fields::digest(r)),
            event_time,
            source_format: Format::EnvoyAccess.name().into(),
            event_source: Some("envoy".into()),
            action: match &path {
                Some(p) => format!("{method} {p}"),
                None => method,
            },
            actor_type: actor_type.map(str::to_string),
            actor: actor.clone(),
            actor_id: actor,
            credential_id: None,
            credential_kind: spiffe.as_ref().map(|_| "x509_svid".to_string()),
            session_issuer: None,
            chain: Vec::new(),
            target: path,
            region: None,
            source_ip: source.map(|s| fields::ip(&s)),
            user_agent: text(r, "user_agent").map(|u| fields::redact(&u)),
            interactive: None,
            outcome: http_outcome(status.as_deref()).into(),
            error_code: status.filter(|s| s.starts_with('4') || s.starts_with('5')),
            request_id,
            issued_credential_id: None,
            raw_ref: String::new(),
            attributes,
        })
    }
}

fn http_outcome(status: Option<&str>) -> &'static str {
    match status.and_then(|s| s.parse::<u16>().ok()) {
        Some(c) if c >= 400 => "failure",
        Some(c) if c > 0 => "success",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_gateway_request_with_sigv4_caller() {
        let r = json!({
            "requestId": "req-1", "requestTime": "10/Feb/2026:12:00:00 +0000", "httpMethod": "GET",
            "resourcePath": "/orders?token=abc", "status": "200", "ip": "10.0.0.1",
            "accessKey": "ASIAEXAMPLE", "userArn": "arn:aws:sts::1:assumed-role/app/i-1",
            "userAgent": "okhttp/4"
        });
        assert!(ApiGateway.detect(&r));
        assert!(!Envoy.detect(&r));
        let e = ApiGateway.parse(&r).expect("parse");
        assert_eq!(e.credential_id.as_deref(), Some("ASIAEXAMPLE"));
        assert_eq!(e.session_issuer.as_deref(), Some("arn:aws:iam::1:role/app"));
        assert_eq!(e.target.as_deref(), Some("/orders?token=REDACTED"));
        assert_eq!(e.request_id.as_deref(), Some("req-1"));
        assert_eq!(e.outcome, "success");
    }

    #[test]
    fn envoy_request_with_spiffe_peer() {
        let r = json!({
            "start_time": "2026-02-10T12:00:00.123Z", "method": "POST", "path": "/v1/pay",
            "response_code": 503, "request_id": "x-1", "authority": "payments",
            "downstream_peer_uri_san": "spiffe://prod.example/ns/shop/sa/checkout",
            "downstream_remote_address": "10.1.2.3:51234", "user_agent": "grpc-go/1.6"
        });
        assert!(Envoy.detect(&r));
        let e = Envoy.parse(&r).expect("parse");
        assert_eq!(
            e.actor.as_deref(),
            Some("spiffe://prod.example/ns/shop/sa/checkout")
        );
        assert_eq!(e.source_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(e.outcome, "failure");
        assert_eq!(e.error_code.as_deref(), Some("503"));
    }
}
