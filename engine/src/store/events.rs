//! The write path of normalised log events. An ingest run is a scan of source `logs` with one
//! collector, `ingest:<scan id>`, unique to the run (so every run stays in force, see
//! migration 0004). Each parsing thread appends its batches through its own [`EventWriter`]
//! (a connection of its own, one transaction for the whole run, so DuckDB compresses and
//! writes row groups on every thread at once), then [`Store::finish_ingest`] deletes what the
//! run stored twice or what earlier runs already stored (one row per (provider, event_id,
//! event_time): a duplicate is the same record, so it has the same time) and closes the scan.
//! Rows of a run are invisible until it finishes (the current views read finished scans); a
//! run that fails is deleted ([`Store::abort_ingest`]) and one a dead process left `running`
//! is deleted by the next run.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use duckdb::params;

use super::{batch_scan, CollectorRecord, CollectorStatus, Result, ScanStatus, Store};
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

/// What the parsing side counted of a run, for its summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestTotals {
    /// Records read (normalised or quarantined).
    pub read: u64,
    /// Events appended (before dedupe).
    pub appended: u64,
    pub quarantined: u64,
}

/// What closing a run kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestClosed {
    /// Events kept per source format.
    pub stored: BTreeMap<String, i64>,
    /// Owner candidates written to `ownership`.
    pub owner_candidates: usize,
    pub status: ScanStatus,
}

/// Appends one thread's events of a run through its own connection and transaction.
pub struct EventWriter {
    conn: duckdb::Connection,
}

impl EventWriter {
    /// Appends one batch (in `Table::Events`' schema), inserted straight from the batch
    /// (`batch_scan`). The id is our own number, so it is written into the statement, which
    /// is therefore bound afresh for each batch.
    pub fn append(&mut self, batch: RecordBatch) -> Result<()> {
        let handed = batch_scan::hand_over(batch);
        self.conn.execute_batch(&format!(
            "INSERT INTO events SELECT * FROM {}({}::UBIGINT)",
            batch_scan::FUNCTION,
            handed.id()
        ))?;
        Ok(())
    }

    /// Commits what was appended (invisible until the run is finished).
    pub fn commit(self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }
}

