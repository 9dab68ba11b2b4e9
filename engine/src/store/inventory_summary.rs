//! The inventory cut from the identity summary ([`super::summary`]): the same page as
//! [`Store::inventory_page_with`] computes by aggregating, read from one row per identity.
//! The sort is a precomputed position per sort order, so a page is `WHERE position > cursor
//! ORDER BY position LIMIT n` (the summary is stored in name order, so name pages also skip
//! row groups by their zone maps). Only the filters asked for appear in the SQL text, each
//! from this module's constants; every value is a bound parameter.

use duckdb::types::ToSql;
use duckdb::OptionalExt;

use super::inventory_page::{
    inventory_item, InventoryCursor, InventoryPage, InventoryQuery, InventorySort, KeyAge,
    STALE_DAYS,
};
use super::summary::SummaryBuild;
use super::{Result, Store};
use crate::rules::Severity;
use crate::time::{Micros, DAY};

/// The summary's position column for a sort (a closed list).
fn position_column(sort: InventorySort) -> &'static str {
    match sort {
        InventorySort::Name => "r_name",
        InventorySort::Kind => "r_kind",
        InventorySort::Created => "r_created",
        InventorySort::LastUsed => "r_last_used",
        InventorySort::KeyAge => "r_key_age",
        InventorySort::Findings => "r_findings",
    }
}

/// The query's filters as SQL conditions over `identity_summary s` and their values.
struct Filters {
    sql: Vec<String>,
    values: Vec<Box<dyn ToSql>>,
}

impl Filters {
    fn push(&mut self, sql: &str, values: Vec<Box<dyn ToSql>>) {
        self.sql.push(sql.to_string());
        self.values.extend(values);
    }

    /// `holders`: the (tenant, identity id) holding a credential whose id is the search text.
    fn of(q: &InventoryQuery, now: Micros, holders: &[(String, String)]) -> Filters {
        let mut f = Filters {
            sql: Vec::new(),
            values: Vec::new(),
        };
        if let Some(p) = &q.provider {
            f.push("s.provider = ?", vec![Box::new(p.clone())]);
        }
        if let Some(t) = &q.tenant {
            f.push("s.tenant = ?", vec![Box::new(t.clone())]);
        }
        if let Some(k) = &q.kind {
            f.push("s.kind = ?", vec![Box::new(k.clone())]);
        }
        if let Some(search) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let like = format!("%{search}%");
            let mut sql = String::from(
                "(s.name ILIKE ? OR s.identity_id ILIKE ? OR s.unique_id ILIKE ? OR s.owners ILIKE ?",
            );
            let mut values: Vec<Box<dyn ToSql>> = vec![
                Box::new(like.clone()),
                Box::new(like.clone()),
                Box::new(like.clone()),
                Box::new(like),
            ];
            for (tenant, id) in holders {
                sql.push_str(" OR (s.tenant = ? AND s.identity_id = ?)");
                values.push(Box::new(tenant.clone()));
                values.push(Box::new(id.clone()));
            }
            sql.push(')');
            f.push(&sql, values);
        }
        match q.has_owner {
            Some(true) => f.push("s.owners IS NOT NULL", vec![]),
            Some(false) => f.push("s.owners IS NULL", vec![]),
            None => {}
        }
        match q.has_findings {
            Some(true) => f.push("s.open_findings > 0", vec![]),
            Some(false) => f.push("s.open_findings = 0", vec![]),
            None => {}
        }
        if let Some(sev) = q.min_severity {
            let rank = Severity::ALL.iter().position(|x| *x == sev).unwrap_or(0) as i64;
            f.push("s.max_rank >= ?", vec![Box::new(rank)]);
        }
        let stale_before = now - STALE_DAYS * DAY;
        match q.stale {
            Some(true) => f.push(
                "coalesce(s.last_used, s.created, 0) < ?",
                vec![Box::new(stale_before)],
            ),
            Some(false) => f.push(
                "coalesce(s.last_used, s.created, 0) >= ?",
                vec![Box::new(stale_before)],
            ),
            None => {}
        }
        let (d90, d365) = (now - 90 * DAY, now - 365 * DAY);
        match q.key_age {
            Some(KeyAge::NoKey) => f.push("s.oldest_key IS NULL", vec![]),
            Some(KeyAge::Under90Days) => f.push("s.oldest_key >= ?", vec![Box::new(d90)]),
            Some(KeyAge::From90To365Days) => f.push(
                "s.oldest_key < ? AND s.oldest_key >= ?",
                vec![Box::new(d90), Box::new(d365)],
            ),
            Some(KeyAge::Over365Days) => f.push("s.oldest_key < ?", vec![Box::new(d365)]),
            None => {}
        }
        f
    }

    fn where_sql(&self) -> String {
        if self.sql.is_empty() {
            "TRUE".into()
        } else {
            self.sql.join(" AND ")
        }
    }
}

fn refs(values: &[Box<dyn ToSql>]) -> Vec<&dyn ToSql> {
    values.iter().map(|v| v.as_ref()).collect()
}

