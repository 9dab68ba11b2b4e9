//! Inventory reads. Every query selects its snapshot through the `collections_at` macro
//! (current state, a point in time, or one scan) and binds every user value as a parameter.

use arrow::array::RecordBatch;
use duckdb::params;

use super::{Result, Store};
use crate::time::Micros;

/// Which state of the store a read looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Snapshot {
    /// For each source and collector, the latest scan in which the collector succeeded.
    #[default]
    Current,
    /// The same, among scans finished at or before the given time.
    AsOf(Micros),
    /// Exactly what one scan collected.
    Scan(i64),
}

impl Snapshot {
    /// The as-of time bound to a query's `collections_at` (none for current and scan).
    pub(crate) fn as_of(self) -> Option<Micros> {
        match self {
            Snapshot::AsOf(t) => Some(t),
            _ => None,
        }
    }
    /// The scan id bound to a query's `collections_at` (none for current and as-of).
    pub(crate) fn scan(self) -> Option<i64> {
        match self {
            Snapshot::Scan(id) => Some(id),
            _ => None,
        }
    }
}

/// Filters for the identity inventory. `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct InventoryFilter {
    pub snapshot: Snapshot,
    pub provider: Option<String>,
    pub tenant: Option<String>,
    pub kind: Option<String>,
    /// Substring of name, native id or unique id, or an exact credential id.
    pub search: Option<String>,
    /// Only identities with (`Some(true)`) or without (`Some(false)`) an owner candidate.
    pub has_owner: Option<bool>,
    pub limit: Option<usize>,
}

/// Filters for the credential inventory. `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct CredentialFilter {
    pub snapshot: Snapshot,
    pub provider: Option<String>,
    pub tenant: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    /// Substring of the credential id or of the holder's name or id.
    pub search: Option<String>,
    pub limit: Option<usize>,
}

/// Common table expressions selecting a snapshot; `$1` = as-of micros, `$2` = scan id.
const SNAPSHOT_CTES: &str = "
    sel AS (SELECT scan_id, collector FROM collections_at(make_timestamp($1::BIGINT), $2::BIGINT)),
    i AS (SELECT t.* FROM identities t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector),
    c AS (SELECT t.* FROM credentials t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector),
    o AS (SELECT t.* FROM ownership t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector)";

fn like(search: &Option<String>) -> Option<String> {
    search.as_ref().map(|s| format!("%{}%", s.trim()))
}

