//! One identity as the dashboard shows it: attributes, tags, owner candidates, credentials,
//! group memberships, trust relationships, an effective-permissions summary (admin, privilege
//! escalation paths with the statements that grant them), its findings, and its history across
//! the snapshots of its source (when it appeared, keys added, rotated, removed).

use std::collections::BTreeMap;

use duckdb::{params, OptionalExt};
use serde::Serialize;

use super::findings::LISTED;
use super::{Result, Snapshot, Store};
use crate::model::{GrantRow, TrustRow};
use crate::policy::{privesc, sensitive};
use crate::time::Micros;

/// The identity's own attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityAttributes {
    pub provider: String,
    pub tenant: String,
    pub identity_id: String,
    pub name: String,
    pub kind: String,
    pub unique_id: Option<String>,
    pub path: Option<String>,
    pub created_at: Option<Micros>,
    pub last_used_at: Option<Micros>,
    pub last_used_service: Option<String>,
    pub last_used_region: Option<String>,
    pub permissions_boundary: Option<String>,
    pub description: Option<String>,
    pub scan_id: i64,
}

/// One credential of the identity (identifiers only; never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityCredential {
    pub credential_id: String,
    pub kind: String,
    pub status: String,
    pub created_at: Option<Micros>,
    pub last_used_at: Option<Micros>,
    pub last_used_service: Option<String>,
    pub expires_at: Option<Micros>,
    pub redacted_prefix: Option<String>,
}

/// One owner candidate and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerCandidate {
    pub owner: String,
    pub source: String,
    pub evidence: Option<String>,
}

/// `policy#statement (sid)`, how pages name a granted statement.
pub fn statement_label(g: &GrantRow) -> String {
    match &g.sid {
        Some(sid) => format!("{}#{} ({sid})", g.policy_id, g.statement_index),
        None => format!("{}#{}", g.policy_id, g.statement_index),
    }
}

/// A privilege-escalation path the identity's Allow statements enable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrivescEntry {
    pub name: &'static str,
    pub description: &'static str,
    /// (action, statements granting it).
    pub granted_by: Vec<(String, Vec<String>)>,
}

/// What the identity can do, summarised. Conditions and Deny statements are not weighed, so
/// the summary errs towards "may".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PermissionSummary {
    /// Statements allowing `*` on every resource.
    pub admin_via: Vec<String>,
    pub privesc: Vec<PrivescEntry>,
    /// Sensitive catalogue entries (`*`, `service:*`, single actions) some Allow grants.
    pub sensitive: Vec<String>,
}

/// A finding on the identity, with the suppression overlay applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityFinding {
    pub finding_id: String,
    pub rule_id: String,
    pub owasp: String,
    pub severity: String,
    pub status: String,
    pub message: String,
}

/// One change in the identity's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEvent {
    pub scan_id: i64,
    pub at: Micros,
    /// appeared, removed, credential_added, credential_removed, credential_status.
    pub change: String,
    pub detail: String,
}

/// Everything the identity page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdentityDetail {
    pub attributes: IdentityAttributes,
    pub tags: Vec<(String, String)>,
    pub owners: Vec<OwnerCandidate>,
    pub credentials: Vec<IdentityCredential>,
    pub groups: Vec<String>,
    pub trusts: Vec<TrustRow>,
    pub grants: Vec<GrantRow>,
    pub permissions: PermissionSummary,
    pub findings: Vec<IdentityFinding>,
    pub history: Vec<HistoryEvent>,
}

/// The snapshot selection; `$1` = as-of micros, `$2` = scan id, `$3` tenant, `$4` identity.
const SEL: &str = "sel AS (SELECT scan_id, collector FROM collections_at(make_timestamp($1::BIGINT), $2::BIGINT))";

/// Summarises Allow statements: admin statements, enabled escalation paths and sensitive
/// catalogue entries.
pub fn summarise_permissions(grants: &[GrantRow]) -> PermissionSummary {
    let mut by_entry: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut admin_via = Vec::new();
    for g in grants.iter().filter(|g| g.effect != "Deny") {
        let entries = sensitive::statement_entries(
            &g.actions,
            &g.not_actions,
            &g.resources,
            &g.not_resources,
        );
        if entries.contains(&"*") && sensitive::covers_all_resources(&g.resources, &g.not_resources)
        {
            admin_via.push(statement_label(g));
        }
        for e in entries {
            by_entry.entry(e).or_default().push(statement_label(g));
        }
    }
    let granted = |a: &str| by_entry.contains_key(a) || by_entry.contains_key("*");
    let privesc = privesc::enabled(granted)
        .map(|p| PrivescEntry {
            name: p.name,
            description: p.description,
            granted_by: p
                .actions
                .iter()
                .map(|a| {
                    let mut via = by_entry.get(a).cloned().unwrap_or_default();
                    if via.is_empty() {
                        via = by_entry.get("*").cloned().unwrap_or_default();
                    }
                    (a.to_string(), via)
                })
                .collect(),
        })
        .collect();
    PermissionSummary {
        admin_via,
        privesc,
        sensitive: by_entry.keys().map(|k| k.to_string()).collect(),
    }
}

