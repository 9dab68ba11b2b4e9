//! Planning and running rules. Each rule's query is parsed read-only (no DDL, DML or
//! statements), its `$name` placeholders are bound to typed parameter values (`$now` is the
//! evaluation time), its output is checked against the finding contract, and its rows stream,
//! converted to finding columns, into the store's finding stage (bounded memory whatever the
//! number of findings). Rules run concurrently; one failing rule is reported and the others
//! still run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use arrow::json::writer::{make_encoder, EncoderOptions};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, StringArray, StringBuilder, StructArray, UInt16Array,
    UInt64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::Field;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::DataFrame;
use futures::StreamExt;
use serde::Serialize;

use super::Analysis;
use crate::findings::finding_hash;
use crate::rules::rule::REQUIRED_COLUMNS;
use crate::rules::{Rule, RuleError};
use crate::store::staging::staged_schema;
use crate::store::{Store, StoreError};
use crate::time::Micros;

/// The finding hashes of one rule's output, counted distinct once the rule has run (a sort
/// of a flat vector: no hash table with millions of random inserts).
type FindingIds = Vec<u64>;

/// How one rule ran.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRun {
    pub rule_id: String,
    pub findings: usize,
    pub millis: u64,
    /// The tables the query reads (model or derived).
    pub tables: Vec<String>,
    pub error: Option<String>,
}

/// The result of evaluating a rule set over one snapshot.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub now: Micros,
    /// Distinct findings staged (see [`Store::staged_findings`]).
    pub findings: usize,
    pub runs: Vec<RuleRun>,
}

impl Evaluation {
    /// Rules that failed to plan or run.
    pub fn failed(&self) -> impl Iterator<Item = &RuleRun> {
        self.runs.iter().filter(|r| r.error.is_some())
    }
}