impl Store {
    /// Identities with their credential counts and owners, as Arrow batches.
    pub fn inventory(&self, f: &InventoryFilter) -> Result<Vec<RecordBatch>> {
        let sql = format!(
            "WITH {SNAPSHOT_CTES},
            cs AS (SELECT tenant, identity_id,
                       count(*) FILTER (WHERE kind = 'access_key') AS access_keys,
                       count(*) FILTER (WHERE kind = 'access_key' AND status = 'active') AS active_keys,
                       bool_or(kind = 'password' AND status = 'active') AS console_access,
                       min(created_at) FILTER (WHERE kind = 'access_key' AND status = 'active') AS oldest_active_key,
                       max(last_used_at) AS credential_last_used,
                       list(credential_id) AS credential_ids
                   FROM c WHERE identity_id IS NOT NULL GROUP BY tenant, identity_id),
            os AS (SELECT tenant, identity_id, string_agg(DISTINCT owner, ', ' ORDER BY owner) AS owners
                   FROM o GROUP BY tenant, identity_id)
            SELECT i.provider, i.tenant, i.kind, i.name, i.identity_id,
                   date_trunc('second', i.created_at) AS created_at,
                   date_trunc('second', greatest(i.last_used_at, cs.credential_last_used)) AS last_used_at,
                   coalesce(cs.active_keys, 0) AS active_keys,
                   coalesce(cs.access_keys, 0) AS access_keys,
                   coalesce(cs.console_access, false) AS console_access,
                   date_trunc('second', cs.oldest_active_key) AS oldest_active_key, os.owners
            FROM i LEFT JOIN cs ON cs.tenant = i.tenant AND cs.identity_id = i.identity_id
                   LEFT JOIN os ON os.tenant = i.tenant AND os.identity_id = i.identity_id
            WHERE ($3::VARCHAR IS NULL OR i.provider = $3)
              AND ($4::VARCHAR IS NULL OR i.tenant = $4)
              AND ($5::VARCHAR IS NULL OR i.kind = $5)
              AND ($6::VARCHAR IS NULL OR i.name ILIKE $6 OR i.identity_id ILIKE $6
                   OR i.unique_id ILIKE $6 OR list_contains(cs.credential_ids, $7::VARCHAR))
              AND ($8::BOOLEAN IS NULL OR $8 = (os.owners IS NOT NULL))
            ORDER BY i.provider, i.tenant, i.kind, i.name
            LIMIT $9"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let batches = stmt
            .query_arrow(params![
                f.snapshot.as_of(),
                f.snapshot.scan(),
                f.provider,
                f.tenant,
                f.kind,
                like(&f.search),
                f.search.as_ref().map(|s| s.trim().to_string()),
                f.has_owner,
                f.limit.unwrap_or(i64::MAX as usize) as i64
            ])?
            .collect();
        Ok(batches)
    }

    /// Credentials with their holder's name, as Arrow batches.
    pub fn credentials(&self, f: &CredentialFilter) -> Result<Vec<RecordBatch>> {
        let sql = format!(
            "WITH {SNAPSHOT_CTES}
            SELECT c.provider, c.tenant, c.kind, c.credential_id, i.name AS holder, c.status,
                   date_trunc('second', c.created_at) AS created_at,
                   date_trunc('second', c.last_used_at) AS last_used_at,
                   c.last_used_service, c.last_used_region,
                   date_trunc('second', c.expires_at) AS expires_at, c.fingerprint
            FROM c LEFT JOIN i ON i.tenant = c.tenant AND i.identity_id = c.identity_id
            WHERE ($3::VARCHAR IS NULL OR c.provider = $3)
              AND ($4::VARCHAR IS NULL OR c.tenant = $4)
              AND ($5::VARCHAR IS NULL OR c.kind = $5)
              AND ($6::VARCHAR IS NULL OR c.status = $6)
              AND ($7::VARCHAR IS NULL OR c.credential_id ILIKE $7 OR i.name ILIKE $7
                   OR c.identity_id ILIKE $7)
            ORDER BY c.provider, c.tenant, c.kind, holder, c.credential_id
            LIMIT $8"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let batches = stmt
            .query_arrow(params![
                f.snapshot.as_of(),
                f.snapshot.scan(),
                f.provider,
                f.tenant,
                f.kind,
                f.status,
                like(&f.search),
                f.limit.unwrap_or(i64::MAX as usize) as i64
            ])?
            .collect();
        Ok(batches)
    }

    /// Counts of identities and credentials by provider, tenant and kind.
    pub fn summary(&self, snapshot: Snapshot) -> Result<Vec<RecordBatch>> {
        let sql = format!(
            "WITH {SNAPSHOT_CTES}
            SELECT 'identity' AS object, provider, tenant, kind, count(*) AS total,
                   NULL::BIGINT AS active
            FROM i GROUP BY ALL
            UNION ALL
            SELECT 'credential', provider, tenant, kind, count(*),
                   count(*) FILTER (WHERE status = 'active')
            FROM c GROUP BY ALL
            ORDER BY 1 DESC, 2, 3, 4"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let batches = stmt
            .query_arrow(params![snapshot.as_of(), snapshot.scan()])?
            .collect();
        Ok(batches)
    }

    /// All rows of one table in the chosen snapshot (for exports, tests and analysis).
    pub fn table_rows(
        &self,
        table: crate::model::Table,
        snapshot: Snapshot,
    ) -> Result<Vec<RecordBatch>> {
        // The table name comes from the model's closed list, never from user input.
        let sql = format!(
            "WITH sel AS (SELECT scan_id, collector FROM collections_at(make_timestamp($1::BIGINT), $2::BIGINT))
             SELECT t.* FROM {} t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector",
            table.name()
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let batches = stmt
            .query_arrow(params![snapshot.as_of(), snapshot.scan()])?
            .collect();
        Ok(batches)
    }
}
