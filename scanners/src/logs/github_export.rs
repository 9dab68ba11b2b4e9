//! GitHub's audit log export as CSV (organization or enterprise Settings → Audit log → Export →
//! CSV): one row per event, one column per key of the events' JSON, nested keys flattened with
//! dots (`actor_location.country_code`, `data.hook_id`). [`super::csv_rows`] reads such a file
//! when [`is_header`] says its header is one, and each row becomes the JSON event it shows
//! through [`Columns::record`], for the GitHub audit parser ([`super::github_audit`]), as
//! [`super::event_history`] does for the CloudTrail console's download: dotted names nested
//! again, ids and epoch-millisecond times as numbers, `true` / `false` as booleans, arrays and
//! objects (`data.events`) read from their JSON, so a row is the record the JSON export or the
//! REST API gives for the same event, and its event is the same (the same `_document_id`, or,
//! without one, the same digest of the record) and is stored once.
//!
//! The column names, from public sources:
//! - github/docs, `data/reusables/audit_log/exported-log-keys-and-values.md` (included in
//!   "Reviewing the audit log for your organization" and "Exporting audit log activity for your
//!   enterprise", docs.github.com): "After you export the log as JSON or CSV, you'll see the
//!   following keys and values": `action`, `actor`, `user`, `actor_location.country_code` (in
//!   the enterprise page), `org`, `repo`, `created_at` ("the time since Epoch with
//!   milliseconds", `1429548104000`), `data.hook_id`, `data.events` (a JSON array),
//!   `data.events_were`, `data.target_login`, `data.old_user`, `data.team`;
//!   `exported-git-log-keys-and-values.md` gives the Git events' keys (`@timestamp` in ms,
//!   `actor`, `action`, `org`, `business`, `repo`, `repository_public`, `user`,
//!   `protocol_name`); `export-log.md`: "You can export the log as JSON data or a
//!   comma-separated value (CSV) file".
//! - public code reading these CSV exports: a Wikimedia Foundation audit statistics script
//!   (sbassett, T179462; found by text search, repository not named by the index) reads the
//!   action in the first column, the actor in the second and `created_at` as epoch ms in the
//!   sixth (the documented order `action, actor, user, org, repo, created_at`); a pandas
//!   loader of a GitHub audit log CSV (likewise unnamed) reads `@timestamp` as epoch ms, `_document_id`,
//!   `actor_id`, `org_id`, `request_id`, `actor_location.country_code`,
//!   `programmatic_access_type`, `operation_type` and `actor_is_bot` among its columns.
//!
//! No public copy of a whole exported header was found: the export's columns are taken to be
//! the events' keys, as GitHub documents, and matched loosely (any case, spaces trimmed);
//! every column is kept. What a CSV cannot say is guessed from the key: a cell of an id
//! (`*_id` but `_document_id` and `request_id`) or a time (`@timestamp`, `created_at`) that
//! is an integer is a number, other cells are text; so an event whose JSON holds a number
//! elsewhere (a latitude) or a null has another digest, which matters only when the export
//! has no `_document_id` (the event id then). Event-specific keys that older exports keep
//! under `data.` stay there, as in their JSON, and the parser reads them there
//! (`data.actor_ip`, `data.fingerprint`, `data.token_id`, ...): the same address, issuance and
//! outcome as from the JSON.

use serde_json::{Map, Number, Value};

use super::fields;

/// The time columns: one of them is needed.
const TIME: &[&str] = &["@timestamp", "created_at"];

/// Columns of GitHub's events that a header needs one of, besides `action`, `actor` and a time
/// (which other audit exports have too); `actor_location.*` counts as one. The `data.` ones
/// are the documented keys older exports nest there.
const GITHUB_ONLY: &[&str] = &[
    "_document_id",
    "org",
    "business",
    "repo",
    "actor_ip",
    "actor_is_bot",
    "programmatic_access_type",
    "hashed_token",
    "token_id",
    "operation_type",
    "data.hook_id",
    "data.events",
    "data.events_were",
    "data.target_login",
    "data.old_user",
    "data.team",
];