/// The line of the rule file a DataFusion/sqlparser message points at (`Line: N` counts from
/// the first line of the query, which starts on the line after `sql = """`).
fn error_line(rule: &Rule, message: &str) -> usize {
    message
        .split("Line: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<usize>().ok())
        .map(|n| rule.sql_line + n)
        .unwrap_or(rule.sql_line)
}

fn rule_error(rule: &Rule, e: impl std::fmt::Display) -> RuleError {
    let message = e.to_string();
    RuleError::new(
        &rule.origin,
        error_line(rule, &message),
        format!("rule {}: {message}", rule.id),
    )
}

/// The tables a plan scans, subqueries included.
pub(crate) fn scanned_tables(plan: &LogicalPlan) -> Vec<String> {
    let mut out = Vec::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let name = scan.table_name.table().to_string();
            if !out.contains(&name) {
                out.push(name);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    out.sort();
    out
}

impl Analysis {
    /// Plans a rule: read-only SQL, parameters bound, output columns checked. Returns the
    /// bound query and the tables it reads.
    pub async fn plan(&self, rule: &Rule) -> Result<(DataFrame, Vec<String>), RuleError> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = self
            .ctx()
            .sql_with_options(&rule.sql, options)
            .await
            .map_err(|e| rule_error(rule, e))?;
        let mut values: HashMap<String, ScalarValue> = rule
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.to_scalar()))
            .collect();
        values.insert(
            "now".to_string(),
            ScalarValue::TimestampMicrosecond(Some(self.now()), None),
        );
        let df = df
            .with_param_values(ParamValues::Map(
                values.into_iter().map(|(k, v)| (k, v.into())).collect(),
            ))
            .map_err(|e| rule_error(rule, e))?;
        let schema = df.schema();
        for col in REQUIRED_COLUMNS {
            let Ok(field) = schema.field_with_unqualified_name(col) else {
                return Err(rule_error(
                    rule,
                    format!(
                        "the query must return a `{col}` column (finding contract: {})",
                        REQUIRED_COLUMNS.join(", ")
                    ),
                ));
            };
            if !is_text(field.data_type()) {
                return Err(rule_error(
                    rule,
                    format!("column `{col}` must be text, not {}", field.data_type()),
                ));
            }
        }
        let tables = scanned_tables(df.logical_plan());
        Ok((df, tables))
    }

    /// Runs `rule` and returns its executed physical plan with each operator's metrics
    /// (`EXPLAIN ANALYZE`): where a slow rule spends its rows, time and memory.
    pub async fn explain_analyze(&self, rule: &Rule) -> Result<String, RuleError> {
        let (df, _) = self.plan(rule).await?;
        let batches = df
            .explain(false, true)
            .map_err(|e| rule_error(rule, e))?
            .collect()
            .await
            .map_err(|e| rule_error(rule, e))?;
        let mut out = String::new();
        for batch in &batches {
            let plans = cast(batch.column(1), &DataType::Utf8).map_err(|e| rule_error(rule, e))?;
            for plan in plans.as_string::<i32>().iter().flatten() {
                out.push_str(plan);
                out.push('\n');
            }
        }
        Ok(out)
    }

    /// Runs one rule, streaming its rows (converted to the staged finding columns, tagged
    /// with `index`) into `tx`.
    async fn run(
        &self,
        rule: &Rule,
        index: usize,
        tx: tokio::sync::mpsc::Sender<(usize, RecordBatch)>,
    ) -> Result<RuleOutput, RuleError> {
        let (df, tables) = self.plan(rule).await?;
        let mut stream = df.execute_stream().await.map_err(|e| rule_error(rule, e))?;
        // Finding ids are FNV hashes: their distinct count (sorted once the rule has run) is
        // the number of findings and tells whether the rule reported a resource twice
        // (folded when the stage closes).
        let mut ids = FindingIds::default();
        let mut rows = 0usize;
        let mut converting = std::time::Duration::ZERO;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| rule_error(rule, e))?;
            if batch.num_rows() == 0 {
                continue;
            }
            let convert_started = Instant::now();
            let staged = stage_batch(rule, index, &batch, rows, &mut ids)
                .map_err(|e| rule_error(rule, e))?;
            converting += convert_started.elapsed();
            rows += batch.num_rows();
            if tx.send((index, staged)).await.is_err() {
                return Err(rule_error(rule, "the finding stage closed"));
            }
        }
        tracing::debug!(
            message = "Rule output converted.",
            rule = %rule.id,
            rows,
            converting_millis = converting.as_millis() as u64
        );
        ids.sort_unstable();
        ids.dedup();
        Ok(RuleOutput {
            findings: ids.len(),
            repeated: ids.len() < rows,
            tables,
        })
    }

    /// Evaluates every rule (`concurrency` at a time, see [`Analysis::with_concurrency`])
    /// and stages their findings in `store` (see [`Store::stage_findings`]): read them back
    /// with [`Store::staged_findings`] or record the lifecycle with
    /// [`Store::record_evaluation`]. The model tables several rules share are read once
    /// ([`Analysis::cache_tables`]) and each held table is released after the last rule
    /// reading it, in an order that lets the largest go first (`held`). Rules
    /// run as tasks of the runtime (planning, execution and conversion of their output in
    /// parallel) while this task appends to the stage. One
    /// failing rule is reported in its [`RuleRun`] and stages nothing; the others still run.
    /// The analysis is used up (its held tables are released as the rules run).
    pub async fn evaluate(self, store: &Store, rules: &[Rule]) -> Result<Evaluation, StoreError> {
        self.evaluate_once(store, rules).await
    }

    /// [`Analysis::evaluate`].
    async fn evaluate_once(&self, store: &Store, rules: &[Rule]) -> Result<Evaluation, StoreError> {
        self.cache_tables(rules)
            .await
            .map_err(|e| StoreError::Invalid(format!("caching the model tables: {e}")))?;
        let schedule = self.schedule(rules).await;
        let mut stage = store.stage_findings(rules)?;
        // Once the rules reading what DuckDB computes with much memory have run (they run
        // first), DuckDB only takes the staged findings and serves scans: capped low, the
        // stage spills to disk instead of adding up to the whole cap to the tables held.
        let lowered = std::cell::RefCell::new(None);
        let lower = || {
            if lowered.borrow().is_some() || schedule.needs_store_memory() {
                return;
            }
            match store.lower_memory_limit(RULES_MEMORY_LIMIT) {
                Ok(guard) => *lowered.borrow_mut() = Some(guard),
                Err(e) => {
                    tracing::warn!(message = "Could not lower DuckDB's memory cap.", error = %e)
                }
            }
        };
        lower();
        let lower = &lower;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, RecordBatch)>(8);
        let schedule = &schedule;
        let producer = async move {
            let mut outcomes = futures::stream::iter(schedule.order.iter().map(|&i| {
                let rule = &rules[i];
                let (analysis, owned, tx) = (self.clone(), rule.clone(), tx.clone());
                async move {
                    let started = Instant::now();
                    let task = tokio::spawn(async move { analysis.run(&owned, i, tx).await });
                    let outcome = match task.await {
                        Ok(outcome) => outcome,
                        Err(e) => Err(rule_error(rule, format!("the rule task failed: {e}"))),
                    };
                    self.ran(schedule, i);
                    lower();
                    (i, rule, outcome, started.elapsed().as_millis() as u64)
                }
            }))
            .buffered(self.concurrency)
            .collect::<Vec<_>>()
            .await;
            outcomes.sort_by_key(|o| o.0);
            outcomes
        };
        let mut stage_errors: HashMap<usize, String> = HashMap::new();
        let mut appending = std::time::Duration::ZERO;
        let consumer = async {
            while let Some((i, batch)) = rx.recv().await {
                if stage_errors.contains_key(&i) {
                    continue;
                }
                let started = Instant::now();
                if let Err(e) = stage.append(&batch) {
                    stage_errors.insert(i, format!("staging its findings failed: {e}"));
                }
                appending += started.elapsed();
            }
        };
        let (outcomes, ()) = futures::join!(producer, consumer);
        drop(lowered.take());
        tracing::debug!(
            message = "Findings appended to the stage.",
            millis = appending.as_millis() as u64
        );
        let mut evaluation = Evaluation {
            now: self.now(),
            ..Default::default()
        };
        let (mut failed, mut repeated) = (Vec::new(), Vec::new());
        for (i, rule, outcome, millis) in outcomes {
            let outcome = match stage_errors.remove(&i) {
                Some(e) => Err(rule_error(rule, e)),
                None => outcome,
            };
            match outcome {
                Ok(out) => {
                    tracing::debug!(message = "Rule evaluated.", rule = %rule.id, findings = out.findings, millis);
                    if out.repeated {
                        repeated.push(rule.id.clone());
                    }
                    evaluation.findings += out.findings;
                    evaluation.runs.push(RuleRun {
                        rule_id: rule.id.clone(),
                        findings: out.findings,
                        millis,
                        tables: out.tables,
                        error: None,
                    });
                }
                Err(e) => {
                    tracing::warn!(message = "Rule failed.", rule = %rule.id, error = %e);
                    failed.push(rule.id.clone());
                    evaluation.runs.push(RuleRun {
                        rule_id: rule.id.clone(),
                        findings: 0,
                        millis,
                        tables: Vec::new(),
                        error: Some(e.to_string()),
                    });
                }
            }
        }
        let started = Instant::now();
        stage.finish(&failed, &repeated)?;
        tracing::debug!(
            message = "Stage closed.",
            repeated = repeated.len(),
            millis = started.elapsed().as_millis() as u64
        );
        Ok(evaluation)
    }
}

