//! The finding lifecycle and its outputs: a finding opens, stays open while the scans feeding
//! its rule are partial (even when the rule no longer produces it), resolves after a complete
//! scan, reopens; suppressions with reason and expiry are shown, not dropped, and lapse; SARIF,
//! OCSF, CSV and `--fail-on` through the CLI.

use nhiscope_engine::analysis::Analysis;
use nhiscope_engine::model::{CredentialRow, IdentityRow, RowSet, Stamp};
use nhiscope_engine::rules::{self, RuleSet};
use nhiscope_engine::store::{CollectorRecord, FindingFilter, NewSuppression, Snapshot};
use nhiscope_engine::time::DAY;
use nhiscope_engine::Store;

use crate::harness::{nhiscope, stderr, stdout, temp};

const T0: i64 = 1_780_000_000_000_000; // 2026-05-28

fn user(name: &str) -> IdentityRow {
    IdentityRow {
        identity_id: format!("arn:aws:iam::111122223333:user/{name}"),
        name: name.into(),
        kind: "user".into(),
        created_at: Some(T0 - 900 * DAY),
        ..Default::default()
    }
}

fn key(id: &str, holder: &str, age_days: i64, at: i64) -> CredentialRow {
    CredentialRow {
        credential_id: id.into(),
        identity_id: Some(format!("arn:aws:iam::111122223333:user/{holder}")),
        kind: "access_key".into(),
        status: "active".into(),
        created_at: Some(at - age_days * DAY),
        last_used_at: Some(at - DAY),
        ..Default::default()
    }
}

/// One scan at `at`: `users` and `keys` collectors, each `Some(rows)` (ok) or `None` (failed).
fn scan(
    store: &mut Store,
    at: i64,
    users: Option<Vec<IdentityRow>>,
    keys: Option<Vec<CredentialRow>>,
) {
    let id = store
        .begin_scan("aws:111122223333", "aws", "111122223333", at)
        .expect("begin");
    for (name, rows) in [
        (
            "users",
            users.map(|u| RowSet {
                identities: u,
                ..Default::default()
            }),
        ),
        (
            "keys",
            keys.map(|k| RowSet {
                credentials: k,
                ..Default::default()
            }),
        ),
    ] {
        match rows {
            Some(rows) => {
                let stamp = Stamp {
                    scan_id: id,
                    collector: name.into(),
                    provider: "aws".into(),
                    tenant: "111122223333".into(),
                };
                store.write_collection(&stamp, &rows).expect("write");
                store
                    .record_collector(id, &CollectorRecord::ok(name, &rows, 1, 1))
                    .expect("record");
            }
            None => store
                .record_collector(
                    id,
                    &CollectorRecord::failed(name, "AccessDenied".into(), 1, 1),
                )
                .expect("record"),
        }
    }
    store
        .finish_scan(id, at + 1_000_000, Some(2), None)
        .expect("finish");
}

fn key_rule() -> RuleSet {
    let mut set = RuleSet::default();
    set.extend(
        rules::builtin()
            .expect("builtin")
            .into_iter()
            .filter(|r| r.id == "NHI7-AWS-001")
            .collect(),
    )
    .expect("set");
    set
}

fn evaluate(
    store: &mut Store,
    rules: &RuleSet,
    now: i64,
) -> nhiscope_engine::store::EvaluationSummary {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let eval = rt
        .block_on(async {
            let a = Analysis::new(store, Snapshot::Current, now, true).await?;
            Ok::<_, Box<dyn std::error::Error>>(a.evaluate(store, &rules.rules).await?)
        })
        .expect("evaluate");
    assert_eq!(eval.failed().count(), 0, "{:?}", eval.runs);
    store.record_evaluation(&eval).expect("record")
}

fn status_of(store: &Store, resource: &str, now: i64) -> Option<String> {
    let all = store
        .findings(
            &FindingFilter {
                statuses: vec!["open".into(), "suppressed".into(), "resolved".into()],
                ..Default::default()
            },
            now,
        )
        .expect("findings");
    all.into_iter()
        .find(|f| f.resource == resource)
        .map(|f| f.status)
}

