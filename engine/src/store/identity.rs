//! One identity as the dashboard shows it: attributes, tags, owner candidates, credentials,
//! group memberships, trust relationships, an effective-permissions summary (admin, privilege
//! escalation paths with the statements that grant them), its findings, and its history across
//! the snapshots of its source (when it appeared, keys added, rotated, removed).

use std::collections::BTreeMap;

use duckdb::{params, OptionalExt};
use serde::{Deserialize, Serialize};

use super::{row_ranges, Result, Snapshot, Store};
use crate::model::{GrantRow, TrustRow};
use crate::policy::{privesc, sensitive};
use crate::time::Micros;

/// The identity's own attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Where a query may restrict its rows to the identity's row ids (`{hint}` in its text).
const HINT: &str = "{hint}";

/// How a snapshot-bound query joins the selection of [`SEL`]; a query read through row ids
/// checks each row's `scan_id:collector` against the summary's selection instead (the join
/// would keep DuckDB from fetching the rows by id).
const SEMI_SEL: &str = "SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector";

/// The identity's findings with the suppression overlay in force at `$1` (as
/// [`super::findings::LISTED`] lists them, for this identity's findings only); `$2` tenant,
/// `$3` identity.
const IDENTITY_FINDINGS: &str = "
    WITH mine AS (SELECT * FROM findings t WHERE tenant = $2 AND (identity_id = $3 OR resource = $3) {hint}),
    active AS (
        SELECT * FROM suppressions
        WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > make_timestamp($1::BIGINT))),
    matched AS (
        SELECT f.finding_id, min(s.suppression_id) AS sid FROM mine f JOIN active s
          ON s.finding_id = f.finding_id
          OR (s.finding_id IS NULL AND (s.rule_id = '*' OR s.rule_id = f.rule_id)
              AND f.resource GLOB coalesce(s.resource, '*'))
        GROUP BY f.finding_id),
    listed AS (
        SELECT f.*, CASE WHEN f.status = 'open' AND m.sid IS NOT NULL THEN 'suppressed' ELSE f.status END AS shown,
               CASE f.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2
                               WHEN 'low' THEN 1 ELSE 0 END AS rank
        FROM mine f LEFT JOIN matched m USING (finding_id))
    SELECT finding_id, rule_id, owasp, severity, shown, message FROM listed
    ORDER BY shown = 'resolved', rank DESC, rule_id, finding_id";

/// Row ids of one identity's rows in the model tables, from a summary that matches the store
/// (see [`super::summary`]). A list is a hint: a read through it that does not return exactly
/// its rows is redone without it.
#[derive(Debug, Default)]
pub(crate) struct RowHints {
    /// The summary's current snapshot (see [`super::summary::SummaryBuild::selection`]).
    selection: String,
    pub(crate) identity: Vec<i64>,
    history_identity: Vec<i64>,
    history_credential: Vec<i64>,
    credential: Vec<i64>,
    pub(crate) grant: Vec<i64>,
    trust: Vec<i64>,
    ownership: Vec<i64>,
    finding: Vec<i64>,
}

