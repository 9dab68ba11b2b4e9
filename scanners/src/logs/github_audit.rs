//! GitHub audit log events, from the JSON export, the REST API and audit-log streaming
//! (`@timestamp` / `created_at` in epoch milliseconds, or ISO text in some exports). Programmatic
//! access names the token: `programmatic_access_type` (classic or fine-grained PAT, OAuth, GitHub
//! App token), `token_id`, `hashed_token` (a digest, not the token).
//!
//! Older exports keep an event's own keys under `data` (github/docs,
//! `data/reusables/audit_log/exported-log-keys-and-values.md`: `data.hook_id`, `data.events`,
//! `data.events_were`, `data.target_login`, `data.old_user`, `data.team`; the organization
//! exports in Elastic's GitHub integration tests, `packages/github/data_stream/audit/_dev/test/
//! pipeline/test-audit-json.log`, have `data.team`, `data.old_user`, `data.workflow_id`; Panther's
//! rule tests `data.hook_id`, `data.events`), where current events have them at the top level
//! (`hook_id`, `events` in the field lists of `src/audit-logs/data/ghec/enterprise.json`); so
//! does GitHub Enterprise Server's `github_audit` log (`:data=>{}` beside `:actor_ip` in
//! `content/admin/user-management/audit-logging.md`). Every key is read at the top level
//! first, then under `data` (`field`). The actor's address is `actor_ip` (top level or under
//! `data`), or `actor_location.ip` (Elastic's enterprise audit test events,
//! `test-enterprise-audit-json.log`); events with only `actor_location.country_code` have none.
//!
//! Credentials issued ([`github_events::ISSUING`]): a deploy or SSH key added
//! (`public_key.create`, its `fingerprint`), a fine-grained token created, regenerated or
//! granted access (`personal_access_token.*`, `user_programmatic_access_id`), an OAuth app's or
//! GitHub App's client secret generated (the app's `oauth_application_id` /
//! `application_client_id`). Removals issue nothing; a denied token request names the token
//! and failed, so the engine shows it refused, not issued.
//!
//! Every event succeeded but those of an action that records a refused attempt (a denied token
//! request, a rejected branch update, a failed key verification, sign-in or SCIM request:
//! [`github_events::REFUSED`]) and the API requests GitHub answered with an HTTP error
//! (`api.request` in audit-log streaming, with `status_code`): those failed, their error code
//! says why (the refusal, or the status).

use nhiscope_engine::model::EventRow;
use serde_json::Value;

