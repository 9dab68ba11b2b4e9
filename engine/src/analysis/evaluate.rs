//! Planning and running rules. Each rule's query is parsed read-only (no DDL, DML or
//! statements), its `$name` placeholders are bound to typed parameter values (`$now` is the
//! evaluation time), its output is checked against the finding contract, and its rows become
//! [`Finding`]s. Rules run concurrently; one failing rule is reported and the others still run.

use std::collections::HashMap;
use std::time::Instant;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::DataFrame;
use futures::StreamExt;
use serde::Serialize;

use super::Analysis;
use crate::findings::{finding_id, Finding};
use crate::rules::rule::REQUIRED_COLUMNS;
use crate::rules::{Rule, RuleError};
use crate::time::Micros;

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
    pub findings: Vec<Finding>,
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
fn scanned_tables(plan: &LogicalPlan) -> Vec<String> {
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
            if !matches!(
                field.data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            ) {
                return Err(rule_error(
                    rule,
                    format!("column `{col}` must be text, not {}", field.data_type()),
                ));
            }
        }
        let tables = scanned_tables(df.logical_plan());
        Ok((df, tables))
    }

    /// Runs one rule and turns its rows into findings.
    pub async fn run(&self, rule: &Rule) -> Result<(Vec<Finding>, Vec<String>), RuleError> {
        let (df, tables) = self.plan(rule).await?;
        let batches = df.collect().await.map_err(|e| rule_error(rule, e))?;
        let mut findings = Vec::new();
        for batch in &batches {
            findings_of(rule, batch, &mut findings).map_err(|e| rule_error(rule, e))?;
        }
        // One finding per resource: a rule returning several rows for one resource (several
        // granting statements, say) keeps the first, with the others' evidence under `also`.
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(findings.len());
        let mut also: HashMap<usize, Vec<String>> = HashMap::new();
        let mut unique: Vec<Finding> = Vec::with_capacity(findings.len());
        for f in findings {
            match seen.get(&f.finding_id) {
                Some(&i) => {
                    let extra = also.entry(i).or_default();
                    if extra.len() < 20 {
                        extra.push(f.evidence);
                    }
                }
                None => {
                    seen.insert(f.finding_id.clone(), unique.len());
                    unique.push(f);
                }
            }
        }
        for (i, extra) in also {
            let mut first: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&unique[i].evidence).unwrap_or_default();
            let items = extra
                .iter()
                .filter_map(|e| serde_json::from_str::<serde_json::Value>(e).ok())
                .collect();
            first.insert("also".into(), serde_json::Value::Array(items));
            unique[i].evidence = serde_json::Value::Object(first).to_string();
        }
        Ok((unique, tables))
    }

    /// Evaluates every rule (two at a time), collecting findings and per-rule runs.
    pub async fn evaluate(&self, rules: &[Rule]) -> Evaluation {
        let runs = futures::stream::iter(rules.iter().map(|rule| async move {
            let started = Instant::now();
            let outcome = self.run(rule).await;
            (rule, outcome, started.elapsed().as_millis() as u64)
        }))
        .buffered(2)
        .collect::<Vec<_>>()
        .await;
        let mut evaluation = Evaluation {
            now: self.now(),
            ..Default::default()
        };
        for (rule, outcome, millis) in runs {
            match outcome {
                Ok((findings, tables)) => {
                    tracing::debug!(message = "Rule evaluated.", rule = %rule.id, findings = findings.len(), millis);
                    evaluation.runs.push(RuleRun {
                        rule_id: rule.id.clone(),
                        findings: findings.len(),
                        millis,
                        tables,
                        error: None,
                    });
                    evaluation.findings.extend(findings);
                }
                Err(e) => {
                    tracing::warn!(message = "Rule failed.", rule = %rule.id, error = %e);
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
        evaluation
    }
}

fn text_column(batch: &RecordBatch, name: &str) -> Result<Option<Vec<Option<String>>>, String> {
    let Some(col) = batch.column_by_name(name) else {
        return Ok(None);
    };
    let col = cast(col, &DataType::Utf8).map_err(|e| format!("column `{name}`: {e}"))?;
    let s = col.as_string::<i32>();
    Ok(Some(
        (0..s.len())
            .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
            .collect(),
    ))
}

fn findings_of(rule: &Rule, batch: &RecordBatch, out: &mut Vec<Finding>) -> Result<(), String> {
    let n = batch.num_rows();
    if n == 0 {
        return Ok(());
    }
    let get = |name: &str| -> Result<Vec<Option<String>>, String> {
        Ok(text_column(batch, name)?.unwrap_or_else(|| vec![None; n]))
    };
    let (provider, tenant, resource, message) = (
        get("provider")?,
        get("tenant")?,
        get("resource")?,
        get("message")?,
    );
    let identity = get("identity_id")?;
    let skip = ["provider", "tenant", "resource", "message", "identity_id"];
    let keep: Vec<usize> = batch
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !skip.contains(&f.name().as_str()))
        .map(|(i, _)| i)
        .collect();
    // Evidence: the other columns, one JSON object text per row (arrow's line writer).
    let evidence: Vec<String> = if keep.is_empty() {
        vec!["{}".to_string(); n]
    } else {
        let projected = batch.project(&keep).map_err(|e| e.to_string())?;
        let mut writer = arrow::json::LineDelimitedWriter::new(Vec::with_capacity(n * 128));
        writer.write(&projected).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
        let text = String::from_utf8(writer.into_inner()).map_err(|e| e.to_string())?;
        text.lines().map(str::to_string).collect()
    };
    if evidence.len() != n {
        return Err(format!("evidence rows {} != {n}", evidence.len()));
    }
    for (i, evidence) in evidence.into_iter().enumerate() {
        let (Some(provider), Some(tenant), Some(resource)) =
            (provider[i].clone(), tenant[i].clone(), resource[i].clone())
        else {
            return Err(format!(
                "row {}: `provider`, `tenant` and `resource` must not be NULL",
                i + 1
            ));
        };
        out.push(Finding {
            finding_id: finding_id(&rule.id, &provider, &tenant, &resource),
            rule_id: rule.id.clone(),
            owasp: rule.owasp.clone(),
            severity: rule.severity,
            title: rule.title.clone(),
            provider,
            tenant,
            resource: resource.clone(),
            identity_id: identity[i].clone(),
            message: message[i].clone().unwrap_or_else(|| rule.title.clone()),
            evidence,
        });
    }
    Ok(())
}
