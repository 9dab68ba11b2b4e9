//! Loading rules: the built-in pack (the repository's `rules/` directory, embedded at build
//! time) and user directories (`--rules DIR`, `[rules] dirs` in `nhiscope.toml`). Directories
//! are read recursively; `tests/` folders hold fixtures, not rules.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::rule::{Rule, RuleError};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// A loaded, validated set of rules with unique ids.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Adds rules; a rule whose id is already loaded from another set replaces it (a user
    /// directory overriding a built-in rule), twice in the same set is an error.
    pub fn extend(&mut self, rules: Vec<Rule>) -> Result<(), RuleError> {
        let base = self.rules.len();
        for rule in rules {
            if let Some(pos) = self.rules.iter().position(|r| r.id == rule.id) {
                if pos >= base {
                    return Err(RuleError::new(
                        &rule.origin,
                        1,
                        format!(
                            "rule id {} is already defined in {}",
                            rule.id, self.rules[pos].origin
                        ),
                    ));
                }
                tracing::info!(message = "Rule overridden.", id = %rule.id, by = %rule.origin, was = %self.rules[pos].origin);
                self.rules[pos] = rule;
            } else {
                self.rules.push(rule);
            }
        }
        self.rules.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// The built-in rule pack. Embedded files were validated by the test suite; an error here is a
/// build defect and is reported like any other rule error.
pub fn builtin() -> Result<Vec<Rule>, RuleError> {
    let mut rules = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (path, text) in embedded::RULES {
        let rule = parse(text, &format!("builtin:rules/{path}"))?;
        if !seen.insert(rule.id.clone()) {
            return Err(RuleError::new(
                &rule.origin,
                1,
                format!("duplicate rule id {}", rule.id),
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// The built-in fixture files (`rules/tests/*.toml`), as (path, text).
pub fn builtin_fixtures() -> &'static [(&'static str, &'static str)] {
    embedded::FIXTURES
}

#[derive(Deserialize)]
struct SqlSpan {
    sql: toml::Spanned<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses one rule file's text. `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Rule, RuleError> {
    let mut rule: Rule = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        RuleError::new(origin, line, e.message().trim().to_string())
    })?;
    rule.origin = origin.to_string();
    rule.sql_line = toml::from_str::<SqlSpan>(text)
        .map(|s| line_of(text, s.sql.span().start))
        .unwrap_or(1);
    rule.validate()?;
    Ok(rule)
}

/// Loads one rule file.
pub fn load_file(path: &Path) -> Result<Rule, RuleError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| RuleError::new(&origin, 0, format!("cannot read: {e}")))?;
    parse(&text, &origin)
}

/// Every `*.toml` rule file under `dir`, recursively, in path order, skipping `tests/`.
pub fn rule_files(dir: &Path) -> Result<Vec<PathBuf>, RuleError> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "tests") {
                    walk(&path, out)?;
                }
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, &mut out).map_err(|e| {
        RuleError::new(
            dir.display().to_string(),
            0,
            format!("cannot read rules directory: {e}"),
        )
    })?;
    out.sort();
    Ok(out)
}

/// Loads every rule of a directory. All files are read; the errors of every bad file are
/// returned together, with the rules that did load.
pub fn load_dir(dir: &Path) -> (Vec<Rule>, Vec<RuleError>) {
    let files = match rule_files(dir) {
        Ok(f) => f,
        Err(e) => return (Vec::new(), vec![e]),
    };
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match load_file(&f) {
            Ok(r) => rules.push(r),
            Err(e) => errors.push(e),
        }
    }
    (rules, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "T-1"
title = "t"
owasp = "NHI7"
severity = "high"
providers = ["aws"]
rationale = "r"
remediation = "fix"
sql = """
SELECT 1
"""
[params]
max_days = 90
"#;

    #[test]
    fn parses_with_the_line_of_the_query() {
        let r = parse(GOOD, "x.toml").expect("rule");
        assert_eq!(r.sql_line, 9);
        assert!(r.params.contains_key("max_days"));
        assert_eq!(r.location(), "x.toml:9");
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let bad = GOOD.replace("severity = \"high\"", "severity = \"urgent\"");
        let e = parse(&bad, "x.toml").expect_err("bad severity");
        assert_eq!((e.origin.as_str(), e.line), ("x.toml", 5));
        assert!(e.message.contains("urgent"), "{e}");
        let bad = GOOD.replace("NHI7", "NHI11");
        let e = parse(&bad, "x.toml").expect_err("bad owasp");
        assert!(e.to_string().contains("field `owasp`"), "{e}");
        let bad = GOOD.replace("title = \"t\"\n", "title = \"t\"\ntitel = \"typo\"\n");
        let e = parse(&bad, "x.toml").expect_err("unknown field");
        assert!(e.message.contains("titel"), "{e}");
    }

    #[test]
    fn builtin_pack_loads() {
        let rules = builtin().expect("builtin rules");
        assert!(rules.len() >= 20, "{}", rules.len());
    }
}
