//! Correlation of log events with the inventory, as DataFusion views over `events`,
//! `credentials` and `identities` (registered on every [`Analysis`] session):
//!
//! - `session_issuance`: each temporary credential (an `ASIA` key, a minted token) with the call
//!   that minted it (AssumeRole*, GetSessionToken, GetFederationToken), its caller and the
//!   caller's credential: one hop of the assume-role chain.
//! - `event_identities`: every event with the model identity behind it and how it was resolved:
//!   `actor` (the log names an inventory identity), `credential` (the credential belongs to an
//!   inventory identity), `session` (a temporary credential minted for a role), `log` (the
//!   log's own identity, not in the inventory).
//! - `credential_activity`: per credential, from the logs: first and last use, events, source
//!   networks, client runtimes, regions and services.
//! - `identity_behaviour`: per identity and week: events, distinct source networks (/24),
//!   user agents, regions, services and actions, failures.
//! - `last_used`: per credential and identity, the later of the API's last-used date and the
//!   logs' last event, with which source won.
//! - `issuance`: who created each credential or identity and when (CreateAccessKey,
//!   CreateServiceAccountKey, added service principal secrets, CreateUser, ...): owner
//!   candidates with the event as evidence.
//!
//! The view text is built from the model's own names only; nothing user-supplied is spliced.

use datafusion::common::Result;

use crate::analysis::{Analysis, AnalysisError};

/// The correlation views, in dependency order: (name, DataFusion SQL).
pub const VIEWS: &[(&str, &str)] = &[
    (
        "session_issuance",
        "SELECT e.provider, e.tenant, e.issued_credential_id AS credential_id,
                e.event_time AS issued_at, e.action, e.target AS role,
                e.actor_id AS issued_by, e.credential_id AS issued_by_credential,
                e.event_id, e.raw_ref
         FROM events e
         WHERE e.issued_credential_id IS NOT NULL
           AND e.action IN ('AssumeRole', 'AssumeRoleWithWebIdentity', 'AssumeRoleWithSAML',
                            'GetSessionToken', 'GetFederationToken', 'AssumeRoot')",
    ),
    (
        "event_identities",
        "SELECT e.event_id, e.provider, e.tenant, e.event_time, e.source_format, e.action,
                e.credential_id, e.source_ip, e.user_agent, e.target, e.region, e.event_source,
                e.outcome, e.request_id, e.raw_ref,
                coalesce(ia.identity_id, c.identity_id, s.role, e.actor_id, e.actor) AS identity_id,
                CASE WHEN ia.identity_id IS NOT NULL THEN 'actor'
                     WHEN c.identity_id IS NOT NULL THEN 'credential'
                     WHEN s.role IS NOT NULL THEN 'session'
                     ELSE 'log' END AS resolved_by,
                ia.identity_id IS NOT NULL OR c.identity_id IS NOT NULL AS in_inventory
         FROM events e
         LEFT JOIN (SELECT DISTINCT identity_id FROM identities) ia ON ia.identity_id = e.actor_id
         LEFT JOIN (SELECT credential_id, min(identity_id) AS identity_id FROM credentials
                    WHERE identity_id IS NOT NULL GROUP BY credential_id) c
                ON c.credential_id = e.credential_id
         LEFT JOIN (SELECT credential_id, min(role) AS role FROM session_issuance
                    GROUP BY credential_id) s
                ON s.credential_id = e.credential_id",
    ),
    (
        "credential_activity",
        "SELECT credential_id, min(provider) AS provider, min(tenant) AS tenant,
                min(event_time) AS first_seen, max(event_time) AS last_seen, count(*) AS events,
                count(DISTINCT source_ip) AS source_ips, count(DISTINCT user_agent) AS user_agents,
                count(DISTINCT region) AS regions, count(DISTINCT event_source) AS services,
                count(DISTINCT action) AS actions,
                sum(CASE WHEN outcome = 'failure' THEN 1 ELSE 0 END) AS failures
         FROM events WHERE credential_id IS NOT NULL
         GROUP BY credential_id",
    ),
    (
        "identity_behaviour",
        "SELECT identity_id, min(provider) AS provider, min(tenant) AS tenant,
                date_trunc('week', event_time) AS week, count(*) AS events,
                count(DISTINCT CASE WHEN source_ip ~ '^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$'
                                    THEN concat(split_part(source_ip, '.', 1), '.',
                                                split_part(source_ip, '.', 2), '.',
                                                split_part(source_ip, '.', 3), '.0/24')
                                    WHEN source_ip LIKE '%:%' THEN source_ip END) AS networks,
                count(DISTINCT user_agent) AS user_agents, count(DISTINCT region) AS regions,
                count(DISTINCT event_source) AS services, count(DISTINCT action) AS actions,
                sum(CASE WHEN outcome = 'failure' THEN 1 ELSE 0 END) AS failures
         FROM event_identities
         GROUP BY identity_id, date_trunc('week', event_time)",
    ),
    (
        "last_used",
        "WITH logs_cred AS (
             SELECT credential_id, max(event_time) AS at FROM events
             WHERE credential_id IS NOT NULL GROUP BY credential_id),
         logs_ident AS (
             SELECT identity_id, max(event_time) AS at FROM event_identities GROUP BY identity_id)
         SELECT c.provider, c.tenant, 'credential' AS subject_kind, c.credential_id AS subject_id,
                c.identity_id, c.last_used_at AS api_last_used, l.at AS logs_last_used,
                CASE WHEN l.at IS NULL OR (c.last_used_at IS NOT NULL AND c.last_used_at >= l.at)
                     THEN c.last_used_at ELSE l.at END AS last_used_at,
                CASE WHEN l.at IS NULL AND c.last_used_at IS NULL THEN NULL
                     WHEN l.at IS NULL OR (c.last_used_at IS NOT NULL AND c.last_used_at >= l.at)
                     THEN 'api' ELSE 'logs' END AS source
         FROM credentials c LEFT JOIN logs_cred l ON l.credential_id = c.credential_id
         UNION ALL
         SELECT i.provider, i.tenant, 'identity' AS subject_kind, i.identity_id AS subject_id,
                i.identity_id, i.last_used_at AS api_last_used, l.at AS logs_last_used,
                CASE WHEN l.at IS NULL OR (i.last_used_at IS NOT NULL AND i.last_used_at >= l.at)
                     THEN i.last_used_at ELSE l.at END AS last_used_at,
                CASE WHEN l.at IS NULL AND i.last_used_at IS NULL THEN NULL
                     WHEN l.at IS NULL OR (i.last_used_at IS NOT NULL AND i.last_used_at >= l.at)
                     THEN 'api' ELSE 'logs' END AS source
         FROM identities i LEFT JOIN logs_ident l ON l.identity_id = i.identity_id",
    ),
    (
        "issuance",
        "SELECT e.provider, e.tenant,
                CASE WHEN e.issued_credential_id IS NOT NULL THEN 'credential' ELSE 'identity' END
                    AS subject_kind,
                coalesce(e.issued_credential_id, e.target) AS subject_id,
                e.target AS issued_for, e.event_time AS issued_at, e.action,
                coalesce(e.actor_id, e.actor) AS issued_by, e.credential_id AS issued_by_credential,
                e.source_ip, e.user_agent, e.event_id, e.raw_ref
         FROM events e
         WHERE e.outcome <> 'failure'
           AND ((e.issued_credential_id IS NOT NULL
                 AND e.action NOT IN ('AssumeRole', 'AssumeRoleWithWebIdentity', 'AssumeRoleWithSAML',
                                      'GetSessionToken', 'GetFederationToken', 'AssumeRoot'))
                OR e.action IN ('CreateUser', 'CreateRole', 'CreateServiceLinkedRole',
                                'google.iam.admin.v1.CreateServiceAccount',
                                'Add service principal', 'Add application',
                                'create', 'integration_installation.create'))",
    ),
];

