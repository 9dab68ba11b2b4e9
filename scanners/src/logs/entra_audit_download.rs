//! The Microsoft Entra admin center's audit log download as CSV (Monitoring & health → Audit
//! logs → Download → CSV): one row per audit event, the actor and up to three targets spread
//! over columns (`Date (UTC)`, `Activity`, `ActorUserPrincipalName`, `Target1ObjectId`,
//! `Target1ModifiedProperty1NewValue`, ...). [`super::csv_rows`] reads such a file when
//! [`is_header`] says its header is one, and each row becomes the Graph `directoryAudit` object
//! it shows through [`Columns::record`], for the Entra audit parser ([`super::entra`]), as
//! [`super::entra_download`] does for the sign-in download: the same actor, targets, outcome
//! and reason, and the credential a modified property adds (`KeyIdentifier=` in a new value:
//! "Add service principal credentials", "Update application – Certificates and secrets
//! management"), so the engine derives the same issuance and owner candidates from it. The
//! portal's JSON download is Graph objects already, and is read as they are.
//!
//! The column names, as public parsers of the download spell them:
//! - bitpusher2k/M365IRScripts, `03-ProcessEntraAuditLog.ps1` ("Processes an exported CSV of
//!   Entra ID Audit log from the admin center") checks the download's header line against the
//!   whole of it, every name quoted: `Date (UTC)`, `CorrelationId`, `Service`, `Category`,
//!   `Activity`, `Result`, `ResultReason`, `User Agent`, `ActorType`, `ActorDisplayName`,
//!   `ActorObjectId`, `ActorUserPrincipalName`, `IPAddress`, `ActorHomeTenantId`,
//!   `ActorHomeTenantName`, `ActorServicePrincipalId`, `ActorServicePrincipalName`, then for
//!   targets 1 to 3 `Target<n>Type`, `Target<n>DisplayName`, `Target<n>ObjectId`,
//!   `Target<n>UserPrincipalName` and for properties 1 to 5 `Target<n>ModifiedProperty<m>Name`,
//!   `...OldValue`, `...NewValue`, then `AdditionalDetail<k>Key` / `Value` for 1 to 6.
//! - a Timesketch converter of the download (`AuditLogs_2024-11-09.csv`; found by text search,
//!   repository not named by the index) lists the same header and reads `Date (UTC)` as ISO
//!   8601; a PowerShell script that writes Graph's `directoryAudit` objects "same shape as the
//!   native export", and another that builds the same columns from them (likewise unnamed),
//!   give the mapping used here: `Date (UTC)` ← `activityDateTime`, `Service` ←
//!   `loggedByService`, `Activity` ← `activityDisplayName`, `ActorType` `User` (initiated by
//!   `user`) or `App` (by `app`), `ActorObjectId` ← `initiatedBy.user.id`, `IPAddress` ←
//!   `initiatedBy.user.ipAddress`, `ActorServicePrincipalId` / `Name` ←
//!   `initiatedBy.app.servicePrincipalId` / `Name`, `Target<n>ObjectId` ←
//!   `targetResources[n-1].id`, the modified properties' `displayName`, `oldValue` and
//!   `newValue`, and `additionalDetails` as key / value pairs (`User Agent` is put among them
//!   as `User-Agent`, where Graph keeps it, unless a detail says it already).
//! - MicrosoftDocs/entra-docs, `docs/identity/monitoring-health/howto-download-logs.md`: audit
//!   logs download as CSV or JSON, timestamps in UTC.
//!
//! What the download does not have, its events lack: there is no activity id (an event's id
//! is the digest of the row's record, so the same event read from Graph is stored again under
//! Graph's id), no tenant id, no operation type, no app id of an app actor, and no address of
//! an app actor (Graph has none either). An app actor's `ActorObjectId` stands for its service
//! principal id when `ActorServicePrincipalId` is empty. Names are matched in any case, spaces,
//! `-` and `_` ignored; columns not listed are left out; cells are kept as they are (Graph's
//! `activityDisplayName` may end with a space).

