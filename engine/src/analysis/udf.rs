//! SQL functions the rules use, registered on every analysis session:
//!
//! | function | returns |
//! |---|---|
//! | `iam_action_matches(pattern, action)` | IAM wildcard match, case-insensitive |
//! | `iam_allows(effect, actions, not_actions, action)` | an Allow (or unseen) statement applies to `action` |
//! | `iam_sensitive_actions(actions, not_actions, resources, not_resources)` | catalogue entries the statement applies to |
//! | `iam_covers_all_resources(resources, not_resources)` | `Resource: "*"` and no `NotResource` |
//! | `iam_condition_values(conditions, key)` | every value a Condition block gives `key` (any operator) |
//! | `iam_account_of(principal)` | the 12-digit account of an ARN or account principal |
//! | `first_matching_pattern(patterns, value)` | the first `*`/`?` pattern matching `value` (case-insensitive), or NULL |
//! | `iam_escalation_paths(grants)` | the privilege-escalation paths a list of `'<action> via <statement>'` grants enables (catalogue order) |
//! | `iam_escalation_evidence(grants)` | per enabled path, each of its actions with the first statement granting it |
//! | `age_days(ts, now)` | whole days from `ts` to `now` (NULL when `ts` is NULL) |

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Int64Builder, ListArray, ListBuilder, StringArray,
    StringBuilder, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};
use datafusion::prelude::SessionContext;

use crate::policy::actions::{action_matches, statement_applies};
use crate::policy::privesc::{self, PrivescPath};
use crate::policy::sensitive::{covers_all_resources, statement_entries};

fn list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

/// Borrowed view of a `List<Utf8>` column: row `i` as string slices, without allocating.
struct Lists<'a> {
    list: &'a ListArray,
    values: &'a StringArray,
}

