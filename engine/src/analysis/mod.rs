//! Rule evaluation on DataFusion. An [`Analysis`] is a DataFusion session over one snapshot of
//! the store: the model tables stream from DuckDB ([`duckdb_table`]), the IAM functions
//! ([`udf`]) and derived tables ([`derived`]) are registered, and each rule's query is planned
//! with its parameters bound as typed values ([`evaluate`]).

pub mod cache;
mod compact;
pub mod derived;
pub mod duckdb_table;
pub mod evaluate;
mod held;
pub mod pushdown;
pub mod udf;

use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;

use crate::model::Table;
use crate::store::{Snapshot, Store};
use crate::time::Micros;

pub use evaluate::{Evaluation, RuleRun};

/// Errors of building an analysis session.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("analysis failed: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("cannot open the store for analysis: {0}")]
    Store(#[from] duckdb::Error),
    #[error("the store connection of the analysis is poisoned")]
    Poisoned,
}

/// A DataFusion session over one snapshot of the store, at time `now`. Cloning is cheap
/// (the session state is shared).
#[derive(Clone)]
pub struct Analysis {
    ctx: SessionContext,
    now: Micros,
    /// Rules evaluated at the same time.
    concurrency: usize,
    snapshot: Snapshot,
    /// The connection the DuckDB-backed tables clone theirs from.
    conn: Arc<Mutex<duckdb::Connection>>,
    /// The tables held in memory ([`held`]).
    held: held::Held,
    /// When the text columns of a materialized table are stored as views ([`compact`]).
    compact_worth: f64,
}

impl Analysis {
    /// A session over `snapshot` of `store`. With `materialize`, `permissions` is computed
    /// once (evaluations); without, it is a view (planning, `rules check`).
    pub async fn new(
        store: &Store,
        snapshot: Snapshot,
        now: Micros,
        materialize: bool,
    ) -> Result<Analysis, AnalysisError> {
        Analysis::new_compacting(store, snapshot, now, materialize, compact::WORTH).await
    }

    /// [`Analysis::new`], keeping a materialized table's text column as views when they
    /// take at most `compact_worth` of its plain bytes ([`compact`]).
    async fn new_compacting(
        store: &Store,
        snapshot: Snapshot,
        now: Micros,
        materialize: bool,
        compact_worth: f64,
    ) -> Result<Analysis, AnalysisError> {
        let config = SessionConfig::new()
            .with_information_schema(false)
            .with_batch_size(8192);
        let ctx = SessionContext::new_with_config(config);
        let conn = Arc::new(Mutex::new(store.conn().try_clone()?));
        for table in Table::ALL {
            ctx.register_table(
                table.name(),
                Arc::new(duckdb_table::DuckTable::new(table, snapshot, conn.clone())),
            )?;
        }
        udf::register(&ctx);
        ctx.register_table("iam_privesc_paths", Arc::new(derived::privesc_paths()?))?;
        let analysis = Analysis {
            ctx,
            now,
            concurrency: 2,
            snapshot,
            conn,
            held: Default::default(),
            compact_worth,
        };
        analysis.register_store_query(
            "grant_statements",
            &derived::grant_statements_sql(),
            Vec::new(),
            derived::grant_statements_schema(),
        )?;
        analysis.register_store_query(
            "direct_attachments",
            &derived::direct_attachments_sql(),
            derived::direct_attachments_values(snapshot),
            derived::direct_attachments_schema(),
        )?;
        // The distinct statements: a few thousand rows read by two derived tables.
        if materialize {
            analysis.materialize("grant_statements").await?;
        }
        // Per distinct statement: small, computed once for an evaluation.
        let mut keys: Option<Vec<i64>> = None;
        for (name, sql) in [
            ("statement_actions", derived::STATEMENT_ACTIONS_SQL),
            ("statement_deny_all", derived::STATEMENT_DENY_ALL_SQL),
        ] {
            if let Some(batches) = analysis.derive(name, sql, materialize).await? {
                let found = keys.get_or_insert_with(Vec::new);
                for b in &batches {
                    let col = b.column_by_name("statement_key").expect("statement_key");
                    found.extend(col.as_primitive::<Int64Type>().iter().flatten());
                }
            }
        }
        // The grant rows of those statements (all rows when planning only).
        let wanted = match keys {
            Some(mut k) => {
                k.sort_unstable();
                k.dedup();
                let list = k.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                duckdb::types::Value::Text(list)
            }
            None => duckdb::types::Value::Null,
        };
        analysis.register_store_query(
            "grant_links",
            &derived::grant_links_sql(),
            vec![wanted.clone(), wanted],
            derived::grant_links_schema(),
        )?;
        // Usually no identity has a deny or a boundary: then one scan of the links suffices.
        let permissions = if materialize && !analysis.any_restricted().await? {
            derived::permissions_unrestricted_sql()
        } else {
            derived::permissions_sql()
        };
        analysis.register_store_query(
            "nhi_identities",
            &derived::nhi_identities_sql(),
            derived::nhi_identities_values(snapshot),
            derived::nhi_identities_schema(),
        )?;
        // The two large derived tables at the same time: each DuckDB query is parallel, but
        // its Arrow export and DataFusion's collection of it run on one thread.
        futures::try_join!(
            analysis.derive("permissions", &permissions, materialize),
            async {
                if materialize {
                    analysis.materialize("nhi_identities").await?;
                }
                Ok(())
            }
        )?;
        analysis.register_correlation().await?;
        Ok(analysis)
    }

