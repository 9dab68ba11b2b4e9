//! Rule fixtures: model rows, a time and the resources the rule must (and must not) flag. One
//! file per rule under `rules/tests/<rule id>.toml` (`nhiscope rules test` runs them; so does
//! the test suite for the built-in pack). Rows go through the same store write path as a scan.
//!
//! ```toml
//! rule = "NHI7-AWS-001"
//! now = "2026-06-01T00:00:00Z"
//! [params]                # optional overrides
//! max_key_age_days = 90
//! [[rows.credentials]]
//! credential_id = "AKIAOLD"
//! kind = "access_key"
//! status = "active"
//! created_at = "2025-01-01"
//! [expect]
//! flagged = ["AKIAOLD"]   # exactly these resources
//! clean = ["AKIANEW"]     # present in the rows, must not be flagged
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use super::params::ParamValue;
use super::rule::{Rule, RuleError};
use crate::analysis::Analysis;
use crate::model::{RowSet, Stamp};
use crate::store::{CollectorRecord, Snapshot, Store};
use crate::time;

/// A fixture file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub rule: String,
    pub now: String,
    #[serde(default = "default_provider")]
    pub provider: String,
    #[serde(default = "default_tenant")]
    pub tenant: String,
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    #[serde(default)]
    pub rows: RowSet,
    pub expect: Expect,
    #[serde(skip)]
    pub origin: String,
}

/// What the rule must report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub flagged: Vec<String>,
    pub clean: Vec<String>,
}

fn default_provider() -> String {
    "aws".into()
}
fn default_tenant() -> String {
    "111122223333".into()
}

/// How a fixture fared.
#[derive(Debug, Clone)]
pub struct FixtureOutcome {
    pub rule_id: String,
    pub flagged: Vec<String>,
    /// Empty when the rule behaved as expected.
    pub problems: Vec<String>,
}

impl Fixture {
    pub fn parse(text: &str, origin: &str) -> Result<Fixture, RuleError> {
        let mut f: Fixture = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            RuleError::new(origin, line, e.message().trim().to_string())
        })?;
        f.origin = origin.to_string();
        if f.expect.flagged.is_empty() || f.expect.clean.is_empty() {
            return Err(RuleError::new(
                origin,
                1,
                "a fixture needs at least one `flagged` (positive) and one `clean` (negative) resource",
            ));
        }
        Ok(f)
    }

    /// Loads the rows into a fresh in-memory store as one complete scan a day before `now`;
    /// returns the store and `now`.
    pub fn load(&self) -> Result<(Store, crate::time::Micros), RuleError> {
        let err = |m: String| RuleError::new(&self.origin, 1, m);
        let now = time::parse(&self.now)
            .ok_or_else(|| err(format!("`now` is not a time: {:?}", self.now)))?;
        let mut store = Store::open_in_memory().map_err(|e| err(e.to_string()))?;
        let source = format!("{}:{}", self.provider, self.tenant);
        let scan = store
            .begin_scan(&source, &self.provider, &self.tenant, now - time::DAY)
            .map_err(|e| err(e.to_string()))?;
        let stamp = Stamp {
            scan_id: scan,
            collector: "fixture".into(),
            provider: self.provider.clone(),
            tenant: self.tenant.clone(),
        };
        store
            .write_collection(&stamp, &self.rows)
            .map_err(|e| err(e.to_string()))?;
        store
            .record_collector(scan, &CollectorRecord::ok("fixture", &self.rows, 0, 0))
            .map_err(|e| err(e.to_string()))?;
        store
            .finish_scan(scan, now - time::DAY, None, None)
            .map_err(|e| err(e.to_string()))?;
        Ok((store, now))
    }

    /// Loads the rows into a fresh in-memory store and evaluates `rule` over them.
    pub async fn run(&self, rule: &Rule) -> Result<FixtureOutcome, RuleError> {
        let err = |m: String| RuleError::new(&self.origin, 1, m);
        let (store, now) = self.load()?;
        let mut rule = rule.clone();
        for (k, v) in &self.params {
            if !rule.params.contains_key(k) {
                return Err(err(format!(
                    "param `{k}` is not a param of rule {}",
                    rule.id
                )));
            }
            rule.params.insert(k.clone(), v.clone());
        }
        let analysis = Analysis::new(&store, Snapshot::Current, now, true)
            .await
            .map_err(|e| err(e.to_string()))?;
        let eval = analysis
            .evaluate(&store, std::slice::from_ref(&rule))
            .await
            .map_err(|e| err(e.to_string()))?;
        if let Some(e) = eval.failed().find_map(|r| r.error.clone()) {
            return Err(err(e));
        }
        let findings = store
            .staged_findings(Some(&rule.id))
            .map_err(|e| err(e.to_string()))?;
        let mut flagged: Vec<String> = findings.into_iter().map(|f| f.resource).collect();
        flagged.sort();
        let mut problems = Vec::new();
        for want in &self.expect.flagged {
            if !flagged.contains(want) {
                problems.push(format!("expected {want} to be flagged; it was not"));
            }
        }
        for got in &flagged {
            if !self.expect.flagged.contains(got) {
                problems.push(format!("{got} was flagged but is not in `expect.flagged`"));
            }
        }
        for clean in &self.expect.clean {
            if flagged.contains(clean) {
                problems.push(format!("{clean} must not be flagged"));
            }
        }
        Ok(FixtureOutcome {
            rule_id: rule.id.clone(),
            flagged,
            problems,
        })
    }
}
