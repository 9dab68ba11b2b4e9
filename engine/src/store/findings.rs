//! The finding lifecycle. Each evaluation of the current snapshot is recorded: new findings
//! open, findings seen again stay open (or reopen), and an open finding that a rule no longer
//! produces resolves only when its source has a scan, finished after the finding was last
//! seen, in which every collector that feeds the rule's tables succeeded. Suppressions (one
//! finding, or a rule and resource pattern; with reason, author and optional expiry) are an
//! overlay: a suppressed finding is listed as `suppressed` with its reason, never dropped, and
//! reappears as `open` when the suppression expires or is revoked.

use std::collections::BTreeMap;

use duckdb::params;
use serde::Serialize;

use super::{Result, Store, StoreError};
use crate::analysis::Evaluation;
use crate::rules::Severity;
use crate::time::Micros;

/// A finding as stored, with its lifecycle and any suppression in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFinding {
    pub finding_id: String,
    pub rule_id: String,
    pub owasp: String,
    pub severity: String,
    pub title: String,
    pub provider: String,
    pub tenant: String,
    pub resource: String,
    pub identity_id: Option<String>,
    pub message: String,
    /// JSON object text.
    pub evidence: Option<String>,
    /// open, resolved or suppressed.
    pub status: String,
    pub first_seen: Micros,
    pub last_seen: Micros,
    pub resolved_at: Option<Micros>,
    pub suppression: Option<Suppression>,
}

/// A suppression rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppression {
    pub suppression_id: i64,
    pub finding_id: Option<String>,
    pub rule_id: Option<String>,
    pub resource: Option<String>,
    pub reason: String,
    pub author: String,
    pub created_at: Micros,
    pub expires_at: Option<Micros>,
    pub origin: String,
}

/// A new suppression: of one finding, or of a rule (or `*`) on a resource pattern.
#[derive(Debug, Clone, Default)]
pub struct NewSuppression {
    pub finding_id: Option<String>,
    pub rule_id: Option<String>,
    pub resource: Option<String>,
    pub reason: String,
    pub author: String,
    pub expires_at: Option<Micros>,
}

/// Filters for listing findings. `None` means any.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// open, resolved, suppressed; empty = open and suppressed.
    pub statuses: Vec<String>,
    pub min_severity: Option<Severity>,
    pub rule_id: Option<String>,
    pub owasp: Option<String>,
    pub provider: Option<String>,
    pub tenant: Option<String>,
    /// Substring of the resource or identity.
    pub search: Option<String>,
    pub limit: Option<usize>,
}

/// What recording an evaluation changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EvaluationSummary {
    pub evaluation_id: i64,
    pub findings: usize,
    pub opened: usize,
    pub reopened: usize,
    pub resolved: usize,
    /// Open findings the rules no longer produce but that stay open because no complete scan
    /// of their source has happened since they were last seen.
    pub awaiting_complete_scan: usize,
}

/// One lifecycle event of a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingEvent {
    pub finding_id: String,
    pub at: Micros,
    pub event: String,
    pub actor: String,
    pub detail: Option<String>,
}

/// The columns of the `findings` table (migration 5), for the table each evaluation writes
/// the new state into before it replaces the old one.
const FINDINGS_COLUMNS: &str = "
    finding_id VARCHAR NOT NULL, rule_id VARCHAR NOT NULL, owasp VARCHAR NOT NULL,
    severity VARCHAR NOT NULL, title VARCHAR NOT NULL, provider VARCHAR NOT NULL,
    tenant VARCHAR NOT NULL, resource VARCHAR NOT NULL, identity_id VARCHAR,
    message VARCHAR NOT NULL, evidence VARCHAR, status VARCHAR NOT NULL,
    first_seen TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL, resolved_at TIMESTAMP,
    first_evaluation BIGINT NOT NULL, last_evaluation BIGINT NOT NULL";

