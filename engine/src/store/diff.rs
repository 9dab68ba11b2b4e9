//! Diff between two scans of one source: identities, credentials, policies, grants, trusts...
//! added, removed or changed. Only collectors that succeeded in *both* scans are compared, so a
//! collector that failed in one of them never shows its rows as removed or added.

use duckdb::params;
use serde::Serialize;

use super::{Result, Store, StoreError};
use crate::model::Table;

/// Columns whose change is usage, not configuration: not reported as a change.
const VOLATILE: &[&str] = &["last_used_at", "last_used_region", "last_used_service"];

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffEntry {
    pub table: &'static str,
    /// added, removed or changed.
    pub change: String,
    /// The row's key columns joined with ` | `.
    pub key: String,
    /// For `changed`: which columns differ.
    pub columns: Vec<String>,
}

/// Everything that differs between two scans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    pub from_scan: i64,
    pub to_scan: i64,
    /// Collectors compared (succeeded in both scans).
    pub compared: Vec<String>,
    /// Collectors left out because they failed in one of the scans.
    pub not_compared: Vec<String>,
    pub entries: Vec<DiffEntry>,
}

impl DiffReport {
    /// Entries of one table and change kind.
    pub fn of(&self, table: Table, change: &str) -> Vec<&DiffEntry> {
        self.entries
            .iter()
            .filter(|e| e.table == table.name() && e.change == change)
            .collect()
    }
}

fn diff_sql(table: Table) -> String {
    let keys = table.key_columns();
    let schema = table.data_schema();
    let compared: Vec<&str> = schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .filter(|c| !keys.contains(c) && !VOLATILE.contains(c))
        .collect();
    let on: Vec<String> = keys.iter().map(|k| format!("a.{k} = b.{k}")).collect();
    let key_expr: Vec<String> = keys
        .iter()
        .map(|k| format!("coalesce(b.{k}, a.{k})::VARCHAR"))
        .collect();
    let changed: Vec<String> = compared
        .iter()
        .map(|c| format!("CASE WHEN a.{c} IS DISTINCT FROM b.{c} THEN '{c}' END"))
        .collect();
    let any_changed: Vec<String> = compared
        .iter()
        .map(|c| format!("a.{c} IS DISTINCT FROM b.{c}"))
        .collect();
    format!(
        "WITH ok AS (SELECT collector FROM scan_collectors WHERE scan_id = $1 AND status = 'ok'
                     INTERSECT SELECT collector FROM scan_collectors WHERE scan_id = $2 AND status = 'ok'),
              a AS (SELECT * FROM {t} WHERE scan_id = $1 AND collector IN (SELECT collector FROM ok)),
              b AS (SELECT * FROM {t} WHERE scan_id = $2 AND collector IN (SELECT collector FROM ok))
         SELECT CASE WHEN a.scan_id IS NULL THEN 'added' WHEN b.scan_id IS NULL THEN 'removed'
                     ELSE 'changed' END AS change,
                concat_ws(' | ', {key}) AS key,
                CASE WHEN a.scan_id IS NULL OR b.scan_id IS NULL THEN []::VARCHAR[]
                     ELSE list_filter([{changed}], x -> x IS NOT NULL) END AS columns
         FROM a FULL OUTER JOIN b ON a.collector = b.collector AND {on}
         WHERE a.scan_id IS NULL OR b.scan_id IS NULL OR {any}
         ORDER BY 1, 2",
        t = table.name(),
        key = key_expr.join(", "),
        changed = changed.join(", "),
        on = on.join(" AND "),
        any = if any_changed.is_empty() {
            "false".to_string()
        } else {
            any_changed.join(" OR ")
        },
    )
}

impl Store {
    /// Differences from scan `from` to scan `to` (both of the same source).
    pub fn diff(&self, from: i64, to: i64) -> Result<DiffReport> {
        let a = self.scan(from)?;
        let b = self.scan(to)?;
        if a.source != b.source {
            return Err(StoreError::Invalid(format!(
                "scans {from} ({}) and {to} ({}) are of different sources",
                a.source, b.source
            )));
        }
        let ok = |s: &super::ScanRecord| -> Vec<String> {
            s.collectors
                .iter()
                .filter(|c| c.status == super::CollectorStatus::Ok)
                .map(|c| c.collector.clone())
                .collect()
        };
        let (ok_a, ok_b) = (ok(&a), ok(&b));
        let compared: Vec<String> = ok_a.iter().filter(|c| ok_b.contains(c)).cloned().collect();
        let mut not_compared: Vec<String> = a
            .collectors
            .iter()
            .chain(b.collectors.iter())
            .map(|c| c.collector.clone())
            .filter(|c| !compared.contains(c))
            .collect();
        not_compared.sort();
        not_compared.dedup();

        let mut entries = Vec::new();
        for table in Table::ALL {
            let mut stmt = self.conn().prepare(&diff_sql(table))?;
            let rows = stmt.query_map(params![from, to], |r| {
                let columns: duckdb::types::Value = r.get(2)?;
                let columns = match columns {
                    duckdb::types::Value::List(items) => items
                        .into_iter()
                        .filter_map(|v| match v {
                            duckdb::types::Value::Text(s) => Some(s),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                Ok(DiffEntry {
                    table: table.name(),
                    change: r.get(0)?,
                    key: r.get(1)?,
                    columns,
                })
            })?;
            for row in rows {
                entries.push(row?);
            }
        }
        Ok(DiffReport {
            from_scan: from,
            to_scan: to,
            compared,
            not_compared,
            entries,
        })
    }
}
