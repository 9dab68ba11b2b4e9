//! The staging area of one evaluation: rule output streams into a connection-local temporary
//! table (`eval_findings`, inserted straight from Arrow through `batch_scan`) instead of
//! being held in memory,
//! so an evaluation that reports millions of findings stays within bounded memory. Each row
//! names its rule by position (`rule`, see `eval_rules`) and its finding by the 64-bit hash
//! behind the finding id (`finding_hash`; the id is `F-` and its 16 hex digits): two numbers
//! instead of two strings on millions of rows. Rules that reported one resource several
//! times are folded to one finding in SQL (the first row's evidence, with up to 20 others
//! under `also`). The lifecycle ([`Store::record_evaluation`]) and the read-back
//! ([`Store::staged_findings`]) work on it.
//!
//! Temporary tables belong to the connection that made them, so the analysis, which reads
//! through cloned connections, never sees them. A read-only store stages in a private
//! in-memory database instead (DuckDB refuses appends on a read-only database).

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use duckdb::params;

use super::{batch_scan, Result, Store, StoreError};
use crate::findings::Finding;
use crate::rules::{Rule, Severity};

/// The columns rule output is converted to before staging (the stage adds `seq` in front).
pub fn staged_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        Field::new("rule", DataType::UInt16, false),
        Field::new("finding_hash", DataType::UInt64, false),
        text("provider", false),
        text("tenant", false),
        text("resource", false),
        text("identity_id", true),
        text("message", false),
        text("evidence", false),
    ]))
}

/// An open stage: append converted rule output, then [`FindingStage::finish`].
pub struct FindingStage<'a> {
    store: &'a Store,
    schema: SchemaRef,
    seq: i64,
}

impl Store {
    /// Opens a fresh stage for an evaluation of `rules` (replacing any earlier one).
    pub fn stage_findings(&self, rules: &[Rule]) -> Result<FindingStage<'_>> {
        let conn = self.stage_conn();
        conn.execute_batch(
            "CREATE OR REPLACE TEMP TABLE eval_rules (
                 rule USMALLINT PRIMARY KEY, rule_id VARCHAR NOT NULL, owasp VARCHAR NOT NULL,
                 severity VARCHAR NOT NULL, title VARCHAR NOT NULL);
             CREATE OR REPLACE TEMP TABLE eval_findings (
                 seq BIGINT NOT NULL, rule USMALLINT NOT NULL, finding_hash UBIGINT NOT NULL,
                 provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL, resource VARCHAR NOT NULL,
                 identity_id VARCHAR, message VARCHAR NOT NULL, evidence VARCHAR NOT NULL);",
        )?;
        if rules.len() > usize::from(u16::MAX) {
            return Err(StoreError::Invalid(format!(
                "{} rules in one evaluation; at most {} are supported",
                rules.len(),
                u16::MAX
            )));
        }
        {
            let mut app = conn.appender("eval_rules")?;
            for (i, r) in rules.iter().enumerate() {
                app.append_row(params![
                    i as u16,
                    r.id,
                    r.owasp,
                    r.severity.as_str(),
                    r.title
                ])?;
            }
            app.flush()?;
        }
        batch_scan::register(conn)?;
        let mut fields = vec![Arc::new(Field::new("seq", DataType::Int64, false))];
        fields.extend(staged_schema().fields().iter().cloned());
        Ok(FindingStage {
            store: self,
            schema: Arc::new(Schema::new(fields)),
            seq: 0,
        })
    }

    /// The findings of the last staged evaluation, optionally of one rule, most severe first.
    pub fn staged_findings(&self, rule_id: Option<&str>) -> Result<Vec<Finding>> {
        let mut stmt = self.stage_conn().prepare(
            "SELECT printf('F-%016x', s.finding_hash), r.rule_id, r.owasp, r.severity, r.title,
                    s.provider, s.tenant, s.resource, s.identity_id, s.message, s.evidence
             FROM eval_findings s JOIN eval_rules r USING (rule)
             WHERE $1::VARCHAR IS NULL OR r.rule_id = $1
             ORDER BY r.rule_id, s.tenant, s.resource",
        )?;
        let rows = stmt.query_map(params![rule_id], |r| {
            let severity: String = r.get(3)?;
            Ok(Finding {
                finding_id: r.get(0)?,
                rule_id: r.get(1)?,
                owasp: r.get(2)?,
                severity: Severity::parse(&severity).unwrap_or(Severity::Info),
                title: r.get(4)?,
                provider: r.get(5)?,
                tenant: r.get(6)?,
                resource: r.get(7)?,
                identity_id: r.get(8)?,
                message: r.get(9)?,
                evidence: r.get(10)?,
            })
        })?;
        let mut out: Vec<Finding> = rows.collect::<std::result::Result<_, _>>()?;
        out.sort_by_key(|f| std::cmp::Reverse(f.severity));
        Ok(out)
    }

    /// Whether the last staged evaluation has a finding at `severity` or above.
    pub fn staged_at_least(&self, severity: Severity) -> Result<bool> {
        let names: Vec<&str> = Severity::ALL
            .iter()
            .filter(|s| **s >= severity)
            .map(|s| s.as_str())
            .collect();
        let n: i64 = self.stage_conn().query_row(
            "SELECT count(*) FROM eval_findings JOIN eval_rules USING (rule)
             WHERE list_contains(string_split($1, ','), severity)",
            params![names.join(",")],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }
}