    /// Registers `name` as an engine-defined query over this snapshot of the store (see
    /// [`duckdb_table::DuckTable::query`]), computed by DuckDB whenever it is scanned.
    fn register_store_query(
        &self,
        name: &str,
        sql: &str,
        fixed: Vec<duckdb::types::Value>,
        schema: datafusion::arrow::datatypes::SchemaRef,
    ) -> Result<(), AnalysisError> {
        let table = duckdb_table::DuckTable::query(
            name,
            sql,
            fixed,
            schema,
            self.snapshot,
            self.conn.clone(),
        );
        self.ctx.register_table(name, Arc::new(table))?;
        Ok(())
    }

    /// Whether some identity's grant links are `restricted` (see [`derived::grant_links_sql`]).
    async fn any_restricted(&self) -> Result<bool, AnalysisError> {
        let sql = format!(
            "SELECT 1 FROM grant_links WHERE {} LIMIT 1",
            derived::RESTRICTING
        );
        let batches = self.query(&sql).await?;
        Ok(batches.iter().any(|b| b.num_rows() > 0))
    }

    /// Evaluates `n` rules at the same time (default 2).
    pub fn with_concurrency(mut self, n: usize) -> Analysis {
        self.concurrency = n.max(1);
        self
    }

    /// Registers the derived table `name` defined by `sql`: computed once and kept in memory
    /// (returning its batches) with `materialize`, a view otherwise.
    async fn derive(
        &self,
        name: &str,
        sql: &str,
        materialize: bool,
    ) -> Result<Option<Vec<RecordBatch>>, AnalysisError> {
        let view = self.ctx.sql(sql).await?.into_view();
        self.ctx.register_table(name, view)?;
        if !materialize {
            return Ok(None);
        }
        Ok(Some(self.materialize(name).await?))
    }