use super::fields::{self, at, text};
use super::{github_events, Format, LogParser, Reject};

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
        let access = field(r, "programmatic_access_type");
        let credential_kind = access.as_deref().map(token_kind);
        let token_id = field(r, "token_id");
        let actor = field(r, "actor");
        let actor_type = if lookup(r, "actor_is_bot").and_then(Value::as_bool) == Some(true)
            || actor.as_deref().is_some_and(|a| a.ends_with("[bot]"))
        {
            "bot"
        } else {
            "user"
        };
        // An owner's action on a token in the web interface (no token of the actor's: no
        // `programmatic_access_type`, no `hashed_token`): the event's `token_id` is that token.
        let issuing = github_events::issuing(&action);
        let token_is_subject = issuing.is_some_and(|i| i.token_is_subject)
            && access.is_none()
            && field(r, "hashed_token").is_none();
        let issued =
            issuing.and_then(|i| issued(r, i, token_id.as_deref().filter(|_| token_is_subject)));
        // Otherwise `token_id` is the credential the actor used.
        let credential_id = token_id.filter(|_| !token_is_subject);
        let (outcome, error_code) = outcome(r, &action);
        let attributes = fields::attributes(&[
            ("programmatic_access_type", access.clone().map(Value::from)),
            ("hashed_token", lookup(r, "hashed_token").cloned()),
            ("token_scopes", lookup(r, "token_scopes").cloned()),
            ("operation_type", lookup(r, "operation_type").cloned()),
            ("business", lookup(r, "business").cloned()),
            ("country", lookup(r, "actor_location.country_code").cloned()),
            ("user", lookup(r, "user").cloned()),
            ("hook_id", lookup(r, "hook_id").cloned()),
            ("old_user", lookup(r, "old_user").cloned()),
            ("team", lookup(r, "team").cloned()),
        ]);
        Ok(EventRow {
            provider: "github".into(),
            tenant: first_field(r, &["org", "business"]).unwrap_or_default(),
            event_id: first_field(r, &["_document_id", "document_id"])
                .unwrap_or_else(|| fields::digest(r)),
            event_time,
            source_format: Format::GithubAudit.name().into(),
            event_source: action.split('.').next().map(str::to_string),
            action,
            actor_type: Some(actor_type.into()),
            actor: actor.clone(),
            actor_id: actor,
            credential_id,
            credential_kind: credential_kind.map(str::to_string),
            session_issuer: None,
            chain: Vec::new(),
            target: first_field(
                r,
                &[
                    "repo",
                    "repository",
                    "team",
                    "user",
                    "integration",
                    "oauth_application",
                ],
            ),
            region: None,
            source_ip: first_field(r, &["actor_ip", "actor_location.ip"]).map(|s| fields::ip(&s)),
            user_agent: field(r, "user_agent").map(|u| fields::redact(&u)),
            interactive: access.as_ref().map(|_| false),
            outcome: outcome.into(),
            error_code,
            request_id: field(r, "request_id"),
            issued_credential_id: issued,
            raw_ref: String::new(),
            attributes,
        })
    }
}

/// The credential an issuing action ([`github_events::ISSUING`]; other actions, removals
/// among them, issue nothing) issued: the first of its id keys the event has, else
/// `subject_token` (the event's `token_id` when it names the token the action is about).
fn issued(
    r: &Value,
    issuing: &github_events::Issuing,
    subject_token: Option<&str>,
) -> Option<String> {
    first_field(r, issuing.ids).or_else(|| subject_token.map(str::to_string))
}

/// `failure` with its evidence for an action that records a refused attempt
/// ([`github_events::REFUSED`]) or a request GitHub answered with an HTTP error (`status_code`
/// 400 or more, on the actions that carry one); `success` otherwise.
fn outcome(r: &Value, action: &str) -> (&'static str, Option<String>) {
    if let Some(code) = github_events::refused(action) {
        return ("failure", Some(code.to_string()));
    }
    let status = github_events::has_status(action)
        .then(|| field(r, "status_code"))
        .flatten()
        .filter(|s| s.parse::<u16>().is_ok_and(|c| c >= 400));
    match status {
        Some(code) => ("failure", Some(code)),
        None => ("success", None),
    }
}

/// The value at `path` (dotted) at the top level, else under `data` (older exports, Enterprise
/// Server); nulls count as absent.
fn lookup<'a>(r: &'a Value, path: &str) -> Option<&'a Value> {
    let found = |v: &'a Value| at(v, path).filter(|x| !x.is_null());
    found(r).or_else(|| r.get("data").and_then(found))
}

/// [`lookup`] as text: the top level's when it has text, else `data`'s.
fn field(r: &Value, path: &str) -> Option<String> {
    text(r, path).or_else(|| r.get("data").and_then(|d| text(d, path)))
}

