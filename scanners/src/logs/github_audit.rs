//! GitHub audit log events, from the JSON export, the REST API and audit-log streaming
//! (`@timestamp` / `created_at` in epoch milliseconds, or ISO text in some exports). Programmatic
//! access names the token: `programmatic_access_type` (classic or fine-grained PAT, OAuth, GitHub
//! App token), `token_id`, `hashed_token` (a digest, not the token).

use nhiscope_engine::model::EventRow;
use serde_json::Value;

use super::fields::{self, at, first, text};
use super::{Format, LogParser, Reject};

pub struct GithubAudit;

impl LogParser for GithubAudit {
    fn format(&self) -> Format {
        Format::GithubAudit
    }

    fn detect(&self, r: &Value) -> bool {
        let Some(o) = r.as_object() else { return false };
        o.get("action").is_some_and(Value::is_string)
            && [
                "actor",
                "org",
                "business",
                "_document_id",
                "programmatic_access_type",
                "@timestamp",
            ]
            .iter()
            .any(|k| o.contains_key(*k))
    }

    fn parse(&self, r: &Value) -> Result<EventRow, Reject> {
        let action = text(r, "action").ok_or_else(|| Reject::missing("action"))?;
        let event_time = fields::first_time(
            r,
            &["@timestamp", "created_at", "timestamp", "at_sign_timestamp"],
        )
        .ok_or_else(|| Reject::missing("@timestamp"))?;
        let access = text(r, "programmatic_access_type");
        let credential_kind = access.as_deref().map(token_kind);
        let token_id = text(r, "token_id");
        let actor = text(r, "actor");
        let actor_type = if r.get("actor_is_bot").and_then(Value::as_bool) == Some(true)
            || actor.as_deref().is_some_and(|a| a.ends_with("[bot]"))
        {
            "bot"
        } else {
            "user"
        };
        let issued = (action.ends_with(".create") || action.ends_with(".access_granted"))
            .then(|| {
                (action.contains("token") || action.contains("key"))
                    .then(|| first(r, &["token_id", "fingerprint", "key_id"]))
                    .flatten()
            })
            .flatten();
        let attributes = fields::attributes(&[
            ("programmatic_access_type", access.clone().map(Value::from)),
            ("hashed_token", at(r, "hashed_token").cloned()),
            ("token_scopes", at(r, "token_scopes").cloned()),
            ("operation_type", at(r, "operation_type").cloned()),
            ("business", at(r, "business").cloned()),
            ("country", at(r, "actor_location.country_code").cloned()),
            ("user", at(r, "user").cloned()),
        ]);
        Ok(EventRow {
            provider: "github".into(),
            tenant: first(r, &["org", "business"]).unwrap_or_default(),
            event_id: first(r, &["_document_id", "document_id"])
                .unwrap_or_else(|| fields::digest(r)),
            event_time,
            source_format: Format::GithubAudit.name().into(),
            event_source: action.split('.').next().map(str::to_string),
            action,
            actor_type: Some(actor_type.into()),
            actor: actor.clone(),
            actor_id: actor,
            credential_id: token_id,
            credential_kind: credential_kind.map(str::to_string),
            session_issuer: None,
            chain: Vec::new(),
            target: first(r, &["repo", "repository", "team", "user"]),
            region: None,
            source_ip: text(r, "actor_ip").map(|s| fields::ip(&s)),
            user_agent: text(r, "user_agent").map(|u| fields::redact(&u)),
            interactive: access.as_ref().map(|_| false),
            outcome: "success".into(),
            error_code: None,
            request_id: text(r, "request_id"),
            issued_credential_id: issued,
            raw_ref: String::new(),
            attributes,
        })
    }
}

/// `programmatic_access_type` → credential kind.
fn token_kind(access: &str) -> &'static str {
    let a = access.to_ascii_lowercase();
    if a.contains("fine-grained") {
        "pat_fine_grained"
    } else if a.contains("personal access token") {
        "pat"
    } else if a.contains("oauth") {
        "oauth_token"
    } else if a.contains("app") {
        "app_token"
    } else if a.contains("ssh") || a.contains("deploy") {
        "ssh_key"
    } else {
        "token"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn streaming_event_with_token() {
        let r = json!({
            "@timestamp": 1621305118553_i64, "_document_id": "d-1", "action": "git.clone",
            "actor": "ci-bot", "org": "acme", "repo": "acme/api", "actor_ip": "192.030.1.1",
            "programmatic_access_type": "Fine-grained personal access token", "token_id": 42,
            "hashed_token": "abc=", "user_agent": "git/2.40"
        });
        assert!(GithubAudit.detect(&r));
        let e = GithubAudit.parse(&r).expect("parse");
        assert_eq!(e.event_id, "d-1");
        assert_eq!(e.credential_id.as_deref(), Some("42"));
        assert_eq!(e.credential_kind.as_deref(), Some("pat_fine_grained"));
        assert_eq!(e.source_ip.as_deref(), Some("192.30.1.1"));
        assert_eq!(e.tenant, "acme");
        assert_eq!(e.interactive, Some(false));
        assert_eq!(
            nhiscope_engine::time::format(e.event_time),
            "2021-05-18T02:31:58Z"
        );
    }
}
