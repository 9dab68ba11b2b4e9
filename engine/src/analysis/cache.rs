//! The per-evaluation table cache. Before an evaluation runs, every rule is planned once and
//! the columns its optimised plan reads from each model table are collected; a model table
//! that two or more rules read (and that is not too large to hold) is then read from DuckDB
//! once, with only those columns, into memory split in partitions DataFusion scans in
//! parallel, and replaces the DuckDB-backed table for the rest of the evaluation. It is read
//! on its first scan, by the first rule that reads it ([`LoadOnScan`]), so no table is held
//! before a rule needs it (the held tables' lifetimes: [`super::held`]). Rules that
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
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::MemTable;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;

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
    let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); PARTITIONS];
    for (i, b) in batches.into_iter().enumerate() {
        partitions[i % PARTITIONS].push(b);
    }
    MemTable::try_new(schema, partitions)
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
                name: table.name(),
                source,
                projection,
                schema,
                held: self.held.clone(),
                loaded: tokio::sync::OnceCell::new(),
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

/// A model table read into memory (its chosen columns) on its first scan and served from
/// there to every later scan.
#[derive(Debug)]
struct LoadOnScan {
    name: &'static str,
    source: Arc<dyn TableProvider>,
    /// The chosen columns, as indexes into `source`'s schema.
    projection: Vec<usize>,
    schema: SchemaRef,
    held: super::held::Held,
    loaded: tokio::sync::OnceCell<Arc<MemTable>>,
}

impl LoadOnScan {
    async fn load(&self, state: &dyn Session) -> datafusion::common::Result<Arc<MemTable>> {
        let started = Instant::now();
        let plan = self
            .source
            .scan(state, Some(&self.projection), &[], None)
            .await?;
        let batches = datafusion::physical_plan::collect(plan, state.task_ctx()).await?;
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
        Ok(Arc::new(in_memory(self.schema.clone(), batches)?))
    }
}

#[async_trait]
impl TableProvider for LoadOnScan {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
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
        let table = self.loaded.get_or_try_init(|| self.load(state)).await?;
        table.scan(state, projection, filters, limit).await
    }
}