/// DuckDB's memory cap while rules run (see [`Analysis::evaluate`]), unless the store's is
/// lower.
pub const RULES_MEMORY_LIMIT: u64 = 512 << 20;

/// What one rule produced.
struct RuleOutput {
    /// Distinct findings.
    findings: usize,
    /// Whether some resource was reported more than once.
    repeated: bool,
    tables: Vec<String>,
}

/// Whether values of `data_type` are text (held columns may be dictionaries of text, see
/// [`super::compact`]).
fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}

fn text_column(batch: &RecordBatch, name: &str) -> Result<Option<ArrayRef>, String> {
    let Some(col) = batch.column_by_name(name) else {
        return Ok(None);
    };
    cast(col, &DataType::Utf8)
        .map(Some)
        .map_err(|e| format!("column `{name}`: {e}"))
}

/// Converts one batch of a rule's output into the staged finding columns: the contract
/// columns, the finding id, and the other columns as one JSON object text per row (arrow's
/// JSON encoders, nulls left out).
fn stage_batch(
    rule: &Rule,
    index: usize,
    batch: &RecordBatch,
    offset: usize,
    ids: &mut FindingIds,
) -> Result<RecordBatch, String> {
    let n = batch.num_rows();
    let required = |name: &str| -> Result<ArrayRef, String> {
        let col = text_column(batch, name)?.ok_or_else(|| format!("no `{name}` column"))?;
        if let Some(i) = (0..n).find(|&i| col.is_null(i)) {
            return Err(format!(
                "row {}: `provider`, `tenant` and `resource` must not be NULL",
                offset + i + 1
            ));
        }
        Ok(col)
    };
    let (provider, tenant, resource) = (
        required("provider")?,
        required("tenant")?,
        required("resource")?,
    );
    let identity: ArrayRef = match text_column(batch, "identity_id")? {
        Some(c) => c,
        None => Arc::new(StringArray::new_null(n)),
    };
    let message = text_column(batch, "message")?.ok_or("no `message` column")?;
    let message: ArrayRef = if message.null_count() == 0 {
        message
    } else {
        let m = message.as_string::<i32>();
        Arc::new(StringArray::from_iter_values(
            m.iter().map(|v| v.unwrap_or(rule.title.as_str())),
        ))
    };
    let (p, t, r) = (
        provider.as_string::<i32>(),
        tenant.as_string::<i32>(),
        resource.as_string::<i32>(),
    );
    let start = ids.len();
    ids.extend((0..n).map(|i| finding_hash(&rule.id, p.value(i), t.value(i), r.value(i))));
    let hashes = UInt64Array::from_iter_values(ids[start..].iter().copied());
    let index = u16::try_from(index).map_err(|_| "too many rules in one evaluation")?;
    RecordBatch::try_new(
        staged_schema(),
        vec![
            Arc::new(UInt16Array::from_value(index, n)),
            Arc::new(hashes),
            provider,
            tenant,
            resource,
            identity,
            message,
            evidence_column(batch)?,
        ],
    )
    .map_err(|e| e.to_string())
}