impl Store {
    /// One identity in the chosen snapshot, or `None` when it is not there.
    pub fn identity_detail(
        &self,
        snapshot: Snapshot,
        tenant: &str,
        identity_id: &str,
        now: Micros,
    ) -> Result<Option<IdentityDetail>> {
        let (as_of, scan) = (snapshot.as_of(), snapshot.scan());
        let p = params![as_of, scan, tenant, identity_id];
        let attributes = self
            .conn()
            .query_row(
                &format!(
                    "WITH {SEL} SELECT provider, tenant, identity_id, name, kind, unique_id, path,
                        epoch_us(created_at), epoch_us(last_used_at), last_used_service, last_used_region,
                        permissions_boundary, description, scan_id
                     FROM identities t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector
                     WHERE tenant = $3 AND identity_id = $4 LIMIT 1"
                ),
                p,
                |r| {
                    Ok(IdentityAttributes {
                        provider: r.get(0)?,
                        tenant: r.get(1)?,
                        identity_id: r.get(2)?,
                        name: r.get(3)?,
                        kind: r.get(4)?,
                        unique_id: r.get(5)?,
                        path: r.get(6)?,
                        created_at: r.get(7)?,
                        last_used_at: r.get(8)?,
                        last_used_service: r.get(9)?,
                        last_used_region: r.get(10)?,
                        permissions_boundary: r.get(11)?,
                        description: r.get(12)?,
                        scan_id: r.get(13)?,
                    })
                },
            )
            .optional()?;
        let Some(attributes) = attributes else {
            return Ok(None);
        };
        let from = |table: &str, cols: &str, key: &str, order: &str| {
            format!(
                "WITH {SEL} SELECT {cols} FROM {table} t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector
                 WHERE tenant = $3 AND {key} = $4 ORDER BY {order}"
            )
        };
        let tags = {
            let mut stmt =
                self.conn()
                    .prepare(&from("tags", "key, value", "resource_id", "key"))?;
            let rows = stmt.query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<std::result::Result<Vec<_>, _>>()?
        };
        let owners = {
            let mut stmt = self.conn().prepare(&from(
                "ownership",
                "owner, source, evidence",
                "identity_id",
                "owner, source",
            ))?;
            let rows = stmt.query_map(p, |r| {
                Ok(OwnerCandidate {
                    owner: r.get(0)?,
                    source: r.get(1)?,
                    evidence: r.get(2)?,
                })
            })?;
            rows.collect::<std::result::Result<Vec<_>, _>>()?
        };
        let credentials = {
            let mut stmt = self.conn().prepare(&from(
                "credentials",
                "credential_id, kind, status, epoch_us(created_at), epoch_us(last_used_at),
                 last_used_service, epoch_us(expires_at), redacted_prefix",
                "identity_id",
                "kind, created_at, credential_id",
            ))?;
            let rows = stmt.query_map(p, |r| {
                Ok(IdentityCredential {
                    credential_id: r.get(0)?,
                    kind: r.get(1)?,
                    status: r.get(2)?,
                    created_at: r.get(3)?,
                    last_used_at: r.get(4)?,
                    last_used_service: r.get(5)?,
                    expires_at: r.get(6)?,
                    redacted_prefix: r.get(7)?,
                })
            })?;
            rows.collect::<std::result::Result<Vec<_>, _>>()?
        };
        let groups = {
            let mut stmt = self.conn().prepare(&from(
                "memberships",
                "group_id || ' (' || relation || ')'",
                "member_id",
                "group_id",
            ))?;
            let rows = stmt.query_map(p, |r| r.get(0))?;
            rows.collect::<std::result::Result<Vec<String>, _>>()?
        };
        let trusts = {
            let mut stmt = self.conn().prepare(&from(
                "trusts",
                "identity_id, statement_index, sid, effect, principal_type, principal, actions,
                 condition_keys, conditions",
                "identity_id",
                "statement_index, principal",
            ))?;
            let rows = stmt.query_map(p, |r| {
                Ok(TrustRow {
                    identity_id: r.get(0)?,
                    statement_index: r.get(1)?,
                    sid: r.get(2)?,
                    effect: r.get(3)?,
                    principal_type: r.get(4)?,
                    principal: r.get(5)?,
                    actions: list(r.get(6)?),
                    condition_keys: list(r.get(7)?),
                    conditions: r.get(8)?,
                })
            })?;
            rows.collect::<std::result::Result<Vec<_>, _>>()?
        };
        let grants = {
            let mut stmt = self.conn().prepare(&from(
                "grants",
                "identity_id, policy_id, relation, via, statement_index, sid, effect, actions,
                 not_actions, resources, not_resources, conditions",
                "identity_id",
                "policy_id, statement_index",
            ))?;
            let rows = stmt.query_map(p, |r| {
                Ok(GrantRow {
                    identity_id: r.get(0)?,
                    policy_id: r.get(1)?,
                    relation: r.get(2)?,
                    via: r.get(3)?,
                    statement_index: r.get(4)?,
                    sid: r.get(5)?,
                    effect: r.get(6)?,
                    actions: list(r.get(7)?),
                    not_actions: list(r.get(8)?),
                    resources: list(r.get(9)?),
                    not_resources: list(r.get(10)?),
                    conditions: r.get(11)?,
                })
            })?;
            rows.collect::<std::result::Result<Vec<_>, _>>()?
        };
        let findings = {
            let mut stmt = self.conn().prepare(&format!(
                "WITH {LISTED} SELECT finding_id, rule_id, owasp, severity, shown, message FROM listed
                 WHERE tenant = $2 AND (identity_id = $3 OR resource = $3)
                 ORDER BY shown = 'resolved', rank DESC, rule_id"
            ))?;
            let rows = stmt.query_map(params![now, tenant, identity_id], |r| {
                Ok(IdentityFinding {
                    finding_id: r.get(0)?,
                    rule_id: r.get(1)?,
                    owasp: r.get(2)?,
                    severity: r.get(3)?,
                    status: r.get(4)?,
                    message: r.get(5)?,
                })
            })?;
            rows.collect::<std::result::Result<Vec<_>, _>>()?
        };
        let history = self.identity_history(&attributes)?;
        Ok(Some(IdentityDetail {
            permissions: summarise_permissions(&grants),
            attributes,
            tags,
            owners,
            credentials,
            groups,
            trusts,
            grants,
            findings,
            history,
        }))
    }

