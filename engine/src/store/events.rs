//! The write path of normalised log events. An ingest run is a scan of source `logs` with one
//! collector, `ingest:<scan id>`, unique to the run (so every run stays in force, see
//! migration 0004). Batches are appended through the Arrow appender into a temporary staging
//! table; [`Store::flush_events`] moves them into `events` in one transaction, keeping one row
//! per (provider, event_id, event_time) (a duplicate is the same record, so it has the same
//! time) and skipping what is already stored, so memory stays bounded by the staging size and
//! duplicates are counted, never stored.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use duckdb::params;

use super::{CollectorRecord, CollectorStatus, Result, ScanStatus, Store};
use crate::time::Micros;

/// The source every ingest run is recorded under.
pub const LOGS_SOURCE: &str = "logs";

/// One ingest run being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestRun {
    pub scan_id: i64,
    /// `ingest:<scan_id>`: the collector stamped on every event of the run.
    pub collector: String,
}

/// A record that could not be normalised, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub file: String,
    pub line: i64,
    pub source_format: Option<String>,
    pub reason: String,
}

const STAGING: &str = "events_staging";

impl Store {
    /// Starts an ingest run at `started_at`.
    pub fn begin_ingest(&mut self, started_at: Micros) -> Result<IngestRun> {
        let scan_id = self.begin_scan(LOGS_SOURCE, LOGS_SOURCE, "ingest", started_at)?;
        self.conn.execute_batch(&format!(
            "CREATE TEMP TABLE IF NOT EXISTS {STAGING} AS SELECT * FROM events LIMIT 0;
             DELETE FROM {STAGING};"
        ))?;
        Ok(IngestRun {
            scan_id,
            collector: format!("ingest:{scan_id}"),
        })
    }

    /// Appends one batch (in `Table::Events`' schema) to the run's staging table.
    pub fn stage_events(&mut self, batch: RecordBatch) -> Result<()> {
        let mut appender = self
            .conn
            .appender_to_catalog_and_db(STAGING, "temp", "main")?;
        appender.append_record_batch(batch)?;
        appender.flush()?;
        Ok(())
    }