impl Store {
    /// Starts an ingest run at `started_at`. What runs a dead process left `running` wrote is
    /// deleted first and they are marked failed.
    pub fn begin_ingest(&mut self, started_at: Micros) -> Result<IngestRun> {
        let interrupted: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT scan_id FROM scans WHERE source = ? AND status = 'running'")?;
            let ids = stmt.query_map(params![LOGS_SOURCE], |r| r.get(0))?;
            ids.collect::<Result<_, _>>()?
        };
        for scan_id in interrupted {
            self.in_transaction(|store| {
                store.delete_run_rows(scan_id)?;
                store.conn.execute(
                    "UPDATE scans SET status = 'failed', finished_at = started_at,
                         summary = 'interrupted: the ingest process ended before the run finished'
                     WHERE scan_id = ?",
                    params![scan_id],
                )?;
                Ok(())
            })?;
        }
        let scan_id = self.begin_scan(LOGS_SOURCE, LOGS_SOURCE, "ingest", started_at)?;
        // The run's writers append from their own threads: DuckDB's worker threads would only
        // compete with them for the cores (measured: a tenth more CPU for the same rows).
        // Closing the run restores them for its queries.
        self.conn.execute_batch("SET threads = 1")?;
        Ok(IngestRun {
            scan_id,
            collector: format!("ingest:{scan_id}"),
        })
    }

    /// A writer of events for one thread of a run: its own connection, in one transaction
    /// until [`EventWriter::commit`] (dropped uncommitted, it writes nothing).
    pub fn event_writer(&self) -> Result<EventWriter> {
        let conn = self.conn.try_clone()?;
        batch_scan::register(&conn)?;
        conn.execute_batch("BEGIN TRANSACTION")?;
        Ok(EventWriter { conn })
    }

    /// Deletes the run's duplicates: of the rows the run stored with one (provider, event_id,
    /// event_time), all but the first by `raw_ref`, and every row an earlier run already
    /// stored. Returns how many rows of each source format the run keeps. (Part of
    /// [`Store::finish_ingest`]'s transaction; public for tests.)
    pub fn dedupe_events(&mut self, run: &IngestRun) -> Result<BTreeMap<String, i64>> {
        let (lo, hi): (Option<i64>, Option<i64>) = self.conn.query_row(
            "SELECT epoch_us(min(event_time)), epoch_us(max(event_time)) FROM events WHERE scan_id = ?",
            params![run.scan_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(BTreeMap::new());
        };
        // Cheap checks first: most runs repeat nothing, and a fresh store has nothing older.
        // Rows that repeat a record have equal hashes, so fewer distinct hashes than rows is
        // necessary for a repeat (a collision only costs the exact pass below); counting
        // distinct 64-bit hashes is much cheaper than grouping by the strings themselves.
        let repeated: bool = self.conn.query_row(
            "SELECT count(DISTINCT hash(provider, event_id, event_time)) < count(*)
             FROM events WHERE scan_id = ?",
            params![run.scan_id],
            |r| r.get(0),
        )?;
        // A duplicate is the same record, so it has the same time: bounding the lookup by the
        // run's time range lets DuckDB skip the row groups of `events` outside it.
        let older: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM events WHERE scan_id <> ?
                            AND event_time BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT))",
            params![run.scan_id, lo, hi],
            |r| r.get(0),
        )?;
        if repeated {
            self.conn.execute(
                "DELETE FROM events WHERE rowid IN (
                     SELECT r FROM (
                         SELECT rowid AS r, row_number() OVER (
                             PARTITION BY provider, event_id, event_time ORDER BY raw_ref, rowid) AS n
                         FROM events WHERE scan_id = ?)
                     WHERE n > 1)",
                params![run.scan_id],
            )?;
        }
        if older {
            self.conn.execute(
                "DELETE FROM events WHERE rowid IN (
                     SELECT s.rowid FROM events s
                     WHERE s.scan_id = ? AND EXISTS (
                         SELECT 1 FROM events e
                         WHERE e.scan_id <> s.scan_id
                           AND e.event_time BETWEEN make_timestamp(?::BIGINT) AND make_timestamp(?::BIGINT)
                           AND e.provider = s.provider AND e.event_id = s.event_id
                           AND e.event_time = s.event_time))",
                params![run.scan_id, lo, hi],
            )?;
        }
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
        let mut appender = self.conn.appender("ingest_quarantine")?;
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

    /// Closes `run` once every [`EventWriter`] of it has committed, in one transaction:
    /// deletes its duplicates ([`Store::dedupe_events`]), derives owner candidates from its
    /// issuance events ([`Store::derive_ownership`]), records its collector (items = events
    /// kept) and finishes the scan with a summary of `totals`.
    pub fn finish_ingest(
        &mut self,
        run: &IngestRun,
        finished_at: Micros,
        duration_ms: i64,
        totals: IngestTotals,
    ) -> Result<IngestClosed> {
        self.forget_events_check();
        self.conn.execute_batch("RESET threads")?;
        self.in_transaction(|store| {
            let started = std::time::Instant::now();
            let stored = store.dedupe_events(run)?;
            let deduped = started.elapsed();
            let owner_candidates = store.derive_ownership(run)?;
            tracing::debug!(
                scan_id = run.scan_id,
                dedupe_millis = deduped.as_millis() as u64,
                ownership_millis = (started.elapsed() - deduped).as_millis() as u64,
                "Ingest run closing."
            );
            let kept: i64 = stored.values().sum();
            let mut tables = vec!["events".to_string()];
            if owner_candidates > 0 {
                tables.push("ownership".into());
            }
            let record = CollectorRecord {
                collector: run.collector.clone(),
                status: CollectorStatus::Ok,
                items: kept,
                api_calls: 0,
                duration_ms,
                error: None,
                tables,
            };
            store.record_collector(run.scan_id, &record)?;
            let summary = format!(
                "{} records: {} ingested, {} duplicates, {} quarantined",
                totals.read,
                kept,
                totals.appended.saturating_sub(kept as u64),
                totals.quarantined
            );
            let status = store.finish_scan(run.scan_id, finished_at, None, Some(&summary))?;
            Ok(IngestClosed {
                stored,
                owner_candidates,
                status,
            })
        })
    }

    /// Ends `run` after a failure: what its writers committed and its quarantine are deleted
    /// and the scan is recorded as failed, with the reason.
    pub fn abort_ingest(
        &mut self,
        run: &IngestRun,
        finished_at: Micros,
        duration_ms: i64,
        error: &str,
    ) -> Result<()> {
        self.conn.execute_batch("RESET threads")?;
        self.in_transaction(|store| {
            store.delete_run_rows(run.scan_id)?;
            let record = CollectorRecord {
                collector: run.collector.clone(),
                status: CollectorStatus::Failed,
                items: 0,
                api_calls: 0,
                duration_ms,
                error: Some(error.to_string()),
                tables: Vec::new(),
            };
            store.record_collector(run.scan_id, &record)?;
            store.finish_scan(run.scan_id, finished_at, None, Some(error))?;
            Ok(())
        })
    }

    /// Deletes what ingest run `scan_id` wrote: its events and its quarantine.
    fn delete_run_rows(&self, scan_id: i64) -> Result<()> {
        for table in ["events", "ingest_quarantine"] {
            self.conn.execute(
                &format!("DELETE FROM {table} WHERE scan_id = ?"),
                params![scan_id],
            )?;
        }
        Ok(())
    }

    /// Runs `f` in one transaction: committed when it succeeds, rolled back when it fails.
    fn in_transaction<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
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

    /// Appends `rows` through a writer of their own and commits them.
    fn append(store: &Store, run: &IngestRun, rows: &[EventRow]) {
        let mut b = EventBatchBuilder::new(run.scan_id, &run.collector);
        for r in rows {
            b.push(r);
        }
        let mut writer = store.event_writer().expect("writer");
        writer.append(b.finish().expect("batch")).expect("append");
        writer.commit().expect("commit");
    }

    fn totals(appended: u64) -> IngestTotals {
        IngestTotals {
            read: appended,
            appended,
            quarantined: 0,
        }
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store
            .conn()
            .query_row(sql, [], |r| r.get(0))
            .expect("count")
    }

    #[test]
    fn events_are_stored_once_per_provider_and_id_across_runs() {
        let mut store = Store::open_in_memory().expect("store");
        let run = store.begin_ingest(1).expect("begin");
        append(
            &store,
            &run,
            &[
                event("a", "cloudtrail", "f:2"),
                event("a", "cloudtrail", "f:1"),
            ],
        );
        append(&store, &run, &[event("b", "cloudtrail", "f:3")]);
        assert_eq!(
            count(&store, "SELECT count(*) FROM current_events"),
            0,
            "a run's rows are invisible until it finishes"
        );
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
        let closed = store.finish_ingest(&run, 2, 0, totals(3)).expect("finish");
        assert_eq!(closed.stored.get("cloudtrail"), Some(&2));
        assert_eq!(closed.status, ScanStatus::Complete);
        assert_eq!(closed.owner_candidates, 0, "no issuance event in this run");
        assert_eq!(
            count(&store, "SELECT count(*) FROM events WHERE raw_ref = 'f:1'"),
            1,
            "the first copy by raw_ref is kept"
        );

        let second = store.begin_ingest(3).expect("begin");
        assert_ne!(second.collector, run.collector);
        append(
            &store,
            &second,
            &[
                event("b", "cloudtrail", "g:1"),
                event("c", "cloudtrail", "g:2"),
            ],
        );
        let closed = store
            .finish_ingest(&second, 4, 0, totals(2))
            .expect("finish");
        assert_eq!(closed.stored.get("cloudtrail"), Some(&1));

        // Both runs stay in force in the current view.
        assert_eq!(count(&store, "SELECT count(*) FROM current_events"), 3);
        let q = store.quarantined(run.scan_id).expect("quarantined");
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].line, 4);
        assert_eq!(Table::Events.name(), "events");
    }

    #[test]
    fn failed_and_interrupted_runs_store_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("store.duckdb");
        let events = "SELECT count(*) FROM events";
        let interrupted = {
            let mut store = Store::open(&path).expect("open");
            let run = store.begin_ingest(1).expect("begin");
            append(&store, &run, &[event("a", "cloudtrail", "f:1")]);
            // One writer committed, another had not: the process "dies" with the run open.
            let mut writer = store.event_writer().expect("writer");
            let mut b = EventBatchBuilder::new(run.scan_id, &run.collector);
            b.push(&event("b", "cloudtrail", "f:2"));
            writer.append(b.finish().expect("batch")).expect("append");
            run.scan_id
        };
        let mut store = Store::open(&path).expect("reopen");
        assert_eq!(count(&store, "SELECT count(*) FROM current_events"), 0);
        let run = store.begin_ingest(2).expect("begin");
        assert_eq!(count(&store, events), 0, "the interrupted run is deleted");
        assert_eq!(
            store.scan(interrupted).expect("scan").status,
            ScanStatus::Failed
        );
        append(&store, &run, &[event("a", "cloudtrail", "f:1")]);
        store.abort_ingest(&run, 3, 0, "disk full").expect("abort");
        assert_eq!(count(&store, events), 0, "a failed run stored nothing");
        assert_eq!(
            store.scan(run.scan_id).expect("scan").status,
            ScanStatus::Failed
        );

        // The same event, ingested again, is not taken for a duplicate of either.
        let run = store.begin_ingest(4).expect("begin");
        append(&store, &run, &[event("a", "cloudtrail", "f:1")]);
        let closed = store.finish_ingest(&run, 5, 0, totals(1)).expect("finish");
        assert_eq!(closed.stored.get("cloudtrail"), Some(&1));
        assert_eq!(count(&store, events), 1);
    }
}
