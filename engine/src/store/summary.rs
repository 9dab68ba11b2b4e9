//! The per-identity summary of the current snapshot that lets the dashboard answer in
//! milliseconds at a million identities: one row per identity with its credential, owner and
//! open-finding figures and its position in every inventory sort order
//! (`identity_summary`), the row ids of its rows in the model tables (`identity_rows`, for
//! the identity page) and a credential-id lookup (`credential_lookup`).
//!
//! The summary is derived, never a source of truth. [`Store::refresh_identity_summary`]
//! rebuilds it in bulk (one `INSERT ... SELECT` per table) after a scan or an evaluation and
//! records a fingerprint of what it was built from: the scans and collectors that make the
//! current snapshot, the evaluations, the findings and the suppressions. A reader uses it only
//! when [`Store::summary_build`] finds the fingerprint unchanged and no suppression started or
//! stopped being in force between the build's `now` and the reader's; otherwise it falls back
//! to aggregating at request time. Time travel (`as of`, one scan) always takes that path.

use duckdb::{params, OptionalExt};

use super::{Result, Store};
use crate::time::Micros;

/// What the current snapshot and the findings look like, cheaply: counts and maxima of the
/// small bookkeeping tables (and of `findings`, whose count DuckDB keeps). The in-memory
/// identity pages are built for one value of it (see [`super::memory::detail`]).
pub(crate) const CONTENT: &str = "concat_ws('/',
    (SELECT count(*) || ':' || coalesce(max(scan_id), 0) || ':'
            || count(*) FILTER (WHERE status IN ('complete', 'partial')) || ':'
            || coalesce(epoch_us(max(finished_at)), 0) FROM scans),
    (SELECT count(*) || ':' || count(*) FILTER (WHERE status = 'ok') FROM scan_collectors),
    (SELECT count(*) || ':' || coalesce(max(evaluation_id), 0) FROM evaluations),
    (SELECT count(*) FROM findings))";

/// [`CONTENT`], then `/` and what the suppressions look like: the summary's fingerprint.
fn fingerprint() -> String {
    format!(
        "({CONTENT} || '/' || (SELECT count(*) || ':' || coalesce(max(suppression_id), 0) || ':' || count(revoked_at)
                              FROM suppressions))"
    )
}

/// Empties the summary tables and selects the current snapshot.
const CLEAR: &str = "
DELETE FROM identity_summary;
DELETE FROM identity_rows;
DELETE FROM credential_lookup;
CREATE OR REPLACE TEMP TABLE summary_sel AS
    SELECT scan_id, collector FROM collections_at(NULL, NULL);";

/// Open, unsuppressed findings per identity; `$1` = the `now` suppressions are judged at.
const OPEN_FINDINGS: &str = "
CREATE OR REPLACE TEMP TABLE summary_open AS
    WITH active AS (
        SELECT * FROM suppressions
        WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > make_timestamp($1::BIGINT))),
    matched AS (
        SELECT DISTINCT f.finding_id FROM findings f JOIN active s
          ON s.finding_id = f.finding_id
          OR (s.finding_id IS NULL AND (s.rule_id = '*' OR s.rule_id = f.rule_id)
              AND f.resource GLOB coalesce(s.resource, '*'))
        WHERE f.status = 'open')
    SELECT f.tenant, f.identity_id, count(*) AS open_findings,
           max(CASE f.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2
                               WHEN 'low' THEN 1 ELSE 0 END) AS max_rank
    FROM findings f ANTI JOIN matched m ON m.finding_id = f.finding_id
    WHERE f.status = 'open' AND f.identity_id IS NOT NULL
    GROUP BY ALL";

/// Writes the summary tables from `summary_sel` and `summary_open`; `{name}`... are the
/// inventory's sort keys.
const WRITE: &str = "
INSERT INTO identity_summary
WITH i AS (SELECT t.* FROM identities t SEMI JOIN summary_sel s ON t.scan_id = s.scan_id AND t.collector = s.collector),
c AS (SELECT t.* FROM credentials t SEMI JOIN summary_sel s ON t.scan_id = s.scan_id AND t.collector = s.collector),
o AS (SELECT t.* FROM ownership t SEMI JOIN summary_sel s ON t.scan_id = s.scan_id AND t.collector = s.collector),
cs AS (SELECT tenant, identity_id,
           count(*) FILTER (WHERE kind = 'access_key' AND status = 'active') AS active_keys,
           min(created_at) FILTER (WHERE kind = 'access_key' AND status = 'active') AS oldest_key,
           max(last_used_at) AS last_used
       FROM c WHERE identity_id IS NOT NULL GROUP BY ALL),
os AS (SELECT tenant, identity_id, string_agg(DISTINCT owner, ', ' ORDER BY owner) AS owners
       FROM o GROUP BY ALL),
