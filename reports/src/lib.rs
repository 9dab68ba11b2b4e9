//! nhiscope-reports: exports of stored findings to the formats other tools read.
//!
//! - [`sarif`]: SARIF 2.1.0, one run with the rules and one result per finding.
//! - [`ocsf`]: OCSF Detection Finding (class 2004) events, one JSON object per finding.

pub mod ocsf;
pub mod sarif;

use nhiscope_engine::rules::Rule;
use nhiscope_engine::store::StoredFinding;

/// The rule a finding came from, if it is still loaded.
fn rule_of<'a>(rules: &'a [Rule], f: &StoredFinding) -> Option<&'a Rule> {
    rules.iter().find(|r| r.id == f.rule_id)
}

/// The finding's evidence object (empty when absent or not an object).
fn evidence(f: &StoredFinding) -> serde_json::Value {
    f.evidence
        .as_deref()
        .and_then(|e| serde_json::from_str(e).ok())
        .unwrap_or_else(|| serde_json::json!({}))
}