#[test]
fn findings_resolve_only_after_a_complete_scan_and_reopen() {
    let mut store = Store::open_in_memory().expect("store");
    let rules = key_rule();
    let users = || Some(vec![user("ci"), user("etl")]);
    // Scan 1 (complete): ci's key is 200 days old, etl's 10.
    scan(
        &mut store,
        T0,
        users(),
        Some(vec![
            key("AKIAOLD", "ci", 200, T0),
            key("AKIANEW", "etl", 10, T0),
        ]),
    );
    let s = evaluate(&mut store, &rules, T0 + 2_000_000);
    assert_eq!((s.findings, s.opened, s.resolved), (1, 1, 0));
    assert_eq!(status_of(&store, "AKIAOLD", T0).as_deref(), Some("open"));

    // Scan 2: the key was deleted (keys ok), but the users collector failed. The rule reads
    // identities too, so the scan is not complete for it: the finding stays open.
    let t1 = T0 + DAY;
    scan(
        &mut store,
        t1,
        None,
        Some(vec![key("AKIANEW", "etl", 11, t1)]),
    );
    let s = evaluate(&mut store, &rules, t1 + 2_000_000);
    assert_eq!(
        (s.findings, s.resolved, s.awaiting_complete_scan),
        (0, 0, 1)
    );
    assert_eq!(status_of(&store, "AKIAOLD", t1).as_deref(), Some("open"));

    // Scan 3 (complete), still no key: resolved, with an event.
    let t2 = T0 + 2 * DAY;
    scan(
        &mut store,
        t2,
        users(),
        Some(vec![key("AKIANEW", "etl", 12, t2)]),
    );
    let s = evaluate(&mut store, &rules, t2 + 2_000_000);
    assert_eq!((s.findings, s.resolved), (0, 1));
    assert_eq!(
        status_of(&store, "AKIAOLD", t2).as_deref(),
        Some("resolved")
    );
    let resolved = store
        .findings(
            &FindingFilter {
                statuses: vec!["resolved".into()],
                ..Default::default()
            },
            t2,
        )
        .expect("findings");
    assert_eq!(
        resolved
            .iter()
            .map(|f| (f.resource.as_str(), f.last_seen, f.resolved_at))
            .collect::<Vec<_>>(),
        [("AKIAOLD", T0 + 2_000_000, Some(t2 + 2_000_000))],
        "last seen at the first evaluation, resolved at the third"
    );

    // Scan 4: the old key is back (restored from a backup): the same finding reopens.
    let t3 = T0 + 3 * DAY;
    scan(
        &mut store,
        t3,
        users(),
        Some(vec![
            key("AKIAOLD", "ci", 203, t3),
            key("AKIANEW", "etl", 13, t3),
        ]),
    );
    let s = evaluate(&mut store, &rules, t3 + 2_000_000);
    assert_eq!((s.findings, s.opened, s.reopened), (1, 0, 1));
    let f = store
        .findings(&FindingFilter::default(), t3)
        .expect("findings")
        .into_iter()
        .find(|f| f.resource == "AKIAOLD")
        .expect("finding");
    assert_eq!(f.status, "open");
    assert_eq!((f.last_seen, f.resolved_at), (t3 + 2_000_000, None));
    assert_eq!(
        f.first_seen,
        T0 + 2_000_000,
        "first seen survives resolution"
    );
    let events: Vec<String> = store
        .finding_events(&f.finding_id)
        .expect("events")
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["opened", "resolved", "reopened"]);
}

#[test]
fn suppressions_are_shown_with_reason_and_lapse_at_expiry() {
    let mut store = Store::open_in_memory().expect("store");
    let rules = key_rule();
    scan(
        &mut store,
        T0,
        Some(vec![user("ci"), user("etl")]),
        Some(vec![
            key("AKIAOLD1", "ci", 200, T0),
            key("AKIAOLD2", "etl", 300, T0),
        ]),
    );
    evaluate(&mut store, &rules, T0 + 2_000_000);
    let listed = store
        .findings(&FindingFilter::default(), T0)
        .expect("findings");
    assert_eq!(listed.len(), 2);
    let target = listed
        .iter()
        .find(|f| f.resource == "AKIAOLD1")
        .expect("finding")
        .finding_id
        .clone();
    let id = store
        .suppress(
            &NewSuppression {
                finding_id: Some(target.clone()),
                reason: "vendor appliance, rotation scheduled for Q3".into(),
                author: "secops@acme".into(),
                expires_at: Some(T0 + 30 * DAY),
                ..Default::default()
            },
            "cli",
            T0,
        )
        .expect("suppress");
    // Shown as suppressed, with who and why; the other stays open.
    let listed = store
        .findings(&FindingFilter::default(), T0 + DAY)
        .expect("findings");
    let s = listed
        .iter()
        .find(|f| f.finding_id == target)
        .expect("still listed");
    assert_eq!(s.status, "suppressed");
    let sup = s.suppression.as_ref().expect("suppression");
    assert_eq!(
        (sup.suppression_id, sup.author.as_str()),
        (id, "secops@acme")
    );
    assert!(sup.reason.contains("rotation scheduled"));
    let open_only = store
        .findings(
            &FindingFilter {
                statuses: vec!["open".into()],
                ..Default::default()
            },
            T0 + DAY,
        )
        .expect("findings");
    assert_eq!(open_only.len(), 1);
    // After expiry it is open again.
    assert_eq!(
        status_of(&store, "AKIAOLD1", T0 + 31 * DAY).as_deref(),
        Some("open")
    );
    // A pattern suppression (rule + resource glob) covers the rest; revoking lifts it.
    let pattern = store
        .suppress(
            &NewSuppression {
                rule_id: Some("NHI7-AWS-001".into()),
                resource: Some("AKIAOLD*".into()),
                reason: "accepted risk".into(),
                author: "ciso".into(),
                ..Default::default()
            },
            "cli",
            T0,
        )
        .expect("suppress pattern");
    assert_eq!(
        status_of(&store, "AKIAOLD2", T0 + DAY).as_deref(),
        Some("suppressed")
    );
    store
        .revoke_suppression(pattern, "ciso", T0 + 2 * DAY)
        .expect("revoke");
    assert_eq!(
        status_of(&store, "AKIAOLD2", T0 + 3 * DAY).as_deref(),
        Some("open")
    );
    let events: Vec<String> = store
        .finding_events(&target)
        .expect("events")
        .into_iter()
        .map(|e| format!("{} {}", e.event, e.actor))
        .collect();
    assert!(
        events.contains(&"suppressed secops@acme".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"unsuppressed ciso".to_string()),
        "{events:?}"
    );
    // A suppression needs a reason and an author.
    assert!(store
        .suppress(
            &NewSuppression {
                finding_id: Some(target),
                author: "x".into(),
                ..Default::default()
            },
            "cli",
            T0
        )
        .is_err());
}

