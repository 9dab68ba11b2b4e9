//! The rule file format. A rule is metadata (id, title, OWASP NHI category, severity,
//! rationale, remediation, references, compliance mappings), parameters with defaults and one
//! SQL query. The query returns one row per finding with at least `provider`, `tenant`,
//! `resource` and `message`; `identity_id` links the finding to an identity; every other column
//! is evidence.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::params::ParamValue;

/// Columns every rule query must return (text).
pub const REQUIRED_COLUMNS: &[&str] = &["provider", "tenant", "resource", "message"];

/// Severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// The OWASP Non-Human Identities Top 10 (2025) categories.
pub const OWASP_NHI: [(&str, &str); 10] = [
    ("NHI1", "Improper Offboarding"),
    ("NHI2", "Secret Leakage"),
    ("NHI3", "Vulnerable Third-Party NHI"),
    ("NHI4", "Insecure Authentication"),
    ("NHI5", "Overprivileged NHI"),
    ("NHI6", "Insecure Cloud Deployment Configurations"),
    ("NHI7", "Long-Lived Secrets"),
    ("NHI8", "Environment Isolation"),
    ("NHI9", "NHI Reuse"),
    ("NHI10", "Human Use of NHI"),
];

/// The title of an OWASP NHI category id.
pub fn owasp_title(id: &str) -> Option<&'static str> {
    OWASP_NHI.iter().find(|(k, _)| *k == id).map(|(_, t)| *t)
}

/// A rule as written in its file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: String,
    /// OWASP NHI Top 10 category (`NHI1`..`NHI10`).
    pub owasp: String,
    pub severity: Severity,
    pub providers: Vec<String>,
    pub rationale: String,
    pub remediation: String,
    #[serde(default)]
    pub references: Vec<String>,
    /// Framework → control ids, e.g. `cis_aws = ["1.14"]`.
    #[serde(default)]
    pub compliance: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    pub sql: String,
    /// Where the rule came from (file path or `builtin:<path>`), set by the loader.
    #[serde(skip)]
    pub origin: String,
    /// Line of the `sql` key in the file, set by the loader.
    #[serde(skip)]
    pub sql_line: usize,
}

/// A rule that cannot be loaded, checked or evaluated; always names the file and line.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}:{line}: {message}")]
pub struct RuleError {
    pub origin: String,
    pub line: usize,
    pub message: String,
}

impl RuleError {
    pub fn new(origin: impl Into<String>, line: usize, message: impl Into<String>) -> RuleError {
        RuleError {
            origin: origin.into(),
            line,
            message: message.into(),
        }
    }
}

impl Rule {
    /// Checks the metadata (the query is checked by planning it).
    pub fn validate(&self) -> Result<(), RuleError> {
        let err = |m: String| Err(RuleError::new(&self.origin, 1, m));
        let id_ok = !self.id.is_empty()
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !id_ok {
            return err(format!(
                "field `id`: {:?} must be non-empty and use only letters, digits, `-`, `_`, `.`",
                self.id
            ));
        }
        if owasp_title(&self.owasp).is_none() {
            return err(format!(
                "field `owasp`: {:?} is not an OWASP NHI Top 10 id (NHI1..NHI10)",
                self.owasp
            ));
        }
        if self.title.trim().is_empty() {
            return err("field `title` is empty".into());
        }
        if self.providers.is_empty() {
            return err("field `providers` is empty".into());
        }
        if self.remediation.trim().is_empty() || self.rationale.trim().is_empty() {
            return err("fields `rationale` and `remediation` must say something".into());
        }
        if self.params.contains_key("now") {
            return err("param `now` is reserved (the evaluation time is always bound)".into());
        }
        Ok(())
    }

    /// `file:line` of the rule's query.
    pub fn location(&self) -> String {
        format!("{}:{}", self.origin, self.sql_line)
    }

    /// Where the file lives when loaded from disk.
    pub fn path(&self) -> Option<PathBuf> {
        (!self.origin.starts_with("builtin:")).then(|| PathBuf::from(&self.origin))
    }
}
