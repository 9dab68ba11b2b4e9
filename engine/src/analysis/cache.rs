//! The per-evaluation table cache. Before an evaluation runs, every rule is planned once and
//! the columns its optimised plan reads from each model table are collected; a model table
//! that two or more rules read (and that is not too large to hold) is then read from DuckDB
//! once, with only those columns, into memory split in partitions DataFusion scans in
//! parallel, and replaces the DuckDB-backed table for the rest of the evaluation. It is read
//! when a rule first reads it (executes its scan, `LoadOnScan`), so no table is held
//! before a rule needs it (the held tables' lifetimes: `super::held`). Rules that
//! share a table no longer each re-export it through DuckDB's single-threaded Arrow export.
//! Views over model tables (the correlation views) are re-registered so they read the cache,
//! which therefore also holds the columns they read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::DataFusionError;
use datafusion::common::Statistics;
use datafusion::datasource::MemTable;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::TryStreamExt;

use super::duckdb_table::{snapshot_rows, snapshot_values};
use super::{Analysis, AnalysisError};
use crate::model::Table;
use crate::rules::Rule;

/// Tables with more rows than this stay in DuckDB (their scans push filters down instead).
pub const CACHE_MAX_ROWS: i64 = 4_000_000;

/// Partitions of a cached table (DataFusion scans them in parallel).
const PARTITIONS: usize = 2;

/// An in-memory table of `batches`, split in partitions DataFusion scans in parallel.
pub(crate) fn in_memory(
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: Vec<RecordBatch>,
) -> datafusion::common::Result<MemTable> {
    MemTable::try_new(schema, partitioned(batches))
}

/// `batches` dealt round-robin into [`PARTITIONS`] partitions.
fn partitioned(batches: Vec<RecordBatch>) -> Vec<Vec<RecordBatch>> {
    let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); PARTITIONS];
    for (i, b) in batches.into_iter().enumerate() {
        partitions[i % PARTITIONS].push(b);
    }
    partitions
}

/// The columns each model table is read for, and by how many rules.
#[derive(Debug, Default)]
struct Usage {
    columns: BTreeSet<String>,
    rules: usize,
}

/// Adds the model-table columns `plan` reads (subqueries included) to `usage`, counting it
/// as one more reader of each table with `count`.
fn collect(plan: &LogicalPlan, usage: &mut BTreeMap<usize, Usage>, count: bool) {
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let name = scan.table_name.table();
            if let Some(index) = Table::ALL.iter().position(|t| t.name() == name) {
                let schema = Table::ALL[index].schema();
                let entry = usage.entry(index).or_default();
                match &scan.projection {
                    Some(p) => entry
                        .columns
                        .extend(p.iter().map(|i| schema.field(*i).name().clone())),
                    None => entry
                        .columns
                        .extend(schema.fields().iter().map(|f| f.name().clone())),
                }
                for f in &scan.filters {
                    entry
                        .columns
                        .extend(f.column_refs().into_iter().map(|c| c.name.clone()));
                }
                seen.insert(index);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    for t in seen.into_iter().filter(|_| count) {
        if let Some(u) = usage.get_mut(&t) {
            u.rules += 1;
        }
    }
}

impl Analysis {
    /// Rows of `table` in this analysis' snapshot.
    fn count_rows(&self, table: Table) -> Result<i64, AnalysisError> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| AnalysisError::Poisoned)?
            .try_clone()?;
        let sql = format!("SELECT count(*) FROM {}", snapshot_rows(table));
        let n = conn.query_row(
            &sql,
            duckdb::params_from_iter(snapshot_values(self.snapshot)),
            |r| r.get(0),
        )?;
        Ok(n)
    }

    /// Caches the model tables that two or more of `rules` read (see the module doc);
    /// returns their names. Rules that fail to plan are skipped here (they fail when run).
    pub async fn cache_tables(&self, rules: &[Rule]) -> Result<Vec<String>, AnalysisError> {
        let started = Instant::now();
        let mut usage: BTreeMap<usize, Usage> = BTreeMap::new();
        for rule in rules {
            let Ok((df, _)) = self.plan(rule).await else {
                continue;
            };
            if let Ok(plan) = df.into_optimized_plan() {
                collect(&plan, &mut usage, true);
            }
        }
        // The correlation views are re-registered over the cache: it holds their columns too.
        for (_, sql) in crate::correlate::VIEWS {
            let plan = self.ctx.sql(sql).await?.into_optimized_plan()?;
            collect(&plan, &mut usage, false);
        }
        let mut chosen: Vec<(Table, Vec<String>, i64)> = Vec::new();
        for (index, u) in usage {
            let table = Table::ALL[index];
            if u.rules < 2 || u.columns.is_empty() {
                continue;
            }
            let rows = self.count_rows(table)?;
            if rows > CACHE_MAX_ROWS {
                tracing::debug!(
                    message = "Table too large to cache.",
                    table = table.name(),
                    rows
                );
                continue;
            }
            chosen.push((table, u.columns.into_iter().collect::<Vec<_>>(), rows));
        }
        // Each chosen table is read on its first scan (by the first rule that reads it), so
        // it is not held before a rule needs it; until then it counts by its rows.
        let mut names = Vec::new();
        for (table, columns, rows) in chosen {
            let source = self.ctx.table_provider(table.name()).await?;
            let projection: Vec<usize> = columns
                .iter()
                .filter_map(|c| source.schema().index_of(c).ok())
                .collect();
            let schema = Arc::new(
                source
                    .schema()
                    .project(&projection)
                    .map_err(datafusion::error::DataFusionError::from)?,
            );
            let lazy = LoadOnScan {
                source,
                projection,
                rows: usize::try_from(rows).unwrap_or(0),
                loader: Arc::new(Loader {
                    name: table.name(),
                    schema,
                    held: self.held.clone(),
                    partitions: tokio::sync::OnceCell::new(),
                }),
            };
            self.ctx.deregister_table(table.name())?;
            self.ctx.register_table(table.name(), Arc::new(lazy))?;
            self.hold(table.name(), false, usize::try_from(rows).unwrap_or(0));
            names.push(table.name().to_string());
        }
        if !names.is_empty() {
            self.register_correlation().await?;
        }
        tracing::debug!(
            message = "Tables cached for the evaluation.",
            tables = names.join(","),
            millis = started.elapsed().as_millis() as u64
        );
        Ok(names)
    }
}