    /// Changes of the identity and its credentials across the finished scans of its tenant.
    fn identity_history(&self, a: &IdentityAttributes) -> Result<Vec<HistoryEvent>> {
        let mut stmt = self.conn().prepare(
            "WITH s AS (SELECT scan_id, epoch_us(finished_at) AS at FROM scans
                        WHERE provider = $1 AND tenant = $2 AND status IN ('complete', 'partial')
                          AND EXISTS (SELECT 1 FROM scan_collectors sc WHERE sc.scan_id = scans.scan_id
                                      AND sc.status = 'ok'
                                      AND (sc.tables IS NULL OR list_contains(sc.tables, 'identities')))),
                  present AS (SELECT DISTINCT scan_id FROM identities WHERE tenant = $2 AND identity_id = $3)
             SELECT s.scan_id, s.at, s.scan_id IN (SELECT scan_id FROM present),
                    (SELECT list(credential_id || '=' || status ORDER BY credential_id) FROM credentials c
                     WHERE c.scan_id = s.scan_id AND c.tenant = $2 AND c.identity_id = $3)::VARCHAR[]
             FROM s ORDER BY s.at, s.scan_id",
        )?;
        let rows = stmt.query_map(params![a.provider, a.tenant, a.identity_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, bool>(2)?,
                list(r.get(3)?),
            ))
        })?;
        let mut out = Vec::new();
        let mut was_present = false;
        let mut before: BTreeMap<String, String> = BTreeMap::new();
        for row in rows {
            let (scan_id, at, present, creds) = row?;
            let event = |change: &str, detail: String| HistoryEvent {
                scan_id,
                at,
                change: change.to_string(),
                detail,
            };
            if present != was_present {
                out.push(event(
                    if present { "appeared" } else { "removed" },
                    a.name.clone(),
                ));
            }
            if !present {
                was_present = false;
                continue;
            }
            let now: BTreeMap<String, String> = creds
                .iter()
                .filter_map(|c| c.rsplit_once('='))
                .map(|(id, st)| (id.to_string(), st.to_string()))
                .collect();
            for (id, st) in &now {
                match before.get(id) {
                    None => out.push(event("credential_added", format!("{id} ({st})"))),
                    Some(old) if old != st => {
                        out.push(event("credential_status", format!("{id}: {old} → {st}")))
                    }
                    _ => {}
                }
            }
            for id in before.keys().filter(|id| !now.contains_key(*id)) {
                out.push(event("credential_removed", id.clone()));
            }
            before = now;
            was_present = true;
        }
        Ok(out)
    }
}

/// A DuckDB list value as strings.
fn list(v: duckdb::types::Value) -> Vec<String> {
    match v {
        duckdb::types::Value::List(items) => items
            .into_iter()
            .filter_map(|i| match i {
                duckdb::types::Value::Text(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
