//! IAM policy documents as IAM returns them (URL-encoded JSON in authorization details,
//! plain JSON elsewhere) flattened into statements, grant rows and trust rows. Accepts every
//! legal spelling: a single statement object or an array, string or array values, `Principal`
//! as `"*"` or a map, `NotAction` / `NotResource` / `NotPrincipal`.

use nhiscope_engine::model::{GrantRow, TrustRow};
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// One statement, normalised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statement {
    pub index: i64,
    pub sid: Option<String>,
    pub effect: String,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub resources: Vec<String>,
    pub not_resources: Vec<String>,
    /// (type, value), `type` prefixed `Not` for `NotPrincipal`; `("*", "*")` for `"*"`.
    pub principals: Vec<(String, String)>,
    /// `Operator:key` for each condition key.
    pub condition_keys: Vec<String>,
    pub conditions: Option<String>,
}

pub use nhiscope_engine::policy::may_allow;

/// Decodes a policy document: URL-encoded or plain JSON text.
pub fn decode(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    let json = if trimmed.starts_with('{') {
        std::borrow::Cow::Borrowed(trimmed)
    } else {
        percent_decode_str(trimmed)
            .decode_utf8()
            .map_err(|e| format!("policy document is not UTF-8 after URL decoding: {e}"))?
    };
    serde_json::from_str(&json).map_err(|e| format!("policy document is not JSON: {e}"))
}

/// Canonical JSON text of a decoded document (what the store keeps).
pub fn to_text(doc: &Value) -> String {
    doc.to_string()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.to_string()],
    }
}

fn principals(v: Option<&Value>, not: bool) -> Vec<(String, String)> {
    let prefix = if not { "Not" } else { "" };
    match v {
        Some(Value::String(s)) => vec![(format!("{prefix}{s}"), s.clone())],
        Some(Value::Object(map)) => map
            .iter()
            .flat_map(|(kind, values)| {
                strings(Some(values))
                    .into_iter()
                    .map(move |value| (format!("{prefix}{kind}"), value))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The statements of a document, in order.
pub fn statements(doc: &Value) -> Vec<Statement> {
    let list: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    };
    list.into_iter()
        .enumerate()
        .map(|(index, s)| {
            let condition = s.get("Condition").filter(|c| !c.is_null());
            let mut condition_keys = Vec::new();
            if let Some(Value::Object(ops)) = condition {
                for (op, keys) in ops {
                    if let Value::Object(keys) = keys {
                        for key in keys.keys() {
                            condition_keys.push(format!("{op}:{key}"));
                        }
                    }
                }
            }
            let mut p = principals(s.get("Principal"), false);
            p.extend(principals(s.get("NotPrincipal"), true));
            Statement {
                index: index as i64,
                sid: s.get("Sid").and_then(Value::as_str).map(str::to_string),
                effect: s
                    .get("Effect")
                    .and_then(Value::as_str)
                    .unwrap_or("Allow")
                    .to_string(),
                actions: strings(s.get("Action")),
                not_actions: strings(s.get("NotAction")),
                resources: strings(s.get("Resource")),
                not_resources: strings(s.get("NotResource")),
                principals: p,
                condition_keys,
                conditions: condition.map(Value::to_string),
            }
        })
        .collect()
}

/// Grant rows for one policy reaching one identity.
pub fn grants(
    identity_id: &str,
    policy_id: &str,
    relation: &str,
    via: &str,
    doc: Option<&Value>,
) -> Vec<GrantRow> {
    let Some(doc) = doc else {
        // Attached, but the document is not visible: keep the attachment, mark it unknown.
        return vec![GrantRow {
            identity_id: identity_id.to_string(),
            policy_id: policy_id.to_string(),
            relation: relation.to_string(),
            via: via.to_string(),
            statement_index: -1,
            effect: "Unknown".to_string(),
            ..Default::default()
        }];
    };
    statements(doc)
        .into_iter()
        .map(|s| GrantRow {
            identity_id: identity_id.to_string(),
            policy_id: policy_id.to_string(),
            relation: relation.to_string(),
            via: via.to_string(),
            statement_index: s.index,
            sid: s.sid,
            effect: s.effect,
            actions: s.actions,
            not_actions: s.not_actions,
            resources: s.resources,
            not_resources: s.not_resources,
            conditions: s.conditions,
        })
        .collect()
}

/// Trust rows of a role's trust (assume-role) policy, one per principal.
pub fn trusts(identity_id: &str, doc: &Value) -> Vec<TrustRow> {
    statements(doc)
        .into_iter()
        .flat_map(|s| {
            s.principals
                .iter()
                .map(|(kind, value)| TrustRow {
                    identity_id: identity_id.to_string(),
                    statement_index: s.index,
                    sid: s.sid.clone(),
                    effect: s.effect.clone(),
                    principal_type: kind.clone(),
                    principal: value.clone(),
                    actions: s.actions.clone(),
                    condition_keys: s.condition_keys.clone(),
                    conditions: s.conditions.clone(),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_and_plain_documents_decode_alike() {
        let plain = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%7D";
        assert_eq!(decode(plain), decode(encoded));
        let s = statements(&decode(plain).expect("json"));
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].actions, vec!["s3:*"]);
    }

    #[test]
    fn trust_principals_in_every_spelling() {
        let doc: Value = serde_json::from_str(
            r#"{"Statement":[
                {"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},
                {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::210987654321:root","444455556666"],"Service":"ec2.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]},
                {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity",
                 "Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/*"},"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}"#,
        )
        .expect("json");
        let rows = trusts("arn:aws:iam::111122223333:role/r", &doc);
        assert_eq!(rows.len(), 5);
        assert_eq!(
            (rows[0].principal_type.as_str(), rows[0].principal.as_str()),
            ("*", "*")
        );
        assert!(rows
            .iter()
            .any(|r| r.principal_type == "Service" && r.principal == "ec2.amazonaws.com"));
        let oidc = rows
            .iter()
            .find(|r| r.principal_type == "Federated")
            .expect("oidc");
        assert!(oidc
            .condition_keys
            .contains(&"StringLike:token.actions.githubusercontent.com:sub".to_string()));
    }

    #[test]
    fn missing_documents_keep_the_attachment() {
        let rows = grants(
            "u",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "attached",
            "u",
            None,
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].effect, "Unknown");
    }
}
