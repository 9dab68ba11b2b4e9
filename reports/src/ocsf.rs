//! OCSF 1.3 Detection Finding (class_uid 2004, category 2 Findings): one event per finding,
//! written as NDJSON. Status maps to OCSF status ids (New 1, Suppressed 3, Resolved 4); the
//! activity is Create for a finding first seen at its last sighting, Update otherwise, Close
//! when resolved.

use nhiscope_engine::rules::{Rule, Severity};
use nhiscope_engine::store::StoredFinding;
use serde_json::{json, Value};

use crate::{evidence, rule_of};

const CLASS_UID: i64 = 2004;

fn severity_id(severity: &str) -> (i64, &'static str) {
    match Severity::parse(severity) {
        Some(Severity::Critical) => (5, "Critical"),
        Some(Severity::High) => (4, "High"),
        Some(Severity::Medium) => (3, "Medium"),
        Some(Severity::Low) => (2, "Low"),
        Some(Severity::Info) => (1, "Informational"),
        None => (0, "Unknown"),
    }
}

fn millis(micros: i64) -> i64 {
    micros.div_euclid(1000)
}

/// One OCSF Detection Finding event.
pub fn event(rules: &[Rule], f: &StoredFinding, tool_version: &str) -> Value {
    let (activity_id, activity) = if f.status == "resolved" {
        (3, "Close")
    } else if f.first_seen == f.last_seen {
        (1, "Create")
    } else {
        (2, "Update")
    };
    let (status_id, status) = match f.status.as_str() {
        "resolved" => (4, "Resolved"),
        "suppressed" => (3, "Suppressed"),
        _ => (1, "New"),
    };
    let (sev_id, sev) = severity_id(&f.severity);
    let rule = rule_of(rules, f);
    let time = f.resolved_at.unwrap_or(f.last_seen);
    json!({
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": activity,
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": format!("Detection Finding: {activity}"),
        "severity_id": sev_id,
        "severity": sev,
        "status_id": status_id,
        "status": status,
        "time": millis(time),
        "message": f.message,
        "metadata": {
            "version": "1.3.0",
            "product": { "name": "nhiscope", "vendor_name": "nhiscope", "version": tool_version },
            "uid": f.finding_id,
        },
        "finding_info": {
            "uid": f.finding_id,
            "title": f.title,
            "desc": rule.map(|r| r.rationale.trim().to_string()),
            "types": [format!("OWASP NHI Top 10: {}", f.owasp)],
            "first_seen_time": millis(f.first_seen),
            "last_seen_time": millis(f.last_seen),
            "analytic": { "uid": f.rule_id, "name": f.title, "type_id": 1, "type": "Rule" },
        },
        "resources": [{
            "uid": f.resource,
            "type": if f.identity_id.as_deref() == Some(f.resource.as_str()) { "Identity" } else { "Credential" },
            "owner": f.identity_id.as_ref().map(|i| json!({ "uid": i })),
        }],
        "cloud": { "provider": f.provider, "account": { "uid": f.tenant } },
        "remediation": rule.map(|r| json!({ "desc": r.remediation.trim(), "references": r.references })),
        "evidences": [{ "data": evidence(f) }],
        "unmapped": {
            "compliance": rule.map(|r| json!(r.compliance)),
            "suppression": f.suppression.as_ref().map(|s| json!({
                "id": s.suppression_id, "reason": s.reason, "author": s.author,
                "expires": s.expires_at.map(nhiscope_engine::time::format),
            })),
        },
    })
}
