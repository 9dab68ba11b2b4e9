//! Log parsers against real public samples in `../shared/data`: Stratus Red Team detonation
//! logs (real CloudTrail, pretty-printed arrays), plaso's test data (CloudTrail in the
//! LookupEvents shape, Azure SDK activity logs, GCP logging), and Panther's rule test events
//! (CloudTrail, EKS audit, Entra ID, Azure activity, GCP audit, GitHub audit; hand-built by
//! rule authors, many without a timestamp, which must be rejected by name, not guessed), and the
//! Microsoft Graph docs' directory audit example.

use std::collections::BTreeMap;
use std::io::BufRead;

use nhiscope_engine::model::EventRow;
use nhiscope_engine::time;
use nhiscope_scanners::logs::normalise::{normalise, parse_all};
use serde_json::Value;

use crate::conformance::shared;

fn open(path: &str) -> Box<dyn BufRead + Send> {
    let file = std::fs::File::open(shared(path)).expect("open sample");
    Box::new(std::io::BufReader::new(file))
}

/// Every `event` of a Panther JSONL file, with its line.
fn panther(file: &str) -> Vec<(usize, Value)> {
    let body = std::fs::read_to_string(shared(&format!("panther-analysis-tests/{file}")))
        .expect("read sample");
    body.lines()
        .enumerate()
        .map(|(n, l)| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{file}:{}: {e}", n + 1));
            (n + 1, v["event"].clone())
        })
        .collect()
}

/// Panther events normalised: (line → event) and (reason → count) for the rest.
fn panther_events(file: &str) -> (BTreeMap<usize, EventRow>, BTreeMap<String, usize>) {
    let (mut ok, mut rejected) = (BTreeMap::new(), BTreeMap::new());
    for (line, event) in panther(file) {
        match normalise(event, None) {
            Ok((_, e)) => {
                ok.insert(line, e);
            }
            Err((_, reason)) => *rejected.entry(reason).or_default() += 1,
        }
    }
    (ok, rejected)
}

fn t(text: &str) -> i64 {
    time::parse(text).expect("time")
}

#[test]
fn stratus_cloudtrail_arrays() {
    let (events, rejected) = parse_all(
        open("stratus-red-team-detonation-logs/aws.persistence.iam-backdoor-user.json"),
        "f",
        None,
    )
    .expect("read");
    assert!(rejected.is_empty(), "{rejected:?}");
    let key = events
        .iter()
        .find(|e| e.action == "CreateAccessKey")
        .expect("CreateAccessKey");
    assert_eq!(key.event_id, "c64c4ded-ef03-4e5c-81eb-153b118d72f2");
    assert_eq!(key.event_time, t("2024-07-30T21:53:13Z"));
    assert_eq!(key.tenant, "946986569305");
    assert_eq!(key.actor_type.as_deref(), Some("IAMUser"));
    assert_eq!(
        key.actor_id.as_deref(),
        Some("arn:aws:iam::946986569305:user/christophe")
    );
    assert_eq!(key.credential_id.as_deref(), Some("AKIA30BEZSJBVKOFKZW0"));
    assert_eq!(key.credential_kind.as_deref(), Some("access_key"));
    assert_eq!(
        key.issued_credential_id.as_deref(),
        Some("AKIAL80DWDVKKM0UXEER")
    );
    assert_eq!(
        key.target.as_deref(),
        Some("stratus-red-team-backdoor-u-user")
    );
    // The sample's address has a leading zero (`211.9.016.253`).
    assert_eq!(key.source_ip.as_deref(), Some("211.9.16.253"));
    assert_eq!(key.outcome, "success");
    assert!(key.raw_ref.starts_with("f:"), "{}", key.raw_ref);

    // Every Stratus detonation parses completely, and assumed-role sessions resolve to a role.
    let dir = shared("stratus-red-team-detonation-logs");
    let mut files = 0;
    let mut sessions = 0;
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = entry.path();
        if p.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        files += 1;
        let input: Box<dyn BufRead + Send> = Box::new(std::io::BufReader::new(
            std::fs::File::open(&p).expect("open"),
        ));
        let (events, rejected) = parse_all(input, "f", None).expect("read");
        assert!(rejected.is_empty(), "{}: {rejected:?}", p.display());
        assert!(!events.is_empty(), "{}", p.display());
        for e in events
            .iter()
            .filter(|e| e.actor_type.as_deref() == Some("AssumedRole"))
        {
            sessions += 1;
            let role = e.actor_id.as_deref().unwrap_or_default();
            assert!(role.contains(":role/"), "{}: {role}", p.display());
        }
    }
    assert!(files >= 30, "{files}");
    assert!(sessions > 50, "{sessions}");
}

