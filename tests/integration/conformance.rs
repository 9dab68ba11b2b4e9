//! Parsers against real public samples in `../shared/data` (CI always has it): credential
//! report rows from Panther's IAM test events, policy and trust documents and timestamps from
//! Cloudsplaining's authorization-details export.

use std::collections::HashMap;
use std::path::PathBuf;

use nhiscope_engine::time;
use nhiscope_scanners::aws::credential_report::{normalise_name, row_from_fields};
use nhiscope_scanners::aws::policy_doc;
use serde_json::Value;

pub fn shared(path: &str) -> PathBuf {
    let p = crate::harness::repo().join("../shared/data").join(path);
    assert!(p.exists(), "shared sample {} is missing", p.display());
    p
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[test]
fn panther_credential_report_rows() {
    let mut checked = 0;
    for file in [
        "panther-analysis-tests/AWS_IAM_User.jsonl",
        "panther-analysis-tests/AWS_IAM_RootUser.jsonl",
    ] {
        let body = std::fs::read_to_string(shared(file)).expect("read sample");
        for (n, line) in body.lines().enumerate() {
            let event: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{file}:{}: {e}", n + 1));
            let Some(report) = event["event"]["CredentialReport"].as_object() else {
                continue;
            };
            let fields: HashMap<String, String> = report
                .iter()
                .map(|(k, v)| (normalise_name(k), text(v)))
                .collect();
            let row =
                row_from_fields(&fields, n + 1).unwrap_or_else(|e| panic!("{file}:{}: {e}", n + 1));
            assert_eq!(row.arn, text(&report["ARN"]));
            assert_eq!(row.is_root(), text(&report["UserName"]) == "<root_account>");
            for (slot, prefix) in [(0, "AccessKey1"), (1, "AccessKey2")] {
                let active = report
                    .get(&format!("{prefix}Active"))
                    .and_then(Value::as_bool);
                assert_eq!(
                    row.keys[slot].active,
                    active,
                    "{file}:{} {prefix}Active",
                    n + 1
                );
                let rotated = report
                    .get(&format!("{prefix}LastRotated"))
                    .map(text)
                    .unwrap_or_default();
                let want = if rotated.starts_with("0001-01-01") || rotated.is_empty() {
                    None
                } else {
                    time::parse(&rotated)
                };
                assert_eq!(
                    row.keys[slot].last_rotated,
                    want,
                    "{file}:{} {prefix}LastRotated",
                    n + 1
                );
                let region = report
                    .get(&format!("{prefix}LastUsedRegion"))
                    .map(text)
                    .unwrap_or_default();
                assert_eq!(
                    row.keys[slot].last_used_region.is_none(),
                    region == "N/A" || region.is_empty()
                );
            }
            assert_eq!(
                row.mfa_active,
                report.get("MfaActive").and_then(Value::as_bool)
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} credential report rows in the samples"
    );
}

#[test]
fn cloudsplaining_documents_and_dates() {
    let body =
        std::fs::read_to_string(shared("cloudsplaining/example-authz-details.json")).expect("read");
    let doc: Value = serde_json::from_str(&body).expect("json");
    let mut statements = 0;
    for p in doc["Policies"].as_array().expect("policies") {
        assert!(
            time::parse(&text(&p["CreateDate"])).is_some(),
            "date {}",
            p["CreateDate"]
        );
        for v in p["PolicyVersionList"].as_array().expect("versions") {
            let d = &v["Document"];
            let d = if let Value::String(s) = d {
                policy_doc::decode(s).expect("decode")
            } else {
                d.clone()
            };
            let s = policy_doc::statements(&d);
            assert!(!s.is_empty(), "{} has statements", p["PolicyName"]);
            for st in &s {
                assert!(st.effect == "Allow" || st.effect == "Deny");
                assert!(
                    !(st.actions.is_empty() && st.not_actions.is_empty()),
                    "{}: action or NotAction",
                    p["PolicyName"]
                );
            }
            statements += s.len();
        }
    }
    let mut trusts = 0;
    for r in doc["RoleDetailList"].as_array().expect("roles") {
        let rows = policy_doc::trusts(&text(&r["Arn"]), &r["AssumeRolePolicyDocument"]);
        assert!(!rows.is_empty(), "{} has a trust principal", r["RoleName"]);
        trusts += rows.len();
    }
    for u in doc["UserDetailList"].as_array().expect("users") {
        for p in u["UserPolicyList"].as_array().into_iter().flatten() {
            let s = policy_doc::statements(&p["PolicyDocument"]);
            assert!(!s.is_empty());
        }
    }
    assert!(statements > 50, "{statements}");
    assert!(trusts >= 3, "{trusts}");
}