use serde_json::{Map, Value};

use super::csv_rows;

/// Where a column of the download goes in a Graph `directoryAudit` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// A field of the object (`activityDisplayName`).
    Top(&'static str),
    /// The actor's kind: `User` or `App`.
    ActorType,
    /// A field of the actor, under `initiatedBy.user` or `initiatedBy.app` as its kind says.
    Actor(Actor),
    /// The user agent (Graph keeps it among `additionalDetails`, key `User-Agent`).
    UserAgent,
    /// A field of target `n` (from 1): `type`, `displayName`, `id`, `userPrincipalName`.
    Target(usize, &'static str),
    /// Modified property `m` (from 1) of target `n`: `displayName`, `oldValue`, `newValue`.
    Property(usize, usize, &'static str),
    /// Additional detail `k` (from 1): `key` or `value`.
    Detail(usize, &'static str),
}

/// The actor columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    /// `ActorDisplayName`: the user's or the app's `displayName`.
    DisplayName,
    /// `ActorObjectId`: the user's `id` (an app's service principal, when that is missing).
    ObjectId,
    /// A field only a user has (`userPrincipalName`, `ipAddress`, `homeTenantId`, ...).
    User(&'static str),
    /// A field only an app has (`servicePrincipalId`, `servicePrincipalName`).
    App(&'static str),
}

/// The download's fixed column names (normalised by [`normalised`]) and where each goes.
const COLUMNS: &[(&str, Field)] = &[
    ("date(utc)", Field::Top("activityDateTime")),
    ("correlationid", Field::Top("correlationId")),
    ("service", Field::Top("loggedByService")),
    ("category", Field::Top("category")),
    ("activity", Field::Top("activityDisplayName")),
    ("result", Field::Top("result")),
    ("resultreason", Field::Top("resultReason")),
    ("useragent", Field::UserAgent),
    ("actortype", Field::ActorType),
    ("actordisplayname", Field::Actor(Actor::DisplayName)),
    ("actorobjectid", Field::Actor(Actor::ObjectId)),
    (
        "actoruserprincipalname",
        Field::Actor(Actor::User("userPrincipalName")),
    ),
    ("ipaddress", Field::Actor(Actor::User("ipAddress"))),
    (
        "actorhometenantid",
        Field::Actor(Actor::User("homeTenantId")),
    ),
    (
        "actorhometenantname",
        Field::Actor(Actor::User("homeTenantName")),
    ),
    (
        "actorserviceprincipalid",
        Field::Actor(Actor::App("servicePrincipalId")),
    ),
    (
        "actorserviceprincipalname",
        Field::Actor(Actor::App("servicePrincipalName")),
    ),
];

/// The fields of a target, by the column name's suffix after `Target<n>`.
const TARGET_FIELDS: &[(&str, &str)] = &[
    ("type", "type"),
    ("displayname", "displayName"),
    ("objectid", "id"),
    ("userprincipalname", "userPrincipalName"),
];

/// The fields of a modified property, by the suffix after `ModifiedProperty<m>`.
const PROPERTY_FIELDS: &[(&str, &str)] = &[
    ("name", "displayName"),
    ("oldvalue", "oldValue"),
    ("newvalue", "newValue"),
];

/// A column name as [`COLUMNS`] spells it: lower case, without spaces, `-` and `_`.
fn normalised(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// `text` split into its leading number (from 1) and the rest.
fn numbered(text: &str) -> Option<(usize, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let n: usize = text[..digits].parse().ok().filter(|n| *n >= 1)?;
    Some((n, &text[digits..]))
}

/// Where column `name` goes, if it is one of the download's.
fn field_of(name: &str) -> Option<Field> {
    let name = normalised(name);
    if let Some((_, f)) = COLUMNS.iter().find(|(n, _)| *n == name) {
        return Some(*f);
    }
    if let Some(rest) = name.strip_prefix("additionaldetail") {
        let (k, part) = numbered(rest)?;
        return match part {
            "key" => Some(Field::Detail(k, "key")),
            "value" => Some(Field::Detail(k, "value")),
            _ => None,
        };
    }
    let (n, rest) = numbered(name.strip_prefix("target")?)?;
    if let Some(rest) = rest.strip_prefix("modifiedproperty") {
        let (m, part) = numbered(rest)?;
        let (_, field) = PROPERTY_FIELDS.iter().find(|(s, _)| *s == part)?;
        return Some(Field::Property(n, m, field));
    }
    let (_, field) = TARGET_FIELDS.iter().find(|(s, _)| *s == rest)?;
    Some(Field::Target(n, field))
}

/// True when `names` (a CSV header's column names) are the download's: `Date (UTC)`,
/// `Activity`, `CorrelationId`, and an actor or target column (`ActorType`,
/// `ActorUserPrincipalName`, `Target1ObjectId`, ...), all of the portal's spelling.
pub fn is_header(names: &[String]) -> bool {
    let fields: Vec<Field> = names.iter().filter_map(|n| field_of(n)).collect();
    let has = |f: Field| fields.contains(&f);
    has(Field::Top("activityDateTime"))
        && has(Field::Top("activityDisplayName"))
        && has(Field::Top("correlationId"))
        && fields.iter().any(|f| {
            matches!(
                f,
                Field::ActorType | Field::Actor(_) | Field::Target(..) | Field::Property(..)
            )
        })
}

/// Where each column of one download goes (by position in its header).
#[derive(Debug)]
pub struct Columns {
    fields: Vec<Option<Field>>,
}

impl Columns {
    /// The columns of `header`, when it is the download's ([`is_header`]).
    pub fn of(header: &[String]) -> Option<Columns> {
        is_header(header).then(|| Columns {
            fields: header.iter().map(|n| field_of(n)).collect(),
        })
    }

    /// The Graph `directoryAudit` object of one row; `None` for a row with nothing in its
    /// columns.
    pub fn record<'r>(&self, row: impl IntoIterator<Item = &'r str>) -> Option<Value> {
        let cells = csv_rows::mapped_cells(&self.fields, row);
        if cells.is_empty() {
            return None;
        }
        let mut record = Map::new();
        let mut user = Map::new();
        let mut app = Map::new();
        let mut targets: Vec<(usize, Map<String, Value>)> = Vec::new();
        let mut properties: Vec<((usize, usize), Map<String, Value>)> = Vec::new();
        let mut details: Vec<(usize, Map<String, Value>)> = Vec::new();
        let mut user_agent = None;
        let kind = cells
            .iter()
            .find(|(f, _)| *f == Field::ActorType)
            .map(|(_, c)| c.trim());
        let by_app = match kind {
            Some(k) => !k.eq_ignore_ascii_case("user"),
            // Unsaid: an app when only app columns are filled.
            None => {
                let filled = |want: fn(&Actor) -> bool| {
                    cells
                        .iter()
                        .any(|(f, _)| matches!(f, Field::Actor(a) if want(a)))
                };
                filled(|a| matches!(a, Actor::App(_))) && !filled(|a| matches!(a, Actor::User(_)))
            }
        };
        for (field, cell) in &cells {
            let text = Value::from(*cell);
            match field {
                Field::Top(key) => {
                    record.insert((*key).into(), text);
                }
                Field::ActorType => {}
                Field::Actor(Actor::DisplayName) => {
                    let actor = if by_app { &mut app } else { &mut user };
                    actor.insert("displayName".into(), text);
                }
                Field::Actor(Actor::ObjectId) => {
                    if by_app {
                        app.entry("servicePrincipalId").or_insert(text);
                    } else {
                        user.insert("id".into(), text);
                    }
                }
                Field::Actor(Actor::User(key)) => {
                    // An app has no user fields (and Graph no address for it).
                    if !by_app {
                        user.insert((*key).into(), text);
                    }
                }
                Field::Actor(Actor::App(key)) => {
                    app.insert((*key).into(), text);
                }
                Field::UserAgent => user_agent = Some(text),
                Field::Target(n, key) => {
                    entry(&mut targets, *n).insert((*key).into(), text);
                }
                Field::Property(n, m, key) => {
                    entry(&mut properties, (*n, *m)).insert((*key).into(), text);
                }
                Field::Detail(k, key) => {
                    entry(&mut details, *k).insert((*key).into(), text);
                }
            }
        }
        let mut initiated = Map::new();
        if !user.is_empty() {
            initiated.insert("user".into(), Value::Object(user));
        }
        if !app.is_empty() {
            initiated.insert("app".into(), Value::Object(app));
        }
        if !initiated.is_empty() {
            record.insert("initiatedBy".into(), Value::Object(initiated));
        }
        // Targets and their properties in the download's order, without the empty ones.
        for ((n, _), _) in &properties {
            entry(&mut targets, *n);
        }
        targets.sort_by_key(|(n, _)| *n);
        properties.sort_by_key(|(at, _)| *at);
        let resources: Vec<Value> = targets
            .into_iter()
            .map(|(n, mut target)| {
                let modified: Vec<Value> = properties
                    .iter()
                    .filter(|((t, _), _)| *t == n)
                    .map(|(_, p)| Value::Object(p.clone()))
                    .collect();
                if !modified.is_empty() {
                    target.insert("modifiedProperties".into(), Value::Array(modified));
                }
                Value::Object(target)
            })
            .collect();
        if !resources.is_empty() {
            record.insert("targetResources".into(), Value::Array(resources));
        }
        details.sort_by_key(|(k, _)| *k);
        let mut details: Vec<Value> = details.into_iter().map(|(_, d)| Value::Object(d)).collect();
        if let Some(agent) = user_agent {
            let said = details
                .iter()
                .any(|d| d.get("key").and_then(Value::as_str) == Some("User-Agent"));
            if !said {
                let mut d = Map::new();
                d.insert("key".into(), Value::from("User-Agent"));
                d.insert("value".into(), agent);
                details.push(Value::Object(d));
            }
        }
        if !details.is_empty() {
            record.insert("additionalDetails".into(), Value::Array(details));
        }
        Some(Value::Object(record))
    }
}

/// The object numbered `n` among `items`, made when missing.
fn entry<K: PartialEq>(items: &mut Vec<(K, Map<String, Value>)>, n: K) -> &mut Map<String, Value> {
    let at = match items.iter().position(|(k, _)| *k == n) {
        Some(i) => i,
        None => {
            items.push((n, Map::new()));
            items.len() - 1
        }
    };
    &mut items[at].1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The download's header, as bitpusher2k/M365IRScripts checks it (86 names).
    fn header() -> Vec<String> {
        let mut names: Vec<String> = [
            "Date (UTC)",
            "CorrelationId",
            "Service",
            "Category",
            "Activity",
            "Result",
            "ResultReason",
            "User Agent",
            "ActorType",
            "ActorDisplayName",
            "ActorObjectId",
            "ActorUserPrincipalName",
            "IPAddress",
            "ActorHomeTenantId",
            "ActorHomeTenantName",
            "ActorServicePrincipalId",
            "ActorServicePrincipalName",
        ]
        .map(String::from)
        .to_vec();
        for t in 1..=3 {
            for part in ["Type", "DisplayName", "ObjectId", "UserPrincipalName"] {
                names.push(format!("Target{t}{part}"));
            }
            for p in 1..=5 {
                for part in ["Name", "OldValue", "NewValue"] {
                    names.push(format!("Target{t}ModifiedProperty{p}{part}"));
                }
            }
        }
        for d in 1..=6 {
            names.push(format!("AdditionalDetail{d}Key"));
            names.push(format!("AdditionalDetail{d}Value"));
        }
        names
    }

    /// A row of the download with `cells` (by column name) filled, every other cell empty.
    fn row(cells: &[(&str, &str)]) -> Vec<String> {
        header()
            .iter()
            .map(|name| {
                cells
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(String::new(), |(_, v)| v.to_string())
            })
            .collect()
    }

    fn record(cells: &[(&str, &str)]) -> Value {
        let columns = Columns::of(&header()).expect("the download");
        columns
            .record(row(cells).iter().map(String::as_str))
            .expect("a record")
    }

    fn parse(cells: &[(&str, &str)]) -> nhiscope_engine::model::EventRow {
        let (format, event) =
            crate::logs::normalise::normalise(record(cells), None).expect("an event");
        assert_eq!(format, crate::logs::Format::EntraAudit);
        event
    }

    const KEY_ADDED: &str = "[\"[KeyIdentifier=c0ffee00-0000-0000-0000-000000000001,KeyType=Password,KeyUsage=Verify,DisplayName=ci]\"]";

    #[test]
    fn the_download_header_is_told_from_other_csv_headers() {
        assert_eq!(header().len(), 86);
        assert!(is_header(&header()));
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_header(&names(&[
            "DATE (UTC)",
            "correlation_id",
            "activity",
            "actor type"
        ])));
        for header in [
            // The sign-in download, a Sentinel AuditLogs export, the Event history download.
            &[
                "Date (UTC)",
                "Request ID",
                "Correlation ID",
                "Service principal ID",
                "Sign-in error code",
            ][..],
            &[
                "TimeGenerated [UTC]",
                "ActivityDisplayName",
                "CorrelationId",
                "InitiatedBy",
                "TargetResources",
            ],
            &["Event ID", "Event time", "User name", "Event name"],
            // The processed copy bitpusher2k writes (no `Date (UTC)`, no `CorrelationId`),
            // and the portal's columns without an actor or target.
            &[
                "Date",
                "ActorUserPrincipalName",
                "IPAddress",
                "Activity",
                "Result",
            ],
            &[
                "Date (UTC)",
                "CorrelationId",
                "Service",
                "Category",
                "Activity",
                "Result",
            ],
            &["Date (UTC), CorrelationId, Activity and ActorType are the columns"],
        ] {
            assert!(!is_header(&names(header)), "{header:?}");
        }
        assert_eq!(field_of("Target0Type"), None);
        assert_eq!(field_of("Target1ModifiedPropertyName"), None);
        assert_eq!(
            field_of("Target3ModifiedProperty5NewValue"),
            Some(Field::Property(3, 5, "newValue"))
        );
    }

    /// A user adds a service principal's secret: the row is the Graph object, and its event
    /// the issuance the parser reads from Graph.
    #[test]
    fn a_user_adding_a_secret_is_the_issuance_graph_gives() {
        let cells = [
            ("Date (UTC)", "2026-05-02T08:40:00Z"),
            ("CorrelationId", "c-aud-0001"),
            ("Service", "Core Directory"),
            ("Category", "ApplicationManagement"),
            ("Activity", "Add service principal credentials"),
            ("Result", "success"),
            ("User Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
            ("ActorType", "User"),
            ("ActorObjectId", "u0000000-0000-0000-0000-000000000003"),
            ("ActorUserPrincipalName", "carol@example.com"),
            ("IPAddress", "192.0.2.33"),
            ("Target1Type", "ServicePrincipal"),
            ("Target1DisplayName", "billing-sync"),
            ("Target1ObjectId", "s0000000-0000-0000-0000-000000000001"),
            ("Target1ModifiedProperty1Name", "KeyDescription"),
            ("Target1ModifiedProperty1OldValue", "[]"),
            ("Target1ModifiedProperty1NewValue", KEY_ADDED),
            (
                "Target1ModifiedProperty2Name",
                "Included Updated Properties",
            ),
            ("Target1ModifiedProperty2NewValue", "\"KeyDescription\""),
        ];
        assert_eq!(
            record(&cells),
            json!({
                "activityDateTime": "2026-05-02T08:40:00Z", "correlationId": "c-aud-0001",
                "loggedByService": "Core Directory", "category": "ApplicationManagement",
                "activityDisplayName": "Add service principal credentials", "result": "success",
                "initiatedBy": {"user": {"id": "u0000000-0000-0000-0000-000000000003",
                    "userPrincipalName": "carol@example.com", "ipAddress": "192.0.2.33"}},
                "targetResources": [{"type": "ServicePrincipal", "displayName": "billing-sync",
                    "id": "s0000000-0000-0000-0000-000000000001",
                    "modifiedProperties": [
                        {"displayName": "KeyDescription", "oldValue": "[]", "newValue": KEY_ADDED},
                        {"displayName": "Included Updated Properties", "newValue": "\"KeyDescription\""}]}],
                "additionalDetails": [{"key": "User-Agent",
                    "value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}],
            })
        );
        let e = parse(&cells);
        assert_eq!(e.action, "Add service principal credentials");
        assert_eq!(e.actor.as_deref(), Some("carol@example.com"));
        assert_eq!(
            e.actor_id.as_deref(),
            Some("u0000000-0000-0000-0000-000000000003")
        );
        assert_eq!(e.actor_type.as_deref(), Some("user"));
        assert_eq!(e.source_ip.as_deref(), Some("192.0.2.33"));
        assert_eq!(
            e.target.as_deref(),
            Some("s0000000-0000-0000-0000-000000000001")
        );
        assert_eq!(
            e.issued_credential_id.as_deref(),
            Some("c0ffee00-0000-0000-0000-000000000001")
        );
        assert_eq!((e.outcome.as_str(), e.error_code), ("success", None));
        assert_eq!(e.event_source.as_deref(), Some("Core Directory"));
        assert_eq!(e.request_id.as_deref(), Some("c-aud-0001"));
        assert!(e.event_id.starts_with("h:"), "no id column: {}", e.event_id);
        assert_eq!(
            e.event_time,
            nhiscope_engine::time::parse("2026-05-02T08:40:00Z").expect("time")
        );
    }

    /// An app rotates an application's secret ("Update application – Certificates and
    /// secrets management", with Graph's trailing space): the app is the actor, the new key
    /// is issued, the old one is not.
    #[test]
    fn an_app_rotating_a_secret_is_the_actor_and_issues_the_new_key() {
        let activity = "Update application – Certificates and secrets management ";
        let cells = [
            ("Date (UTC)", "2026-05-02T09:15:00.1234567+00:00"),
            ("CorrelationId", "c-aud-0002"),
            ("Service", "Core Directory"),
            ("Category", "ApplicationManagement"),
            ("Activity", activity),
            ("Result", "success"),
            ("ActorType", "App"),
            ("ActorDisplayName", "deploy-automation"),
            (
                "ActorServicePrincipalId",
                "s0000000-0000-0000-0000-000000000007",
            ),
            ("ActorServicePrincipalName", "deploy-automation"),
            ("Target1Type", "Application"),
            ("Target1DisplayName", "billing-sync"),
            ("Target1ObjectId", "o0000000-0000-0000-0000-000000000001"),
            ("Target1ModifiedProperty1Name", "KeyDescription"),
            (
                "Target1ModifiedProperty1OldValue",
                "[\"[KeyIdentifier=0a0b0c0d-0000-4000-8000-000000000010,KeyType=Password,KeyUsage=Verify,DisplayName=old]\"]",
            ),
            (
                "Target1ModifiedProperty1NewValue",
                "[\"[KeyIdentifier=0a0b0c0d-0000-4000-8000-000000000010,KeyType=Password,KeyUsage=Verify,DisplayName=old]\",\"[KeyIdentifier=0a0b0c0d-0000-4000-8000-000000000011,KeyType=Password,KeyUsage=Verify,DisplayName=rotated]\"]",
            ),
            ("AdditionalDetail1Key", "AppId"),
            ("AdditionalDetail1Value", "a0000000-0000-0000-0000-000000000007"),
        ];
        let r = record(&cells);
        assert_eq!(r["activityDisplayName"], activity, "kept as it is");
        assert_eq!(
            r["initiatedBy"],
            json!({"app": {"displayName": "deploy-automation",
                "servicePrincipalId": "s0000000-0000-0000-0000-000000000007",
                "servicePrincipalName": "deploy-automation"}})
        );
        assert_eq!(
            r["additionalDetails"],
            json!([{"key": "AppId", "value": "a0000000-0000-0000-0000-000000000007"}])
        );
        let e = parse(&cells);
        assert_eq!(e.actor_type.as_deref(), Some("servicePrincipal"));
        assert_eq!(e.actor.as_deref(), Some("deploy-automation"));
        assert_eq!(
            e.actor_id.as_deref(),
            Some("s0000000-0000-0000-0000-000000000007")
        );
        assert_eq!(e.source_ip, None);
        assert_eq!(
            e.target.as_deref(),
            Some("o0000000-0000-0000-0000-000000000001")
        );
        assert_eq!(
            e.issued_credential_id.as_deref(),
            Some("0a0b0c0d-0000-4000-8000-000000000011")
        );
        assert_eq!(
            e.event_time,
            nhiscope_engine::time::parse("2026-05-02T09:15:00.123456Z").expect("time")
        );
        // An app actor known by its object id only.
        let mut by_id = cells.to_vec();
        by_id.retain(|(n, _)| !n.starts_with("ActorServicePrincipal"));
        by_id.push(("ActorObjectId", "s0000000-0000-0000-0000-000000000008"));
        assert_eq!(
            parse(&by_id).actor_id.as_deref(),
            Some("s0000000-0000-0000-0000-000000000008")
        );
    }

    /// A refused credential addition: a failure with its reason, no issuance; several targets
    /// in order; the portal's other date spelling.
    #[test]
    fn a_failed_addition_keeps_its_reason_and_issues_nothing() {
        let cells = [
            ("Date (UTC)", "5/2/2026, 9:20:00.000 AM"),
            ("CorrelationId", "c-aud-0003"),
            ("Service", "Core Directory"),
            ("Category", "ApplicationManagement"),
            ("Activity", "Add service principal credentials"),
            ("Result", "failure"),
            (
                "ResultReason",
                "Insufficient privileges to complete the operation.",
            ),
            ("ActorType", "User"),
            ("ActorUserPrincipalName", "dave@example.com"),
            ("IPAddress", "203.0.113.50"),
            ("Target1Type", "ServicePrincipal"),
            ("Target1ObjectId", "s0000000-0000-0000-0000-000000000002"),
            ("Target1ModifiedProperty1Name", "KeyDescription"),
            ("Target1ModifiedProperty1NewValue", KEY_ADDED),
            ("Target3Type", "User"),
            ("Target3UserPrincipalName", "dave@example.com"),
        ];
        let r = record(&cells);
        let targets = r["targetResources"].as_array().expect("targets");
        assert_eq!(targets.len(), 2, "{r}");
        assert_eq!(targets[1]["userPrincipalName"], "dave@example.com");
        let e = parse(&cells);
        assert_eq!(
            (e.outcome.as_str(), e.error_code.as_deref()),
            (
                "failure",
                Some("Insufficient privileges to complete the operation.")
            )
        );
        assert_eq!(e.actor.as_deref(), Some("dave@example.com"));
        assert_eq!(e.actor_id, None, "no object id in the row");
        assert_eq!(
            nhiscope_engine::time::format(e.event_time),
            "2026-05-02T09:20:00Z"
        );
        // The parser takes the first new key identifier: the failure still names it, and the
        // engine leaves failures out of issuance and ownership.
        assert_eq!(
            e.issued_credential_id.as_deref(),
            Some("c0ffee00-0000-0000-0000-000000000001")
        );
        let columns = Columns::of(&header()).expect("the download");
        assert_eq!(columns.record(row(&[]).iter().map(String::as_str)), None);
    }

    /// An actor whose kind is unsaid is an app only when only app columns are filled; a row
    /// that is not an event (no date) is rejected by the parser, naming the field.
    #[test]
    fn unsaid_actor_kinds_and_rows_without_a_date() {
        let app = record(&[
            ("Date (UTC)", "2026-05-02T10:00:00Z"),
            ("Activity", "Add service principal"),
            ("ActorDisplayName", "Microsoft Azure AD Cloud Sync"),
            (
                "ActorServicePrincipalId",
                "s0000000-0000-0000-0000-000000000009",
            ),
        ]);
        assert_eq!(
            app["initiatedBy"],
            json!({"app": {"displayName": "Microsoft Azure AD Cloud Sync",
                "servicePrincipalId": "s0000000-0000-0000-0000-000000000009"}})
        );
        let user = record(&[
            ("Date (UTC)", "2026-05-02T10:00:00Z"),
            ("Activity", "Add application"),
            ("ActorDisplayName", "Carol"),
            ("ActorUserPrincipalName", "carol@example.com"),
        ]);
        assert_eq!(
            user["initiatedBy"],
            json!({"user": {"displayName": "Carol", "userPrincipalName": "carol@example.com"}})
        );
        let undated = record(&[
            ("Activity", "Add application"),
            ("ActorUserPrincipalName", "carol@example.com"),
        ]);
        let (format, reason) =
            crate::logs::normalise::normalise(undated, None).expect_err("no date");
        assert_eq!(format, None, "not even an audit event: {reason}");
        let dated_badly = record(&[
            ("Date (UTC)", "yesterday"),
            ("Activity", "Add application"),
            ("ActorUserPrincipalName", "carol@example.com"),
        ]);
        let (format, reason) =
            crate::logs::normalise::normalise(dated_badly, None).expect_err("no date");
        assert_eq!(format, Some(crate::logs::Format::EntraAudit));
        assert!(reason.contains("activityDateTime"), "{reason}");
    }

    /// The download as the portal writes it (a byte order mark, every cell quoted, CRLF),
    /// through the reader and the parser, each row at its line.
    #[test]
    fn the_download_is_read_row_by_row() {
        let mut out = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Always)
            .terminator(csv::Terminator::CRLF)
            .from_writer("\u{feff}".as_bytes().to_vec());
        out.write_record(header()).expect("header");
        out.write_record(row(&[
            ("Date (UTC)", "2026-05-02T08:40:00Z"),
            ("CorrelationId", "c-aud-0001"),
            ("Activity", "Add service principal credentials"),
            ("Result", "success"),
            ("ActorType", "User"),
            ("ActorUserPrincipalName", "carol@example.com"),
            ("Target1ObjectId", "s0000000-0000-0000-0000-000000000001"),
            ("Target1ModifiedProperty1Name", "KeyDescription"),
            ("Target1ModifiedProperty1OldValue", "[]"),
            ("Target1ModifiedProperty1NewValue", KEY_ADDED),
        ]))
        .expect("row");
        out.write_record(row(&[
            ("Date (UTC)", "2026-05-02T08:45:00Z"),
            ("CorrelationId", "c-aud-0002"),
            ("Activity", "Add service principal"),
            ("Result", "success"),
            ("ActorType", "User"),
            ("ActorUserPrincipalName", "carol@example.com"),
            ("Target1ObjectId", "s0000000-0000-0000-0000-000000000003"),
        ]))
        .expect("row");
        let text = out.into_inner().expect("csv");
        let input = Box::new(std::io::Cursor::new(text));
        let (events, rejected) =
            crate::logs::normalise::parse_all(input, "AuditLogs_2026-05-02.csv", None)
                .expect("read");
        assert!(rejected.is_empty(), "{rejected:?}");
        let got: Vec<_> = events
            .iter()
            .map(|e| {
                (
                    e.source_format.as_str(),
                    e.raw_ref.as_str(),
                    e.action.as_str(),
                    e.issued_credential_id.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "entra_audit",
                    "AuditLogs_2026-05-02.csv:2",
                    "Add service principal credentials",
                    Some("c0ffee00-0000-0000-0000-000000000001")
                ),
                (
                    "entra_audit",
                    "AuditLogs_2026-05-02.csv:3",
                    "Add service principal",
                    None
                ),
            ]
        );
    }
}