/// The evidence of each row: the columns outside the finding contract as one JSON object.
fn evidence_column(batch: &RecordBatch) -> Result<ArrayRef, String> {
    let n = batch.num_rows();
    let skip = ["provider", "tenant", "resource", "message", "identity_id"];
    let keep: Vec<usize> = batch
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !skip.contains(&f.name().as_str()))
        .map(|(i, _)| i)
        .collect();
    if keep.is_empty() {
        return Ok(Arc::new(StringArray::from_iter_values(
            std::iter::repeat_n("{}", n),
        )));
    }
    let projected = batch.project(&keep).map_err(|e| e.to_string())?;
    let rows: ArrayRef = Arc::new(StructArray::from(projected));
    let field = Arc::new(Field::new("evidence", rows.data_type().clone(), false));
    let options = EncoderOptions::default();
    let mut encoder = make_encoder(&field, rows.as_ref(), &options).map_err(|e| e.to_string())?;
    let mut out = StringBuilder::with_capacity(n, n * 96);
    let mut row = Vec::with_capacity(256);
    for i in 0..n {
        row.clear();
        encoder.encode(i, &mut row);
        out.append_value(std::str::from_utf8(&row).map_err(|e| e.to_string())?);
    }
    Ok(Arc::new(out.finish()))
}