impl Store {
    /// One inventory page of the current snapshot from summary build `build`.
    pub(crate) fn inventory_page_from_summary(
        &self,
        q: &InventoryQuery,
        now: Micros,
        build: SummaryBuild,
    ) -> Result<InventoryPage> {
        let build = &build;
        let pos = position_column(q.sort);
        let key = q.sort.key_sql();
        let (cmp, dir) = if q.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let limit = q.limit.unwrap_or(50).clamp(1, 1000);
        let holders = match q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(search) => self.credential_holders(search)?,
            None => Vec::new(),
        };
        let filters = Filters::of(q, now, &holders);
        let mut from = match &q.after {
            None => None,
            Some(c) => Some(self.summary_position(q, c, build)?),
        };
        // Unfiltered, positions are 1..=identities: the page is a range of them, which DuckDB
        // finds with a filter instead of sorting every row.
        let (upto_cmp, upto) = if q.descending {
            (
                ">=",
                from.unwrap_or(build.identities + 1) - limit as i64 - 1,
            )
        } else {
            ("<=", from.unwrap_or(0) + limit as i64 + 1)
        };
        let range = filters.sql.is_empty();
        if range && from.is_none() {
            from = Some(if q.descending {
                build.identities + 1
            } else {
                0
            });
        }
        let where_sql = filters.where_sql();
        // A search matches few rows: its first page counts them in the same scan.
        let counted = q.search.is_some() && from.is_none();
        let sql = format!(
            "SELECT provider, tenant, kind, name, identity_id, created, last_used, active_keys,
                    oldest_key, owners, open_findings, max_rank, {key} AS sort_key, pos, total
             FROM (SELECT s.*, s.{pos} AS pos, {total} AS total FROM identity_summary s
                   WHERE {where_sql} {after} {upto}
                   ORDER BY s.{pos} {dir} LIMIT ?)
             ORDER BY pos {dir}",
            after = if from.is_some() {
                format!("AND s.{pos} {cmp} ?")
            } else {
                String::new()
            },
            upto = if range {
                format!("AND s.{pos} {upto_cmp} ?")
            } else {
                String::new()
            },
            total = if counted {
                "count(*) OVER ()"
            } else {
                "NULL::BIGINT"
            }
        );
        let mut values = refs(&filters.values);
        let (from_value, limit_value) = (from.unwrap_or(0), (limit + 1) as i64);
        if from.is_some() {
            values.push(&from_value);
        }
        if range {
            values.push(&upto);
        }
        values.push(&limit_value);
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(values.as_slice(), |r| {
            Ok((
                inventory_item(r)?,
                r.get::<_, String>(12)?,
                r.get::<_, i64>(13)?,
                r.get::<_, Option<i64>>(14)?,
            ))
        })?;
        let mut items = Vec::new();
        let mut keys = Vec::new();
        let mut counted_total = 0;
        for row in rows {
            let (item, key, position, total) = row?;
            items.push(item);
            keys.push((key, position));
            counted_total = total.unwrap_or(0);
        }
        let total = if filters.sql.is_empty() {
            build.identities
        } else if counted {
            counted_total
        } else {
            let mut stmt = self.conn().prepare(&format!(
                "SELECT count(*) FROM identity_summary s WHERE {where_sql}"
            ))?;
            stmt.query_row(refs(&filters.values).as_slice(), |r| r.get(0))?
        };
        let next = if items.len() > limit {
            items.truncate(limit);
            let last = &items[limit - 1];
            let (key, position) = keys.swap_remove(limit - 1);
            Some(InventoryCursor {
                key,
                tenant: last.tenant.clone(),
                identity_id: last.identity_id.clone(),
                position: Some((build.build_id, position)),
            })
        } else {
            None
        };
        Ok(InventoryPage { items, total, next })
    }

    /// Who holds the credential with id `credential_id` in the current snapshot (a point
    /// lookup in `credential_lookup`, which is stored in hash order).
    pub(crate) fn credential_holders(&self, credential_id: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn().prepare(
            "SELECT DISTINCT tenant, identity_id FROM credential_lookup
             WHERE id_hash = hash($1::VARCHAR) AND credential_id = $1",
        )?;
        let rows = stmt.query_map(duckdb::params![credential_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// The summary position a cursor stands for: its own when it came from this build, else
    /// found from its key, tenant and id (the position just before the first row past it).
    fn summary_position(
        &self,
        q: &InventoryQuery,
        c: &InventoryCursor,
        build: &SummaryBuild,
    ) -> Result<i64> {
        if let Some((b, p)) = c.position {
            if b == build.build_id {
                return Ok(p);
            }
        }
        let pos = position_column(q.sort);
        let key = q.sort.key_sql();
        let (cmp, agg, step, none) = if q.descending {
            ("<", "max", "+ 1", "1")
        } else {
            (">", "min", "- 1", "count(*)")
        };
        let sql = format!(
            "SELECT coalesce({agg}({pos}) FILTER (WHERE sort_key {cmp} $1
                        OR (sort_key = $1 AND (tenant {cmp} $2 OR (tenant = $2 AND identity_id {cmp} $3)))) {step},
                    {none})
             FROM (SELECT {key} AS sort_key, tenant, identity_id, {pos} FROM identity_summary)"
        );
        let p: Option<i64> = self
            .conn()
            .query_row(&sql, duckdb::params![c.key, c.tenant, c.identity_id], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(p.unwrap_or(0))
    }
}