#[test]
fn stratus_console_login_and_federation_token() {
    let (events, _) = parse_all(
        open("stratus-red-team-detonation-logs/aws.initial-access.console-login-without-mfa.json"),
        "f",
        None,
    )
    .expect("read");
    let login = events
        .iter()
        .find(|e| e.action == "ConsoleLogin")
        .expect("ConsoleLogin");
    assert_eq!(login.interactive, Some(true));
    let (events, _) = parse_all(
        open("stratus-red-team-detonation-logs/aws.persistence.sts-federation-token.json"),
        "f",
        None,
    )
    .expect("read");
    let minted = events
        .iter()
        .find(|e| e.action == "GetFederationToken")
        .expect("GetFederationToken");
    let issued = minted.issued_credential_id.clone().expect("issued key");
    assert!(issued.starts_with("ASIA"), "{issued}");
}

#[test]
fn plaso_lookup_events_azure_sdk_and_gcp_logging() {
    let (events, rejected) = parse_all(
        open("plaso-cloud-testdata/jsonl__aws_cloudtrail.jsonl"),
        "f",
        None,
    )
    .expect("read");
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(events.len(), 6);
    let first = &events[0];
    assert_eq!(first.event_id, "0828c0d2-3589-4390-b954-c78b4a7df44b");
    assert_eq!(first.action, "DescribeInstances");
    // The inner event's own time (UTC), not the envelope's local `EventTime`.
    assert_eq!(first.event_time, t("2022-02-07T22:23:37Z"));
    assert_eq!(
        first.actor_id.as_deref(),
        Some("arn:aws:iam::012345678901:user/fakeusername")
    );

    let (events, rejected) = parse_all(
        open("plaso-cloud-testdata/jsonl__azure_activity_log.jsonl"),
        "f",
        None,
    )
    .expect("read");
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(events.len(), 4);
    let e = &events[0];
    assert_eq!(e.source_format, "azure_activity");
    assert_eq!(e.event_id, "587eda65-125e-48c2-9b04-ab5e8d3a1d8e");
    assert_eq!(e.action, "Microsoft.Compute/disks/delete");
    assert_eq!(e.tenant, "12345678-9abc-defg-hijk-lmnopqrstuvw");
    assert_eq!(e.actor_type.as_deref(), Some("servicePrincipal"));
    assert_eq!(e.source_ip.as_deref(), Some("1.2.3.4"));
    assert_eq!(e.event_time, t("2022-02-09T03:04:54.297853Z"));

    let (events, rejected) = parse_all(
        open("plaso-cloud-testdata/jsonl__gcp_logging.jsonl"),
        "f",
        None,
    )
    .expect("read");
    assert!(events.iter().all(|e| e.source_format == "gcp_audit"));
    assert_eq!(events.len() + rejected.len(), 11);
    // Non-audit entries (jsonPayload, textPayload) are not audit logs: rejected, with why.
    assert!(!rejected.is_empty());
    for (line, reason) in &rejected {
        assert!(
            reason.contains("no known log format"),
            "line {line}: {reason}"
        );
    }
}

#[test]
fn panther_cloudtrail_events() {
    let (events, rejected) = panther_events("AWS_CloudTrail.jsonl");
    assert_eq!(events.len() + rejected.values().sum::<usize>(), 461);
    assert!(events.len() > 430, "{}", events.len());
    // What is rejected is rejected for a named field.
    for reason in rejected.keys() {
        assert_eq!(
            reason,
            "cloudtrail: missing or unreadable field `eventTime`"
        );
    }
    let e = &events[&1];
    assert_eq!(e.action, "UpdateFunctionConfiguration20150331v2");
    assert_eq!(e.credential_id.as_deref(), Some("AKIAI123456789EXAMPLE"));
    assert_eq!(
        e.user_agent.as_deref(),
        Some("aws-cli/2.13.5 Python/3.11.4")
    );
    // Lower-cased pipelines (`eventname`, `useridentity`) are read too.
    assert!(events
        .values()
        .any(|e| e.action == "GetRecords" && e.region.as_deref() == Some("eu-west-1")));
}