/// A model table read into memory (its chosen columns) when a rule first reads it, and
/// served from there to every later scan. Reading waits for execution, not planning: a
/// plan that never pulls from the table (a join whose other side is empty) leaves it unread.
#[derive(Debug)]
struct LoadOnScan {
    source: Arc<dyn TableProvider>,
    /// The chosen columns, as indexes into `source`'s schema.
    projection: Vec<usize>,
    /// Its rows in the store (what the planner is told until it is read).
    rows: usize,
    loader: Arc<Loader>,
}

/// The rows of a [`LoadOnScan`] table, read once by whichever scan executes first.
#[derive(Debug)]
struct Loader {
    name: &'static str,
    schema: SchemaRef,
    held: super::held::Held,
    /// The rows, in the partitions of [`in_memory`].
    partitions: tokio::sync::OnceCell<Vec<Vec<RecordBatch>>>,
}

impl Loader {
    /// The rows, read by executing `plan` (a scan of the source) if no scan has yet.
    async fn rows(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        ctx: Arc<TaskContext>,
    ) -> datafusion::common::Result<&Vec<Vec<RecordBatch>>> {
        self.partitions
            .get_or_try_init(|| async {
                let started = Instant::now();
                let batches = datafusion::physical_plan::collect(plan, ctx).await?;
                let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
                let bytes: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
                tracing::debug!(
                    message = "Table cached.",
                    table = self.name,
                    rows,
                    bytes,
                    columns = self.schema.fields().len(),
                    millis = started.elapsed().as_millis() as u64
                );
                if let Ok(mut held) = self.held.lock() {
                    if let Some(entry) = held.get_mut(self.name) {
                        *entry = (true, bytes);
                    }
                }
                Ok(partitioned(batches))
            })
            .await
    }
}

/// The scan of a [`LoadOnScan`] table not read yet: reads it (once for all scans) when
/// executed. It tells the planner the table's rows (counted in the store), so a join puts
/// it on the side it would put the table once in memory.
#[derive(Debug)]
struct LoadingScan {
    loader: Arc<Loader>,
    /// The scan of the source that reads the rows.
    source: Arc<dyn ExecutionPlan>,
    projection: Option<Vec<usize>>,
    properties: Arc<PlanProperties>,
    rows: usize,
}

impl LoadingScan {
    fn new(
        loader: Arc<Loader>,
        source: Arc<dyn ExecutionPlan>,
        projection: Option<&Vec<usize>>,
        rows: usize,
    ) -> datafusion::common::Result<LoadingScan> {
        let schema = match projection {
            Some(p) => Arc::new(loader.schema.project(p)?),
            None => loader.schema.clone(),
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(PARTITIONS),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(LoadingScan {
            loader,
            source,
            projection: projection.cloned(),
            properties: Arc::new(properties),
            rows,
        })
    }
}

impl DisplayAs for LoadingScan {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "LoadingScan: table={}", self.loader.name)
    }
}

