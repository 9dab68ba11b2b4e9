//! Scan lifecycle and history. A scan is a snapshot of one source (an AWS account, a tenant,
//! an org): `begin` → `write_collection` + `record_collector` per collector → `finish`.

use duckdb::params;
use serde::Serialize;

use super::{Result, Store, StoreError};
use crate::model::{to_record_batch, EventBatchBuilder, RowSet, Stamp, Table};
use crate::time::Micros;

/// Overall status of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanStatus {
    /// Started and not finished (or the process died).
    Running,
    /// Every collector succeeded.
    Complete,
    /// Some collectors failed; the others' data is in force.
    Partial,
    /// No collector succeeded.
    Failed,
}

impl ScanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanStatus::Running => "running",
            ScanStatus::Complete => "complete",
            ScanStatus::Partial => "partial",
            ScanStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> ScanStatus {
        match s {
            "complete" => ScanStatus::Complete,
            "partial" => ScanStatus::Partial,
            "failed" => ScanStatus::Failed,
            _ => ScanStatus::Running,
        }
    }

    /// The status a scan gets from its collectors' outcomes.
    pub fn from_collectors(records: &[CollectorRecord]) -> ScanStatus {
        let ok = records
            .iter()
            .filter(|r| r.status == CollectorStatus::Ok)
            .count();
        let failed = records
            .iter()
            .filter(|r| r.status == CollectorStatus::Failed)
            .count();
        match (ok, failed) {
            (0, _) => ScanStatus::Failed,
            (_, 0) => ScanStatus::Complete,
            _ => ScanStatus::Partial,
        }
    }
}

/// Outcome of one collector within a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CollectorStatus {
    Ok,
    Failed,
}

impl CollectorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectorStatus::Ok => "ok",
            CollectorStatus::Failed => "failed",
        }
    }
}

/// What one collector did in one scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectorRecord {
    pub collector: String,
    pub status: CollectorStatus,
    pub items: i64,
    pub api_calls: i64,
    pub duration_ms: i64,
    pub error: Option<String>,
    /// The tables a successful collection wrote rows to.
    pub tables: Vec<String>,
}

impl CollectorRecord {
    /// A successful collection of `rows`.
    pub fn ok(collector: &str, rows: &RowSet, api_calls: i64, duration_ms: i64) -> CollectorRecord {
        CollectorRecord {
            collector: collector.to_string(),
            status: CollectorStatus::Ok,
            items: rows.len() as i64,
            api_calls,
            duration_ms,
            error: None,
            tables: rows.table_names().into_iter().map(str::to_string).collect(),
        }
    }

    /// A failed collection.
    pub fn failed(
        collector: &str,
        error: String,
        api_calls: i64,
        duration_ms: i64,
    ) -> CollectorRecord {
        CollectorRecord {
            collector: collector.to_string(),
            status: CollectorStatus::Failed,
            items: 0,
            api_calls,
            duration_ms,
            error: Some(error),
            tables: Vec::new(),
        }
    }
}

/// One row of scan history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanRecord {
    pub scan_id: i64,
    pub source: String,
    pub provider: String,
    pub tenant: String,
    pub started_at: Micros,
    pub finished_at: Option<Micros>,
    pub status: ScanStatus,
    pub api_calls: Option<i64>,
    pub tool_version: String,
    pub collectors: Vec<CollectorRecord>,
}

impl Store {
    /// Starts a scan of `source` and returns its id.
    pub fn begin_scan(
        &mut self,
        source: &str,
        provider: &str,
        tenant: &str,
        started_at: Micros,
    ) -> Result<i64> {
        let id: i64 = self
            .conn
            .query_row("SELECT nextval('scan_ids')", [], |r| r.get(0))?;
        self.conn.execute(
            "INSERT INTO scans (scan_id, source, provider, tenant, started_at, status, tool_version)
             VALUES (?, ?, ?, ?, make_timestamp(?::BIGINT), 'running', ?)",
            params![id, source, provider, tenant, started_at, env!("CARGO_PKG_VERSION")],
        )?;
        self.summary_touched();
        Ok(id)
    }