impl Analysis {
    /// Registers the correlation [`VIEWS`] on this session (they read the snapshot's tables);
    /// [`Analysis::new`] does, so rules and `trace` can read them.
    pub(crate) async fn register_correlation(&self) -> Result<(), AnalysisError> {
        for (name, sql) in VIEWS {
            let df = self.ctx().sql(sql).await?;
            self.ctx().deregister_table(*name)?;
            self.ctx().register_table(*name, df.into_view())?;
        }
        Ok(())
    }
}

/// The model tables each view reads (for finding resolution and documentation).
pub fn view_sources(name: &str) -> &'static [&'static str] {
    match name {
        "session_issuance" | "credential_activity" | "issuance" => &["events"],
        "event_identities" | "identity_behaviour" => &["events", "identities", "credentials"],
        "last_used" => &["events", "identities", "credentials"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CredentialRow, EventRow, IdentityRow, RowSet, Stamp};
    use crate::store::{CollectorRecord, Snapshot, Store};
    use crate::time;
    use datafusion::arrow::array::{Array, AsArray};

    fn event(id: &str, at: &str, action: &str) -> EventRow {
        EventRow {
            event_id: id.into(),
            event_time: time::parse(at).expect("time"),
            source_format: "cloudtrail".into(),
            action: action.into(),
            outcome: "success".into(),
            raw_ref: format!("f:{id}"),
            ..Default::default()
        }
    }

    async fn analysis() -> Analysis {
        let user = "arn:aws:iam::111122223333:user/ci";
        let role = "arn:aws:iam::111122223333:role/deploy";
        let rows = RowSet {
            identities: vec![IdentityRow {
                identity_id: user.into(),
                name: "ci".into(),
                kind: "user".into(),
                ..Default::default()
            }],
            credentials: vec![CredentialRow {
                credential_id: "AKIACI".into(),
                identity_id: Some(user.into()),
                kind: "access_key".into(),
                status: "active".into(),
                last_used_at: time::parse("2026-05-01"),
                ..Default::default()
            }],
            events: vec![
                EventRow {
                    actor_id: Some("arn:aws:iam::111122223333:user/alice".into()),
                    issued_credential_id: Some("AKIACI".into()),
                    target: Some("ci".into()),
                    ..event("e1", "2026-04-01T00:00:00Z", "CreateAccessKey")
                },
                EventRow {
                    credential_id: Some("AKIACI".into()),
                    issued_credential_id: Some("ASIADEPLOY".into()),
                    target: Some(role.into()),
                    ..event("e2", "2026-05-10T00:00:00Z", "AssumeRole")
                },
                EventRow {
                    credential_id: Some("ASIADEPLOY".into()),
                    ..event("e3", "2026-05-10T00:01:00Z", "PutObject")
                },
            ],
            ..Default::default()
        };
        let mut store = Store::open_in_memory().expect("store");
        let scan = store
            .begin_scan("aws:111122223333", "aws", "111122223333", 0)
            .expect("scan");
        let stamp = Stamp {
            scan_id: scan,
            collector: "c".into(),
            provider: "aws".into(),
            tenant: "111122223333".into(),
        };
        store.write_collection(&stamp, &rows).expect("write");
        store
            .record_collector(scan, &CollectorRecord::ok("c", &rows, 0, 0))
            .expect("record");
        store.finish_scan(scan, 1, None, None).expect("finish");
        Analysis::new(
            &store,
            Snapshot::Current,
            time::parse("2026-06-01").expect("now"),
            false,
        )
        .await
        .expect("analysis")
    }

    fn strings(batches: &[datafusion::arrow::array::RecordBatch], col: usize) -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                let a = datafusion::arrow::compute::cast(
                    b.column(col),
                    &datafusion::arrow::datatypes::DataType::Utf8,
                )
                .expect("text");
                let a = a.as_string::<i32>().clone();
                (0..a.len())
                    .map(|i| {
                        if a.is_null(i) {
                            "-".into()
                        } else {
                            a.value(i).to_string()
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[tokio::test]
    async fn sessions_resolve_to_roles_and_keys_to_users() {
        let a = analysis().await;
        let b = a
            .query(
                "SELECT event_id, identity_id, resolved_by FROM event_identities ORDER BY event_id",
            )
            .await
            .expect("query");
        assert_eq!(
            strings(&b, 1),
            vec![
                "arn:aws:iam::111122223333:user/alice",
                "arn:aws:iam::111122223333:user/ci",
                "arn:aws:iam::111122223333:role/deploy"
            ]
        );
        assert_eq!(strings(&b, 2), vec!["log", "credential", "session"]);
        let b = a
            .query(
                "SELECT identity_id, CAST(events AS VARCHAR) AS n, CAST(actions AS VARCHAR) AS a
                 FROM identity_behaviour ORDER BY identity_id",
            )
            .await
            .expect("query");
        assert_eq!(strings(&b, 0).len(), 3);
        assert_eq!(strings(&b, 1), vec!["1", "1", "1"]);
        let b = a
            .query("SELECT issued_by, issued_by_credential FROM session_issuance WHERE credential_id = 'ASIADEPLOY'")
            .await
            .expect("query");
        assert_eq!(strings(&b, 1), vec!["AKIACI"]);
    }

    #[tokio::test]
    async fn later_last_use_wins_and_issuance_names_the_creator() {
        let a = analysis().await;
        let b = a
            .query("SELECT source, CAST(last_used_at AS VARCHAR) FROM last_used WHERE subject_id = 'AKIACI'")
            .await
            .expect("query");
        assert_eq!(strings(&b, 0), vec!["logs"]);
        assert!(
            strings(&b, 1)[0].starts_with("2026-05-10"),
            "{:?}",
            strings(&b, 1)
        );
        let b = a
            .query("SELECT subject_id, issued_by, issued_for FROM issuance")
            .await
            .expect("query");
        assert_eq!(strings(&b, 0), vec!["AKIACI"]);
        assert_eq!(strings(&b, 1), vec!["arn:aws:iam::111122223333:user/alice"]);
        assert_eq!(
            view_sources("last_used"),
            ["events", "identities", "credentials"]
        );
    }
}