/// The first of `paths` that [`field`] finds.
fn first_field(r: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| field(r, p))
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

    fn parse(r: Value) -> EventRow {
        assert!(GithubAudit.detect(&r), "{r}");
        GithubAudit.parse(&r).expect("parse")
    }

    /// An organization export's events with their own keys under `data`, as Elastic's GitHub
    /// integration tests hold them (`test-audit-json.log`: `repo.transfer` with
    /// `data.old_user`, `team.create` with `data.team`) and Panther's `hook.create` with
    /// `data.hook_id` and `data.events`: read as the top-level keys would be.
    #[test]
    fn older_exports_keep_event_keys_under_data() {
        let transfer = parse(json!({"actor": "github-actor",
            "data": {"old_user": "agrinmanriv0537"}, "org": "Example-Org",
            "repo": "Example-Org/repo-abc-123", "created_at": 1619733030516_i64,
            "action": "repo.transfer", "actor_location": {"country_code": "US"}}));
        assert_eq!(transfer.target.as_deref(), Some("Example-Org/repo-abc-123"));
        assert_eq!(transfer.source_ip, None, "a country is not an address");
        let attributes = transfer.attributes.unwrap_or_default();
        assert!(
            attributes.contains(r#""old_user":"agrinmanriv0537""#),
            "{attributes}"
        );
        assert!(attributes.contains(r#""country":"US""#), "{attributes}");

        let team = parse(
            json!({"actor": "github-actor", "data": {"team": "Example-Org/authors"},
            "org": "Example-Org", "created_at": 1611618092215_i64, "action": "team.create",
            "actor_location": {"country_code": "US"}}),
        );
        assert_eq!(team.target.as_deref(), Some("Example-Org/authors"));
        assert!(
            team.attributes
                .as_deref()
                .is_some_and(|a| a.contains(r#""team":"Example-Org/authors""#)),
            "{:?}",
            team.attributes
        );

        let hook = parse(json!({"actor": "cat", "action": "hook.create",
            "data": {"hook_id": 111222333444555_i64,
                     "events": ["fork", "public", "pull_request", "push", "repository"]},
            "org": "my-org", "created_at": 1621305118553_i64, "repository": "my-org/my-repo"}));
        assert_eq!(hook.target.as_deref(), Some("my-org/my-repo"));
        assert!(
            hook.attributes
                .as_deref()
                .is_some_and(|a| a.contains(r#""hook_id":111222333444555"#)),
            "{:?}",
            hook.attributes
        );
        // The same event with its keys at the top level (streaming) is the same event but for
        // its id (the digest of a different record).
        let top = parse(json!({"actor": "cat", "action": "hook.create",
            "hook_id": 111222333444555_i64,
            "events": ["fork", "public", "pull_request", "push", "repository"],
            "org": "my-org", "created_at": 1621305118553_i64, "repository": "my-org/my-repo"}));
        assert_eq!(
            EventRow {
                event_id: hook.event_id.clone(),
                ..top
            },
            hook
        );
    }

    /// Enterprise Server and older exports: the actor's address, user agent, token and
    /// request id under `data` (`:actor_ip` and `:data` in the `github_audit` entry of
    /// github/docs `content/admin/user-management/audit-logging.md`); a top-level key wins
    /// over `data`'s; `actor_location.ip` as Elastic's enterprise audit tests have it.
    #[test]
    fn address_agent_and_token_from_data_and_actor_location() {
        let e = parse(
            json!({"created_at": 1351215728326_i64, "action": "repo.create",
            "actor": "some-user", "actor_id": 2, "user": "some-user", "user_id": 2,
            "repo": "some-user/some-repository", "repo_id": 1,
            "data": {"actor_ip": "10.0.0.051", "user_agent": "octokit.rb/4.25.1",
                     "request_id": "0D1A:7B2C:4E5F", "token_id": 987654,
                     "programmatic_access_type": "Personal access token (classic)",
                     "hashed_token": "x9Yz"}}),
        );
        assert_eq!(e.source_ip.as_deref(), Some("10.0.0.51"));
        assert_eq!(e.user_agent.as_deref(), Some("octokit.rb/4.25.1"));
        assert_eq!(e.request_id.as_deref(), Some("0D1A:7B2C:4E5F"));
        assert_eq!(e.credential_id.as_deref(), Some("987654"));
        assert_eq!(e.credential_kind.as_deref(), Some("pat"));
        assert_eq!(e.interactive, Some(false));
        assert_eq!(e.tenant, "", "no organization or enterprise in the entry");

        let both = parse(
            json!({"created_at": 1351215728326_i64, "action": "repo.create",
            "actor": "some-user", "actor_ip": "192.0.2.7", "user_agent": "git/2.45.0",
            "data": {"actor_ip": "10.0.0.51", "user_agent": "octokit.rb/4.25.1"}}),
        );
        assert_eq!(both.source_ip.as_deref(), Some("192.0.2.7"));
        assert_eq!(both.user_agent.as_deref(), Some("git/2.45.0"));

        let located = parse(
            json!({"@timestamp": 1698579720000_i64, "action": "repo.create",
            "actor": "alice_dev", "actor_id": 34567,
            "actor_location": {"country_name": "Canada", "ip": "10.0.0.1"}, "org_id": 98765,
            "org": "dev-group", "repository": "project-alpha", "business": "repo-services"}),
        );
        assert_eq!(located.source_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(located.tenant, "dev-group");
    }

    /// Refused attempts, as GitHub records them: an owner denies a fine-grained token's
    /// request (fields of `personal_access_token.request_denied` in github/docs
    /// `src/audit-logs/data/ghec/enterprise.json`), a push to a protected branch is rejected
    /// (`protected_branch.rejected_ref_update`, as in Elastic's `test-audit-json.log`), a token
    /// is answered 403 (`api.request` as in Elastic's `test-api-request-events.log`, whose
    /// event has `status_code` 200).
    #[test]
    fn refused_attempts_fail_with_their_evidence() {
        let denied = parse(json!({"@timestamp": 1777903600000_i64,
            "_document_id": "Qm9vZ2llV29vZ2llMQ", "action": "personal_access_token.request_denied",
            "actor": "erin", "actor_id": 1402, "org": "acme", "org_id": 9001,
            "business": "acme-corp", "business_id": 77, "created_at": 1777903600000_i64,
            "operation_type": "remove", "user": "mallory", "user_id": 1777,
            "user_programmatic_access_name": "sync-all-repos",
            "user_programmatic_access_request_id": 3301, "repository_selection": "all",
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Firefox/126.0"}));
        assert_eq!(
            (denied.outcome.as_str(), denied.error_code.as_deref()),
            ("failure", Some("request_denied"))
        );
        assert_eq!(denied.target.as_deref(), Some("mallory"));

        let rejected = parse(json!({"actor": "github-actor", "org": "Example-Org",
            "repo": "Example-Org/repo-123", "created_at": 1611616633246_i64,
            "action": "protected_branch.rejected_ref_update",
            "actor_location": {"country_code": "US"}}));
        assert_eq!(
            (rejected.outcome.as_str(), rejected.error_code.as_deref()),
            ("failure", Some("rejected_ref_update"))
        );

        let request = |status: u16| {
            parse(
                json!({"@timestamp": 1741611465102_i64, "_document_id": "Zt3XoecTsz6kAS-87bAEzQ",
                "action": "api.request", "actor": "user_actor", "actor_id": 11111,
                "actor_is_bot": false, "actor_location": {"country_code": "IN"},
                "business": "enterprise-account", "business_id": 222222,
                "created_at": 1741611465102_i64,
                "hashed_token": "E8Fzcgs3TQXqhrKKC/qNR+2XZnaK3ykQBSAt1kPMiJs=",
                "org": "user-delete", "org_id": 3333333, "request_category": "api",
                "request_method": "GET", "route": "/repos/{owner}/{repo}/pulls",
                "status_code": status, "token_id": 555555, "token_scopes": "repo,read:org",
                "user_agent": "curl/7.79.1"}),
            )
        };
        let ok = request(200);
        assert_eq!((ok.outcome.as_str(), ok.error_code), ("success", None));
        let forbidden = request(403);
        assert_eq!(
            (forbidden.outcome.as_str(), forbidden.error_code.as_deref()),
            ("failure", Some("403"))
        );
        assert_eq!(forbidden.credential_id.as_deref(), Some("555555"));

        // Look-alikes that succeeded: an owner turning off an OAuth app's access, a bypass of
        // push protection that went through, a status code on an action without one.
        for (action, extra) in [
            ("org.oauth_app_access_denied", json!({})),
            ("secret_scanning_push_protection.bypass", json!({})),
            ("hook.create", json!({"status_code": 500})),
        ] {
            let mut r = json!({"@timestamp": 1777903600000_i64, "action": action,
                "actor": "erin", "org": "acme", "repo": "acme/api"});
            if let (Some(o), Some(x)) = (r.as_object_mut(), extra.as_object()) {
                o.extend(x.clone());
            }
            let e = parse(r);
            assert_eq!(
                (e.outcome.as_str(), e.error_code),
                ("success", None),
                "{action}"
            );
        }
    }

    /// Keys and tokens issued, with the fields github/docs lists for each action
    /// (`src/audit-logs/data/ghec/enterprise.json`): a deploy key added through the API with a
    /// classic token (`public_key.create`: `key`, `fingerprint`, `title`, `read_only`; the
    /// token is the actor's), a fine-grained token granted by an owner in the web interface,
    /// an OAuth app's and a GitHub App's client secret generated. Removals and a key without a
    /// fingerprint (Panther's `public_key.create` test event) issue nothing.
    #[test]
    fn issued_keys_tokens_and_secrets_name_the_new_credential() {
        let key = parse(
            json!({"@timestamp": 1777896000000_i64, "_document_id": "a2V5LWFkZGVk",
            "action": "public_key.create", "actor": "alice", "actor_id": 1201,
            "actor_ip": "198.51.100.23", "org": "acme", "org_id": 9001, "repo": "acme/api",
            "repo_id": 4401, "created_at": 1777896000000_i64, "operation_type": "create",
            "programmatic_access_type": "Personal access token (classic)", "token_id": 880011,
            "hashed_token": "p8lBzKC7yUeIbNmd1Xw1cyqxqJ3b0Nl9mB3n3tO0cAo=",
            "token_scopes": "repo,admin:public_key", "user_agent": "terraform-provider-github",
            "title": "deploy-prod", "read_only": false,
            "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx9example",
            "fingerprint": "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"}),
        );
        assert_eq!(
            key.issued_credential_id.as_deref(),
            Some("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8")
        );
        assert_eq!(
            key.credential_id.as_deref(),
            Some("880011"),
            "the actor's token"
        );
        assert_eq!(key.target.as_deref(), Some("acme/api"));
        assert_eq!(key.outcome, "success");

        // An owner grants a fine-grained token in the web interface: the token is the subject.
        let grant = json!({"@timestamp": 1777899600000_i64, "_document_id": "Z3JhbnRlZA",
            "action": "personal_access_token.access_granted", "actor": "erin",
            "actor_id": 1402, "org": "acme", "user": "release-bot", "user_id": 1888,
            "user_programmatic_access_id": 5551234, "user_programmatic_access_name": "release",
            "repository_selection": "selected", "created_at": 1777899600000_i64,
            "operation_type": "access"});
        let granted = parse(grant.clone());
        assert_eq!(granted.issued_credential_id.as_deref(), Some("5551234"));
        assert_eq!(granted.credential_id, None);
        // Both keys: the same token, and still not a token of the owner's.
        let mut both = grant.clone();
        if let Some(o) = both.as_object_mut() {
            o.insert("token_id".into(), json!(5551234));
        }
        assert_eq!(parse(both), granted);
        assert_eq!(granted.target.as_deref(), Some("release-bot"));
        // Exports that name the token by `token_id` only: the same token, not the actor's.
        let mut by_token = grant.clone();
        if let Some(o) = by_token.as_object_mut() {
            o.remove("user_programmatic_access_id");
            o.insert("token_id".into(), json!(5551234));
        }
        let by_token = parse(by_token);
        assert_eq!(
            (
                by_token.issued_credential_id.as_deref(),
                by_token.credential_id
            ),
            (Some("5551234"), None)
        );
        // Granted through the API with the owner's own token: that `token_id` is the owner's.
        let mut by_api = grant;
        if let Some(o) = by_api.as_object_mut() {
            o.remove("user_programmatic_access_id");
            o.insert("token_id".into(), json!(880011));
            o.insert(
                "programmatic_access_type".into(),
                json!("Personal access token (classic)"),
            );
        }
        let by_api = parse(by_api);
        assert_eq!(by_api.issued_credential_id, None);
        assert_eq!(by_api.credential_id.as_deref(), Some("880011"));

        let oauth = parse(json!({"@timestamp": 1777903200000_i64,
            "action": "oauth_application.generate_client_secret", "actor": "alice",
            "org": "acme", "oauth_application": "acme-dashboard", "oauth_application_id": 310042,
            "operation_type": "modify"}));
        assert_eq!(oauth.issued_credential_id.as_deref(), Some("310042"));
        assert_eq!(oauth.target.as_deref(), Some("acme-dashboard"));
        let app = parse(json!({"@timestamp": 1777903260000_i64,
            "action": "integration.generate_client_secret", "actor": "alice", "org": "acme",
            "name": "acme-deployer", "integration": "acme-deployer",
            "application_client_id": "Iv23liQmZ4xExample1", "operation_type": "modify"}));
        assert_eq!(
            app.issued_credential_id.as_deref(),
            Some("Iv23liQmZ4xExample1")
        );
        assert_eq!(app.target.as_deref(), Some("acme-deployer"));

        for (action, extra) in [
            (
                "public_key.delete",
                json!({"fingerprint": "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"}),
            ),
            (
                "personal_access_token.access_revoked",
                json!({"user_programmatic_access_id": 5551234}),
            ),
            (
                "personal_access_token.request_created",
                json!({"user_programmatic_access_id": 5551234}),
            ),
            (
                "oauth_application.remove_client_secret",
                json!({"oauth_application_id": 310042}),
            ),
            (
                "integration.remove_client_secret",
                json!({"application_client_id": "Iv23liQmZ4xExample1"}),
            ),
            // Panther's `GitHub - User Access Key Created`: no fingerprint, nothing to name.
            ("public_key.create", json!({})),
            // Not a GitHub action (deploy keys are `public_key.*`), whatever its id.
            ("deploy_key.create", json!({"key_id": 77})),
        ] {
            let mut r = json!({"actor": "cat", "action": action, "created_at": 1621305118553_i64,
                "repo": "my-org/my-repo", "token_id": 5551234});
            if let (Some(o), Some(x)) = (r.as_object_mut(), extra.as_object()) {
                o.extend(x.clone());
            }
            assert_eq!(parse(r).issued_credential_id, None, "{action}");
        }
    }

    /// A denied token request names its token and failed: the engine shows the token
    /// refused, not issued, and leaves it out of issuance. Older exports name it under `data`.
    #[test]
    fn a_denied_request_names_its_token_and_fails() {
        let denied = parse(json!({"created_at": 1777903600000_i64,
            "action": "personal_access_token.request_denied", "actor": "erin", "org": "acme",
            "user": "mallory", "data": {"token_id": 7770001,
            "user_programmatic_access_name": "sync-all-repos"}}));
        assert_eq!(denied.issued_credential_id.as_deref(), Some("7770001"));
        assert_eq!(denied.credential_id, None);
        assert_eq!(
            (denied.outcome.as_str(), denied.error_code.as_deref()),
            ("failure", Some("request_denied"))
        );
        let nested_key = parse(json!({"created_at": 1777896000000_i64,
            "action": "public_key.create", "actor": "alice", "org": "acme", "repo": "acme/api",
            "data": {"fingerprint": "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
                     "title": "deploy-prod", "read_only": true}}));
        assert_eq!(
            nested_key.issued_credential_id.as_deref(),
            Some("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8")
        );
    }
}