#[test]
fn panther_entra_and_azure_events() {
    let (events, rejected) = panther_events("Azure_Audit.jsonl");
    assert!(rejected.is_empty(), "{rejected:?}");
    let sp = events
        .values()
        .find(|e| e.event_id == "36658c78-02d9-4d8f-84ee-5ca4a3fdefef")
        .expect("service principal sign-in");
    assert_eq!(sp.source_format, "entra_signin");
    assert_eq!(sp.actor_type.as_deref(), Some("servicePrincipal"));
    assert_eq!(
        sp.actor_id.as_deref(),
        Some("b1c34143-e405-4058-8e29-84596ad737b8")
    );
    assert_eq!(sp.source_ip.as_deref(), Some("12.12.12.12"));
    assert_eq!(sp.interactive, Some(false));
    assert_eq!(sp.outcome, "failure");
    assert_eq!(sp.error_code.as_deref(), Some("7000215"));
    assert_eq!(sp.event_time, t("2023-07-26T22:58:30.983201Z"));
    let interactive = events
        .values()
        .filter(|e| e.source_format == "entra_signin" && e.interactive == Some(true))
        .count();
    assert!(interactive > 0);
    assert!(events.values().any(|e| e.source_format == "entra_audit"
        && e.action == "Add service principal credentials"
        && e.actor.as_deref() == Some("frodo@lotr.com")
        && e.target.as_deref() == Some("sp-app-456")));

    let (events, rejected) = panther_events("Azure_MonitorActivity.jsonl");
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(events.len(), 214);
    assert!(events.values().all(|e| e.source_format == "azure_activity"));
}

#[test]
fn panther_gcp_k8s_and_github_events() {
    let (events, rejected) = panther_events("GCP_AuditLog.jsonl");
    assert!(events.len() > 120, "{}", events.len());
    for reason in rejected.keys() {
        assert!(
            reason.contains("missing or unreadable field")
                || reason.contains("no known log format"),
            "{reason}"
        );
    }
    let key = events.get(&13).expect("line 13");
    assert_eq!(
        key.actor_id.as_deref(),
        Some("whodoneit@some-project.iam.gserviceaccount.com")
    );
    assert_eq!(key.credential_kind.as_deref(), Some("sa_key"));
    assert!(key
        .credential_id
        .as_deref()
        .is_some_and(|k| k.starts_with("123er4567")));
    assert_eq!(key.actor_type.as_deref(), Some("serviceAccount"));

    let (events, _) = panther_events("Amazon_EKS_Audit.jsonl");
    let sa = events.get(&10).expect("line 10");
    assert_eq!(sa.source_format, "k8s_audit");
    assert_eq!(
        sa.event_id,
        "e2626946-90e1-4d0c-829e-ad5a78572926:ResponseComplete"
    );
    assert_eq!(
        sa.actor.as_deref(),
        Some("system:serviceaccount:kube-system:coredns")
    );
    assert_eq!(sa.actor_type.as_deref(), Some("serviceaccount"));
    assert_eq!(sa.action, "watch");
    assert_eq!(sa.source_ip.as_deref(), Some("10.0.27.115"));

    let (events, rejected) = panther_events("GitHub_Audit.jsonl");
    assert_eq!(events.len() + rejected.values().sum::<usize>(), 101);
    let first = events.get(&1).expect("line 1");
    assert_eq!(first.action, "protected_branch.destroy");
    assert_eq!(first.tenant, "my-org");
    assert_eq!(first.event_time, t("2021-05-18T02:31:58.553Z"));
    let app = events.get(&98).expect("line 98");
    assert_eq!(app.actor_type.as_deref(), Some("bot"));
    assert_eq!(app.credential_kind.as_deref(), Some("app_token"));
    assert_eq!(app.interactive, Some(false));
    // The older exports' shape: the team under `data` (`team.*` events, `data.team`).
    for line in [32, 87, 88, 89] {
        let team = events.get(&line).expect("team event");
        assert!(
            team.attributes
                .as_deref()
                .is_some_and(|a| a.contains(r#""team":"my-org/my-team""#)),
            "line {line}: {:?}",
            team.attributes
        );
    }
    // The actor's address when there is one, none from a country alone.
    assert_eq!(
        events.get(&12).and_then(|e| e.source_ip.as_deref()),
        Some("12.12.12.12")
    );
    let clone = events.get(&69).expect("line 69");
    assert_eq!(
        (
            clone.source_ip.as_deref(),
            clone.credential_id.as_deref(),
            clone.credential_kind.as_deref()
        ),
        (Some("5.6.7.8"), Some("0123456789"), Some("oauth_token"))
    );
    let located = events.get(&4).expect("line 4");
    assert_eq!(
        (located.action.as_str(), located.source_ip.as_deref()),
        ("repository_secret_scanning_push_protection.disable", None)
    );
    // A key added or removed without a fingerprint names no credential: nothing issued, and
    // none of Panther's GitHub events records a refused attempt.
    for line in [90, 91] {
        let key = events.get(&line).expect("public_key event");
        assert!(key.action.starts_with("public_key."), "{}", key.action);
        assert_eq!(key.issued_credential_id, None, "line {line}");
    }
    for (line, e) in &events {
        assert_eq!(e.issued_credential_id, None, "line {line}: {}", e.action);
        assert_eq!(
            (e.outcome.as_str(), e.error_code.as_deref()),
            ("success", None),
            "line {line}: {}",
            e.action
        );
    }
}

#[test]
fn graph_directory_audit_example() {
    // The Graph docs' example response (`{"value": [...]}`), fed as the API returns it.
    let path = "msgraph-docs-examples/2020-fork/beta__directoryaudit-list.json";
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(shared(path)).expect("read")).expect("json");
    let body = doc["responses"][0].to_string().into_bytes();
    let (events, rejected) =
        parse_all(Box::new(std::io::Cursor::new(body)), "graph", None).expect("read");
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.source_format, "entra_audit");
    assert_eq!(e.action, "Add member to group");
    assert_eq!(e.actor.as_deref(), Some("jdoe@wingtiptoysonline.com"));
    assert_eq!(
        e.actor_id.as_deref(),
        Some("7283X9ae-1a37-4937-9aex-e35d964db09b")
    );
    assert_eq!(
        e.target.as_deref(),
        Some("ef7x527d-6x92-42x4-8x6d-cfxfdfx57f95")
    );
    assert_eq!(e.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        e.request_id.as_deref(),
        Some("da159bfb-54fa-4092-8a38-6e1fa7870e30")
    );
    assert_eq!(e.outcome, "success");
    assert_eq!(e.event_time, t("2018-01-09T21:20:02.721537Z"));
}

