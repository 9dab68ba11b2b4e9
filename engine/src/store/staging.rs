//! The staging area of one evaluation: rule output streams into a connection-local temporary
//! table (`eval_findings`, through DuckDB's Arrow appender) instead of being held in memory,
//! so an evaluation that reports millions of findings stays within bounded memory. Rules
//! that reported one resource several times are folded to one finding in SQL (the first
//! row's evidence, with up to 20 others under `also`). The lifecycle
//! ([`Store::record_evaluation`]) and the read-back ([`Store::staged_findings`]) work on it.
//!
//! Temporary tables belong to the connection that made them, so the analysis, which reads
//! through cloned connections, never sees them. A read-only store stages in a private
//! in-memory database instead (DuckDB refuses appends on a read-only database).

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use duckdb::{params, Appender};

use super::{Result, Store, StoreError};
use crate::findings::Finding;
use crate::rules::{Rule, Severity};

/// The columns rule output is converted to before staging (the stage adds `seq` in front).
pub fn staged_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        text("rule_id", false),
        text("finding_id", false),
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
    appender: Appender<'a>,
    schema: SchemaRef,
    seq: i64,
}

impl Store {
    /// Opens a fresh stage for an evaluation of `rules` (replacing any earlier one).
    pub fn stage_findings(&self, rules: &[Rule]) -> Result<FindingStage<'_>> {
        let conn = self.stage_conn();
        conn.execute_batch(
            "CREATE OR REPLACE TEMP TABLE eval_rules (
                 rule_id VARCHAR PRIMARY KEY, owasp VARCHAR NOT NULL, severity VARCHAR NOT NULL,
                 title VARCHAR NOT NULL);
             CREATE OR REPLACE TEMP TABLE eval_findings (
                 seq BIGINT NOT NULL, rule_id VARCHAR NOT NULL, finding_id VARCHAR NOT NULL,
                 provider VARCHAR NOT NULL, tenant VARCHAR NOT NULL, resource VARCHAR NOT NULL,
                 identity_id VARCHAR, message VARCHAR NOT NULL, evidence VARCHAR NOT NULL);",
        )?;
        {
            let mut app = conn.appender("eval_rules")?;
            for r in rules {
                app.append_row(params![r.id, r.owasp, r.severity.as_str(), r.title])?;
            }
            app.flush()?;
        }
        let mut fields = vec![Arc::new(Field::new("seq", DataType::Int64, false))];
        fields.extend(staged_schema().fields().iter().cloned());
        Ok(FindingStage {
            store: self,
            appender: conn.appender("eval_findings")?,
            schema: Arc::new(Schema::new(fields)),
            seq: 0,
        })
    }

    /// The findings of the last staged evaluation, optionally of one rule, most severe first.
    pub fn staged_findings(&self, rule_id: Option<&str>) -> Result<Vec<Finding>> {
        let mut stmt = self.stage_conn().prepare(
            "SELECT s.finding_id, s.rule_id, r.owasp, r.severity, r.title, s.provider, s.tenant,
                    s.resource, s.identity_id, s.message, s.evidence
             FROM eval_findings s JOIN eval_rules r USING (rule_id)
             WHERE $1::VARCHAR IS NULL OR s.rule_id = $1
             ORDER BY s.rule_id, s.tenant, s.resource",
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
            "SELECT count(*) FROM eval_findings JOIN eval_rules USING (rule_id)
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

    /// Appends converted rule output (columns of [`staged_schema`]).
    pub fn append(&mut self, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows() as i64;
        let seq = Int64Array::from_iter_values(self.seq..self.seq + n);
        self.seq += n;
        let mut columns = vec![Arc::new(seq) as arrow::array::ArrayRef];
        columns.extend(batch.columns().iter().cloned());
        let staged = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| StoreError::Invalid(format!("staging findings: {e}")))?;
        self.appender.append_record_batch(staged)?;
        Ok(())
    }

    /// Closes the stage: drops what `failed` rules staged, and folds the rows of `repeated`
    /// rules (rules that reported a resource more than once) to one finding per id.
    pub fn finish(mut self, failed: &[String], repeated: &[String]) -> Result<()> {
        self.appender.flush()?;
        drop(self.appender);
        let conn = self.store.stage_conn();
        if !failed.is_empty() {
            conn.execute(
                "DELETE FROM eval_findings WHERE list_contains(string_split($1, chr(31)), rule_id)",
                params![failed.join("\u{1f}")],
            )?;
        }
        if !repeated.is_empty() {
            conn.execute(
                "CREATE OR REPLACE TEMP TABLE eval_repeated AS
                 SELECT finding_id, min(seq) AS first_seq,
                        list(evidence ORDER BY seq)[2:21] AS others
                 FROM eval_findings WHERE list_contains(string_split($1, chr(31)), rule_id)
                 GROUP BY finding_id HAVING count(*) > 1",
                params![repeated.join("\u{1f}")],
            )?;
            conn.execute_batch(
                "UPDATE eval_findings SET evidence =
                     CASE WHEN evidence = '{}' THEN '{' ELSE substr(evidence, 1, length(evidence) - 1) || ',' END
                     || '\"also\":[' || array_to_string(r.others, ',') || ']}'
                 FROM eval_repeated r
                 WHERE eval_findings.finding_id = r.finding_id AND eval_findings.seq = r.first_seq;
                 DELETE FROM eval_findings USING eval_repeated r
                 WHERE eval_findings.finding_id = r.finding_id AND eval_findings.seq <> r.first_seq;
                 DROP TABLE eval_repeated;",
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;

    fn batch(rule: &str, rows: &[(&str, &str)]) -> RecordBatch {
        let col = |f: &dyn Fn(&(&str, &str)) -> String| -> arrow::array::ArrayRef {
            Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
        };
        RecordBatch::try_new(
            staged_schema(),
            vec![
                col(&|_| rule.to_string()),
                col(&|r| crate::findings::finding_id(rule, "aws", "1", r.0)),
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
            .append(&batch(a, &[("r1", r#"{"sid":"one"}"#), ("r2", "{}")]))
            .expect("append");
        stage
            .append(&batch(
                a,
                &[("r1", r#"{"sid":"two"}"#), ("r2", r#"{"x":{"y":1}}"#)],
            ))
            .expect("append");
        stage.append(&batch(b, &[("r9", "{}")])).expect("append");
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
        let worst = found[0].severity;
        assert!(store.staged_at_least(worst).expect("count"));
    }
}
