//! Faults injected between the SDK and moto: throttling (400 Throttling, 429), 500, 503 and
//! dropped connections are retried with back-off until the scan is whole; AccessDenied on one
//! API fails only that collector, makes the scan partial, exits non-zero with a summary, and
//! never makes anything collected before look deleted.

use nhiscope_engine::store::{CollectorStatus, ScanStatus, Snapshot};
use nhiscope_engine::Table;
use serde_json::json;

use crate::harness::{self, Moto};

#[test]
fn transient_faults_are_retried_until_the_scan_is_whole() {
    let dir = harness::temp();
    let moto = Moto::start();
    let m = moto.seed(dir.path(), &["--users", "25", "--roles", "15"]);
    moto.faults(json!([
        {"action": "GetAccountAuthorizationDetails", "kind": "throttle", "times": 2},
        {"action": "ListRoles", "kind": "throttle429", "times": 1},
        {"action": "ListAccessKeys", "kind": "error500", "times": 3},
        {"action": "GenerateCredentialReport", "kind": "unavailable", "times": 1},
        {"action": "ListVirtualMFADevices", "kind": "drop", "times": 1},
        {"action": "ListSSHPublicKeys", "kind": "throttle", "times": 2},
    ]));
    moto.reset_calls();
    let store_path = dir.path().join("s.duckdb");
    let out = harness::scan(&moto, &store_path, &[]);
    let text = harness::stdout(&out);
    let calls = moto.calls();
    // Retries happened (the server saw the failed attempts too)...
    assert_eq!(
        calls["calls"]["GetAccountAuthorizationDetails"], 3,
        "{calls}"
    );
    assert_eq!(calls["calls"]["ListVirtualMFADevices"], 2, "{calls}");
    // ...and every collector but the one moto lacks succeeded.
    let store = harness::open(&store_path);
    let scan = &store.scans(None, 1).expect("scans")[0];
    for c in &scan.collectors {
        let expected = if c.collector == "service_specific_credentials" {
            CollectorStatus::Failed
        } else {
            CollectorStatus::Ok
        };
        assert_eq!(c.status, expected, "{}: {:?}\n{text}", c.collector, c.error);
    }
    let keys: usize = m["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["keys"].as_array().map_or(0, Vec::len))
        .sum();
    let creds = harness::rows(&store, Table::Credentials, Snapshot::Current);
    assert_eq!(
        creds.iter().filter(|c| c["kind"] == "access_key").count(),
        keys
    );
    // Users holding keys are listed (a fresh credential report lets keyless users be skipped),
    // and the three injected 500s were retried: every attempt counts as a call.
    let holders = m["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| u["keys"].as_array().is_some_and(|k| !k.is_empty()))
        .count() as i64;
    let access_key_calls = scan
        .collectors
        .iter()
        .find(|c| c.collector == "access_keys")
        .expect("access_keys")
        .api_calls;
    assert!(
        access_key_calls >= holders + 3,
        "retries are counted as calls ({access_key_calls}, {holders} key holders)"
    );
}

#[test]
fn access_denied_fails_one_collector_and_deletes_nothing() {
    let dir = harness::temp();
    let moto = Moto::start();
    let m = moto.seed(dir.path(), &["--users", "40", "--roles", "10"]);
    let store_path = dir.path().join("s.duckdb");
    let first = harness::scan(&moto, &store_path, &[]);
    assert_eq!(
        first.status.code(),
        Some(2),
        "moto lacks service-specific credentials"
    );
    let ssh_before: Vec<_> = {
        let store = harness::open(&store_path);
        harness::rows(&store, Table::Credentials, Snapshot::Current)
            .into_iter()
            .filter(|c| c["kind"] == "ssh_key")
            .collect()
    };
    let seeded_ssh: usize = m["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["ssh_keys"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(ssh_before.len(), seeded_ssh);

    // Second scan: SSH keys denied, authorization details denied.
    moto.faults(json!([
        {"action": "ListSSHPublicKeys", "kind": "access_denied", "times": -1},
        {"action": "GetAccountAuthorizationDetails", "kind": "access_denied", "times": -1},
    ]));
    let second = harness::scan(&moto, &store_path, &[]);
    let text = harness::stdout(&second);
    assert_eq!(second.status.code(), Some(2), "{text}");
    assert!(
        text.contains(
            "collector ssh_public_keys failed: ListSSHPublicKeys: access denied (AccessDenied)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "collector authorization_details failed: GetAccountAuthorizationDetails: access denied"
        ),
        "{text}"
    );

    let store = harness::open(&store_path);
    let scans = store.scans(None, 10).expect("scans");
    assert_eq!(scans[0].status, ScanStatus::Partial);
    // Access keys still collected (users listed with ListUsers instead).
    let ak = scans[0]
        .collectors
        .iter()
        .find(|c| c.collector == "access_keys")
        .expect("access_keys");
    assert_eq!(ak.status, CollectorStatus::Ok);
    // Nothing looks deleted: identities and SSH keys of the first scan are still current.
    let identities = harness::rows(&store, Table::Identities, Snapshot::Current);
    assert_eq!(identities.len(), 40 + 10 + 5);
    let ssh_now: Vec<_> = harness::rows(&store, Table::Credentials, Snapshot::Current)
        .into_iter()
        .filter(|c| c["kind"] == "ssh_key")
        .collect();
    assert_eq!(ssh_now.len(), ssh_before.len());
    // And the diff between the two scans reports no removal for the collectors that failed.
    let diff = store
        .diff(scans[1].scan_id, scans[0].scan_id)
        .expect("diff");
    assert!(diff
        .not_compared
        .contains(&"authorization_details".to_string()));
    assert!(diff.of(Table::Identities, "removed").is_empty());

    drop(store);
    // A scan that cannot even establish its identity stores nothing and loses nothing.
    moto.faults(json!([{"action": "*", "kind": "access_denied", "times": -1}]));
    let third = harness::scan(&moto, &store_path, &[]);
    assert_ne!(third.status.code(), Some(0));
    assert!(
        harness::stderr(&third).contains("cannot establish identity"),
        "{}",
        harness::stderr(&third)
    );
    let store = harness::open(&store_path);
    assert_eq!(store.scans(None, 10).expect("scans").len(), 2);
    assert_eq!(
        harness::rows(&store, Table::Identities, Snapshot::Current).len(),
        identities.len()
    );
}