#[test]
fn cli_exports_sarif_ocsf_csv_and_gates_ci_with_fail_on() {
    let dir = temp();
    let store = dir.path().join("s.duckdb");
    let out = nhiscope(&store, &["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("findings"), "{}", stdout(&out));

    let out = nhiscope(&store, &["findings", "--format", "sarif"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sarif json");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert!(run["tool"]["driver"]["rules"]
        .as_array()
        .map(|r| r.len() >= 20)
        .unwrap_or(false));
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        assert!(r["partialFingerprints"]["nhiscopeFindingId/v1"]
            .as_str()
            .is_some_and(|s| s.starts_with("F-")));
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap_or("")));
        let idx = r["ruleIndex"].as_u64().expect("rule index") as usize;
        assert_eq!(run["tool"]["driver"]["rules"][idx]["id"], r["ruleId"]);
    }

    let out = nhiscope(&store, &["findings", "--format", "ocsf"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("ndjson"))
        .collect();
    assert_eq!(events.len(), results.len());
    for e in &events {
        assert_eq!(e["class_uid"], 2004);
        assert_eq!(e["category_uid"], 2);
        assert!((1..=5).contains(&e["severity_id"].as_i64().unwrap_or(0)));
        assert_eq!(
            e["type_uid"].as_i64(),
            Some(200400 + e["activity_id"].as_i64().unwrap_or(0))
        );
        assert!(e["finding_info"]["uid"]
            .as_str()
            .is_some_and(|s| s.starts_with("F-")));
        assert_eq!(e["cloud"]["account"]["uid"], "999900001111");
    }

    let out = nhiscope(
        &store,
        &["findings", "--format", "csv", "--severity", "high"],
    );
    assert!(out.status.success());
    let csv_text = stdout(&out);
    assert!(csv_text.starts_with("finding_id,status,severity,rule_id"));
    assert!(
        csv_text
            .lines()
            .skip(1)
            .all(|l| l.contains(",high,") || l.contains(",critical,")),
        "{csv_text}"
    );

    // --fail-on: the demo has critical findings.
    let out = nhiscope(
        &store,
        &["findings", "--fail-on", "critical", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // Suppress every critical finding (one pattern per rule): the gate opens; they are still listed.
    let crit: serde_json::Value = serde_json::from_slice(
        &nhiscope(
            &store,
            &["findings", "--severity", "critical", "--format", "json"],
        )
        .stdout,
    )
    .expect("json");
    let mut rules_seen: Vec<String> = crit
        .as_array()
        .expect("array")
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap_or_default().to_string())
        .collect();
    rules_seen.sort();
    rules_seen.dedup();
    for r in &rules_seen {
        let out = nhiscope(
            &store,
            &[
                "findings",
                "suppress",
                "--rule",
                r,
                "--reason",
                "demo accepted",
                "--author",
                "tester",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = nhiscope(&store, &["findings", "--fail-on", "critical"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("[suppressed #"), "{}", stdout(&out));
    // Show one finding with remediation and events.
    let first = crit[0]["finding_id"].as_str().expect("id").to_string();
    let out = nhiscope(&store, &["findings", "show", &first]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("remediation:") && text.contains("suppressed"),
        "{text}"
    );
    // Bad suppression input is refused with a clear message.
    let out = nhiscope(
        &store,
        &[
            "findings",
            "suppress",
            "F-0000000000000000",
            "--reason",
            "x",
            "--author",
            "y",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no finding F-0000000000000000"),
        "{}",
        stderr(&out)
    );
}