    /// Moves the staged events into `events`: one row per (provider, event_id, event_time), nothing that
    /// is already stored. Returns how many rows of each source format were stored.
    pub fn flush_events(&mut self, run: &IngestRun) -> Result<BTreeMap<String, i64>> {
        // A duplicate is the same record, so it has the same time: bounding the lookup by the
        // staged time range lets DuckDB skip the row groups of `events` outside it.
        let (lo, hi): (Option<i64>, Option<i64>) = self.conn.query_row(
            &format!("SELECT epoch_us(min(event_time)), epoch_us(max(event_time)) FROM {STAGING}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let tx = self.conn.transaction()?;
        tx.execute(
            &format!(
                "INSERT INTO events
                 SELECT s.* FROM (SELECT * FROM {STAGING}
                                  QUALIFY row_number() OVER (PARTITION BY provider, event_id, event_time ORDER BY raw_ref) = 1) s
                 WHERE NOT EXISTS (SELECT 1 FROM events e
                                   WHERE e.event_time BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT)
                                     AND e.provider = s.provider AND e.event_id = s.event_id
                                     AND e.event_time = s.event_time)"
            ),
            params![lo, hi],
        )?;
        tx.execute_batch(&format!("DELETE FROM {STAGING}"))?;
        tx.commit()?;
        self.stored_events(run)
    }

    /// Rows of each source format stored by `run` so far.
    pub fn stored_events(&self, run: &IngestRun) -> Result<BTreeMap<String, i64>> {
        let mut stmt = self.conn.prepare(
            "SELECT source_format, count(*) FROM events WHERE scan_id = ? GROUP BY source_format",
        )?;
        let rows = stmt.query_map(params![run.scan_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records quarantined records of `run`.
    pub fn quarantine(&mut self, run: &IngestRun, records: &[Quarantined]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut appender = tx.appender("ingest_quarantine")?;
            for q in records {
                appender.append_row(params![
                    run.scan_id,
                    q.file,
                    q.line,
                    q.source_format,
                    q.reason
                ])?;
            }
            appender.flush()?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Owner candidates from the issuance events `run` stored: whoever created an identity or
    /// issued it a credential (CreateUser, CreateRole, CreateAccessKey, CreateLoginProfile,
    /// CreateServiceAccount(Key), added service principal credentials, ...) becomes an
    /// `ownership` row with source `creator` and the event as evidence. Self-issued credentials
    /// (a key rotating itself) name no owner. Returns the rows written.
    pub fn derive_ownership(&mut self, run: &IngestRun) -> Result<usize> {
        let n = self.conn.execute(
            "INSERT INTO ownership
             SELECT DISTINCT ON (provider, tenant, identity_id, owner)
                    scan_id, collector, provider, tenant, identity_id, owner, 'creator',
                    action || ' at ' || strftime(event_time, '%Y-%m-%dT%H:%M:%SZ')
                        || coalesce(' issuing ' || issued_credential_id, '') || ' (' || raw_ref || ')'
             FROM (
                 SELECT e.*, coalesce(e.actor, e.actor_id) AS owner,
                     CASE
                         WHEN e.source_format = 'cloudtrail' AND e.target LIKE 'arn:%' THEN
                             CASE WHEN e.action IN ('CreateUser', 'CreateRole', 'CreateAccessKey',
                                                    'CreateLoginProfile', 'UploadSSHPublicKey',
                                                    'CreateServiceSpecificCredential')
                                  THEN e.target END
                         WHEN e.source_format = 'cloudtrail' AND e.action IN
                              ('CreateUser', 'CreateAccessKey', 'CreateLoginProfile',
                               'UploadSSHPublicKey', 'CreateServiceSpecificCredential',
                               'UploadSigningCertificate')
                             THEN 'arn:aws:iam::' || e.tenant || ':user/' || e.target
                         WHEN e.source_format = 'cloudtrail' AND e.action = 'CreateRole'
                             THEN 'arn:aws:iam::' || e.tenant || ':role/' || e.target
                         WHEN e.source_format = 'gcp_audit' AND e.action IN
                              ('google.iam.admin.v1.CreateServiceAccountKey',
                               'google.iam.admin.v1.CreateServiceAccount')
                             THEN nullif(regexp_extract(e.target, 'serviceAccounts/([^/]+)', 1), '')
                         WHEN e.source_format = 'entra_audit'
                              AND (e.issued_credential_id IS NOT NULL
                                   OR e.action IN ('Add service principal', 'Add application',
                                                   'Add service principal credentials'))
                             THEN e.target
                     END AS identity_id
                 FROM events e
                 WHERE e.scan_id = ? AND e.outcome <> 'failure' AND e.target IS NOT NULL
             ) c
             WHERE identity_id IS NOT NULL AND owner IS NOT NULL AND owner <> identity_id
             ORDER BY provider, tenant, identity_id, owner, event_time",
            params![run.scan_id],
        )?;
        Ok(n)
    }

    /// Closes `run`: records its collector (items = events stored) and finishes the scan.
    pub fn finish_ingest(
        &mut self,
        run: &IngestRun,
        finished_at: Micros,
        duration_ms: i64,
        summary: &str,
    ) -> Result<ScanStatus> {
        let stored: i64 = self.stored_events(run)?.values().sum();
        let owners: i64 = self.conn.query_row(
            "SELECT count(*) FROM ownership WHERE scan_id = ?",
            params![run.scan_id],
            |r| r.get(0),
        )?;
        let mut tables = vec!["events".to_string()];
        if owners > 0 {
            tables.push("ownership".into());
        }
        let record = CollectorRecord {
            collector: run.collector.clone(),
            status: CollectorStatus::Ok,
            items: stored,
            api_calls: 0,
            duration_ms,
            error: None,
            tables,
        };
        self.record_collector(run.scan_id, &record)?;
        self.finish_scan(run.scan_id, finished_at, None, Some(summary))
    }

    /// The quarantined records of one run, in file and line order.
    pub fn quarantined(&self, scan_id: i64) -> Result<Vec<Quarantined>> {
        let mut stmt = self.conn.prepare(
            "SELECT file, line, source_format, reason FROM ingest_quarantine
             WHERE scan_id = ? ORDER BY file, line",
        )?;
        let rows = stmt.query_map(params![scan_id], |r| {
            Ok(Quarantined {
                file: r.get(0)?,
                line: r.get(1)?,
                source_format: r.get(2)?,
                reason: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventBatchBuilder, EventRow, Table};

    fn event(id: &str, format: &str, raw: &str) -> EventRow {
        EventRow {
            provider: "aws".into(),
            tenant: "111122223333".into(),
            event_id: id.into(),
            event_time: 1_700_000_000_000_000,
            source_format: format.into(),
            action: "GetCallerIdentity".into(),
            outcome: "success".into(),
            raw_ref: raw.into(),
            ..Default::default()
        }
    }

    fn stage(store: &mut Store, run: &IngestRun, rows: &[EventRow]) {
        let mut b = EventBatchBuilder::new(run.scan_id, &run.collector);
        for r in rows {
            b.push(r);
        }
        store
            .stage_events(b.finish().expect("batch"))
            .expect("stage");
    }

    #[test]
    fn events_are_stored_once_per_provider_and_id_across_runs() {
        let mut store = Store::open_in_memory().expect("store");
        let run = store.begin_ingest(1).expect("begin");
        stage(
            &mut store,
            &run,
            &[
                event("a", "cloudtrail", "f:1"),
                event("a", "cloudtrail", "f:2"),
                event("b", "cloudtrail", "f:3"),
            ],
        );
        let stored = store.flush_events(&run).expect("flush");
        assert_eq!(stored.get("cloudtrail"), Some(&2));
        store
            .quarantine(
                &run,
                &[Quarantined {
                    file: "f".into(),
                    line: 4,
                    source_format: Some("cloudtrail".into()),
                    reason: "missing field `eventTime`".into(),
                }],
            )
            .expect("quarantine");
        assert_eq!(
            store.finish_ingest(&run, 2, 0, "ok").expect("finish"),
            ScanStatus::Complete
        );

        let second = store.begin_ingest(3).expect("begin");
        assert_ne!(second.collector, run.collector);
        stage(
            &mut store,
            &second,
            &[
                event("b", "cloudtrail", "g:1"),
                event("c", "cloudtrail", "g:2"),
            ],
        );
        assert_eq!(
            store
                .flush_events(&second)
                .expect("flush")
                .get("cloudtrail"),
            Some(&1)
        );
        store.finish_ingest(&second, 4, 0, "ok").expect("finish");

        // Both runs stay in force in the current view.
        let n: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM current_events", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 3);
        let owners = store.derive_ownership(&second).expect("ownership");
        assert_eq!(owners, 0, "no issuance event in this run");
        let q = store.quarantined(run.scan_id).expect("quarantined");
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].line, 4);
        assert_eq!(Table::Events.name(), "events");
    }
}