base AS (
    SELECT i.provider, i.tenant, i.kind, i.name, i.identity_id, i.unique_id,
           epoch_us(i.created_at) AS created,
           epoch_us(greatest(i.last_used_at, cs.last_used)) AS last_used,
           coalesce(cs.active_keys, 0) AS active_keys,
           epoch_us(cs.oldest_key) AS oldest_key, os.owners,
           coalesce(fs.open_findings, 0) AS open_findings, fs.max_rank
    FROM i LEFT JOIN cs ON cs.tenant = i.tenant AND cs.identity_id = i.identity_id
           LEFT JOIN os ON os.tenant = i.tenant AND os.identity_id = i.identity_id
           LEFT JOIN summary_open fs ON fs.tenant = i.tenant AND fs.identity_id = i.identity_id)
SELECT *,
    row_number() OVER (ORDER BY {name}, tenant, identity_id) AS r_name,
    row_number() OVER (ORDER BY {kind}, tenant, identity_id) AS r_kind,
    row_number() OVER (ORDER BY {created}, tenant, identity_id) AS r_created,
    row_number() OVER (ORDER BY {last_used}, tenant, identity_id) AS r_last_used,
    row_number() OVER (ORDER BY {key_age}, tenant, identity_id) AS r_key_age,
    row_number() OVER (ORDER BY {findings}, tenant, identity_id) AS r_findings
FROM base ORDER BY r_name;
INSERT INTO identity_rows
WITH ids AS (SELECT tenant, identity_id FROM identity_summary),
i AS (SELECT tenant, identity_id, list(t.rowid) AS r FROM identities t SEMI JOIN summary_sel s
        ON t.scan_id = s.scan_id AND t.collector = s.collector GROUP BY ALL),
hi AS (SELECT tenant, identity_id, list(rowid) AS r FROM identities GROUP BY ALL),
hc AS (SELECT tenant, identity_id, list(rowid) AS r FROM credentials
       WHERE identity_id IS NOT NULL GROUP BY ALL),
c AS (SELECT tenant, identity_id, list(t.rowid) AS r FROM credentials t SEMI JOIN summary_sel s
        ON t.scan_id = s.scan_id AND t.collector = s.collector
      WHERE identity_id IS NOT NULL GROUP BY ALL),
g AS (SELECT tenant, identity_id, list(t.rowid) AS r FROM grants t SEMI JOIN summary_sel s
        ON t.scan_id = s.scan_id AND t.collector = s.collector GROUP BY ALL),
tr AS (SELECT tenant, identity_id, list(t.rowid) AS r FROM trusts t SEMI JOIN summary_sel s
        ON t.scan_id = s.scan_id AND t.collector = s.collector GROUP BY ALL),
o AS (SELECT tenant, identity_id, list(t.rowid) AS r FROM ownership t SEMI JOIN summary_sel s
        ON t.scan_id = s.scan_id AND t.collector = s.collector GROUP BY ALL),
f AS (SELECT tenant, key AS identity_id, list(DISTINCT rid) AS r FROM (
        SELECT tenant, identity_id AS key, rowid AS rid FROM findings WHERE identity_id IS NOT NULL
        UNION ALL
        SELECT tenant, resource, rowid FROM findings) GROUP BY ALL)
SELECT hash(ids.tenant, ids.identity_id) AS key_hash, ids.tenant, ids.identity_id,
       i.r, hi.r, hc.r, c.r, g.r, tr.r, o.r, f.r
FROM ids LEFT JOIN i USING (tenant, identity_id) LEFT JOIN hi USING (tenant, identity_id)
     LEFT JOIN hc USING (tenant, identity_id) LEFT JOIN c USING (tenant, identity_id)
     LEFT JOIN g USING (tenant, identity_id)
     LEFT JOIN tr USING (tenant, identity_id) LEFT JOIN o USING (tenant, identity_id)
     LEFT JOIN f USING (tenant, identity_id)
ORDER BY key_hash;
INSERT INTO credential_lookup
SELECT hash(credential_id) AS id_hash, credential_id, tenant, identity_id FROM credentials t
SEMI JOIN summary_sel s ON t.scan_id = s.scan_id AND t.collector = s.collector
WHERE identity_id IS NOT NULL
ORDER BY id_hash;
DROP TABLE summary_sel;
DROP TABLE summary_open;";

/// A summary build that matches the store (see [`Store::summary_build`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryBuild {
    pub build_id: i64,
    pub identities: i64,
    /// The current snapshot it describes: `scan_id:collector` pairs, comma-separated.
    pub selection: String,
    /// Its fingerprint but the suppressions (see `CONTENT`).
    pub content: String,
}

/// What a refresh wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryRefresh {
    pub build_id: i64,
    pub identities: i64,
    pub millis: u128,
}

