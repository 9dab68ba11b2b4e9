//! A DataFusion table over one model table of the DuckDB store, restricted to a snapshot.
//! Scans stream DuckDB's own Arrow output (no conversion, no full materialisation) on a
//! worker thread through a bounded channel, and push the projection and simple filters
//! ([`super::pushdown`]) down into DuckDB so only the columns and rows a rule reads leave
//! the store.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::ExecutionPlan;
use duckdb::types::Value;
use duckdb::Connection;

use super::pushdown;

use crate::model::Table;
use crate::store::Snapshot;

/// Batches in flight between the DuckDB thread and DataFusion, per scan.
const CHANNEL_DEPTH: usize = 4;

/// One model table of the store (or an engine-defined query over them), as of one snapshot.
pub struct DuckTable {
    name: String,
    /// The FROM clause yielding the rows as `t`, with two `?` for the snapshot.
    from: String,
    /// Values bound after the snapshot's, for `?` of an engine-defined query.
    fixed: Vec<Value>,
    schema: SchemaRef,
    snapshot: Snapshot,
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for DuckTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DuckTable({})", self.name)
    }
}

/// The rows of a model table in a snapshot (`?` as-of time, `?` scan id), as `t`.
pub fn snapshot_rows(table: Table) -> String {
    format!(
        "{} t SEMI JOIN collections_at(make_timestamp(?::BIGINT), ?::BIGINT) sel
         ON t.scan_id = sel.scan_id AND t.collector = sel.collector",
        table.name()
    )
}

/// The values bound to the two `?` of [`snapshot_rows`].
pub fn snapshot_values(snapshot: Snapshot) -> [Value; 2] {
    match snapshot {
        Snapshot::Current => [Value::Null, Value::Null],
        Snapshot::AsOf(t) => [Value::BigInt(t), Value::Null],
        Snapshot::Scan(id) => [Value::Null, Value::BigInt(id)],
    }
}

impl DuckTable {
    pub fn new(table: Table, snapshot: Snapshot, conn: Arc<Mutex<Connection>>) -> DuckTable {
        DuckTable {
            name: table.name().to_string(),
            from: snapshot_rows(table),
            fixed: Vec::new(),
            schema: table.schema(),
            snapshot,
            conn,
        }
    }

    /// A table over an engine-defined query (never rule text): `sql` reads the snapshot
    /// through [`snapshot_rows`] (its two `?` come first), then binds `fixed` in order, and
    /// returns the columns of `schema`.
    pub fn query(
        name: &str,
        sql: &str,
        fixed: Vec<Value>,
        schema: SchemaRef,
        snapshot: Snapshot,
        conn: Arc<Mutex<Connection>>,
    ) -> DuckTable {
        DuckTable {
            name: name.to_string(),
            from: format!("({sql}) t"),
            fixed,
            schema,
            snapshot,
            conn,
        }
    }
}

#[async_trait]
impl TableProvider for DuckTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match pushdown::translate(f, &self.schema) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        // Column names come from the model's closed schema, never from the query text.
        let columns = if schema.fields().is_empty() {
            "1 AS _row".to_string()
        } else {
            schema
                .fields()
                .iter()
                .map(|f| format!("t.\"{}\"", f.name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let predicate = pushdown::conjunction(filters, &self.schema);
        let sql = format!(
            "SELECT {columns} FROM {}{}{}",
            self.from,
            predicate
                .as_ref()
                .map(|p| format!(" WHERE {}", p.sql))
                .unwrap_or_default(),
            limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default()
        );
        let partition = Arc::new(DuckPartition {
            schema: schema.clone(),
            sql,
            values: self
                .fixed
                .iter()
                .cloned()
                .chain(predicate.into_iter().flat_map(|p| p.values))
                .collect(),
            snapshot: self.snapshot,
            source: self.conn.clone(),
        });
        Ok(Arc::new(StreamingTableExec::try_new(
            schema,
            vec![partition],
            None,
            Vec::new(),
            false,
            None,
        )?))
    }
}

struct DuckPartition {
    schema: SchemaRef,
    sql: String,
    /// The fixed values and pushed-down filters' values, bound after the snapshot's two.
    values: Vec<Value>,
    snapshot: Snapshot,
    /// Each execution reads through its own connection cloned from this one.
    source: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for DuckPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DuckPartition")
    }
}

/// Re-labels a DuckDB batch with the model schema, casting where DuckDB spells a type
/// differently (list item names, nullability of the item field).
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    if schema.fields().is_empty() {
        return Ok(RecordBatch::try_new_with_options(
            schema.clone(),
            vec![],
            &datafusion::arrow::array::RecordBatchOptions::new()
                .with_row_count(Some(batch.num_rows())),
        )?);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                cast(c, f.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

impl PartitionStream for DuckPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(CHANNEL_DEPTH);
        let conn = self
            .source
            .lock()
            .map_err(|_| DataFusionError::Execution("store connection poisoned".into()))
            .and_then(|c| {
                c.try_clone()
                    .map_err(|e| DataFusionError::External(Box::new(e)))
            });
        let (sql, schema) = (self.sql.clone(), self.schema.clone());
        let mut values = snapshot_values(self.snapshot).to_vec();
        values.extend(self.values.iter().cloned());
        std::thread::spawn(move || {
            let run = || -> Result<()> {
                let conn = conn?;
                let ext = |e: duckdb::Error| DataFusionError::External(Box::new(e));
                let mut stmt = conn.prepare(&sql).map_err(ext)?;
                let stream = stmt
                    .stream_arrow(duckdb::params_from_iter(values))
                    .map_err(ext)?;
                for batch in stream {
                    if tx.blocking_send(conform(batch, &schema)).is_err() {
                        break; // the consumer stopped (LIMIT, error): stop reading
                    }
                }
                Ok(())
            };
            // duckdb's stream panics when fetching fails mid-way: that must end the query
            // with an error, never look like a shorter table.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                .unwrap_or_else(|_| {
                    Err(DataFusionError::Execution(
                        "reading the store failed mid-scan".into(),
                    ))
                });
            if let Err(e) = outcome {
                let _ = tx.blocking_send(Err(e));
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}