/// The finish time of the latest scan of ($1 provider, $2 tenant) in which every collector
/// known (from its successful runs) to write any of the tables in $3 (comma-separated; all
/// collectors when empty) ran and succeeded.
const COMPLETE_SINCE_SQL: &str = "
    WITH writers AS (
        SELECT DISTINCT sc.collector FROM scan_collectors sc JOIN scans s USING (scan_id)
        WHERE s.provider = $1 AND s.tenant = $2 AND sc.status = 'ok'
          AND ($3 = '' OR sc.tables IS NULL
               OR len(list_intersect(sc.tables, string_split($3, ','))) > 0)),
    complete AS (
        SELECT s.finished_at FROM scans s
        WHERE s.provider = $1 AND s.tenant = $2 AND s.finished_at IS NOT NULL
          AND (SELECT count(DISTINCT o.collector) FROM scan_collectors o
               WHERE o.scan_id = s.scan_id AND o.status = 'ok'
                 AND o.collector IN (SELECT collector FROM writers))
              = (SELECT count(*) FROM writers))
    SELECT epoch_us(max(finished_at)) FROM complete";

/// Inserts one suppression; returns its id.
fn insert_suppression(
    tx: &duckdb::Transaction<'_>,
    s: &NewSuppression,
    origin: &str,
    now: Micros,
) -> Result<i64> {
    let id: i64 = tx.query_row("SELECT nextval('suppression_ids')", [], |r| r.get(0))?;
    tx.execute(
        "INSERT INTO suppressions VALUES (?, ?, ?, ?, ?, ?, make_timestamp(?::BIGINT),
                make_timestamp(?::BIGINT), ?, NULL, NULL)",
        params![
            id,
            s.finding_id,
            s.rule_id,
            s.resource,
            s.reason,
            s.author,
            now,
            s.expires_at,
            origin
        ],
    )?;
    Ok(id)
}

/// Findings with the suppression overlay at $1 (micros): `listed` has every findings column,
/// `shown` (open, suppressed or resolved), `sid` (the suppression in force) and `rank`
/// (severity, 0 info .. 4 critical).
pub(crate) const LISTED: &str = "
    active AS (
        SELECT * FROM suppressions
        WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > make_timestamp($1::BIGINT))),
    matched AS (
        SELECT f.finding_id, min(s.suppression_id) AS sid FROM findings f JOIN active s
          ON s.finding_id = f.finding_id
          OR (s.finding_id IS NULL AND (s.rule_id = '*' OR s.rule_id = f.rule_id)
              AND f.resource GLOB coalesce(s.resource, '*'))
        GROUP BY f.finding_id),
    listed AS (
        SELECT f.*, CASE WHEN f.status = 'open' AND m.sid IS NOT NULL THEN 'suppressed' ELSE f.status END AS shown,
               m.sid,
               CASE f.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2
                               WHEN 'low' THEN 1 ELSE 0 END AS rank
        FROM findings f LEFT JOIN matched m USING (finding_id))";

/// Model tables behind the tables a rule reads (derived tables map to their sources).
pub(crate) fn model_tables(read: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in read {
        let one = [t.as_str()];
        let mapped: &[&str] = match t.as_str() {
            "permissions" | "grant_links" | "grant_statements" | "statement_actions"
            | "statement_deny_all" | "direct_attachments" => &["grants"],
            "nhi_identities" => &["identities", "credentials", "trusts"],
            "iam_privesc_paths" => &[],
            view if !crate::correlate::view_sources(view).is_empty() => {
                crate::correlate::view_sources(view)
            }
            _ => &one,
        };
        for m in mapped {
            if !out.iter().any(|o| o == m) {
                out.push(m.to_string());
            }
        }
    }
    out
}

/// Logs how long a step of the lifecycle took since `t`, and restarts `t`.
fn lap(t: &mut std::time::Instant, step: &str) {
    tracing::debug!(
        message = "Lifecycle step.",
        step,
        millis = t.elapsed().as_millis() as u64
    );
    *t = std::time::Instant::now();
}

impl Store {
    /// The finish time of the latest scan of (provider, tenant) in which every collector known
    /// to write any of `tables` (all collectors, when `tables` is empty) ran and succeeded.
    pub fn complete_since(
        &self,
        provider: &str,
        tenant: &str,
        tables: &[String],
    ) -> Result<Option<Micros>> {
        let t: Option<i64> = self.conn().query_row(
            COMPLETE_SINCE_SQL,
            params![provider, tenant, tables.join(",")],
            |r| r.get(0),
        )?;
        Ok(t)
    }