/// Every record of every JSON sample in `../shared/data` and `tests/fixtures/logs` (and the
/// `event` inside Panther's test cases), read through the typed fast path and through the
/// general `Value` path, as they are and inside a CloudWatch Logs event: the two give the same
/// event or the same rejection. Also checks the fast
/// path actually took the CloudTrail records (it would pass vacuously otherwise).
#[test]
fn fast_and_general_paths_agree_on_every_sample() {
    use nhiscope_scanners::logs::normalise::normalise_text;
    use nhiscope_scanners::logs::reader::{merge_row, read_records, RecordAt, RecordSink};

    #[derive(Default)]
    struct Texts(Vec<String>);
    impl RecordSink for Texts {
        fn record(&mut self, _: RecordAt, record: Value) {
            self.0.push(record.to_string());
        }
        fn raw(&mut self, _: RecordAt, text: &str) -> Result<(), serde_json::Error> {
            self.0.push(text.to_string());
            Ok(())
        }
        fn malformed(&mut self, _: u64, _: String) {}
    }

    let roots = [
        crate::harness::repo().join("../shared/data"),
        crate::harness::repo().join("tests/fixtures/logs"),
    ];
    let mut files = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = roots.to_vec();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "json" || e == "jsonl" || e == "ndjson")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    let (mut compared, mut cloudtrail) = (0, 0);
    for path in &files {
        let mut texts = Texts::default();
        let file = std::fs::File::open(path).expect("open");
        read_records(Box::new(std::io::BufReader::new(file)), &mut texts).expect("read");
        let mut all = texts.0.clone();
        for t in &texts.0 {
            if let Ok(v) = serde_json::from_str::<Value>(t) {
                if v["event"].is_object() {
                    all.push(v["event"].to_string());
                }
            }
        }
        // The same records as CloudWatch Logs events (the fast path unwraps them itself).
        let in_cloudwatch: Vec<String> = all
            .iter()
            .map(|t| serde_json::json!({"id": "1", "timestamp": 1, "message": t}).to_string())
            .collect();
        all.extend(in_cloudwatch);
        all.push(r#"{"id":"1","timestamp":1,"message":"START RequestId: 42"}"#.into());
        for text in all {
            let fast = normalise_text(&text, None);
            let general = serde_json::from_str::<Value>(&text)
                .map_err(|e| (None, format!("invalid JSON: {e}")))
                .and_then(|v| normalise(merge_row(v), None));
            assert_eq!(fast, general, "{}: {text}", path.display());
            compared += 1;
            if nhiscope_scanners::logs::cloudtrail::parse_text(&text).is_some() {
                cloudtrail += 1;
            }
        }
    }
    assert!(compared > 1000, "only {compared} records compared");
    assert!(
        cloudtrail > 100,
        "only {cloudtrail} CloudTrail records took the fast path"
    );
}