/// A column name as the events' key: trimmed, lower case (GitHub's keys are).
fn key(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

/// True when `names` (a CSV header's column names) are GitHub's audit log export: `action`,
/// `actor`, `@timestamp` or `created_at`, and one of `GITHUB_ONLY` (or an `actor_location.`
/// column).
pub fn is_header(names: &[String]) -> bool {
    let keys: Vec<String> = names.iter().map(|n| key(n)).collect();
    let has = |k: &str| keys.iter().any(|n| n == k);
    has("action")
        && has("actor")
        && TIME.iter().any(|t| has(t))
        && keys
            .iter()
            .any(|k| GITHUB_ONLY.contains(&k.as_str()) || k.starts_with("actor_location."))
}

/// The columns of one export (by position in its header): each one's path in the event.
#[derive(Debug)]
pub struct Columns {
    /// Each column's key, dotted where nested (`actor_location.country_code`).
    paths: Vec<String>,
}

impl Columns {
    /// The columns of `header`, when it is the export's ([`is_header`]).
    pub fn of(header: &[String]) -> Option<Columns> {
        is_header(header).then(|| Columns {
            paths: header.iter().map(|n| key(n)).collect(),
        })
    }

    /// The JSON event of one row; `None` for a row with nothing in its cells.
    pub fn record<'r>(&self, row: impl IntoIterator<Item = &'r str>) -> Option<Value> {
        let mut record = Map::new();
        for (path, cell) in self.paths.iter().zip(row) {
            let last = path.rsplit('.').next().unwrap_or(path);
            if let Some(value) = value(last, cell) {
                // A key already holding something else is left as it is (a column named
                // both `a` and `a.b` keeps `a`).
                let _ = fields::insert_path(&mut record, path, value);
            }
        }
        (!record.is_empty()).then_some(Value::Object(record))
    }
}

/// The value of a cell under key `key`: absent when empty or `null`; a number for an
/// integer id or time; a boolean for `true` / `false`; an array or object its JSON spells;
/// else the text.
fn value(key: &str, cell: &str) -> Option<Value> {
    let t = cell.trim();
    if t.is_empty() || t == "null" {
        return None;
    }
    let numeric = TIME.contains(&key)
        || (key.ends_with("_id") && key != "_document_id" && key != "request_id");
    if numeric {
        if let Some(n) = integer(t) {
            return Some(Value::Number(n));
        }
    }
    match t {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    if t.starts_with('[') || t.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<Value>(t) {
            return Some(v);
        }
    }
    Some(Value::from(cell))
}