#[cfg(test)]
thread_local! {
    /// Reads whose row-id hint did not match (tests check the hints are used).
    pub(crate) static HINT_MISSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One scan in an identity's history: scan, finish time, whether the identity was there, its
/// credentials as `id=status`, and how many identity and credential rows the read found.
type HistoryRow = (i64, i64, bool, Vec<String>, usize, usize);

/// A DuckDB `BIGINT[]` value (NULL = empty).
fn ints(v: duckdb::types::Value) -> Vec<i64> {
    match v {
        duckdb::types::Value::List(items) => items
            .into_iter()
            .filter_map(|i| match i {
                duckdb::types::Value::BigInt(n) => Some(n),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

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
    /// The identity's row ids when the summary matches the store: `Some(None)` when the
    /// identity is not in the current snapshot, `None` when the summary cannot say.
    pub(crate) fn row_hints(
        &self,
        snapshot: Snapshot,
        tenant: &str,
        identity_id: &str,
        now: Micros,
    ) -> Result<Option<Option<RowHints>>> {
        if snapshot != Snapshot::Current {
            return Ok(None);
        }
        let Some(build) = self.fresh_summary_build(now)? else {
            return Ok(None);
        };
        let started = std::time::Instant::now();
        let hints = self
            .conn()
            .query_row(
                "SELECT identity_rowids, history_identity_rowids, history_credential_rowids,
                        credential_rowids, grant_rowids, trust_rowids, ownership_rowids, finding_rowids
                 FROM identity_rows
                 WHERE key_hash = hash($1::VARCHAR, $2::VARCHAR) AND tenant = $1 AND identity_id = $2",
                params![tenant, identity_id],
                |r| {
                    Ok(RowHints {
                        selection: build.selection.clone(),
                        identity: ints(r.get(0)?),
                        history_identity: ints(r.get(1)?),
                        history_credential: ints(r.get(2)?),
                        credential: ints(r.get(3)?),
                        grant: ints(r.get(4)?),
                        trust: ints(r.get(5)?),
                        ownership: ints(r.get(6)?),
                        finding: ints(r.get(7)?),
                    })
                },
            )
            .optional()?;
        tracing::debug!(
            message = "Identity row ids read.",
            micros = started.elapsed().as_micros() as u64
        );
        Ok(Some(hints))
    }

    /// Runs `sql` (with a `{hint}` where a row-id condition may go) with `params`, through the
    /// row ids of `hint` when given (range by range when they are spread over `table`, see
    /// [`row_ranges`]): no query when there are none, and the query again without them when
    /// the rows read through them are not exactly as many as they are. A
    /// snapshot-bound query (`WITH {SEL}` and [`SEMI_SEL`], `$1`/`$2` as-of and scan) gets the
    /// hint's selection (`Some`) checked row by row instead of the join.
    fn hinted<T>(
        &self,
        table: &str,
        sql: &str,
        params: &[&dyn duckdb::ToSql],
        hint: Option<(&[i64], Option<&str>)>,
        mut map: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
    ) -> Result<Vec<T>> {
        if let Some((ids, selection)) = hint {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let text = format!(
                "[{}]",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            );
            let n = params.len() + 1;
            let fast = match selection {
                Some(_) => sql
                    .replace(&format!("WITH {SEL} "), "")
                    .replace(SEMI_SEL, "")
                    .replace(
                        HINT,
                        &format!(
                            "AND $1::BIGINT IS NULL AND $2::BIGINT IS NULL
                             AND t.rid = ANY(${n}::BIGINT[])
                             AND list_contains(string_split(${}, ','), t.scan_id || ':' || t.collector)",
                            n + 1
                        ),
                    ),
                None => sql.replace(HINT, &format!("AND t.rid = ANY(${n}::BIGINT[])")),
            };
            let first = n + 1 + usize::from(selection.is_some());
            let (fast, bounds) = row_ranges::through(&fast, table, first, ids);
            let mut all: Vec<&dyn duckdb::ToSql> = params.to_vec();
            all.push(&text);
            if let Some(selection) = &selection {
                all.push(selection);
            }
            all.extend(bounds.iter().map(|b| b as &dyn duckdb::ToSql));
            let started = std::time::Instant::now();
            let mut stmt = self.conn().prepare(&fast)?;
            let rows = stmt.query_map(all.as_slice(), &mut map)?;
            let rows = rows.collect::<std::result::Result<Vec<_>, _>>()?;
            tracing::debug!(
                message = "Identity page read through row ids.",
                table,
                rows = rows.len(),
                micros = started.elapsed().as_micros() as u64
            );
            if rows.len() == ids.len() {
                return Ok(rows);
            }
            tracing::debug!(
                message = "Row-id hint did not match; reading without it.",
                expected = ids.len(),
                found = rows.len()
            );
            #[cfg(test)]
            HINT_MISSES.with(|m| m.set(m.get() + 1));
        }
        let mut stmt = self.conn().prepare(&sql.replace(HINT, ""))?;
        let rows = stmt.query_map(params, &mut map)?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// One identity in the chosen snapshot, or `None` when it is not there.
    pub fn identity_detail(
        &self,
        snapshot: Snapshot,
        tenant: &str,
        identity_id: &str,
        now: Micros,
    ) -> Result<Option<IdentityDetail>> {
        if snapshot == Snapshot::Current {
            if let Some(found) = self.identity_detail_in_memory(tenant, identity_id, now)? {
                return Ok(found);
            }
        }
        let started = std::time::Instant::now();
        let (as_of, scan) = (snapshot.as_of(), snapshot.scan());
        let p = params![as_of, scan, tenant, identity_id];
        let hints = match self.row_hints(snapshot, tenant, identity_id, now)? {
            Some(None) => return Ok(None),
            Some(Some(h)) => Some(h),
            None => None,
        };
        let hint = |f: fn(&RowHints) -> &Vec<i64>| {
            hints
                .as_ref()
                .map(|h| (f(h).as_slice(), Some(h.selection.as_str())))
        };
        let attributes = self
            .hinted(
                "identities",
                &format!(
                    "WITH {SEL} SELECT provider, tenant, identity_id, name, kind, unique_id, path,
                        epoch_us(created_at), epoch_us(last_used_at), last_used_service, last_used_region,
                        permissions_boundary, description, scan_id
                     FROM identities t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector
                     WHERE tenant = $3 AND identity_id = $4 {HINT} LIMIT 1"
                ),
                p,
                hint(|h| &h.identity),
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
            )?
            .into_iter()
            .next();
        let Some(attributes) = attributes else {
            return Ok(None);
        };
        let from = |table: &str, cols: &str, key: &str, order: &str| {
            format!(
                "WITH {SEL} SELECT {cols} FROM {table} t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector
                 WHERE tenant = $3 AND {key} = $4 {HINT} ORDER BY {order}"
            )
        };
        let tags = {
            let mut stmt = self
                .conn()
                .prepare(&from("tags", "key, value", "resource_id", "key").replace(HINT, ""))?;
            let rows = stmt.query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<std::result::Result<Vec<_>, _>>()?
        };
        let owners = self.hinted(
            "ownership",
            &from(
                "ownership",
                "owner, source, evidence",
                "identity_id",
                "owner, source",
            ),
            p,
            hint(|h| &h.ownership),
            |r| {
                Ok(OwnerCandidate {
                    owner: r.get(0)?,
                    source: r.get(1)?,
                    evidence: r.get(2)?,
                })
            },
        )?;
        let credentials = self.hinted(
            "credentials",
            &from(
                "credentials",
                "credential_id, kind, status, epoch_us(created_at), epoch_us(last_used_at),
                 last_used_service, epoch_us(expires_at), redacted_prefix",
                "identity_id",
                "kind, created_at, credential_id",
            ),
            p,
            hint(|h| &h.credential),
            |r| {
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
            },
        )?;
        let groups = {
            let mut stmt = self.conn().prepare(
                &from(
                    "memberships",
                    "group_id || ' (' || relation || ')'",
                    "member_id",
                    "group_id",
                )
                .replace(HINT, ""),
            )?;
            let rows = stmt.query_map(p, |r| r.get(0))?;
            rows.collect::<std::result::Result<Vec<String>, _>>()?
        };
        let trusts = self.hinted(
            "trusts",
            &from(
                "trusts",
                "identity_id, statement_index, sid, effect, principal_type, principal, actions,
                 condition_keys, conditions",
                "identity_id",
                "statement_index, principal, principal_type",
            ),
            p,
            hint(|h| &h.trust),
            |r| {
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
            },
        )?;
        let grants = self.hinted(
            "grants",
            &from(
                "grants",
                "identity_id, policy_id, relation, via, statement_index, sid, effect, actions,
                 not_actions, resources, not_resources, conditions",
                "identity_id",
                "policy_id, statement_index, relation, via",
            ),
            p,
            hint(|h| &h.grant),
            |r| {
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
            },
        )?;
        let findings = self.hinted(
            "findings",
            IDENTITY_FINDINGS,
            params![now, tenant, identity_id],
            hints.as_ref().map(|h| (h.finding.as_slice(), None)),
            |r| {
                Ok(IdentityFinding {
                    finding_id: r.get(0)?,
                    rule_id: r.get(1)?,
                    owasp: r.get(2)?,
                    severity: r.get(3)?,
                    status: r.get(4)?,
                    message: r.get(5)?,
                })
            },
        )?;
        let history = self.identity_history(
            &attributes,
            hints
                .as_ref()
                .map(|h| (&h.history_identity[..], &h.history_credential[..])),
        )?;
        tracing::debug!(
            message = "Identity page read.",
            hinted = hints.is_some(),
            micros = started.elapsed().as_micros() as u64
        );
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

    /// Changes of the identity and its credentials across the finished scans of its tenant;
    /// `hints` = the row ids of its identity and credential rows in every scan, if known.
    fn identity_history(
        &self,
        a: &IdentityAttributes,
        hints: Option<(&[i64], &[i64])>,
    ) -> Result<Vec<HistoryEvent>> {
        let sql = "WITH s AS (SELECT scan_id, epoch_us(finished_at) AS at FROM scans
                        WHERE provider = $1 AND tenant = $2 AND status IN ('complete', 'partial')
                          AND EXISTS (SELECT 1 FROM scan_collectors sc WHERE sc.scan_id = scans.scan_id
                                      AND sc.status = 'ok'
                                      AND (sc.tables IS NULL OR list_contains(sc.tables, 'identities')))),
                  mine AS (SELECT scan_id FROM identities t WHERE tenant = $2 AND identity_id = $3 {hint_i}),
                  creds AS (SELECT scan_id, credential_id, status FROM credentials t
                            WHERE tenant = $2 AND identity_id = $3 {hint_c}),
                  present AS (SELECT DISTINCT scan_id FROM mine)
             SELECT s.scan_id, s.at, s.scan_id IN (SELECT scan_id FROM present),
                    (SELECT list(credential_id || '=' || status ORDER BY credential_id) FROM creds c
                     WHERE c.scan_id = s.scan_id)::VARCHAR[],
                    (SELECT count(*) FROM mine), (SELECT count(*) FROM creds)
             FROM s ORDER BY s.at, s.scan_id";
        let text = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let read = |hinted: bool| -> Result<Vec<HistoryRow>> {
            // No rows listed: nothing to read (the parameter stays referenced, as DuckDB
            // wants every bound parameter used).
            let cond = |n: usize, ids: Option<&[i64]>| match ids {
                Some([]) => format!("AND FALSE AND ${n}::VARCHAR IS NULL"),
                Some(_) => {
                    format!("AND t.rid = ANY(string_split(nullif(${n}, ''), ',')::BIGINT[])")
                }
                None => String::new(),
            };
            let (hi, hc) = match (hinted, hints) {
                (true, Some((i, c))) => (Some(i), Some(c)),
                _ => (None, None),
            };
            let mut sql = sql
                .replace("{hint_i}", &cond(4, hi))
                .replace("{hint_c}", &cond(5, hc));
            // Hinted reads go through their row ids (see `row_ranges`), ranges from `$6` on.
            let mut bounds = Vec::new();
            for (table, ids) in [("identities", hi), ("credentials", hc)] {
                if let Some(ids) = ids.filter(|ids| !ids.is_empty()) {
                    let (text, values) = row_ranges::through(&sql, table, 6 + bounds.len(), ids);
                    sql = text;
                    bounds.extend(values);
                }
            }
            let mut stmt = self.conn().prepare(&sql)?;
            let map = |r: &duckdb::Row<'_>| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, bool>(2)?,
                    list(r.get(3)?),
                    r.get::<_, i64>(4)? as usize,
                    r.get::<_, i64>(5)? as usize,
                ))
            };
            let rows = match (hinted, hints) {
                (true, Some((i, c))) => {
                    let (ti, tc) = (text(i), text(c));
                    let mut all: Vec<&dyn duckdb::ToSql> =
                        vec![&a.provider, &a.tenant, &a.identity_id, &ti, &tc];
                    all.extend(bounds.iter().map(|b| b as &dyn duckdb::ToSql));
                    stmt.query_map(all.as_slice(), map)?
                        .collect::<std::result::Result<Vec<_>, _>>()?
                }
                _ => stmt
                    .query_map(params![a.provider, a.tenant, a.identity_id], map)?
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            };
            Ok(rows)
        };
        let started = std::time::Instant::now();
        let mut rows = read(hints.is_some())?;
        tracing::debug!(
            message = "Identity history read.",
            scans = rows.len(),
            micros = started.elapsed().as_micros() as u64
        );
        if let Some((i, c)) = hints {
            if rows.iter().any(|r| r.4 != i.len() || r.5 != c.len()) {
                #[cfg(test)]
                HINT_MISSES.with(|m| m.set(m.get() + 1));
                rows = read(false)?;
            }
        }
        Ok(history_events(
            &a.name,
            rows.into_iter()
                .map(|(scan, at, present, creds, _, _)| (scan, at, present, creds)),
        ))
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

/// The changes of an identity named `name` over its source's scans, in order: (scan id, finish
/// time, whether it was there, its credentials as `id=status`).
pub(crate) fn history_events(
    name: &str,
    rows: impl IntoIterator<Item = (i64, i64, bool, Vec<String>)>,
) -> Vec<HistoryEvent> {
    let mut out = Vec::new();
    let mut was_present = false;
    let mut before: BTreeMap<String, String> = BTreeMap::new();
    for (scan_id, at, present, creds) in rows {
        let event = |change: &str, detail: String| HistoryEvent {
            scan_id,
            at,
            change: change.to_string(),
            detail,
        };
        if present != was_present {
            out.push(event(
                if present { "appeared" } else { "removed" },
                name.to_string(),
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
    out
}
