//! SARIF 2.1.0. Cloud resources have no file location, so each result carries a logical
//! location (the resource id, kind `resource`) and a `partialFingerprints.nhiscopeFindingId`
//! that stays stable across runs, which is how code-scanning UIs track a result over time.

use nhiscope_engine::rules::{Rule, Severity};
use nhiscope_engine::store::StoredFinding;
use serde_json::{json, Value};

use crate::{evidence, rule_of};

fn level(severity: &str) -> &'static str {
    match Severity::parse(severity) {
        Some(Severity::Critical | Severity::High) => "error",
        Some(Severity::Medium) => "warning",
        _ => "note",
    }
}

/// GitHub's `security-severity` property (0.0 to 10.0).
fn security_severity(severity: &str) -> &'static str {
    match Severity::parse(severity) {
        Some(Severity::Critical) => "9.5",
        Some(Severity::High) => "8.0",
        Some(Severity::Medium) => "5.5",
        Some(Severity::Low) => "3.0",
        _ => "0.0",
    }
}

/// A SARIF log of `findings`, with every rule of `rules` described.
pub fn log(rules: &[Rule], findings: &[StoredFinding], tool_version: &str) -> Value {
    let driver_rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id.replace('-', ""),
                "shortDescription": { "text": r.title },
                "fullDescription": { "text": r.rationale.trim() },
                "help": { "text": r.remediation.trim(), "markdown": r.remediation.trim() },
                "helpUri": r.references.first(),
                "defaultConfiguration": { "level": level(r.severity.as_str()) },
                "properties": {
                    "tags": ["security", "non-human-identity", r.owasp.clone()],
                    "security-severity": security_severity(r.severity.as_str()),
                    "owasp-nhi": r.owasp,
                    "compliance": r.compliance,
                    "precision": "high",
                }
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let rule_index = rules.iter().position(|r| r.id == f.rule_id);
            let suppressions: Vec<Value> = f
                .suppression
                .iter()
                .filter(|_| f.status == "suppressed")
                .map(|s| {
                    json!({
                        "kind": "external",
                        "status": "accepted",
                        "justification": format!("{} (by {}, suppression {})", s.reason, s.author, s.suppression_id),
                    })
                })
                .collect();
            let mut result = json!({
                "ruleId": f.rule_id,
                "level": level(&f.severity),
                "message": { "text": f.message },
                "locations": [{
                    "logicalLocations": [{
                        "fullyQualifiedName": f.resource,
                        "kind": "resource",
                    }]
                }],
                "partialFingerprints": { "nhiscopeFindingId/v1": f.finding_id },
                "properties": {
                    "provider": f.provider,
                    "tenant": f.tenant,
                    "identity": f.identity_id,
                    "owasp-nhi": f.owasp,
                    "status": f.status,
                    "firstSeen": nhiscope_engine::time::format(f.first_seen),
                    "lastSeen": nhiscope_engine::time::format(f.last_seen),
                    "evidence": evidence(f),
                    "remediation": rule_of(rules, f).map(|r| r.remediation.trim().to_string()),
                }
            });
            if let Some(i) = rule_index {
                result["ruleIndex"] = json!(i);
            }
            if !suppressions.is_empty() {
                result["suppressions"] = json!(suppressions);
            }
            if f.status == "resolved" {
                result["baselineState"] = json!("absent");
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "nhiscope",
                "informationUri": "https://github.com/nhiscope/nhiscope",
                "version": tool_version,
                "rules": driver_rules,
            }},
            "results": results,
        }]
    })
}