    /// Writes the rows one collector produced, in one transaction, through the Arrow appender.
    pub fn write_collection(&mut self, stamp: &Stamp, rows: &RowSet) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let write = |table: Table, batches: Vec<arrow::array::RecordBatch>| -> Result<()> {
                if batches.is_empty() {
                    return Ok(());
                }
                let mut appender = tx.appender(table.name())?;
                for batch in batches {
                    appender.append_record_batch(batch)?;
                }
                appender.flush()?;
                Ok(())
            };
            write(
                Table::Identities,
                to_record_batch(Table::Identities, stamp, &rows.identities)?,
            )?;
            write(
                Table::Credentials,
                to_record_batch(Table::Credentials, stamp, &rows.credentials)?,
            )?;
            write(
                Table::Policies,
                to_record_batch(Table::Policies, stamp, &rows.policies)?,
            )?;
            write(
                Table::Grants,
                to_record_batch(Table::Grants, stamp, &rows.grants)?,
            )?;
            write(
                Table::Trusts,
                to_record_batch(Table::Trusts, stamp, &rows.trusts)?,
            )?;
            write(
                Table::Ownership,
                to_record_batch(Table::Ownership, stamp, &rows.ownership)?,
            )?;
            write(
                Table::Tags,
                to_record_batch(Table::Tags, stamp, &rows.tags)?,
            )?;
            write(
                Table::Memberships,
                to_record_batch(Table::Memberships, stamp, &rows.memberships)?,
            )?;
            write(
                Table::FederationProviders,
                to_record_batch(
                    Table::FederationProviders,
                    stamp,
                    &rows.federation_providers,
                )?,
            )?;
            // Events carry their own provider and tenant (a fixture may span accounts); the
            // stamp fills them when empty.
            if !rows.events.is_empty() {
                let mut builder = EventBatchBuilder::new(stamp.scan_id, &stamp.collector);
                for e in &rows.events {
                    let mut e = e.clone();
                    if e.provider.is_empty() {
                        e.provider.clone_from(&stamp.provider);
                    }
                    if e.tenant.is_empty() {
                        e.tenant.clone_from(&stamp.tenant);
                    }
                    builder.push(&e);
                }
                write(Table::Events, vec![builder.finish()?])?;
            }
        }
        tx.commit()?;
        self.summary_touched();
        Ok(())
    }

    /// Records what one collector did.
    pub fn record_collector(&mut self, scan_id: i64, record: &CollectorRecord) -> Result<()> {
        self.conn.execute(
            "INSERT INTO scan_collectors VALUES (?, ?, ?, ?, ?, ?, ?, string_split(?, ','))",
            params![
                scan_id,
                record.collector,
                record.status.as_str(),
                record.items,
                record.api_calls,
                record.duration_ms,
                record.error,
                (record.status == CollectorStatus::Ok).then(|| record.tables.join(","))
            ],
        )?;
        self.summary_touched();
        Ok(())
    }

    /// Closes a scan; its status follows from the recorded collectors.
    pub fn finish_scan(
        &mut self,
        scan_id: i64,
        finished_at: Micros,
        api_calls: Option<i64>,
        summary: Option<&str>,
    ) -> Result<ScanStatus> {
        let records = self.collectors_of(scan_id)?;
        let status = ScanStatus::from_collectors(&records);
        let changed = self.conn.execute(
            "UPDATE scans SET finished_at = make_timestamp(?::BIGINT), status = ?, api_calls = ?, summary = ?
             WHERE scan_id = ?",
            params![finished_at, status.as_str(), api_calls, summary, scan_id],
        )?;
        if changed == 0 {
            return Err(StoreError::ScanNotFound(scan_id));
        }
        self.summary_touched();
        Ok(status)
    }

    /// The collectors recorded for a scan.
    pub fn collectors_of(&self, scan_id: i64) -> Result<Vec<CollectorRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT collector, status, items, api_calls, duration_ms, error,
                    coalesce(array_to_string(tables, ','), '')
             FROM scan_collectors WHERE scan_id = ? ORDER BY collector",
        )?;
        let rows = stmt.query_map(params![scan_id], |r| {
            let status: String = r.get(1)?;
            Ok(CollectorRecord {
                collector: r.get(0)?,
                status: if status == "ok" {
                    CollectorStatus::Ok
                } else {
                    CollectorStatus::Failed
                },
                items: r.get(2)?,
                api_calls: r.get(3)?,
                duration_ms: r.get(4)?,
                error: r.get(5)?,
                tables: {
                    let t: String = r.get(6)?;
                    t.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                },
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Scan history, newest first, optionally for one source.
    pub fn scans(&self, source: Option<&str>, limit: usize) -> Result<Vec<ScanRecord>> {
        self.scan_rows(
            "(?1::VARCHAR IS NULL OR source = ?1) ORDER BY scan_id DESC LIMIT ?2",
            params![source, limit as i64],
        )
    }

    /// One scan with its collectors.
    pub fn scan(&self, scan_id: i64) -> Result<ScanRecord> {
        self.scan_rows("scan_id = ?1", params![scan_id])?
            .pop()
            .ok_or(StoreError::ScanNotFound(scan_id))
    }

    /// Scans matching `filter` (a fixed SQL condition of this module), with their collectors.
    fn scan_rows(&self, filter: &str, args: &[&dyn duckdb::ToSql]) -> Result<Vec<ScanRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT scan_id, source, provider, tenant, epoch_us(started_at), epoch_us(finished_at),
                    status, api_calls, tool_version
             FROM scans WHERE {filter}"
        ))?;
        let mut out = stmt
            .query_map(args, |r| {
                let status: String = r.get(6)?;
                Ok(ScanRecord {
                    scan_id: r.get(0)?,
                    source: r.get(1)?,
                    provider: r.get(2)?,
                    tenant: r.get(3)?,
                    started_at: r.get(4)?,
                    finished_at: r.get(5)?,
                    status: ScanStatus::parse(&status),
                    api_calls: r.get(7)?,
                    tool_version: r.get(8)?,
                    collectors: Vec::new(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for scan in &mut out {
            scan.collectors = self.collectors_of(scan.scan_id)?;
        }
        Ok(out)
    }
}
