//! Rule parameters: typed values with defaults in the rule file, overridable per rule in
//! `nhiscope.toml`, bound to the query's `$name` placeholders as typed scalars.

use std::collections::BTreeMap;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use serde::{Deserialize, Serialize};

use super::rule::{Rule, RuleError};

/// A parameter value as TOML writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<String>),
}

impl ParamValue {
    fn kind(&self) -> &'static str {
        match self {
            ParamValue::Bool(_) => "a boolean",
            ParamValue::Int(_) => "an integer",
            ParamValue::Float(_) => "a number",
            ParamValue::Text(_) => "a string",
            ParamValue::List(_) => "a list of strings",
        }
    }

    /// The typed scalar bound to `$name`.
    pub fn to_scalar(&self) -> ScalarValue {
        match self {
            ParamValue::Bool(b) => ScalarValue::Boolean(Some(*b)),
            ParamValue::Int(i) => ScalarValue::Int64(Some(*i)),
            ParamValue::Float(f) => ScalarValue::Float64(Some(*f)),
            ParamValue::Text(s) => ScalarValue::Utf8(Some(s.clone())),
            ParamValue::List(items) => {
                let values: Vec<ScalarValue> = items
                    .iter()
                    .map(|s| ScalarValue::Utf8(Some(s.clone())))
                    .collect();
                ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Utf8))
            }
        }
    }

    /// Text for listings.
    pub fn display(&self) -> String {
        match self {
            ParamValue::Bool(b) => b.to_string(),
            ParamValue::Int(i) => i.to_string(),
            ParamValue::Float(f) => f.to_string(),
            ParamValue::Text(s) => format!("{s:?}"),
            ParamValue::List(items) => format!("{items:?}"),
        }
    }
}

/// Per-rule overrides: rule id → param name → value (the `[rules.params."<id>"]` tables of
/// `nhiscope.toml`).
pub type ParamOverrides = BTreeMap<String, BTreeMap<String, ParamValue>>;

/// Applies overrides to rules. An override naming an unknown rule or parameter, or of the
/// wrong type, is an error naming `origin` (the config file).
pub fn apply_overrides(
    rules: &mut [Rule],
    overrides: &ParamOverrides,
    origin: &str,
) -> Result<(), RuleError> {
    for (rule_id, values) in overrides {
        let Some(rule) = rules.iter_mut().find(|r| &r.id == rule_id) else {
            return Err(RuleError::new(
                origin,
                0,
                format!("[rules.params.\"{rule_id}\"]: no loaded rule has this id"),
            ));
        };
        for (name, value) in values {
            let Some(default) = rule.params.get(name) else {
                let known: Vec<&str> = rule.params.keys().map(String::as_str).collect();
                return Err(RuleError::new(
                    origin,
                    0,
                    format!(
                        "[rules.params.\"{rule_id}\"]: unknown param `{name}` (the rule has: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            };
            let value = match (default, value) {
                (ParamValue::Float(_), ParamValue::Int(i)) => ParamValue::Float(*i as f64),
                (d, v) if d.kind() == v.kind() => v.clone(),
                (d, v) => {
                    return Err(RuleError::new(
                        origin,
                        0,
                        format!(
                            "[rules.params.\"{rule_id}\"]: param `{name}` must be {}, not {}",
                            d.kind(),
                            v.kind()
                        ),
                    ))
                }
            };
            rule.params.insert(name.clone(), value);
        }
    }
    Ok(())
}
