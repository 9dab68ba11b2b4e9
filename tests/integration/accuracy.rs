//! Rule accuracy on a seeded moto estate whose ground truth is known from the seeder's
//! manifest: for each rule the manifest can decide, which resources must be flagged and which
//! must not. Precision and recall are measured per rule and must both be 1.0.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::{nhiscope, scan, stderr, stdout, temp, Moto};

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

fn active_keys(u: &Value) -> Vec<Value> {
    list(&u["keys"])
        .into_iter()
        .filter(|k| k["status"] == "active")
        .collect()
}

/// The seeder's notion of a non-human user: it holds a programmatic credential nhiscope sees.
fn nhi_user(u: &Value) -> bool {
    !active_keys(u).is_empty()
        || !list(&u["ssh_keys"]).is_empty()
        || !list(&u["signing_certs"]).is_empty()
}

fn role_index(r: &Value) -> i64 {
    let name = s(&r["name"]);
    name.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(-1)
}

/// Ground truth per rule, from the manifest.
fn expected(m: &Value) -> Vec<(&'static str, BTreeSet<String>)> {
    let users = list(&m["users"]);
    let roles = list(&m["roles"]);
    let set = |it: Box<dyn Iterator<Item = String> + '_>| it.collect::<BTreeSet<String>>();
    let admin_policy = "arn:aws:iam::aws:policy/AdministratorAccess";
    vec![
        (
            "NHI7-AWS-001",
            set(Box::new(
                users
                    .iter()
                    .flat_map(active_keys)
                    .filter(|k| k["age_days"].as_i64().unwrap_or(0) > 90)
                    .map(|k| s(&k["id"])),
            )),
        ),
        (
            "NHI7-AWS-002",
            set(Box::new(
                users
                    .iter()
                    .filter(|u| active_keys(u).len() > 1)
                    .map(|u| s(&u["arn"])),
            )),
        ),
        (
            "NHI1-AWS-001",
            set(Box::new(
                users
                    .iter()
                    .flat_map(active_keys)
                    .filter(|k| k["used"] == false && k["age_days"].as_i64().unwrap_or(0) > 45)
                    .map(|k| s(&k["id"])),
            )),
        ),
        (
            "NHI7-AWS-004",
            set(Box::new(
                roles
                    .iter()
                    .filter(|r| r["max_session"].as_i64().unwrap_or(0) > 4 * 3600)
                    .map(|r| s(&r["arn"])),
            )),
        ),
        (
            "NHI6-AWS-001",
            set(Box::new(
                roles
                    .iter()
                    .filter(|r| {
                        ["github-wildcard", "github-nosub", "cognito-any-pool"]
                            .contains(&r["kind"].as_str().unwrap_or_default())
                    })
                    .map(|r| s(&r["arn"])),
            )),
        ),
        (
            "NHI6-AWS-002",
            set(Box::new(
                roles
                    .iter()
                    .filter(|r| r["kind"] == "anyone")
                    .map(|r| s(&r["arn"])),
            )),
        ),
        (
            "NHI3-AWS-001",
            set(Box::new(
                roles
                    .iter()
                    .filter(|r| r["kind"] == "cross-account" && role_index(r) % 2 == 0)
                    .map(|r| s(&r["arn"])),
            )),
        ),
        (
            "NHI10-AWS-001",
            set(Box::new(
                users
                    .iter()
                    .filter(|u| u["console"] == true && !active_keys(u).is_empty())
                    .map(|u| s(&u["arn"])),
            )),
        ),
        (
            "NHI4-AWS-001",
            set(Box::new(
                users
                    .iter()
                    .filter(|u| !list(&u["inline"]).is_empty() || !list(&u["attached"]).is_empty())
                    .map(|u| s(&u["arn"])),
            )),
        ),
        (
            "NHI5-AWS-001",
            set(Box::new(
                users
                    .iter()
                    .filter(|u| {
                        u["boundary"].is_null()
                            && nhi_user(u)
                            && (list(&u["attached"]).iter().any(|p| p == admin_policy)
                                || list(&u["groups"]).iter().any(|g| g == "admins"))
                    })
                    .map(|u| s(&u["arn"])),
            )),
        ),
        (
            "NHI1-ALL-001",
            set(Box::new(
                users
                    .iter()
                    .filter(|u| {
                        nhi_user(u)
                            && u["tags"]["owner"].is_null()
                            && !list(&u["groups"]).iter().any(|g| g == "team-payments")
                    })
                    .map(|u| s(&u["arn"]))
                    .chain(
                        roles
                            .iter()
                            .filter(|r| r["tags"]["owner"].is_null())
                            .map(|r| s(&r["arn"])),
                    ),
            )),
        ),
    ]
}

#[test]
fn rules_have_full_precision_and_recall_on_a_seeded_estate() {
    let moto = Moto::start();
    let dir = temp();
    let manifest = moto.seed(
        dir.path(),
        &["--users", "150", "--roles", "90", "--seed", "11"],
    );
    let store = dir.path().join("s.duckdb");
    let out = scan(&moto, &store, &[]);
    // moto lacks ListServiceSpecificCredentials, so the scan is partial (exit 2); rules still run.
    assert!(
        matches!(out.status.code(), Some(0) | Some(2)),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("rules: "), "{}", stdout(&out));
    let out = nhiscope(&store, &["findings", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    // Users with a permissions boundary are left out of the admin comparison: moto's
    // GetAccountAuthorizationDetails does not return user boundaries (see moto-notes).
    let bounded: BTreeSet<String> = list(&manifest["users"])
        .iter()
        .filter(|u| !u["boundary"].is_null())
        .map(|u| s(&u["arn"]))
        .collect();
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (rule, want) in expected(&manifest) {
        let got: BTreeSet<String> = findings
            .iter()
            .filter(|f| f["rule_id"] == rule)
            .map(|f| s(&f["resource"]))
            .filter(|r| rule != "NHI5-AWS-001" || !bounded.contains(r))
            .collect();
        let tp = got.intersection(&want).count();
        let precision = if got.is_empty() {
            1.0
        } else {
            tp as f64 / got.len() as f64
        };
        let recall = if want.is_empty() {
            1.0
        } else {
            tp as f64 / want.len() as f64
        };
        report.push(format!(
            "{rule:<14} expected {:>3} flagged {:>3} precision {precision:.3} recall {recall:.3}",
            want.len(),
            got.len()
        ));
        if want.is_empty() {
            failures.push(format!("{rule}: the seeded estate has no positive case"));
        }
        if precision < 1.0 || recall < 1.0 {
            failures.push(format!(
                "{rule}: false positives {:?}, missed {:?}",
                got.difference(&want).take(5).collect::<Vec<_>>(),
                want.difference(&got).take(5).collect::<Vec<_>>()
            ));
        }
    }
    println!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{}\n{}",
        report.join("\n"),
        failures.join("\n")
    );
}
