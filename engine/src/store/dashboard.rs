//! The dashboard's overview figures: identities and credentials by provider and kind, open
//! findings by rule, and trends across scans (long-lived and stale access keys per scan, and
//! findings per evaluation).

use duckdb::params;
use serde::Serialize;

use super::{Result, Snapshot, Store};
use crate::time::Micros;

/// How many objects of one provider and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindCount {
    /// identity or credential.
    pub object: String,
    pub provider: String,
    pub kind: String,
    pub total: i64,
    /// Active credentials (credentials only).
    pub active: Option<i64>,
}

/// Access-key hygiene in one scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanTrend {
    pub scan_id: i64,
    pub source: String,
    pub finished_at: Micros,
    pub active_keys: i64,
    /// Active access keys older than 90 days at the scan.
    pub long_lived: i64,
    /// Active access keys unused for 90 days (or never used and older) at the scan.
    pub stale: i64,
}

/// What one evaluation reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvaluationTrend {
    pub evaluation_id: i64,
    pub at: Micros,
    pub findings: i64,
    pub opened: i64,
    pub resolved: i64,
}

/// Findings of one rule by status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RuleCount {
    pub rule_id: String,
    pub open: i64,
    pub suppressed: i64,
    pub resolved: i64,
}

impl Store {
    /// Identities and credentials by provider and kind in a snapshot.
    pub fn kind_counts(&self, snapshot: Snapshot) -> Result<Vec<KindCount>> {
        let (as_of, scan) = (snapshot.as_of(), snapshot.scan());
        let mut stmt = self.conn().prepare(
            "WITH sel AS (SELECT scan_id, collector FROM collections_at(make_timestamp($1::BIGINT), $2::BIGINT))
             SELECT 'identity', provider, kind, count(*), NULL::BIGINT
             FROM identities t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector
             GROUP BY ALL
             UNION ALL
             SELECT 'credential', provider, kind, count(*), count(*) FILTER (WHERE status = 'active')
             FROM credentials t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector
             GROUP BY ALL
             ORDER BY 1 DESC, 2, 4 DESC",
        )?;
        let rows = stmt.query_map(params![as_of, scan], |r| {
            Ok(KindCount {
                object: r.get(0)?,
                provider: r.get(1)?,
                kind: r.get(2)?,
                total: r.get(3)?,
                active: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Access-key hygiene in each of the latest `limit` finished scans, oldest first.
    pub fn scan_trends(&self, limit: usize) -> Result<Vec<ScanTrend>> {
        let mut stmt = self.conn().prepare(
            "WITH s AS (SELECT scan_id, source, finished_at FROM scans
                        WHERE status IN ('complete', 'partial') AND finished_at IS NOT NULL
                        ORDER BY finished_at DESC LIMIT $1)
             SELECT s.scan_id, s.source, epoch_us(s.finished_at),
                    count(c.credential_id),
                    count(c.credential_id) FILTER (WHERE c.created_at < s.finished_at - INTERVAL (90) DAY),
                    count(c.credential_id) FILTER (WHERE coalesce(c.last_used_at, c.created_at)
                                                          < s.finished_at - INTERVAL (90) DAY)
             FROM s LEFT JOIN credentials c ON c.scan_id = s.scan_id AND c.kind = 'access_key'
                                              AND c.status = 'active'
             GROUP BY ALL ORDER BY 3, 1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            Ok(ScanTrend {
                scan_id: r.get(0)?,
                source: r.get(1)?,
                finished_at: r.get(2)?,
                active_keys: r.get(3)?,
                long_lived: r.get(4)?,
                stale: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The latest `limit` evaluations, oldest first.
    pub fn evaluation_trends(&self, limit: usize) -> Result<Vec<EvaluationTrend>> {
        let mut stmt = self.conn().prepare(
            "SELECT * FROM (SELECT evaluation_id, epoch_us(evaluated_at), findings, opened + reopened, resolved
                            FROM evaluations ORDER BY evaluation_id DESC LIMIT ?)
             ORDER BY 1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            Ok(EvaluationTrend {
                evaluation_id: r.get(0)?,
                at: r.get(1)?,
                findings: r.get(2)?,
                opened: r.get(3)?,
                resolved: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Findings per rule by status, with the suppression overlay at `now`.
    pub fn rule_counts(&self, now: Micros) -> Result<Vec<RuleCount>> {
        let mut stmt = self.conn().prepare(&format!(
            "WITH {} SELECT rule_id, count(*) FILTER (WHERE shown = 'open'),
                    count(*) FILTER (WHERE shown = 'suppressed'), count(*) FILTER (WHERE shown = 'resolved')
             FROM listed GROUP BY rule_id ORDER BY rule_id",
            super::findings::LISTED
        ))?;
        let rows = stmt.query_map(params![now], |r| {
            Ok(RuleCount {
                rule_id: r.get(0)?,
                open: r.get(1)?,
                suppressed: r.get(2)?,
                resolved: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}

impl Store {
    /// The rule and resource of one finding (to look it up through `findings`), if it exists.
    pub fn finding_key(&self, finding_id: &str) -> Result<Option<(String, String)>> {
        use duckdb::OptionalExt;
        Ok(self
            .conn()
            .query_row(
                "SELECT rule_id, resource FROM findings WHERE finding_id = ?",
                params![finding_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}