impl Store {
    /// Rebuilds the identity summary from the current snapshot, with suppressions judged at
    /// `now`. Call after a scan finishes and after an evaluation (or suppression) is recorded.
    pub fn refresh_identity_summary(&mut self, now: Micros) -> Result<SummaryRefresh> {
        let started = std::time::Instant::now();
        let sql = WRITE
            .replace(
                "{name}",
                super::inventory_page::InventorySort::Name.key_sql(),
            )
            .replace(
                "{kind}",
                super::inventory_page::InventorySort::Kind.key_sql(),
            )
            .replace(
                "{created}",
                super::inventory_page::InventorySort::Created.key_sql(),
            )
            .replace(
                "{last_used}",
                super::inventory_page::InventorySort::LastUsed.key_sql(),
            )
            .replace(
                "{key_age}",
                super::inventory_page::InventorySort::KeyAge.key_sql(),
            )
            .replace(
                "{findings}",
                super::inventory_page::InventorySort::Findings.key_sql(),
            );
        let tx = self.conn.transaction()?;
        tx.execute_batch(CLEAR)?;
        tx.execute(OPEN_FINDINGS, params![now])?;
        tx.execute_batch(&sql)?;
        let build_id: i64 = tx.query_row(
            "SELECT coalesce(max(build_id), 0) + 1 FROM identity_summary_state",
            [],
            |r| r.get(0),
        )?;
        let identities: i64 =
            tx.query_row("SELECT count(*) FROM identity_summary", [], |r| r.get(0))?;
        tx.execute("DELETE FROM identity_summary_state", [])?;
        tx.execute(
            &format!(
                "INSERT INTO identity_summary_state
                 SELECT ?, {}, ?, now()::TIMESTAMP, ?,
                        coalesce((SELECT string_agg(scan_id || ':' || collector, ',' ORDER BY scan_id, collector)
                                  FROM collections_at(NULL, NULL)), '')",
                fingerprint()
            ),
            params![build_id, now, identities],
        )?;
        tx.commit()?;
        self.summary_touched();
        let millis = started.elapsed().as_millis();
        tracing::info!(
            message = "Refreshed the identity summary.",
            build_id,
            identities,
            millis = millis as u64
        );
        Ok(SummaryRefresh {
            build_id,
            identities,
            millis,
        })
    }

    /// The summary build, when it describes the store as it is now and the suppressions in
    /// force at `now` are those it was built with; `None` when readers must not use it.
    pub fn summary_build(&self, now: Micros) -> Result<Option<SummaryBuild>> {
        Ok(self.summary_build_window(now)?.map(|(build, _, _)| build))
    }

    /// [`Store::summary_build`], with the `now` values it holds for: `from..until`, between
    /// the expiries of suppressions that bracket the build's `now`.
    pub(crate) fn summary_build_window(
        &self,
        now: Micros,
    ) -> Result<Option<(SummaryBuild, Micros, Micros)>> {
        let row = self
            .conn()
            .query_row(
                &format!(
                    "WITH e AS (SELECT epoch_us(p.expires_at) AS expiry FROM suppressions p
                                WHERE p.revoked_at IS NULL AND p.expires_at IS NOT NULL)
                     SELECT s.build_id, s.identities, s.selection, s.fingerprint, s.fingerprint = {},
                        (SELECT max(expiry) FROM e WHERE expiry <= s.built_now),
                        (SELECT min(expiry) FROM e WHERE expiry > s.built_now)
                     FROM identity_summary_state s",
                    fingerprint()
                ),
                [],
                |r| {
                    let fingerprint: String = r.get(3)?;
                    Ok((
                        SummaryBuild {
                            build_id: r.get(0)?,
                            identities: r.get(1)?,
                            selection: r.get(2)?,
                            content: fingerprint
                                .rsplit_once('/')
                                .map_or("", |(content, _)| content)
                                .to_string(),
                        },
                        r.get::<_, bool>(4)?,
                        r.get::<_, Option<i64>>(5)?.unwrap_or(i64::MIN),
                        r.get::<_, Option<i64>>(6)?.unwrap_or(i64::MAX),
                    ))
                },
            )
            .optional()?;
        Ok(match row {
            // A suppression expiring at `t` is in force while `now < t`.
            Some((build, true, from, until)) if from <= now && now < until => {
                Some((build, from, until))
            }
            _ => None,
        })
    }

    /// Whether a summary was ever built for this store (a dashboard serves it).
    pub fn has_identity_summary(&self) -> Result<bool> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) > 0 FROM identity_summary_state", [], |r| {
                r.get(0)
            })?)
    }

    /// Rebuilds the summary unless it already matches the store (e.g. when serving a store
    /// a scan or an older build wrote). Returns whether it rebuilt.
    pub fn ensure_identity_summary(&mut self, now: Micros) -> Result<bool> {
        if self.summary_build(now)?.is_some() {
            return Ok(false);
        }
        self.refresh_identity_summary(now)?;
        Ok(true)
    }
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