    /// Replaces the registered table `name` by its rows, read once into memory; returns them.
    async fn materialize(&self, name: &str) -> Result<Vec<RecordBatch>, AnalysisError> {
        let started = std::time::Instant::now();
        let df = self.ctx.table(name).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let mut stream = df.execute_stream().await?;
        let mut compactor =
            compact::Compactor::new(schema, self.compact_worth, compact::SAMPLE_ROWS);
        let mut plain = 0usize;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            plain += batch.get_array_memory_size();
            compactor.push(batch);
        }
        let compacted = compactor
            .finish()
            .map_err(datafusion::error::DataFusionError::from)?;
        tracing::debug!(
            message = "Table materialized.",
            table = name,
            rows = compacted
                .batches
                .iter()
                .map(RecordBatch::num_rows)
                .sum::<usize>(),
            bytes = compacted.bytes,
            plain_bytes = plain,
            millis = started.elapsed().as_millis() as u64
        );
        self.hold(name, true, compacted.bytes);
        self.ctx.deregister_table(name)?;
        let table = cache::in_memory(compacted.schema, compacted.batches.clone())?;
        self.ctx.register_table(name, Arc::new(table))?;
        Ok(compacted.batches)
    }

    /// The evaluation time bound to `$now`.
    pub fn now(&self) -> Micros {
        self.now
    }

    /// Runs a read-only SQL query over the session (tests, benchmarks, ad-hoc analysis).
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, AnalysisError> {
        Ok(self.ctx.sql(sql).await?.collect().await?)
    }

    pub(crate) fn ctx(&self) -> &SessionContext {
        &self.ctx
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A finding resolves only after a complete scan of the model tables behind what its
    /// rule read: every table an analysis offers must map to model tables.
    #[tokio::test]
    async fn every_table_a_rule_can_read_maps_to_model_tables() {
        let store = Store::open_in_memory().expect("store");
        let analysis = Analysis::new(&store, Snapshot::Current, 0, false)
            .await
            .expect("analysis");
        let schema = analysis
            .ctx()
            .catalog("datafusion")
            .and_then(|c| c.schema("public"))
            .expect("default schema");
        let mut names = schema.table_names();
        names.sort();
        assert!(names.iter().any(|n| n == "direct_attachments"), "{names:?}");
        for name in names {
            let sources = crate::store::findings::model_tables(std::slice::from_ref(&name));
            for s in &sources {
                assert!(
                    Table::ALL.iter().any(|t| t.name() == s),
                    "{name} maps to {s}, not a model table"
                );
            }
            if sources.is_empty() {
                assert_eq!(name, "iam_privesc_paths", "{name} maps to no model table");
            }
        }
    }

    /// The store of NHI5-AWS-002's fixture (escalation paths, a denied role) and its `now`.
    pub(crate) fn escalation_fixture() -> (Store, Micros) {
        crate::rules::fixture::Fixture::parse(
            include_str!("../../../rules/tests/NHI5-AWS-002.toml"),
            "NHI5-AWS-002 fixture",
        )
        .expect("fixture")
        .load()
        .expect("store")
    }

    /// `permissions` applies the deny/boundary joins only to restricted identities: over an
    /// estate with one denied role, every other identity's permissions are exactly its
    /// allowed rows (what the one-scan query gives when nobody is restricted), and the denied
    /// action is gone.
    #[tokio::test]
    async fn restricted_identities_alone_go_through_the_deny_logic() {
        let (store, now) = escalation_fixture();
        let analysis = Analysis::new(&store, Snapshot::Current, now, true)
            .await
            .expect("analysis");
        let rows = |sql: String| {
            let analysis = analysis.clone();
            async move {
                let batches = analysis.query(&sql).await.expect("query");
                let mut out = Vec::new();
                for b in &batches {
                    // Read as text whatever the string type.
                    let text = |i: usize| {
                        datafusion::arrow::compute::cast(
                            b.column(i),
                            &datafusion::arrow::datatypes::DataType::Utf8,
                        )
                        .expect("text")
                    };
                    let (id, action) = (text(0), text(1));
                    let (id, action) = (id.as_string::<i32>(), action.as_string::<i32>());
                    for i in 0..b.num_rows() {
                        out.push(format!("{} {}", id.value(i), action.value(i)));
                    }
                }
                out.sort();
                out
            }
        };
        let denied = "arn:aws:iam::111122223333:role/denied";
        let stored = rows(format!(
            "SELECT identity_id, action FROM permissions WHERE identity_id <> '{denied}'"
        ))
        .await;
        let allowed = rows(format!(
            "SELECT identity_id, action FROM ({}) WHERE identity_id <> '{denied}'",
            derived::permissions_unrestricted_sql()
        ))
        .await;
        assert!(stored.len() > 10, "{stored:?}");
        assert_eq!(stored, allowed);
        let of_denied = rows(format!(
            "SELECT identity_id, action FROM permissions WHERE identity_id = '{denied}'"
        ))
        .await;
        assert!(
            !of_denied
                .iter()
                .any(|r| r.ends_with(" iam:AttachUserPolicy")),
            "{of_denied:?}"
        );
        let unfiltered = rows(format!(
            "SELECT identity_id, action FROM ({}) WHERE identity_id = '{denied}'",
            derived::permissions_unrestricted_sql()
        ))
        .await;
        assert!(
            unfiltered
                .iter()
                .any(|r| r.ends_with(" iam:AttachUserPolicy")),
            "{unfiltered:?}"
        );
    }
}