impl<'a> Lists<'a> {
    fn new(a: &'a ArrayRef) -> Result<Lists<'a>> {
        let list = a.as_list_opt::<i32>().ok_or_else(|| {
            DataFusionError::Execution(format!("expected a list of strings, got {}", a.data_type()))
        })?;
        let values = list
            .values()
            .as_string_opt::<i32>()
            .ok_or_else(|| DataFusionError::Execution("expected a list of strings".into()))?;
        Ok(Lists { list, values })
    }

    fn row(&self, i: usize, out: &mut Vec<&'a str>) {
        out.clear();
        if self.list.is_null(i) {
            return;
        }
        let offsets = self.list.value_offsets();
        for j in offsets[i] as usize..offsets[i + 1] as usize {
            if self.values.is_valid(j) {
                out.push(self.values.value(j));
            }
        }
    }
}

fn strings(a: &ArrayRef) -> Result<&StringArray> {
    a.as_string_opt::<i32>()
        .ok_or_else(|| DataFusionError::Execution(format!("expected text, got {}", a.data_type())))
}

fn arrays(args: &[ColumnarValue]) -> Result<Vec<ArrayRef>> {
    ColumnarValue::values_to_arrays(args)
}

fn iam_action_matches(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let (p, x) = (strings(&a[0])?, strings(&a[1])?);
    let mut out = BooleanBuilder::with_capacity(p.len());
    for i in 0..p.len() {
        if p.is_null(i) || x.is_null(i) {
            out.append_null();
        } else {
            out.append_value(action_matches(p.value(i), x.value(i)));
        }
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

fn iam_allows(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let effect = strings(&a[0])?;
    let (acts, nots) = (Lists::new(&a[1])?, Lists::new(&a[2])?);
    let action = strings(&a[3])?;
    let (mut va, mut vn) = (Vec::new(), Vec::new());
    let mut out = BooleanBuilder::with_capacity(effect.len());
    for i in 0..effect.len() {
        if action.is_null(i) {
            out.append_null();
            continue;
        }
        let allowed = match effect.is_valid(i).then(|| effect.value(i)) {
            Some("Unknown") => true,
            Some("Allow") => {
                acts.row(i, &mut va);
                nots.row(i, &mut vn);
                statement_applies(&va, &vn, action.value(i))
            }
            _ => false,
        };
        out.append_value(allowed);
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

fn iam_sensitive_actions(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let (acts, nots) = (Lists::new(&a[0])?, Lists::new(&a[1])?);
    let (res, nres) = (Lists::new(&a[2])?, Lists::new(&a[3])?);
    let n = a[0].len();
    let mut out = ListBuilder::with_capacity(StringBuilder::new(), n);
    let (mut va, mut vn, mut vr, mut vnr) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        acts.row(i, &mut va);
        nots.row(i, &mut vn);
        res.row(i, &mut vr);
        nres.row(i, &mut vnr);
        for e in statement_entries(&va, &vn, &vr, &vnr) {
            out.values().append_value(e);
        }
        out.append(true);
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

fn iam_covers_all_resources(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let (res, nres) = (Lists::new(&a[0])?, Lists::new(&a[1])?);
    let (mut vr, mut vnr) = (Vec::new(), Vec::new());
    let mut out = BooleanBuilder::with_capacity(a[0].len());
    for i in 0..a[0].len() {
        res.row(i, &mut vr);
        nres.row(i, &mut vnr);
        out.append_value(covers_all_resources(&vr, &vnr));
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

/// Every value the Condition block (JSON text) gives `key`, under any operator; keys compare
/// case-insensitively as IAM does.
pub fn condition_values(conditions: &str, key: &str) -> Vec<String> {
    let Ok(serde_json::Value::Object(ops)) = serde_json::from_str::<serde_json::Value>(conditions)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for keys in ops.values() {
        let serde_json::Value::Object(keys) = keys else {
            continue;
        };
        for (k, v) in keys {
            if !k.eq_ignore_ascii_case(key) {
                continue;
            }
            match v {
                serde_json::Value::Array(items) => out.extend(items.iter().map(|i| match i {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })),
                serde_json::Value::String(s) => out.push(s.clone()),
                other => out.push(other.to_string()),
            }
        }
    }
    out
}

fn iam_condition_values(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let (cond, key) = (strings(&a[0])?, strings(&a[1])?);
    let mut out = ListBuilder::with_capacity(StringBuilder::new(), cond.len());
    for i in 0..cond.len() {
        if cond.is_valid(i) && key.is_valid(i) {
            for v in condition_values(cond.value(i), key.value(i)) {
                out.values().append_value(v);
            }
        }
        out.append(true);
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

/// The account of an AWS principal: `arn:aws:iam::123456789012:root`, any ARN with an account
/// field, or a bare 12-digit account id. `None` for services, `*` and federated principals.
pub fn account_of(principal: &str) -> Option<&str> {
    let p = principal.trim();
    if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        return Some(p);
    }
    let mut parts = p.splitn(6, ':');
    if parts.next() != Some("arn") {
        return None;
    }
    let account = parts.nth(3)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

fn iam_account_of(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let p = strings(&a[0])?;
    let mut out = StringBuilder::with_capacity(p.len(), p.len() * 12);
    for i in 0..p.len() {
        out.append_option(p.is_valid(i).then(|| account_of(p.value(i))).flatten());
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

fn first_matching_pattern(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let patterns = Lists::new(&a[0])?;
    let value = strings(&a[1])?;
    let mut row = Vec::new();
    let mut out = StringBuilder::with_capacity(value.len(), 0);
    for i in 0..value.len() {
        patterns.row(i, &mut row);
        let hit = value
            .is_valid(i)
            .then(|| row.iter().find(|p| action_matches(p, value.value(i))))
            .flatten();
        out.append_option(hit.copied());
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

/// The escalation paths enabled by one identity's grants (`'<action> via <statement>'` each),
/// with, per action, the first statement (in text order) granting it.
pub fn escalation_paths<'a>(
    grants: &[&'a str],
) -> Vec<(&'static PrivescPath, Vec<(&'static str, &'a str)>)> {
    let mut first: [Option<&str>; 128] = [None; 128];
    let mut held = 0u128;
    for g in grants {
        let (action, statement) = g.split_once(" via ").unwrap_or((g, ""));
        if let Some(i) = privesc::action_index(action) {
            held |= 1 << i;
            first[i] = Some(first[i].map_or(statement, |s| s.min(statement)));
        }
    }
    privesc::enabled_by_mask(held)
        .map(|p| {
            let granted = p.actions.iter().map(|a| {
                let i = privesc::action_index(a).expect("a catalogue action");
                (*a, first[i].unwrap_or_default())
            });
            (p, granted.collect())
        })
        .collect()
}

fn iam_escalation_paths(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let grants = Lists::new(&a[0])?;
    let mut row = Vec::new();
    let mut out = ListBuilder::with_capacity(StringBuilder::new(), a[0].len());
    for i in 0..a[0].len() {
        grants.row(i, &mut row);
        for (path, _) in escalation_paths(&row) {
            out.values().append_value(path.name);
        }
        out.append(true);
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

fn iam_escalation_evidence(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let grants = Lists::new(&a[0])?;
    let mut row = Vec::new();
    let mut out = StringBuilder::with_capacity(a[0].len(), 0);
    let mut text = String::new();
    for i in 0..a[0].len() {
        grants.row(i, &mut row);
        text.clear();
        for (n, (path, actions)) in escalation_paths(&row).into_iter().enumerate() {
            text.push_str(if n == 0 { "" } else { " | " });
            text.push_str(path.name);
            text.push_str(": ");
            for (k, (action, statement)) in actions.iter().enumerate() {
                text.push_str(if k == 0 { "" } else { "; " });
                text.push_str(action);
                text.push_str(" via ");
                text.push_str(statement);
            }
        }
        out.append_option((!text.is_empty()).then_some(text.as_str()));
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

/// The bit of a privilege-escalation catalogue action in half `half` of the catalogue's
/// 128-bit action mask (0: actions 0-63, 1: actions 64-127), 0 for any other action:
/// `bit_or` of it over an identity's permissions is its mask, two integers per identity
/// where a list of texts held every grant.
fn iam_privesc_bits(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let action = strings(&a[0])?;
    let half = a[1]
        .as_primitive_opt::<datafusion::arrow::datatypes::Int64Type>()
        .ok_or_else(|| DataFusionError::Execution("iam_privesc_bits: half is 0 or 1".into()))?;
    let out: UInt64Array = (0..action.len())
        .map(|i| {
            let index = action
                .is_valid(i)
                .then(|| privesc::action_index(action.value(i)))
                .flatten();
            let bit = index.map_or(0u128, |i| 1u128 << i);
            let shift = if half.value(i) == 1 { 64 } else { 0 };
            Some((bit >> shift) as u64)
        })
        .collect();
    Ok(ColumnarValue::Array(Arc::new(out)))
}

/// The escalation paths whose every action is in the catalogue mask given as its two halves
/// (see `iam_privesc_bits`).
fn iam_escalation_paths_of(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let half = |i: usize| {
        a[i].as_primitive_opt::<datafusion::arrow::datatypes::UInt64Type>()
            .ok_or_else(|| DataFusionError::Execution("iam_escalation_paths_of: masks".into()))
    };
    let (low, high) = (half(0)?, half(1)?);
    let mut out = ListBuilder::with_capacity(StringBuilder::new(), low.len());
    for i in 0..low.len() {
        let mask = u128::from(low.value(i)) | u128::from(high.value(i)) << 64;
        for path in privesc::enabled_by_mask(mask) {
            out.values().append_value(path.name);
        }
        out.append(true);
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

fn age_days(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let a = arrays(args)?;
    let ts = a[0]
        .as_primitive_opt::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
        .ok_or_else(|| DataFusionError::Execution("age_days expects timestamps".into()))?;
    let now = a[1]
        .as_primitive_opt::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
        .ok_or_else(|| DataFusionError::Execution("age_days expects timestamps".into()))?;
    let mut out = Int64Builder::with_capacity(ts.len());
    for i in 0..ts.len() {
        if ts.is_null(i) || now.is_null(i) {
            out.append_null();
        } else {
            out.append_value((now.value(i) - ts.value(i)).div_euclid(crate::time::DAY));
        }
    }
    Ok(ColumnarValue::Array(Arc::new(out.finish())))
}

fn udf(
    name: &str,
    inputs: Vec<DataType>,
    output: DataType,
    f: fn(&[ColumnarValue]) -> Result<ColumnarValue>,
) -> ScalarUDF {
    create_udf(name, inputs, output, Volatility::Immutable, Arc::new(f))
}

/// Every function of this module.
pub fn all() -> Vec<ScalarUDF> {
    let (t, l) = (DataType::Utf8, list_type());
    vec![
        udf(
            "iam_action_matches",
            vec![t.clone(), t.clone()],
            DataType::Boolean,
            iam_action_matches,
        ),
        udf(
            "iam_allows",
            vec![t.clone(), l.clone(), l.clone(), t.clone()],
            DataType::Boolean,
            iam_allows,
        ),
        udf(
            "iam_sensitive_actions",
            vec![l.clone(), l.clone(), l.clone(), l.clone()],
            l.clone(),
            iam_sensitive_actions,
        ),
        udf(
            "iam_covers_all_resources",
            vec![l.clone(), l.clone()],
            DataType::Boolean,
            iam_covers_all_resources,
        ),
        udf(
            "iam_condition_values",
            vec![t.clone(), t.clone()],
            l.clone(),
            iam_condition_values,
        ),
        udf("iam_account_of", vec![t.clone()], t.clone(), iam_account_of),
        udf(
            "first_matching_pattern",
            vec![l.clone(), t.clone()],
            t.clone(),
            first_matching_pattern,
        ),
        udf(
            "iam_escalation_paths",
            vec![l.clone()],
            l.clone(),
            iam_escalation_paths,
        ),
        udf(
            "iam_escalation_evidence",
            vec![l.clone()],
            t.clone(),
            iam_escalation_evidence,
        ),
        udf(
            "iam_privesc_bits",
            vec![t.clone(), DataType::Int64],
            DataType::UInt64,
            iam_privesc_bits,
        ),
        udf(
            "iam_escalation_paths_of",
            vec![DataType::UInt64, DataType::UInt64],
            l.clone(),
            iam_escalation_paths_of,
        ),
        udf(
            "age_days",
            vec![ts_type(), ts_type()],
            DataType::Int64,
            age_days,
        ),
    ]
}

/// Registers every function on a session.
pub fn register(ctx: &SessionContext) {
    for f in all() {
        ctx.register_udf(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_of_principals() {
        assert_eq!(
            account_of("arn:aws:iam::210987654321:root"),
            Some("210987654321")
        );
        assert_eq!(
            account_of("arn:aws:iam::210987654321:role/x"),
            Some("210987654321")
        );
        assert_eq!(account_of("210987654321"), Some("210987654321"));
        assert_eq!(account_of("ec2.amazonaws.com"), None);
        assert_eq!(account_of("*"), None);
        assert_eq!(account_of("arn:aws:iam::aws:policy/x"), None);
    }

    #[test]
    fn escalation_paths_need_every_action_and_name_the_first_statement() {
        let grants = [
            "iam:PassRole via arn:aws:iam::1:policy/b#0",
            "lambda:CreateFunction via arn:aws:iam::1:policy/c#2",
            "iam:PassRole via arn:aws:iam::1:policy/a#3",
            "s3:GetObject via arn:aws:iam::1:policy/d#0",
        ];
        assert!(escalation_paths(&grants).is_empty());
        let mut grants = grants.to_vec();
        grants.push("lambda:InvokeFunction via arn:aws:iam::1:policy/c#1");
        grants.push("iam:CreatePolicyVersion via arn:aws:iam::1:policy/e#0");
        let found = escalation_paths(&grants);
        let names: Vec<_> = found.iter().map(|(p, _)| p.name).collect();
        assert_eq!(
            names,
            [
                "CreateNewPolicyVersion",
                "PassExistingRoleToNewLambdaThenInvoke"
            ]
        );
        assert_eq!(
            found[1].1,
            [
                ("iam:PassRole", "arn:aws:iam::1:policy/a#3"),
                ("lambda:CreateFunction", "arn:aws:iam::1:policy/c#2"),
                ("lambda:InvokeFunction", "arn:aws:iam::1:policy/c#1"),
            ]
        );
    }

    /// The two-integer mask of `iam_privesc_bits`, `bit_or`ed, gives the paths the grant
    /// lists give, for every catalogue action alone (the last ones sit in the high half) and
    /// for every path's own actions.
    #[test]
    fn escalation_masks_give_the_paths_the_grant_lists_give() {
        let paths_of = |actions: &[&str]| -> Vec<String> {
            let args = [
                ColumnarValue::Array(Arc::new(StringArray::from(actions.to_vec()))),
                ColumnarValue::Array(Arc::new(datafusion::arrow::array::Int64Array::from(
                    vec![0; actions.len()],
                ))),
            ];
            let or = |half: i64| -> u64 {
                let mut args = args.clone();
                args[1] = ColumnarValue::Array(Arc::new(
                    datafusion::arrow::array::Int64Array::from(vec![half; actions.len()]),
                ));
                let ColumnarValue::Array(bits) = iam_privesc_bits(&args).expect("bits") else {
                    unreachable!()
                };
                bits.as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
                    .iter()
                    .flatten()
                    .fold(0, |m, b| m | b)
            };
            let masks = [
                ColumnarValue::Array(Arc::new(UInt64Array::from(vec![or(0)]))),
                ColumnarValue::Array(Arc::new(UInt64Array::from(vec![or(1)]))),
            ];
            let ColumnarValue::Array(list) = iam_escalation_paths_of(&masks).expect("paths") else {
                unreachable!()
            };
            let list = list.as_list::<i32>().value(0);
            list.as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string)
                .collect()
        };
        let expected = |actions: &[&str]| -> Vec<String> {
            escalation_paths(actions)
                .iter()
                .map(|(p, _)| p.name.to_string())
                .collect()
        };
        let catalogue = privesc::actions();
        assert!(catalogue.len() > 64, "both halves are exercised");
        for action in &catalogue {
            assert_eq!(paths_of(&[action]), expected(&[action]), "{action}");
        }
        for path in privesc::PATHS {
            let mut actions = path.actions.to_vec();
            actions.push("s3:GetObject");
            assert_eq!(paths_of(&actions), expected(&actions), "{}", path.name);
            assert!(paths_of(&actions).iter().any(|p| p == path.name));
        }
    }

    #[test]
    fn condition_values_under_any_operator() {
        let c = r#"{"StringLike":{"token.actions.githubusercontent.com:sub":["repo:acme/*","repo:acme/x:ref:refs/heads/main"]},
                   "StringEquals":{"Token.Actions.GithubUserContent.com:aud":"sts.amazonaws.com"}}"#;
        assert_eq!(
            condition_values(c, "token.actions.githubusercontent.com:sub").len(),
            2
        );
        assert_eq!(
            condition_values(c, "token.actions.githubusercontent.com:aud"),
            vec!["sts.amazonaws.com"]
        );
        assert!(condition_values("not json", "k").is_empty());
    }
}