impl FindingStage<'_> {
    /// The Arrow schema of what [`FindingStage::append`] takes.
    pub fn input_schema(&self) -> SchemaRef {
        staged_schema()
    }

    /// Appends converted rule output (columns of [`staged_schema`]), inserted straight from
    /// the batch (DuckDB's appender would copy every value into its own buffer first).
    pub fn append(&mut self, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows() as i64;
        let seq = Int64Array::from_iter_values(self.seq..self.seq + n);
        self.seq += n;
        let mut columns = vec![Arc::new(seq) as arrow::array::ArrayRef];
        columns.extend(batch.columns().iter().cloned());
        let staged = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| StoreError::Invalid(format!("staging findings: {e}")))?;
        let handed = batch_scan::hand_over(staged);
        self.store.stage_conn().execute_batch(&format!(
            "INSERT INTO eval_findings SELECT * FROM {}({}::UBIGINT)",
            batch_scan::FUNCTION,
            handed.id()
        ))?;
        Ok(())
    }

    /// Closes the stage: drops what `failed` rules staged, and folds the rows of `repeated`
    /// rules (rules that reported a resource more than once) to one finding per id.
    pub fn finish(self, failed: &[String], repeated: &[String]) -> Result<()> {
        let conn = self.store.stage_conn();
        if !failed.is_empty() {
            conn.execute(
                "DELETE FROM eval_findings WHERE rule IN (
                     SELECT rule FROM eval_rules
                     WHERE list_contains(string_split($1, chr(31)), rule_id))",
                params![failed.join("\u{1f}")],
            )?;
        }
        if !repeated.is_empty() {
            conn.execute(
                "CREATE OR REPLACE TEMP TABLE eval_repeated AS
                 SELECT finding_hash, min(seq) AS first_seq,
                        list(evidence ORDER BY seq)[2:21] AS others
                 FROM eval_findings WHERE rule IN (
                     SELECT rule FROM eval_rules
                     WHERE list_contains(string_split($1, chr(31)), rule_id))
                 GROUP BY finding_hash HAVING count(*) > 1",
                params![repeated.join("\u{1f}")],
            )?;
            conn.execute_batch(
                "UPDATE eval_findings SET evidence =
                     CASE WHEN evidence = '{}' THEN '{' ELSE substr(evidence, 1, length(evidence) - 1) || ',' END
                     || '\"also\":[' || array_to_string(r.others, ',') || ']}'
                 FROM eval_repeated r
                 WHERE eval_findings.finding_hash = r.finding_hash AND eval_findings.seq = r.first_seq;
                 DELETE FROM eval_findings USING eval_repeated r
                 WHERE eval_findings.finding_hash = r.finding_hash AND eval_findings.seq <> r.first_seq;
                 DROP TABLE eval_repeated;",
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringArray, UInt16Array, UInt64Array};

    fn batch(index: u16, rule: &str, rows: &[(&str, &str)]) -> RecordBatch {
        let col = |f: &dyn Fn(&(&str, &str)) -> String| -> arrow::array::ArrayRef {
            Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
        };
        RecordBatch::try_new(
            staged_schema(),
            vec![
                Arc::new(UInt16Array::from(vec![index; rows.len()])),
                Arc::new(UInt64Array::from_iter_values(
                    rows.iter()
                        .map(|r| crate::findings::finding_hash(rule, "aws", "1", r.0)),
                )),
                col(&|_| "aws".into()),
                col(&|_| "1".into()),
                col(&|r| r.0.to_string()),
                Arc::new(StringArray::new_null(rows.len())),
                col(&|r| format!("about {}", r.0)),
                col(&|r| r.1.to_string()),
            ],
        )
        .expect("batch")
    }

    #[test]
    fn repeated_resources_fold_and_failed_rules_leave_nothing() {
        let rules = crate::rules::load::builtin().expect("pack");
        let (a, b) = (rules[0].id.as_str(), rules[1].id.as_str());
        let store = Store::open_in_memory().expect("store");
        let mut stage = store.stage_findings(&rules).expect("stage");
        stage
            .append(&batch(0, a, &[("r1", r#"{"sid":"one"}"#), ("r2", "{}")]))
            .expect("append");
        stage
            .append(&batch(
                0,
                a,
                &[("r1", r#"{"sid":"two"}"#), ("r2", r#"{"x":{"y":1}}"#)],
            ))
            .expect("append");
        stage.append(&batch(1, b, &[("r9", "{}")])).expect("append");
        stage
            .finish(&[b.to_string()], &[a.to_string()])
            .expect("finish");
        let found = store.staged_findings(None).expect("read");
        let evidence: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.resource.as_str(), f.evidence.as_str()))
            .collect();
        assert_eq!(
            evidence,
            vec![
                ("r1", r#"{"sid":"one","also":[{"sid":"two"}]}"#),
                ("r2", r#"{"also":[{"x":{"y":1}}]}"#)
            ]
        );
        assert!(found
            .iter()
            .all(|f| f.rule_id == a && f.title == rules[0].title));
        assert_eq!(
            found[0].finding_id,
            crate::findings::finding_id(a, "aws", "1", "r1")
        );
        let worst = found[0].severity;
        assert!(store.staged_at_least(worst).expect("count"));
    }
}