    /// Records an evaluation of the current snapshot at `now` (its findings staged on this
    /// store by [`crate::analysis::Analysis::evaluate`]) and updates the lifecycle.
    pub fn record_evaluation(&mut self, eval: &Evaluation) -> Result<EvaluationSummary> {
        let now = eval.now;
        let ok_rules: Vec<&str> = eval
            .runs
            .iter()
            .filter(|r| r.error.is_none())
            .map(|r| r.rule_id.as_str())
            .collect();
        let errors: Vec<String> = eval.failed().filter_map(|r| r.error.clone()).collect();
        let tables_of: BTreeMap<&str, Vec<String>> = eval
            .runs
            .iter()
            .map(|r| (r.rule_id.as_str(), model_tables(&r.tables)))
            .collect();
        let mut t = std::time::Instant::now();
        let tx = self.conn.transaction()?;
        let id: i64 = tx.query_row("SELECT nextval('evaluation_ids')", [], |r| r.get(0))?;
        // The staged findings of this evaluation (see `staging`), with their rule's metadata:
        // a view, not a copy (the stage is read four times, each a scan). A view takes no
        // parameters: `now` and `id` are integers of this process, written as literals.
        tx.execute_batch(&format!(
            "CREATE OR REPLACE TEMP VIEW new_findings AS
             SELECT printf('F-%016x', s.finding_hash) AS finding_id, r.rule_id, r.owasp,
                    r.severity, r.title, s.provider, s.tenant,
                    s.resource, s.identity_id, s.message, s.evidence, 'open' AS status,
                    make_timestamp({now}::BIGINT) AS first_seen, make_timestamp({now}::BIGINT) AS last_seen,
                    NULL::TIMESTAMP AS resolved_at, {id}::BIGINT AS first_evaluation,
                    {id}::BIGINT AS last_evaluation
             FROM eval_findings s JOIN eval_rules r USING (rule)"
        ))?;
        lap(&mut t, "new_findings");
        let opened: usize = tx.execute(
            "INSERT INTO finding_events
             SELECT n.finding_id, n.last_seen, CASE WHEN f.finding_id IS NULL THEN 'opened' ELSE 'reopened' END,
                    'nhiscope', NULL
             FROM new_findings n LEFT JOIN findings f USING (finding_id)
             WHERE f.finding_id IS NULL OR f.status = 'resolved'",
            [],
        )?;
        let reopened: i64 = tx.query_row(
            "SELECT count(*) FROM new_findings n JOIN findings f USING (finding_id) WHERE f.status = 'resolved'",
            [],
            |r| r.get(0),
        )?;
        lap(&mut t, "opened");
        // Open findings the rules (that ran) no longer produce, by rule and source: each group
        // may resolve only up to the last complete scan of its source for the rule's tables.
        tx.execute(
            "CREATE OR REPLACE TEMP TABLE gone AS
             SELECT f.finding_id, f.rule_id, f.provider, f.tenant, f.last_seen FROM findings f
             WHERE f.status = 'open' AND list_contains(string_split($1, ','), f.rule_id)
               AND NOT EXISTS (SELECT 1 FROM new_findings n WHERE n.finding_id = f.finding_id)",
            params![ok_rules.join(",")],
        )?;
        lap(&mut t, "gone");
        let groups: Vec<(String, String, String)> = {
            let mut stmt = tx.prepare("SELECT DISTINCT rule_id, provider, tenant FROM gone")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        tx.execute_batch(
            "CREATE OR REPLACE TEMP TABLE resolvable (
                 rule_id VARCHAR, provider VARCHAR, tenant VARCHAR, since TIMESTAMP)",
        )?;
        for (rule_id, provider, tenant) in groups {
            let tables = tables_of.get(rule_id.as_str()).cloned().unwrap_or_default();
            let since: Option<i64> = tx.query_row(
                COMPLETE_SINCE_SQL,
                params![provider, tenant, tables.join(",")],
                |r| r.get(0),
            )?;
            if let Some(since) = since {
                tx.execute(
                    "INSERT INTO resolvable VALUES (?, ?, ?, make_timestamp(?::BIGINT))",
                    params![rule_id, provider, tenant, since],
                )?;
            }
        }
        let resolved = tx.execute(
            "INSERT INTO finding_events
             SELECT g.finding_id, make_timestamp($1::BIGINT), 'resolved', 'nhiscope',
                    'no longer reported after a complete scan'
             FROM gone g JOIN resolvable r USING (rule_id, provider, tenant)
             WHERE g.last_seen < r.since",
            params![now],
        )?;
        let gone: i64 = tx.query_row("SELECT count(*) FROM gone", [], |r| r.get(0))?;
        lap(&mut t, "resolved");
        let awaiting = gone as usize - resolved;
        // The new state of every finding, written once into a fresh table that then replaces
        // the old one (no UPDATE: DuckDB keeps the undo of millions of updated rows in memory,
        // while a rewrite streams and can spill; no temporary copy in between). The findings
        // reported now, with the first sighting of those seen before; then the others, resolved
        // where their source allows. Each join builds on narrow rows (ids and two columns), not
        // on whole findings as one full outer join would.
        tx.execute_batch(&format!("CREATE TABLE findings_next ({FINDINGS_COLUMNS})"))?;
        tx.execute(
            "INSERT INTO findings_next
             SELECT n.finding_id, n.rule_id, n.owasp, n.severity, n.title, n.provider, n.tenant,
                    n.resource, n.identity_id, n.message, n.evidence, 'open',
                    coalesce(o.first_seen, n.first_seen), n.last_seen, NULL::TIMESTAMP,
                    coalesce(o.first_evaluation, n.first_evaluation), n.last_evaluation
             FROM new_findings n
             LEFT JOIN (SELECT finding_id, first_seen, first_evaluation FROM findings) o
               USING (finding_id)
             UNION ALL
             SELECT f.finding_id, f.rule_id, f.owasp, f.severity, f.title, f.provider, f.tenant,
                    f.resource, f.identity_id, f.message, f.evidence,
                    CASE WHEN r.since IS NOT NULL AND f.last_seen < r.since THEN 'resolved'
                         ELSE f.status END,
                    f.first_seen, f.last_seen,
                    CASE WHEN r.since IS NOT NULL AND f.last_seen < r.since
                              THEN make_timestamp($1::BIGINT)
                         ELSE f.resolved_at END,
                    f.first_evaluation, f.last_evaluation
             FROM findings f
             LEFT JOIN resolvable r
               ON r.rule_id = f.rule_id AND r.provider = f.provider AND r.tenant = f.tenant
                  AND f.status = 'open'
             WHERE NOT EXISTS (SELECT 1 FROM new_findings n WHERE n.finding_id = f.finding_id)",
            params![now],
        )?;
        lap(&mut t, "merged");
        tx.execute_batch(
            "DROP TABLE findings;
             ALTER TABLE findings_next RENAME TO findings;
             DROP TABLE gone; DROP TABLE resolvable;",
        )?;
        lap(&mut t, "rewrite");
        tx.execute(
            "INSERT INTO evaluations VALUES (?, make_timestamp(?::BIGINT), ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                id,
                now,
                eval.runs.len() as i64,
                errors.len() as i64,
                eval.findings as i64,
                (opened as i64 - reopened),
                reopened,
                resolved as i64,
                env!("CARGO_PKG_VERSION"),
                (!errors.is_empty()).then(|| errors.join("\n"))
            ],
        )?;
        tx.execute_batch("DROP VIEW new_findings")?;
        tx.commit()?;
        lap(&mut t, "commit");
        self.summary_touched();
        Ok(EvaluationSummary {
            evaluation_id: id,
            findings: eval.findings,
            opened: opened - reopened as usize,
            reopened: reopened as usize,
            resolved,
            awaiting_complete_scan: awaiting,
        })
    }

    /// Findings with their suppression overlay at time `now`.
    pub fn findings(&self, f: &FindingFilter, now: Micros) -> Result<Vec<StoredFinding>> {
        let statuses = if f.statuses.is_empty() {
            "open,suppressed".to_string()
        } else {
            f.statuses.join(",")
        };
        let sql = format!(
            "WITH {LISTED}
             SELECT l.finding_id, l.rule_id, l.owasp, l.severity, l.title, l.provider, l.tenant, l.resource,
                    l.identity_id, l.message, l.evidence, l.shown, epoch_us(l.first_seen), epoch_us(l.last_seen),
                    epoch_us(l.resolved_at), s.suppression_id, s.finding_id, s.rule_id, s.resource, s.reason,
                    s.author, epoch_us(s.created_at), epoch_us(s.expires_at), s.origin
             FROM listed l LEFT JOIN suppressions s ON s.suppression_id = l.sid
             WHERE list_contains(string_split($2, ','), l.shown)
               AND ($3::BIGINT IS NULL OR l.rank >= $3)
               AND ($4::VARCHAR IS NULL OR l.rule_id = $4)
               AND ($5::VARCHAR IS NULL OR l.owasp = $5)
               AND ($6::VARCHAR IS NULL OR l.provider = $6)
               AND ($7::VARCHAR IS NULL OR l.tenant = $7)
               AND ($8::VARCHAR IS NULL OR l.resource ILIKE $8 OR l.identity_id ILIKE $8)
             ORDER BY l.rank DESC, l.rule_id, l.tenant, l.resource
             LIMIT $9"
        );
        let rank = f
            .min_severity
            .map(|s| Severity::ALL.iter().position(|x| *x == s).unwrap_or(0) as i64);
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(
            params![
                now,
                statuses,
                rank,
                f.rule_id,
                f.owasp,
                f.provider,
                f.tenant,
                f.search.as_ref().map(|s| format!("%{}%", s.trim())),
                f.limit.unwrap_or(i64::MAX as usize) as i64
            ],
            |r| {
                let sid: Option<i64> = r.get(15)?;
                Ok(StoredFinding {
                    finding_id: r.get(0)?,
                    rule_id: r.get(1)?,
                    owasp: r.get(2)?,
                    severity: r.get(3)?,
                    title: r.get(4)?,
                    provider: r.get(5)?,
                    tenant: r.get(6)?,
                    resource: r.get(7)?,
                    identity_id: r.get(8)?,
                    message: r.get(9)?,
                    evidence: r.get(10)?,
                    status: r.get(11)?,
                    first_seen: r.get(12)?,
                    last_seen: r.get(13)?,
                    resolved_at: r.get(14)?,
                    suppression: match sid {
                        Some(suppression_id) => Some(Suppression {
                            suppression_id,
                            finding_id: r.get(16)?,
                            rule_id: r.get(17)?,
                            resource: r.get(18)?,
                            reason: r.get(19)?,
                            author: r.get(20)?,
                            created_at: r.get(21)?,
                            expires_at: r.get(22)?,
                            origin: r.get(23)?,
                        }),
                        None => None,
                    },
                })
            },
        )?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Counts of findings by status (with the suppression overlay at `now`), severity and
    /// OWASP category: (status, severity, owasp, count), most severe first.
    pub fn finding_counts(&self, now: Micros) -> Result<Vec<(String, String, String, i64)>> {
        let mut stmt = self.conn().prepare(&format!(
            "WITH {LISTED}
             SELECT shown, severity, owasp, count(*) FROM listed
             GROUP BY shown, severity, owasp, rank ORDER BY shown, rank DESC, owasp"
        ))?;
        let rows = stmt.query_map(params![now], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Adds a suppression; returns its id. A suppression of one finding needs that finding.
    pub fn suppress(&mut self, s: &NewSuppression, origin: &str, now: Micros) -> Result<i64> {
        if s.reason.trim().is_empty() || s.author.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a suppression needs a reason and an author".into(),
            ));
        }
        if let Some(id) = &s.finding_id {
            let n: i64 = self.conn().query_row(
                "SELECT count(*) FROM findings WHERE finding_id = ?",
                params![id],
                |r| r.get(0),
            )?;
            if n == 0 {
                return Err(StoreError::Invalid(format!("no finding {id}")));
            }
        } else if s.rule_id.is_none() {
            return Err(StoreError::Invalid(
                "a suppression names a finding, or a rule (or `*`) and a resource pattern".into(),
            ));
        }
        let tx = self.conn.transaction()?;
        let id = insert_suppression(&tx, s, origin, now)?;
        tx.execute(
            "INSERT INTO finding_events
             SELECT f.finding_id, make_timestamp($1::BIGINT), 'suppressed', $2, $3 FROM findings f
             WHERE f.finding_id = $4 OR ($4 IS NULL AND ($5 = '*' OR f.rule_id = $5)
                                         AND f.resource GLOB coalesce($6, '*'))",
            params![
                now,
                s.author,
                format!("suppression {id}: {}", s.reason),
                s.finding_id,
                s.rule_id,
                s.resource
            ],
        )?;
        tx.commit()?;
        self.summary_touched();
        Ok(id)
    }

    /// Revokes a suppression; the findings it covered show as open again.
    pub fn revoke_suppression(&mut self, id: i64, by: &str, now: Micros) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE suppressions SET revoked_at = make_timestamp(?::BIGINT), revoked_by = ?
             WHERE suppression_id = ? AND revoked_at IS NULL",
            params![now, by, id],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!("no active suppression {id}")));
        }
        tx.execute(
            "INSERT INTO finding_events
             SELECT f.finding_id, make_timestamp($1::BIGINT), 'unsuppressed', $2, 'suppression ' || $3 || ' revoked'
             FROM findings f JOIN suppressions s ON s.suppression_id = $3
             WHERE s.finding_id = f.finding_id
                OR (s.finding_id IS NULL AND (s.rule_id = '*' OR s.rule_id = f.rule_id)
                    AND f.resource GLOB coalesce(s.resource, '*'))",
            params![now, by, id],
        )?;
        tx.commit()?;
        self.summary_touched();
        Ok(())
    }

    /// Replaces the suppressions that came from a config file with its current list.
    pub fn sync_config_suppressions(
        &mut self,
        origin: &str,
        list: &[NewSuppression],
        now: Micros,
    ) -> Result<()> {
        let key = |s: &NewSuppression| {
            format!(
                "{:?}|{:?}|{:?}|{}|{}|{:?}",
                s.finding_id, s.rule_id, s.resource, s.reason, s.author, s.expires_at
            )
        };
        let mut current: Vec<String> = {
            let mut stmt = self.conn().prepare(
                "SELECT finding_id, rule_id, resource, reason, author, epoch_us(expires_at) FROM suppressions
                 WHERE origin = ? AND revoked_at IS NULL",
            )?;
            let rows = stmt.query_map(params![origin], |r| {
                Ok(NewSuppression {
                    finding_id: r.get(0)?,
                    rule_id: r.get(1)?,
                    resource: r.get(2)?,
                    reason: r.get(3)?,
                    author: r.get(4)?,
                    expires_at: r.get(5)?,
                })
            })?;
            rows.map(|r| r.map(|s| key(&s)))
                .collect::<std::result::Result<_, _>>()?
        };
        let mut wanted: Vec<String> = list.iter().map(key).collect();
        current.sort();
        wanted.sort();
        if current == wanted {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE suppressions SET revoked_at = make_timestamp(?::BIGINT), revoked_by = 'config'
             WHERE origin = ? AND revoked_at IS NULL",
            params![now, origin],
        )?;
        for s in list {
            insert_suppression(&tx, s, origin, now)?;
        }
        tx.commit()?;
        self.summary_touched();
        Ok(())
    }

    /// The lifecycle events of one finding, oldest first.
    pub fn finding_events(&self, finding_id: &str) -> Result<Vec<FindingEvent>> {
        let mut stmt = self.conn().prepare(
            "SELECT finding_id, epoch_us(event_at), event, actor, detail FROM finding_events
             WHERE finding_id = ? ORDER BY event_at, event",
        )?;
        let rows = stmt.query_map(params![finding_id], |r| {
            Ok(FindingEvent {
                finding_id: r.get(0)?,
                at: r.get(1)?,
                event: r.get(2)?,
                actor: r.get(3)?,
                detail: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Column name, type and nullability of `findings`, in order.
    fn findings_schema(store: &Store) -> Vec<(String, String, String)> {
        let mut stmt = store
            .conn()
            .prepare(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns
                 WHERE table_name = 'findings' ORDER BY ordinal_position",
            )
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query");
        rows.collect::<std::result::Result<_, _>>().expect("rows")
    }

    #[test]
    fn recording_replaces_findings_with_the_same_columns_and_constraints() {
        let mut store = Store::open_in_memory().expect("store");
        let before = findings_schema(&store);
        assert_eq!(before.len(), 17, "{before:?}");
        let rules = crate::rules::load::builtin().expect("pack");
        let stage = store.stage_findings(&rules).expect("stage");
        stage.finish(&[], &[]).expect("finish");
        let eval = Evaluation {
            now: 1_780_000_000_000_000,
            ..Default::default()
        };
        store.record_evaluation(&eval).expect("record");
        store.record_evaluation(&eval).expect("record again");
        assert_eq!(findings_schema(&store), before);
    }
}
