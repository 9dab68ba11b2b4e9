//! Findings: what a rule reports about one resource. A finding's id is stable across
//! evaluations (rule id + provider + tenant + resource), so its lifecycle (first seen, last
//! seen, resolved, suppressed) can be followed over time.

use serde::Serialize;

use crate::rules::Severity;

/// One finding of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub finding_id: String,
    pub rule_id: String,
    pub owasp: String,
    pub severity: Severity,
    pub title: String,
    pub provider: String,
    pub tenant: String,
    pub resource: String,
    pub identity_id: Option<String>,
    pub message: String,
    /// The rule's other output columns, as JSON object text.
    pub evidence: String,
}

/// The stable id of a finding: `F-` and 16 hex digits of FNV-1a 64 over its key fields.
pub fn finding_id(rule_id: &str, provider: &str, tenant: &str, resource: &str) -> String {
    format_finding_id(finding_hash(rule_id, provider, tenant, resource))
}

/// FNV-1a 64 over the key fields of a finding, each followed by a unit separator.
pub fn finding_hash(rule_id: &str, provider: &str, tenant: &str, resource: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [rule_id, provider, tenant, resource] {
        for b in part.bytes().chain(std::iter::once(0x1f)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The text form of a finding hash: `F-` and 16 lowercase hex digits. The store renders
/// staged hashes the same way in SQL (`printf('F-%016x', finding_hash)`).
pub fn format_finding_id(hash: u64) -> String {
    format!("F-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = finding_id("NHI7-AWS-001", "aws", "111122223333", "AKIA1");
        assert_eq!(
            a,
            finding_id("NHI7-AWS-001", "aws", "111122223333", "AKIA1")
        );
        assert_ne!(
            a,
            finding_id("NHI7-AWS-001", "aws", "111122223333", "AKIA2")
        );
        // Field boundaries matter: ("ab","c") differs from ("a","bc").
        assert_ne!(
            finding_id("a", "b", "c", "d"),
            finding_id("a", "bc", "", "d")
        );
        assert_eq!(a.len(), 18);
    }
}