/// `text` as the integer JSON would write (no sign but `-`, no leading zero, no fraction).
fn integer(text: &str) -> Option<Number> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !canonical {
        return None;
    }
    text.parse::<i64>()
        .map(Number::from)
        .or_else(|_| text.parse::<u64>().map(Number::from))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(header: &str) -> Vec<String> {
        header.split(',').map(str::to_string).collect()
    }

    /// `events` as an export writes them: the union of their flattened keys as the header
    /// (in first-seen order), each cell the value's text (JSON for arrays), empty when absent.
    fn export(events: &[Value]) -> (Vec<String>, Vec<Vec<String>>) {
        fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
            match v {
                Value::Object(o) => {
                    for (k, x) in o {
                        let key = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        flatten(&key, x, out);
                    }
                }
                Value::String(s) => out.push((prefix.into(), s.clone())),
                other => out.push((prefix.into(), other.to_string())),
            }
        }
        let flat: Vec<Vec<(String, String)>> = events
            .iter()
            .map(|e| {
                let mut out = Vec::new();
                flatten("", e, &mut out);
                out
            })
            .collect();
        let mut header: Vec<String> = Vec::new();
        for (k, _) in flat.iter().flatten() {
            if !header.contains(k) {
                header.push(k.clone());
            }
        }
        let rows = flat
            .iter()
            .map(|cells| {
                header
                    .iter()
                    .map(|h| {
                        cells
                            .iter()
                            .find(|(k, _)| k == h)
                            .map_or(String::new(), |(_, v)| v.clone())
                    })
                    .collect()
            })
            .collect();
        (header, rows)
    }

    fn event(record: Value) -> nhiscope_engine::model::EventRow {
        let (format, event) = crate::logs::normalise::normalise(record, None).expect("an event");
        assert_eq!(format, crate::logs::Format::GithubAudit);
        event
    }

    #[test]
    fn the_export_header_is_told_from_other_csv_headers() {
        for header in [
            // The documented keys, in their documented order.
            "action,actor,user,actor_location.country_code,org,repo,created_at,data.hook_id,data.events,data.events_were,data.target_login,data.old_user,data.team",
            "action,actor,user,org,repo,created_at",
            // Git events, and a streaming-shaped export.
            "@timestamp,actor,action,org,business,repo,repository_public,user,protocol_name",
            "@timestamp,_document_id,action,actor,actor_id,actor_ip,programmatic_access_type,token_id,hashed_token",
            " Action , ACTOR ,Created_At,Org",
            // An older export of an enterprise's hook events: only `data.` keys are GitHub's.
            "action,actor,created_at,data.hook_id,data.events",
        ] {
            assert!(is_header(&names(header)), "{header}");
        }
        for header in [
            // Other audit exports: no GitHub column, or no actor or time.
            "action,actor,created_at",
            "timestamp,actor,role,action,resource,tenant",
            "_time,Received,ID,Action,CRUD,IsFailure,Description,ActorID,ActorName",
            "timestamp,actor_access_token_id,actor_user_name,action,previous,next",
            "action,org,repo,created_at",
            "actor,org,repo,created_at",
            "action,actor,created_at,data.id,data.value",
            // The consoles' downloads, prose, a licence.
            "Event ID,Event time,User name,Event name,AWS access key,Event source",
            "Date (UTC),Request ID,Sign-in error code,Service principal ID",
            "The action, the actor and created_at, per org",
            "Apache License, Version 2.0, January 2004",
        ] {
            assert!(!is_header(&names(header)), "{header}");
        }
    }

    /// The fixture's events (streaming, with a token; a grant of that token), exported: each
    /// row is the event's JSON again, and its event the same.
    #[test]
    fn a_row_is_the_event_its_json_is() {
        let events = [
            json!({"@timestamp": 1777723200000_i64, "_document_id": "gh-0001", "action": "git.clone",
                "actor": "release-bot", "org": "acme", "repo": "acme/api", "actor_ip": "203.0.113.10",
                "user_agent": "git/2.45.0", "programmatic_access_type": "Fine-grained personal access token",
                "token_id": 5551234, "hashed_token": "t3GkZ2SmR6f8VwGk3zIxVgJb1h0=", "request_id": "gh-req-1"}),
            json!({"created_at": 1777726800000_i64, "_document_id": "gh-0002",
                "action": "personal_access_token.access_granted", "actor": "erin", "org": "acme",
                "token_id": 5551234, "user": "release-bot"}),
        ];
        let (header, rows) = export(&events);
        let columns = Columns::of(&header).expect("the export");
        for (json, row) in events.iter().zip(&rows) {
            let record = columns.record(row.iter().map(String::as_str));
            assert_eq!(record.as_ref(), Some(json));
            let (from_csv, from_json) = (event(record.expect("record")), event(json.clone()));
            assert_eq!(from_csv, from_json);
        }
        let clone = event(events[0].clone());
        assert_eq!(
            (
                clone.credential_id.as_deref(),
                clone.credential_kind.as_deref()
            ),
            (Some("5551234"), Some("pat_fine_grained"))
        );
        // The grant issues the token: the same issuance from the export.
        let grant = columns
            .record(rows[1].iter().map(String::as_str))
            .map(event)
            .expect("grant");
        assert_eq!(grant.issued_credential_id.as_deref(), Some("5551234"));
        assert_eq!(grant.target.as_deref(), Some("release-bot"));
    }

    #[test]
    fn documented_columns_are_nested_and_typed() {
        let header = names(
            "action,actor,user,actor_location.country_code,org,repo,created_at,data.hook_id,data.events,actor_is_bot,actor_id,request_id,_document_id,note",
        );
        let columns = Columns::of(&header).expect("the export");
        let row = [
            "hook.create",
            "dependabot[bot]",
            "",
            "US",
            "octo-org",
            "octo-org/documentation",
            "1429548104000",
            "245",
            r#"["issues", "issue_comment"]"#,
            "true",
            "49699333",
            "0D18:3A1B:1234",
            "0123456789",
            "007",
        ];
        assert_eq!(
            columns.record(row),
            Some(json!({
                "action": "hook.create", "actor": "dependabot[bot]",
                "actor_location": {"country_code": "US"}, "org": "octo-org",
                "repo": "octo-org/documentation", "created_at": 1429548104000_i64,
                "data": {"hook_id": 245, "events": ["issues", "issue_comment"]},
                "actor_is_bot": true, "actor_id": 49699333, "request_id": "0D18:3A1B:1234",
                "_document_id": "0123456789", "note": "007",
            }))
        );
        let e = event(columns.record(row).expect("record"));
        assert_eq!(e.actor_type.as_deref(), Some("bot"));
        assert_eq!(e.tenant, "octo-org");
        assert_eq!(e.event_id, "0123456789");
        assert_eq!(e.target.as_deref(), Some("octo-org/documentation"));
        assert!(
            e.attributes
                .as_deref()
                .unwrap_or("")
                .contains(r#""country":"US""#),
            "{:?}",
            e.attributes
        );
        assert_eq!(
            nhiscope_engine::time::format(e.event_time),
            "2015-04-20T16:41:44Z"
        );
        assert_eq!(columns.record([""; 14]), None, "an empty row");
    }

    /// An export without `_document_id`: the event id is the digest of the record, the same
    /// as from the JSON, so the two are stored once; ISO times stay text and are read.
    #[test]
    fn without_a_document_id_the_digest_is_the_jsons() {
        let json = json!({"action": "org.remove_member", "actor": "octocat", "user": "hubot",
            "org": "octo-org", "created_at": 1429548104000_i64, "operation_type": "remove",
            "business": "avocado-corp", "actor_ip": "192.0.2.1"});
        let (header, rows) = export(std::slice::from_ref(&json));
        let columns = Columns::of(&header).expect("the export");
        let e = event(
            columns
                .record(rows[0].iter().map(String::as_str))
                .expect("record"),
        );
        assert_eq!(e, event(json));
        assert!(e.event_id.starts_with("h:"), "{}", e.event_id);
        let columns = Columns::of(&names("action,actor,org,created_at")).expect("export");
        let iso = columns
            .record(["repo.create", "octocat", "octo-org", "2015-04-20T17:01:44Z"])
            .expect("record");
        assert_eq!(iso["created_at"], "2015-04-20T17:01:44Z");
        assert_eq!(
            nhiscope_engine::time::format(event(iso).event_time),
            "2015-04-20T17:01:44Z"
        );
    }

    /// A row whose time is not one is not an event: the parser names the field (the reader
    /// then reports the row's file and line).
    #[test]
    fn a_row_without_a_readable_time_is_rejected_by_field() {
        let columns = Columns::of(&names("action,actor,org,created_at")).expect("export");
        let record = columns
            .record(["repo.create", "octocat", "octo-org", "yesterday"])
            .expect("record");
        let (format, reason) =
            crate::logs::normalise::normalise(record, None).expect_err("no time");
        assert_eq!(format, Some(crate::logs::Format::GithubAudit));
        assert!(reason.contains("@timestamp"), "{reason}");
        assert_eq!(integer("0012"), None);
        assert_eq!(integer("-5"), Some(Number::from(-5)));
        assert_eq!(
            integer("18446744073709551615"),
            Some(Number::from(u64::MAX))
        );
    }

    /// Older exports' nested keys and refused events, exported: the row is the event's JSON
    /// again (`data.read_only` a boolean, `data.token_id` a number) and its event the same,
    /// the key's issuance, the address under `data`, the denied request's failure included.
    #[test]
    fn nested_keys_and_refusals_read_as_their_json() {
        let events = [
            json!({"created_at": 1777896000000_i64, "action": "public_key.create",
                "actor": "alice", "org": "acme", "repo": "acme/api",
                "data": {"fingerprint": "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
                         "title": "deploy-prod", "read_only": false,
                         "actor_ip": "198.51.100.23", "user_agent": "Mozilla/5.0 Firefox/126.0"}}),
            json!({"created_at": 1777903600000_i64, "_document_id": "gh-ent-0002",
                "action": "personal_access_token.request_denied", "actor": "erin",
                "org": "acme", "user": "mallory", "user_programmatic_access_request_id": 3301,
                "data": {"token_id": 7770001, "user_programmatic_access_name": "sync-all-repos"}}),
        ];
        let (header, rows) = export(&events);
        assert!(header.iter().any(|h| h == "data.fingerprint"), "{header:?}");
        let columns = Columns::of(&header).expect("the export");
        for (json, row) in events.iter().zip(&rows) {
            let record = columns.record(row.iter().map(String::as_str));
            assert_eq!(record.as_ref(), Some(json));
            assert_eq!(event(record.expect("record")), event(json.clone()));
        }
        let key = event(events[0].clone());
        assert_eq!(
            (
                key.issued_credential_id.as_deref(),
                key.source_ip.as_deref()
            ),
            (
                Some("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"),
                Some("198.51.100.23")
            )
        );
        let denied = event(events[1].clone());
        assert_eq!(
            (
                denied.outcome.as_str(),
                denied.error_code.as_deref(),
                denied.issued_credential_id.as_deref()
            ),
            ("failure", Some("request_denied"), Some("7770001"))
        );
    }
}