impl ExecutionPlan for LoadingScan {
    fn name(&self) -> &str {
        "LoadingScan"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn with_new_children(
        self: Arc<Self>,
        _: Vec<Arc<dyn ExecutionPlan>>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        ctx: Arc<TaskContext>,
    ) -> datafusion::common::Result<SendableRecordBatchStream> {
        let (loader, source) = (self.loader.clone(), self.source.clone());
        let projection = self.projection.clone();
        let batches = futures::stream::once(async move {
            let rows = loader.rows(source, ctx).await?;
            let batches = rows.get(partition).cloned().unwrap_or_default();
            Ok::<_, DataFusionError>(futures::stream::iter(batches.into_iter().map(move |b| {
                match &projection {
                    Some(p) => Ok(b.project(p)?),
                    None => Ok(b),
                }
            })))
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            batches,
        )))
    }

    fn partition_statistics(
        &self,
        partition: Option<usize>,
    ) -> datafusion::common::Result<Arc<Statistics>> {
        let rows = match partition {
            Some(_) => self.rows.div_ceil(PARTITIONS),
            None => self.rows,
        };
        Ok(Arc::new(
            Statistics::new_unknown(&self.schema()).with_num_rows(Precision::Inexact(rows)),
        ))
    }
}

#[async_trait]
impl TableProvider for LoadOnScan {
    fn schema(&self) -> SchemaRef {
        self.loader.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        if let Some(rows) = self.loader.partitions.get() {
            let table = MemTable::try_new(self.loader.schema.clone(), rows.clone())?;
            return table.scan(state, projection, filters, limit).await;
        }
        let source = self
            .source
            .scan(state, Some(&self.projection), &[], None)
            .await?;
        Ok(Arc::new(LoadingScan::new(
            self.loader.clone(),
            source,
            projection,
            self.rows,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::Analysis;
    use crate::rules::load::builtin;
    use crate::store::Snapshot;

    /// A cached table is read when a plan executes its scan and pulls rows, not when the
    /// plan is made: a join whose other side is empty leaves it unread. Once read, later
    /// scans are served from memory with the same rows.
    #[tokio::test]
    async fn a_cached_table_is_read_when_a_plan_pulls_from_it() {
        let (store, now) = crate::analysis::tests::escalation_fixture();
        let stored: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM credentials", [], |r| r.get(0))
            .expect("count");
        assert!(stored > 0);
        let analysis = Analysis::new(&store, Snapshot::Current, now, true)
            .await
            .expect("analysis");
        let cached = analysis
            .cache_tables(&builtin().expect("rules"))
            .await
            .expect("cache");
        assert!(
            cached.iter().any(|t| t == "credentials") && cached.iter().any(|t| t == "events"),
            "{cached:?}"
        );
        let loaded = |table: &str| {
            analysis
                .held
                .lock()
                .expect("held")
                .get(table)
                .map(|(loaded, _)| *loaded)
        };
        let df = analysis
            .ctx
            .sql(
                "SELECT c.identity_id FROM events e
                 JOIN credentials c ON c.credential_id = e.credential_id",
            )
            .await
            .expect("plan");
        let plan = df.create_physical_plan().await.expect("physical plan");
        assert_eq!(loaded("credentials"), Some(false), "read when planned");
        // Until read, its scan tells the planner the rows the store counts.
        let provider = analysis
            .ctx
            .table_provider("credentials")
            .await
            .expect("provider");
        let scan = provider
            .scan(&analysis.ctx.state(), None, &[], None)
            .await
            .expect("scan");
        let stats = scan.partition_statistics(None).expect("statistics");
        assert_eq!(
            stats.num_rows,
            datafusion::common::stats::Precision::Inexact(stored as usize)
        );
        assert_eq!(loaded("credentials"), Some(false), "read when scanned");
        let ctx = analysis.ctx.task_ctx();
        let rows = datafusion::physical_plan::collect(plan, ctx)
            .await
            .expect("run");
        assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
        assert_eq!(loaded("events"), Some(true));
        assert_eq!(
            loaded("credentials"),
            Some(false),
            "read though never pulled"
        );
        let count = |analysis: Analysis| async move {
            let batches = analysis
                .query("SELECT count(*) AS n FROM credentials")
                .await
                .expect("count");
            datafusion::arrow::array::AsArray::as_primitive::<
                datafusion::arrow::datatypes::Int64Type,
            >(batches[0].column(0))
            .value(0)
        };
        assert_eq!(count(analysis.clone()).await, stored);
        assert_eq!(loaded("credentials"), Some(true));
        assert_eq!(count(analysis.clone()).await, stored, "served from memory");
    }
}
