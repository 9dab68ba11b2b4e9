//! `nhiscope ingest` end to end over the hand-written fixtures in `tests/fixtures/logs`: every
//! format and shape (S3 wrapper gzipped, NDJSON, LookupEvents, Graph `value`, Azure Monitor
//! `records`, stdin), the per-format summary, quarantine with file, line and reason, dedupe
//! within a run and across runs, and no secret value in the store.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nhiscope_engine::store::Snapshot;
use nhiscope_engine::Table;
use serde_json::Value;

use crate::harness;

pub fn fixtures() -> PathBuf {
    harness::repo().join("tests/fixtures/logs")
}

/// Copies the fixtures into `dir`, gzipping the S3 file as CloudTrail delivers it.
pub fn stage_fixtures(dir: &Path) -> PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(logs.join("AWSLogs/111122223333/CloudTrail/eu-west-1")).expect("mkdir");
    for entry in std::fs::read_dir(fixtures()).expect("fixtures").flatten() {
        let p = entry.path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name == "README.md" || name == "github_audit.ndjson" {
            continue; // GitHub comes through stdin
        }
        let bytes = std::fs::read(&p).expect("read fixture");
        if name == "cloudtrail_s3.json" {
            let out = logs.join("AWSLogs/111122223333/CloudTrail/eu-west-1/111122223333_CloudTrail_eu-west-1_20260502T1000Z_abc.json.gz");
            let mut enc = flate2::write::GzEncoder::new(
                std::fs::File::create(out).expect("create"),
                flate2::Compression::default(),
            );
            enc.write_all(&bytes).expect("gz");
            enc.finish().expect("gz finish");
        } else {
            std::fs::write(logs.join(&name), bytes).expect("copy");
        }
    }
    logs
}

fn ingest(store: &Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nhiscope"))
        .arg("--store")
        .arg(store)
        .arg("-q")
        .arg("ingest")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// `nhiscope ingest INPUT --output json` into `store`: the process and its report.
fn ingest_report(store: &Path, input: &Path) -> (std::process::Output, Value) {
    let out = ingest(
        store,
        &[&input.display().to_string(), "--output", "json"],
        b"",
    );
    let report = serde_json::from_slice(&out.stdout).expect("json report");
    (out, report)
}

#[test]
fn every_format_ingests_with_quarantine_and_dedupe() {
    let tmp = harness::temp();
    let logs = stage_fixtures(tmp.path());
    let store = tmp.path().join("store.duckdb");
    let github = std::fs::read(fixtures().join("github_audit.ndjson")).expect("github");
    let dir = logs.display().to_string();
    let out = ingest(&store, &[&dir, "-", "--output", "json"], &github);
    // Quarantined records make the exit code 2; everything else is stored.
    assert_eq!(out.status.code(), Some(2), "{}", harness::stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    let f = &report["formats"];
    let want = [
        ("cloudtrail", 10, 8, 1, 1),
        ("entra_signin", 3, 3, 0, 0),
        ("entra_audit", 1, 1, 0, 0),
        ("gcp_audit", 2, 2, 0, 0),
        ("github_audit", 2, 2, 0, 0),
        ("k8s_audit", 2, 2, 0, 0),
        ("apigw_access", 1, 1, 0, 0),
        ("envoy_access", 1, 1, 0, 0),
        ("unknown", 1, 0, 0, 1),
    ];
    for (name, read, ingested, dup, quarantined) in want {
        let c = &f[name];
        assert_eq!(
            [
                &c["read"],
                &c["ingested"],
                &c["duplicates"],
                &c["quarantined"]
            ],
            [read, ingested, dup, quarantined]
                .map(Value::from)
                .each_ref(),
            "{name}: {report:#}"
        );
    }

    let db = harness::open(&store);
    let scan_id = report["scan_id"].as_i64().expect("scan id");
    let q = db.quarantined(scan_id).expect("quarantine");
    let ndjson = logs.join("cloudtrail.ndjson").display().to_string();
    let lines: Vec<(String, i64, String)> = q
        .iter()
        .map(|q| (q.file.clone(), q.line, q.reason.clone()))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0].0, ndjson);
    assert_eq!(lines[0].1, 2);
    assert!(lines[0].2.contains("invalid JSON"), "{lines:?}");
    assert_eq!(lines[1].1, 3);
    assert_eq!(
        lines[1].2,
        "cloudtrail: missing or unreadable field `eventTime`"
    );

    let events = harness::rows(&db, Table::Events, Snapshot::Current);
    assert_eq!(events.len(), 20);
    let by_id = |id: &str| event_by_id(&events, id);
    let minted = by_id("ct-0003");
    assert_eq!(minted["issued_credential_id"], "ASIADEPLOYSESSION001");
    assert_eq!(minted["credential_id"], "AKIACIDEPLOYER000001");
    // Pretty-printed S3 file: the line the record ends on, and its index in `Records`.
    let raw = minted["raw_ref"].as_str().unwrap_or_default();
    assert!(raw.contains(".json.gz:") && raw.ends_with("#2"), "{minted}");
    let session = by_id("ct-0004");
    assert_eq!(session["actor_id"], "arn:aws:iam::111122223333:role/deploy");
    assert_eq!(
        session["session_issuer"],
        "arn:aws:iam::111122223333:role/deploy"
    );
    let lookup = by_id("ct-0008");
    assert_eq!(lookup["source_ip"], "203.0.113.99");
    let gh = by_id("gh-0001");
    assert_eq!(gh["provider"], "github");
    assert!(
        gh["raw_ref"]
            .as_str()
            .unwrap_or_default()
            .starts_with("-:1"),
        "{gh}"
    );
    let envoy = by_id("9d1c-envoy-0001");
    assert_eq!(envoy["actor"], "spiffe://prod.example/ns/payments/sa/api");
    assert_eq!(envoy["target"], "/v1/ledger?access_token=REDACTED");
    let mi = by_id("mi-0001");
    assert_eq!(mi["actor_type"], "managedIdentity");
    assert_eq!(mi["actor_id"], "m0000000-0000-0000-0000-000000000001");
    // No secret value (the session token of the AssumeRole response, the bearer token in the
    // Envoy path) is anywhere in the store.
    for e in &events {
        let text = e.to_string();
        assert!(!text.contains("IQoJb3JpZ2luX2Vj"), "{text}");
        assert!(!text.contains("abc.def.ghi"), "{text}");
    }
    // Owner candidates from issuance events: who created the user and its key, the GCP key,
    // the service principal's secret.
    let mut owners: Vec<(String, String, String)> =
        harness::rows(&db, Table::Ownership, Snapshot::Current)
            .iter()
            .map(|o| {
                (
                    o["identity_id"].as_str().unwrap_or_default().to_string(),
                    o["owner"].as_str().unwrap_or_default().to_string(),
                    o["source"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
    owners.sort();
    let creator = |i: &str, o: &str| (i.to_string(), o.to_string(), "creator".to_string());
    assert_eq!(
        owners,
        vec![
            creator(
                "arn:aws:iam::111122223333:user/ci-deployer",
                "arn:aws:iam::111122223333:user/alice"
            ),
            creator(
                "ci@prod-payments.iam.gserviceaccount.com",
                "dave@example.com"
            ),
            creator("s0000000-0000-0000-0000-000000000001", "carol@example.com"),
        ]
    );
    assert_eq!(report["owner_candidates"], 3);
    drop(db);

    // A second run of the same inputs stores nothing new: every record is a duplicate.
    let out = ingest(&store, &[&dir, "-", "--output", "json"], &github);
    assert_eq!(out.status.code(), Some(2));
    let again: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(again["formats"]["cloudtrail"]["ingested"], 0);
    assert_eq!(again["formats"]["cloudtrail"]["duplicates"], 9);
    assert_eq!(again["formats"]["github_audit"]["duplicates"], 2);
    let db = harness::open(&store);
    assert_eq!(
        harness::rows(&db, Table::Events, Snapshot::Current).len(),
        20
    );
}

#[test]
fn table_summary_and_missing_inputs() {
    let tmp = harness::temp();
    let store = tmp.path().join("store.duckdb");
    let file = fixtures().join("k8s_audit.ndjson").display().to_string();
    let out = ingest(&store, &[&file, "/nonexistent/*.json"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", harness::stderr(&out));
    let text = harness::stdout(&out);
    assert!(text.contains("k8s_audit"), "{text}");
    assert!(
        text.contains("failed input: /nonexistent/*.json: no file matches"),
        "{text}"
    );
    let out = ingest(&store, &["--output", "csv", &file], b"");
    let csv = harness::stdout(&out);
    assert!(
        csv.starts_with("format,read,ingested,duplicates,quarantined\n"),
        "{csv}"
    );
    assert!(
        csv.contains("k8s_audit,2,0,2,0"),
        "second run: duplicates: {csv}"
    );
    let out = ingest(&store, &["--format", "nope", &file], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(harness::stderr(&out).contains("expected one of cloudtrail"));
}

/// The first line of a fixture file.
fn first_line(name: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture");
    text.lines().next().expect("a line").to_string()
}

/// One CloudWatch Logs subscription payload, keys in the order CloudWatch writes them
/// (`messageType` first), gzipped as Firehose delivers it (one gzip member each).
fn cloudwatch_payload(kind: &str, group: &str, messages: &[String]) -> Vec<u8> {
    let events: Vec<String> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                r#"{{"id":"3791{i}","timestamp":1777716000000,"message":{}}}"#,
                Value::from(m.as_str())
            )
        })
        .collect();
    let payload = format!(
        r#"{{"messageType":"{kind}","owner":"111122223333","logGroup":"{group}","logStream":"s","subscriptionFilters":["to-firehose"],"logEvents":[{}]}}"#,
        events.join(",")
    );
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(payload.as_bytes()).expect("gz");
    enc.finish().expect("gz finish")
}

#[test]
fn cloudwatch_logs_deliveries_are_unwrapped() {
    // A Firehose object: gzip members back to back, each one payload, no delimiter between
    // the JSON documents. CloudTrail, EKS audit and API Gateway access logs reach S3 this way.
    let tmp = harness::temp();
    let store = tmp.path().join("store.duckdb");
    let object = tmp.path().join("firehose-1-2026-05-02-10-00-00-abc");
    let control = "CWL CONTROL MESSAGE: Checking health of destination Firehose.".to_string();
    let mut bytes = cloudwatch_payload("CONTROL_MESSAGE", "", &[control]);
    bytes.extend(cloudwatch_payload(
        "DATA_MESSAGE",
        "aws-cloudtrail-logs",
        &[first_line("cloudtrail.ndjson")],
    ));
    bytes.extend(cloudwatch_payload(
        "DATA_MESSAGE",
        "/aws/eks/prod/cluster",
        &[
            first_line("k8s_audit.ndjson"),
            "I1107 kube-apiserver started".into(),
        ],
    ));
    bytes.extend(cloudwatch_payload(
        "DATA_MESSAGE",
        "API-Gateway-Execution-Logs",
        &[first_line("apigw_access.ndjson")],
    ));
    std::fs::write(&object, bytes).expect("write");
    let path = object.display().to_string();
    let out = ingest(&store, &[&path, "--output", "json"], b"");
    // The plain-text line is quarantined (exit code 2), everything else stored.
    assert_eq!(out.status.code(), Some(2), "{}", harness::stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    let f = &report["formats"];
    for name in ["cloudtrail", "k8s_audit", "apigw_access"] {
        assert_eq!(f[name]["ingested"], 1, "{name}: {report:#}");
    }
    assert_eq!(f["unknown"]["quarantined"], 1, "{report:#}");
    let db = harness::open(&store);
    let q = db
        .quarantined(report["scan_id"].as_i64().expect("scan id"))
        .expect("quarantine");
    assert_eq!(
        q.len(),
        1,
        "the control message is skipped, not quarantined"
    );
    assert_eq!(q[0].file, path);
    assert!(
        q[0].reason
            .starts_with("CloudWatch Logs event whose `message` is not a JSON"),
        "{}",
        q[0].reason
    );
    let events = harness::rows(&db, Table::Events, Snapshot::Current);
    let ids: std::collections::BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["event_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["ct-0006", "gw-req-0001", "k-0001:ResponseComplete"]
            .into_iter()
            .collect(),
        "{events:?}"
    );
    let k8s = events
        .iter()
        .find(|e| e["event_id"] == "k-0001:ResponseComplete")
        .expect("k8s");
    assert_eq!(k8s["actor"], "system:serviceaccount:payments:api");
    // One line holds every payload: each event still points at its own record.
    let refs: std::collections::BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["raw_ref"].as_str())
        .collect();
    assert_eq!(refs.len(), 3, "{refs:?}");
}

#[test]
fn lines_of_several_documents_are_ingested_record_by_record() {
    // A Firehose delivery whose batches each end with a newline: several records per line,
    // back to back or spaced, of several formats; one line has garbage after its record.
    let tmp = harness::temp();
    let store = tmp.path().join("store.duckdb");
    let object = tmp.path().join("firehose-2-2026-05-02-10-05-00-def");
    let line = |name: &str, n: usize| {
        std::fs::read_to_string(fixtures().join(name))
            .expect("fixture")
            .lines()
            .nth(n)
            .expect("line")
            .to_string()
    };
    let text = [
        format!(
            "{}{}",
            line("cloudtrail.ndjson", 0),
            line("cloudtrail.ndjson", 3)
        ),
        format!(
            "{} {}",
            line("gcp_audit.ndjson", 0),
            line("gcp_audit.ndjson", 1)
        ),
        line("k8s_audit.ndjson", 0),
        format!("{} trailing garbage", line("cloudtrail.ndjson", 4)),
        line("k8s_audit.ndjson", 1),
    ]
    .join("\n");
    std::fs::write(&object, text).expect("write");
    let path = object.display().to_string();
    let out = ingest(&store, &[&path, "--output", "json"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", harness::stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    let f = &report["formats"];
    for (name, n) in [("cloudtrail", 3), ("gcp_audit", 2), ("k8s_audit", 2)] {
        assert_eq!(f[name]["ingested"], n, "{name}: {report:#}");
        assert_eq!(f[name]["quarantined"], 0, "{name}: {report:#}");
    }
    assert_eq!(f["unknown"]["quarantined"], 1, "{report:#}");
    let db = harness::open(&store);
    let q = db
        .quarantined(report["scan_id"].as_i64().expect("scan id"))
        .expect("quarantine");
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!((q[0].file.as_str(), q[0].line), (path.as_str(), 4));
    assert!(
        q[0].reason
            .starts_with("invalid JSON after 1 document on this line"),
        "{}",
        q[0].reason
    );
    let events = harness::rows(&db, Table::Events, Snapshot::Current);
    let place = |id: &str| {
        let raw = event_by_id(&events, id)["raw_ref"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        raw.strip_prefix(&path).unwrap_or(&raw).to_string()
    };
    assert_eq!(place("ct-0006"), ":1#0");
    assert_eq!(place("ct-0007"), ":1#1");
    assert_eq!(place("g-0002"), ":2#1");
    assert_eq!(
        place("ct-0004"),
        ":4#0",
        "the record before the garbage is read"
    );
    assert_eq!(events.len(), 7, "{events:?}");
    let ct = event_by_id(&events, "ct-0007");
    assert_eq!(ct["source_format"], "cloudtrail");
    assert_eq!(event_by_id(&events, "g-0001")["actor"], "dave@example.com");
}

/// The `n`-th line of a fixture file, parsed.
fn fixture_record(name: &str, n: usize) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture");
    serde_json::from_str(text.lines().nth(n).expect("line")).expect("json")
}

#[test]
fn siem_exports_are_read_back_to_their_records() {
    use base64::Engine;
    let tmp = harness::temp();
    let store = tmp.path().join("store.duckdb");
    let dir = tmp.path().join("exports");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let line = |v: Value| format!("{v}\n");
    // Splunk search export (`output_mode=json`): one object per line, `_raw` the event text.
    let splunk = [
        serde_json::json!({"preview": false, "offset": 0, "result": {"_raw": first_line("cloudtrail.ndjson"), "_time": "2026-05-03T11:00:00.000+00:00", "sourcetype": "aws:cloudtrail"}}),
        serde_json::json!({"preview": false, "offset": 1, "lastrow": true, "result": {"_raw": first_line("gcp_audit.ndjson"), "sourcetype": "google:gcp:pubsub:audit:admin_activity"}}),
    ];
    std::fs::write(dir.join("splunk-export.json"), splunk.map(line).concat()).expect("write");
    // An Elasticsearch `_search` response, pretty-printed, and an audit webhook batch.
    let search = serde_json::json!({"took": 4, "timed_out": false, "hits": {"total": {"value": 1, "relation": "eq"}, "max_score": 1.0,
        "hits": [{"_index": "k8s-audit-2026.05.02", "_id": "a1", "_score": 1.0, "_source": fixture_record("k8s_audit.ndjson", 0)}]}});
    std::fs::write(
        dir.join("elastic-search.json"),
        serde_json::to_string_pretty(&search).expect("json"),
    )
    .expect("write");
    let batch = serde_json::json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": [fixture_record("k8s_audit.ndjson", 1)]});
    std::fs::write(dir.join("audit-webhook.json"), line(batch)).expect("write");
    // A Cloud Logging sink's entry pushed by Pub/Sub.
    let data = base64::engine::general_purpose::STANDARD
        .encode(fixture_record("gcp_audit.ndjson", 1).to_string());
    let push = serde_json::json!({"message": {"data": data, "messageId": "1201", "publishTime": "2026-05-02T12:05:01Z"}, "subscription": "projects/prod-payments/subscriptions/audit-push"});
    std::fs::write(dir.join("pubsub.ndjson"), line(push)).expect("write");
    // Sentinel `AWSCloudTrail` rows as `az monitor log-analytics query` prints them.
    let sentinel = serde_json::json!([{
        "TimeGenerated": "2026-05-03T12:00:00Z", "Type": "AWSCloudTrail", "EventVersion": "1.09",
        "EventSource": "iam.amazonaws.com", "EventName": "CreateAccessKey", "AWSRegion": "us-east-1",
        "SourceIpAddress": "192.0.2.10", "UserAgent": "aws-cli/2.15.0", "UserIdentityType": "IAMUser",
        "UserIdentityPrincipalid": "AIDAALICE", "UserIdentityArn": "arn:aws:iam::111122223333:user/alice",
        "UserIdentityAccountId": "111122223333", "UserIdentityAccessKeyId": "AKIAALICE00000000001",
        "UserIdentityUserName": "alice", "RequestParameters": "{\"userName\":\"ci-deployer\"}",
        "ResponseElements": "{\"accessKey\":{\"accessKeyId\":\"AKIACIDEPLOYER000002\",\"status\":\"Active\",\"userName\":\"ci-deployer\"}}",
        "AwsRequestId_": "req-sentinel-1", "AwsEventId": "ct-sentinel-1", "EventTypeName": "AwsApiCall",
        "ReadOnly": false, "RecipientAccountId": "111122223333", "ManagementEvent": true
    }]);
    std::fs::write(
        dir.join("sentinel-awscloudtrail.json"),
        sentinel.to_string(),
    )
    .expect("write");

    // Container logs collected from a node: containerd's CRI lines (startup text, then the
    // proxy's JSON access log) and Docker's json-file lines.
    let cri = format!(
        "2026-05-02T11:59:59.9Z stderr F [info][main] starting\n2026-05-02T12:00:00.2Z stdout F {}\n",
        first_line("envoy_access.ndjson")
    );
    std::fs::write(dir.join("envoy-7d9f_mesh_envoy-0123.log"), cri).expect("write");
    let docker = serde_json::json!({"log": format!("{}\n", first_line("apigw_access.ndjson")), "stream": "stdout", "time": "2026-05-02T12:00:00.3Z"});
    std::fs::write(dir.join("gateway-json.log"), line(docker)).expect("write");

    let (out, report) = ingest_report(&store, &dir);
    let f = &report["formats"];
    for name in ["cloudtrail", "gcp_audit", "k8s_audit"] {
        assert_eq!(f[name]["ingested"], 2, "{name}: {report:#}");
    }
    for name in ["envoy_access", "apigw_access"] {
        assert_eq!(f[name]["ingested"], 1, "{name}: {report:#}");
    }
    // Only the container's startup line is quarantined (exit code 2).
    assert_eq!(out.status.code(), Some(2), "{report:#}");
    assert_eq!(f["unknown"]["quarantined"], 1, "{report:#}");
    let db = harness::open(&store);
    let events = harness::rows(&db, Table::Events, Snapshot::Current);
    let issued = events
        .iter()
        .find(|e| e["event_id"] == "ct-sentinel-1")
        .expect("the Sentinel row's event");
    assert_eq!(issued["actor"], "arn:aws:iam::111122223333:user/alice");
    assert_eq!(issued["credential_id"], "AKIAALICE00000000001");
    assert_eq!(issued["issued_credential_id"], "AKIACIDEPLOYER000002");
    let k8s = events
        .iter()
        .filter(|e| e["source_format"] == "k8s_audit")
        .count();
    assert_eq!(k8s, 2, "{events:?}");
}

#[test]
fn csv_exports_of_cloudtrail_queries_are_read() {
    let tmp = harness::temp();
    let store = tmp.path().join("store.duckdb");
    let dir = tmp.path().join("csv");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // Athena over the CloudTrail table: every field quoted, complex columns in Hive's text form.
    let athena = concat!(
        "\"eventversion\",\"useridentity\",\"eventtime\",\"eventsource\",\"eventname\",\"awsregion\",\"sourceipaddress\",\"useragent\",\"errorcode\",\"errormessage\",\"requestparameters\",\"responseelements\",\"additionaleventdata\",\"requestid\",\"eventid\",\"resources\",\"eventtype\",\"apiversion\",\"readonly\",\"recipientaccountid\"\n",
        "\"1.09\",\"{type=AssumedRole, principalid=AROADEPLOY:ci-run-42, arn=arn:aws:sts::111122223333:assumed-role/deploy/ci-run-42, accountid=111122223333, invokedby=null, accesskeyid=ASIADEPLOYSESSION001, username=null, sessioncontext={attributes={mfaauthenticated=false, creationdate=2026-05-02T10:00:00Z}, sessionissuer={type=Role, principalid=AROADEPLOY, arn=arn:aws:iam::111122223333:role/deploy, accountid=111122223333, username=deploy}, ec2roledelivery=null, webidfederationdata=null}}\",\"2026-05-02T10:01:00Z\",\"s3.amazonaws.com\",\"PutObject\",\"eu-west-1\",\"203.0.113.10\",\"aws-sdk-go-v2/1.30.0 os/linux\",\"\",\"\",\"{\"\"bucketName\"\":\"\"releases\"\",\"\"key\"\":\"\"app.tar.gz\"\"}\",\"\",\"\",\"req-athena-1\",\"ct-athena-1\",\"[{accountid=111122223333, type=AWS::S3::Bucket, arn=arn:aws:s3:::releases}]\",\"AwsApiCall\",\"\",\"false\",\"111122223333\"\n",
    );
    std::fs::write(dir.join("athena-results.csv"), athena).expect("write");
    // Splunk CSV export with the raw event; Sentinel as the Azure portal exports it.
    let raw = Value::from(first_line("cloudtrail.ndjson")).to_string();
    let splunk = format!(
        "_time,host,source,sourcetype,_raw\n\"2026-05-03T11:00:00.000+0000\",splunk-hf,s3://trail,aws:cloudtrail,\"{}\"\n",
        raw[1..raw.len() - 1].replace("\\\"", "\"\"")
    );
    std::fs::write(dir.join("splunk-export.csv"), splunk).expect("write");
    let sentinel = concat!(
        "TenantId,SourceSystem,\"TimeGenerated [UTC]\",EventVersion,EventSource,EventName,AWSRegion,SourceIpAddress,UserAgent,UserIdentityType,UserIdentityPrincipalid,UserIdentityArn,UserIdentityAccountId,UserIdentityAccessKeyId,UserIdentityUserName,AwsEventId,EventTypeName,ReadOnly,RecipientAccountId,Type\n",
        "0c5f,AWS,\"5/3/2026, 1:15:00.000 PM\",1.09,sts.amazonaws.com,GetCallerIdentity,us-east-1,198.51.100.7,aws-cli/2.15.0,IAMUser,AIDACI-DEPLOYE,arn:aws:iam::111122223333:user/ci-deployer,111122223333,AKIACIDEPLOYER000001,ci-deployer,ct-sentinel-csv,AwsApiCall,true,111122223333,AWSCloudTrail\n",
    );
    std::fs::write(dir.join("sentinel-export.csv"), sentinel).expect("write");

    let (out, report) = ingest_report(&store, &dir);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["formats"]["cloudtrail"]["ingested"], 3, "{report:#}");
    let db = harness::open(&store);
    let events = harness::rows(&db, Table::Events, Snapshot::Current);
    let by_id = |id: &str| event_by_id(&events, id);
    let athena = by_id("ct-athena-1");
    assert_eq!(athena["credential_id"], "ASIADEPLOYSESSION001");
    assert_eq!(
        athena["session_issuer"],
        "arn:aws:iam::111122223333:role/deploy"
    );
    assert_eq!(
        athena["target"], "arn:aws:s3:::releases",
        "the resource named in `resources`"
    );
    assert_eq!(
        athena["raw_ref"]
            .as_str()
            .map(|r| r.ends_with("athena-results.csv:2")),
        Some(true),
        "{athena}"
    );
    assert_eq!(
        by_id("ct-0006")["actor"],
        "arn:aws:iam::111122223333:user/ci-deployer"
    );
    let sentinel = by_id("ct-sentinel-csv");
    assert_eq!(sentinel["credential_id"], "AKIACIDEPLOYER000001");
    assert_eq!(sentinel["event_time"], "2026-05-03T13:15:00", "{sentinel}");
}

#[test]
fn container_messages_split_by_the_runtime_are_joined() {
    let tmp = harness::temp();
    let store = tmp.path().join("store.duckdb");
    let dir = tmp.path().join("node");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // containerd splits a long message into `P` lines and a final `F` one; stderr's text
    // interleaves with stdout's pieces. A second message is cut off by the end of the file.
    let record = first_line("envoy_access.ndjson");
    let piece = |i: usize, tag: &str, bytes: &[u8]| {
        let mut line = format!("2026-05-02T13:10:00.{i:03}Z stdout {tag} ").into_bytes();
        line.extend_from_slice(bytes);
        line.push(b'\n');
        line
    };
    let chunks: Vec<&[u8]> = record.as_bytes().chunks(100).collect();
    assert!(chunks.len() > 2, "split over several lines");
    let mut log = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let tag = if i + 1 == chunks.len() { "F" } else { "P" };
        log.extend(piece(i, tag, chunk));
        if i == 0 {
            log.extend(b"2026-05-02T13:10:00.500Z stderr F [info][main] starting\n");
        }
    }
    let cut_at = chunks.len() + 2;
    log.extend(piece(9, "P", &record.as_bytes()[..50]));
    std::fs::write(dir.join("envoy-7d9f_mesh_envoy-0123.log"), log).expect("write");

    let (out, report) = ingest_report(&store, &dir);
    assert_eq!(out.status.code(), Some(2), "{report:#}");
    assert_eq!(
        report["formats"]["envoy_access"]["ingested"], 1,
        "{report:#}"
    );
    assert_eq!(report["formats"]["unknown"]["quarantined"], 2, "{report:#}");
    let sample = report["quarantine_sample"].to_string();
    assert!(
        sample.contains(&format!(":{cut_at}: container log message split over several lines from line {cut_at} has no final")),
        "the cut-off message at its first line: {sample}"
    );
    let db = harness::open(&store);
    let events = harness::rows(&db, Table::Events, Snapshot::Current);
    let envoy = events
        .iter()
        .find(|e| e["source_format"] == "envoy_access")
        .expect("the joined record's event");
    assert_eq!(
        envoy["raw_ref"]
            .as_str()
            .map(|r| r.ends_with("envoy-7d9f_mesh_envoy-0123.log:1")),
        Some(true),
        "at the line of its first piece: {envoy}"
    );
}

/// `rows` as the CloudTrail console writes them: every cell quoted, CRLF line ends.
fn console_csv(rows: &[&[&str]]) -> String {
    let mut out = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        out.write_record(*row).expect("row");
    }
    String::from_utf8(out.into_inner().expect("csv")).expect("utf-8")
}

/// The stored event with id `id` among `events` (rows of `Table::Events`).
fn event_by_id(events: &[Value], id: &str) -> Value {
    events
        .iter()
        .find(|e| e["event_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("event {id} not stored in {events:?}"))
}

#[test]
fn cloudtrail_console_event_history_csv_is_read() {
    let tmp = harness::temp();
    let store = tmp.path().join("store.duckdb");
    let dir = tmp.path().join("console");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let header = [
        "Event ID",
        "Event time",
        "User name",
        "Event name",
        "Resource type",
        "Resource name",
        "AWS access key",
        "AWS region",
        "Error code",
        "Source IP address",
        "Event source",
        "Read-only",
        "Resources",
        "CloudTrail event",
    ];
    // With the event's JSON (a fixture's CloudTrail record), then one row of columns only.
    let event = first_line("cloudtrail.ndjson");
    let whole = [
        "ct-0006",
        "2026-05-03T11:00:00Z",
        "ci-deployer",
        "ListBuckets",
        "",
        "",
        "AKIACIDEPLOYER000001",
        "eu-west-1",
        "",
        "198.51.100.77",
        "s3.amazonaws.com",
        "true",
        "[]",
        &event,
    ];
    let columns_only = [
        "ct-console-2",
        "2026-05-03T11:05:00Z",
        "alice",
        "DeleteAccessKey",
        "AWS::IAM::AccessKey",
        "AKIACIDEPLOYER000001",
        "AKIAALICE00000000001",
        "us-east-1",
        "AccessDenied",
        "192.0.2.10",
        "iam.amazonaws.com",
        "false",
        "",
        "",
    ];
    let with_event = console_csv(&[&header, &whole, &columns_only]);
    std::fs::write(dir.join("event_history.csv"), with_event).expect("write");
    // An export without the event's JSON.
    let without = console_csv(&[&header[..13], &columns_only[..13]]);
    std::fs::write(dir.join("event_history_columns.csv"), without).expect("write");

    let (out, report) = ingest_report(&store, &dir);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let cloudtrail = &report["formats"]["cloudtrail"];
    assert_eq!(cloudtrail["read"], 3, "{report:#}");
    assert_eq!(
        cloudtrail["ingested"], 2,
        "the same row twice is one event: {report:#}"
    );
    let db = harness::open(&store);
    let events = harness::rows(&db, Table::Events, Snapshot::Current);
    let by_id = |id: &str| event_by_id(&events, id);
    let whole = by_id("ct-0006");
    assert_eq!(whole["actor"], "arn:aws:iam::111122223333:user/ci-deployer");
    assert_eq!(whole["tenant"], "111122223333", "from the event's JSON");
    let mapped = by_id("ct-console-2");
    assert_eq!(mapped["actor"], "alice");
    assert_eq!(mapped["credential_id"], "AKIAALICE00000000001");
    assert_eq!(mapped["target"], "AKIACIDEPLOYER000001");
    assert_eq!(mapped["outcome"], "failure");
    assert_eq!(mapped["error_code"], "AccessDenied");
    assert!(
        mapped["raw_ref"]
            .as_str()
            .is_some_and(|r| r.ends_with(".csv:3") || r.ends_with("columns.csv:2")),
        "{mapped}"
    );
}

/// `rows` as the Entra admin center's download writes them: a UTF-8 byte order mark, CRLF;
/// each row a map from column name to cell (the header's names, spaces trimmed), every other
/// cell empty.
fn sign_in_download(header: &[&str], rows: &[&[(&str, &str)]]) -> Vec<u8> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    out.write_record(header).expect("header");
    for row in rows {
        let cells = header.iter().map(|name| {
            row.iter()
                .find(|(n, _)| *n == name.trim())
                .map_or("", |(_, v)| *v)
        });
        out.write_record(cells).expect("row");
    }
    out.into_inner().expect("csv")
}

#[test]
fn entra_sign_in_download_csv_is_read_like_graph_sign_ins() {
    let tmp = harness::temp();
    // The fixture's sign-ins as Graph gives them (the service principal and the user), the
    // managed identity's as Azure Monitor does, and the audit event that added the service
    // principal's secret, in a file both stores read.
    let graph = tmp.path().join("graph");
    std::fs::create_dir_all(&graph).expect("mkdir");
    std::fs::copy(
        fixtures().join("entra_signins_graph.json"),
        graph.join("signins.json"),
    )
    .expect("copy");
    let diagnostic: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("entra_diagnostic.json")).expect("fixture"),
    )
    .expect("json");
    let records = diagnostic["records"].as_array().expect("records");
    let (mi, audit) = (&records[0], &records[1]);
    assert_eq!(mi["category"], "ManagedIdentitySignInLogs");
    let wrap = |r: &Value| serde_json::json!({"records": [r]}).to_string();
    std::fs::write(graph.join("mi.json"), wrap(mi)).expect("write");
    let audit_file = tmp.path().join("audit.json");
    std::fs::write(&audit_file, wrap(audit)).expect("write");

    // The same sign-ins downloaded from the admin center, one file per tab, and a failed
    // sign-in only the download has.
    let portal = tmp.path().join("portal");
    std::fs::create_dir_all(&portal).expect("mkdir");
    let service_principal = [
        "Date (UTC)",
        "Request ID",
        "Correlation ID",
        "Service principal ID",
        "Service principal name",
        "Credential key ID",
        "Credential thumbprint",
        "Application",
        "Application ID ",
        "App owner tenant ID",
        "Resource",
        "Resource ID ",
        "Resource tenant ID",
        "Resource owner tenant ID",
        "Home tenant ID",
        "Home tenant name",
        "IP address",
        "Location",
        "Status",
        "Sign-in error code",
        "Failure reason",
        "Conditional Access",
    ];
    let sp = sign_in_download(
        &service_principal,
        &[&[
            ("Date (UTC)", "2026-05-02T08:00:00Z"),
            ("Request ID", "si-0001"),
            ("Correlation ID", "c-si-0001"),
            (
                "Service principal ID",
                "s0000000-0000-0000-0000-000000000001",
            ),
            ("Service principal name", "billing-sync"),
            ("Credential key ID", "c0ffee00-0000-0000-0000-000000000001"),
            ("Application", "billing-sync"),
            ("Application ID", "a0000000-0000-0000-0000-000000000001"),
            ("Resource", "Microsoft Graph"),
            ("IP address", "20.50.1.2"),
            ("Status", "Success"),
            ("Sign-in error code", "0"),
        ]],
    );
    std::fs::write(
        portal.join("ApplicationSignIns_2026-05-01_2026-05-02.csv"),
        sp,
    )
    .expect("write");
    let mut managed = service_principal.to_vec();
    managed.extend(["Managed Identity type", "Associated Resource Id"]);
    let msi = sign_in_download(
        &managed,
        &[&[
            ("Date (UTC)", "2026-05-02T08:30:00Z"),
            ("Request ID", "mi-0001"),
            ("Correlation ID", "c-mi-1"),
            (
                "Service principal ID",
                "m0000000-0000-0000-0000-000000000001",
            ),
            ("Service principal name", "vm-backup-identity"),
            ("Application ID", "a0000000-0000-0000-0000-00000000000m"),
            ("Resource", "Azure Storage"),
            ("Resource tenant ID", "t0000000-0000-0000-0000-000000000001"),
            ("IP address", "10.1.0.4"),
            ("Status", "Success"),
            ("Sign-in error code", "0"),
            ("Managed Identity type", "systemAssigned"),
        ]],
    );
    std::fs::write(portal.join("MSISignIns_2026-05-01_2026-05-02.csv"), msi).expect("write");
    let user = [
        "Date (UTC)",
        "Request ID",
        "User agent",
        "Correlation ID",
        "User ID",
        "User",
        "Username",
        "User type",
        "Cross tenant access type",
        "Incoming token type",
        "Authentication Protocol",
        "Unique token identifier",
        "Original transfer method",
        "Client credential type",
        "Token Protection - Sign In Session",
        "Token Protection - Sign In Session StatusCode",
        "Application",
        "Application ID ",
        "App owner tenant ID",
        "Resource",
        "Resource ID ",
        "Resource tenant ID",
        "Resource owner tenant ID",
        "Home tenant ID",
        "Home tenant name",
        "IP address",
        "Location",
        "Status",
        "Sign-in error code",
        "Failure reason",
        "Client app",
        "Device ID",
        "Browser",
        "Operating System",
        "Compliant",
        "Managed",
        "Join Type",
        "Multifactor authentication result",
        "Multifactor authentication auth method",
        "Multifactor authentication auth detail",
        "Authentication requirement",
        "Sign-in identifier",
        "Session ID",
        "IP address (seen by resource)",
        "Through Global Secure Access",
        "Global Secure Access IP address",
        "Autonomous system  number",
        "Flagged for review",
        "Token issuer type",
        "Incoming token type",
        "Token issuer name",
        "Latency",
        "Conditional Access",
        "Managed Identity type",
        "Associated Resource Id",
        "Federated Token Id",
        "Federated Token Issuer",
    ];
    let interactive = sign_in_download(
        &user,
        &[
            &[
                ("Date (UTC)", "2026-05-02T09:00:00Z"),
                ("Request ID", "si-0002"),
                (
                    "User agent",
                    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15",
                ),
                ("Correlation ID", "c-si-0002"),
                ("User ID", "u0000000-0000-0000-0000-000000000009"),
                ("Username", "svc-backup@example.com"),
                ("Client credential type", "None"),
                ("Application", "Azure Portal"),
                ("Application ID", "a0000000-0000-0000-0000-000000000002"),
                ("Resource", "Windows Azure Service Management API"),
                ("IP address", "198.51.100.77"),
                ("Status", "Success"),
                ("Sign-in error code", "0"),
                ("Client app", "Browser"),
            ],
            &[
                ("Date (UTC)", "2026-05-02T09:30:00Z"),
                ("Request ID", "si-0009"),
                ("User ID", "u0000000-0000-0000-0000-000000000009"),
                ("Username", "svc-backup@example.com"),
                ("Application ID", "a0000000-0000-0000-0000-000000000002"),
                ("IP address", "203.0.113.50"),
                ("Location", "Lagos, Lagos, NG"),
                ("Status", "Failure"),
                ("Sign-in error code", "50126"),
                ("Failure reason", "Invalid username or password."),
            ],
        ],
    );
    std::fs::write(
        portal.join("InteractiveSignIns_2026-05-01_2026-05-02.csv"),
        interactive,
    )
    .expect("write");

    let audit_path = audit_file.display().to_string();
    let run = |store: &Path, dir: &Path| {
        let out = ingest(
            store,
            &[&dir.display().to_string(), &audit_path, "--output", "json"],
            b"",
        );
        assert_eq!(out.status.code(), Some(0), "{}", harness::stdout(&out));
        serde_json::from_slice::<Value>(&out.stdout).expect("json report")
    };
    let (graph_store, portal_store) = (tmp.path().join("g.duckdb"), tmp.path().join("p.duckdb"));
    run(&graph_store, &graph);
    let report = run(&portal_store, &portal);
    let signin = &report["formats"]["entra_signin"];
    assert_eq!(
        (&signin["read"], &signin["ingested"], &signin["quarantined"]),
        (&Value::from(4), &Value::from(4), &Value::from(0)),
        "{report:#}"
    );
    let events =
        |store: &Path| harness::rows(&harness::open(store), Table::Events, Snapshot::Current);
    let (from_graph, from_portal) = (events(&graph_store), events(&portal_store));

    // Each downloaded row is the event its Graph sign-in is: the same identity, credential,
    // outcome and ids.
    for id in ["si-0001", "si-0002", "mi-0001"] {
        let (g, p) = (event_by_id(&from_graph, id), event_by_id(&from_portal, id));
        for field in [
            "provider",
            "tenant",
            "event_time",
            "source_format",
            "action",
            "actor",
            "actor_id",
            "actor_type",
            "credential_id",
            "source_ip",
            "user_agent",
            "target",
            "outcome",
            "error_code",
            "request_id",
        ] {
            assert_eq!(p[field], g[field], "{id} {field}: {p} against {g}");
        }
    }
    let sp = event_by_id(&from_portal, "si-0001");
    assert_eq!(sp["actor_type"], "servicePrincipal");
    assert_eq!(sp["credential_id"], "c0ffee00-0000-0000-0000-000000000001");
    assert_eq!(sp["interactive"], false);
    assert_eq!(
        event_by_id(&from_portal, "mi-0001")["actor_type"],
        "managedIdentity"
    );
    // What the download does not say: the service principal tab has no credential type, and
    // a user row does not say whether it was interactive (both user tabs have its columns).
    assert_eq!(
        event_by_id(&from_graph, "si-0001")["credential_kind"],
        "clientSecret"
    );
    assert_eq!(sp["credential_kind"], Value::Null);
    assert_eq!(event_by_id(&from_graph, "si-0002")["interactive"], true);
    assert_eq!(
        event_by_id(&from_portal, "si-0002")["interactive"],
        Value::Null
    );
    let failed = event_by_id(&from_portal, "si-0009");
    assert_eq!(
        (&failed["outcome"], &failed["error_code"]),
        (&Value::from("failure"), &Value::from("50126"))
    );
    assert_eq!(failed["region"], "NG");
    assert!(
        failed["raw_ref"]
            .as_str()
            .is_some_and(|r| r.ends_with("InteractiveSignIns_2026-05-01_2026-05-02.csv:3")),
        "{failed}"
    );

    // The identities resolve as from Graph: the same trace (owner from the audit event, the
    // credential it issued, the sign-ins) in both stores.
    let trace = |store: &Path, subject: &str| {
        let out = harness::nhiscope(store, &["trace", subject, "--output", "json"]);
        assert!(out.status.success(), "{}", harness::stderr(&out));
        let t: Value = serde_json::from_slice(&out.stdout).expect("json trace");
        t["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| (s["depth"].clone(), s["kind"].clone(), s["text"].clone()))
            .collect::<Vec<_>>()
    };
    for subject in [
        "s0000000-0000-0000-0000-000000000001",
        "c0ffee00-0000-0000-0000-000000000001",
        "m0000000-0000-0000-0000-000000000001",
    ] {
        let steps = trace(&portal_store, subject);
        assert_eq!(steps, trace(&graph_store, subject), "{subject}");
        assert!(steps.len() > 1, "{subject}: {steps:?}");
    }

    // Read after the Graph sign-ins, the download's rows are the same events: stored once.
    let again = run(&graph_store, &portal);
    let signin = &again["formats"]["entra_signin"];
    assert_eq!(
        (&signin["duplicates"], &signin["ingested"]),
        (&Value::from(3), &Value::from(1)),
        "{again:#}"
    );
}

/// The events of `store` without what says where and when they were read (`scan_id`,
/// `collector`, `raw_ref`), by event id.
fn events_as_read(store: &Path) -> std::collections::BTreeMap<String, Value> {
    harness::rows(&harness::open(store), Table::Events, Snapshot::Current)
        .into_iter()
        .map(|mut e| {
            let id = e["event_id"].as_str().unwrap_or_default().to_string();
            if let Some(o) = e.as_object_mut() {
                for k in ["scan_id", "collector", "raw_ref"] {
                    o.remove(k);
                }
            }
            (id, e)
        })
        .collect()
}

/// `events` as GitHub's audit log export writes them as CSV: one column per key of the
/// events, nested keys flattened with dots (`actor_location.country_code`), in the order first
/// seen; a row per event, its values as JSON spells them (text bare), empty when absent.
fn github_export(events: &[Value]) -> Vec<u8> {
    fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, x, out);
                }
            }
            Value::String(s) => out.push((prefix.into(), s.clone())),
            other => out.push((prefix.into(), other.to_string())),
        }
    }
    let flat: Vec<Vec<(String, String)>> = events
        .iter()
        .map(|e| {
            let mut cells = Vec::new();
            flatten("", e, &mut cells);
            cells
        })
        .collect();
    let mut header: Vec<&str> = Vec::new();
    for (k, _) in flat.iter().flatten() {
        if !header.contains(&k.as_str()) {
            header.push(k);
        }
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&header).expect("header");
    for cells in &flat {
        out.write_record(header.iter().map(|h| {
            cells
                .iter()
                .find(|(k, _)| k == h)
                .map_or("", |(_, v)| v.as_str())
        }))
        .expect("row");
    }
    out.into_inner().expect("csv")
}

#[test]
fn github_audit_log_csv_export_is_read_like_its_json() {
    let tmp = harness::temp();
    // The fixture's events (a clone with a fine-grained token, the grant of that token) and an
    // event with only the documented keys (no `_document_id`: its id is the digest of its
    // record), as JSON and exported as CSV.
    let mut events: Vec<Value> = std::fs::read_to_string(fixtures().join("github_audit.ndjson"))
        .expect("fixture")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    events.push(
        serde_json::json!({"created_at": 1777730400000_i64, "action": "repo.create",
        "actor": "erin", "actor_id": 49699333, "user": "erin", "org": "acme", "repo": "acme/new",
        "public_repo": false, "actor_location": {"country_code": "NL"},
        "data": {"events": ["push", "pull_request"]}}),
    );
    let (json_dir, csv_dir) = (tmp.path().join("json"), tmp.path().join("csv"));
    for dir in [&json_dir, &csv_dir] {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    let ndjson: Vec<String> = events.iter().map(Value::to_string).collect();
    std::fs::write(json_dir.join("audit.ndjson"), ndjson.join("\n")).expect("write");
    std::fs::write(csv_dir.join("audit-log-export.csv"), github_export(&events)).expect("write");

    let run = |store: &Path, dir: &Path| {
        let (out, report) = ingest_report(store, dir);
        assert_eq!(out.status.code(), Some(0), "{}", harness::stdout(&out));
        report
    };
    let (json_store, csv_store) = (tmp.path().join("j.duckdb"), tmp.path().join("c.duckdb"));
    run(&json_store, &json_dir);
    let report = run(&csv_store, &csv_dir);
    let github = &report["formats"]["github_audit"];
    assert_eq!(
        (&github["read"], &github["ingested"], &github["quarantined"]),
        (&Value::from(3), &Value::from(3), &Value::from(0)),
        "{report:#}"
    );
    // Every row is the event its JSON is: every field the same, the token's issuance too.
    let (from_json, from_csv) = (events_as_read(&json_store), events_as_read(&csv_store));
    assert_eq!(from_csv, from_json);
    assert_eq!(from_csv["gh-0001"]["credential_id"], "5551234");
    assert_eq!(from_csv["gh-0001"]["credential_kind"], "pat_fine_grained");
    assert_eq!(from_csv["gh-0002"]["issued_credential_id"], "5551234");
    let created = from_csv
        .values()
        .find(|e| e["action"] == "repo.create")
        .expect("repo.create");
    assert!(
        created["event_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("h:")),
        "{created}"
    );
    assert!(
        created["attributes"]
            .as_str()
            .is_some_and(|a| a.contains(r#""country":"NL""#)),
        "{created}"
    );
    let raw = harness::rows(&harness::open(&csv_store), Table::Events, Snapshot::Current);
    assert!(
        event_by_id(&raw, "gh-0002")["raw_ref"]
            .as_str()
            .is_some_and(|r| r.ends_with("audit-log-export.csv:3")),
        "{raw:?}"
    );
    // The token traces the same from both: used by the clone, issued by the grant.
    let trace = |store: &Path| {
        let out = harness::nhiscope(store, &["trace", "5551234", "--output", "json"]);
        assert!(out.status.success(), "{}", harness::stderr(&out));
        let t: Value = serde_json::from_slice(&out.stdout).expect("json trace");
        t["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| (s["depth"].clone(), s["kind"].clone(), s["text"].clone()))
            .collect::<Vec<_>>()
    };
    let steps = trace(&csv_store);
    assert_eq!(steps, trace(&json_store));
    assert!(steps.len() > 1, "{steps:?}");

    // Read after the JSON, the export's rows are the same events: stored once.
    let again = run(&json_store, &csv_dir);
    let github = &again["formats"]["github_audit"];
    assert_eq!(
        (&github["duplicates"], &github["ingested"]),
        (&Value::from(3), &Value::from(0)),
        "{again:#}"
    );
}

/// Graph `directoryAudit` objects as the Entra admin center's audit log download writes them
/// (a byte order mark, every cell quoted, CRLF): the actor, three targets of five modified
/// properties each and six additional details spread over 86 columns, as the scripts that
/// write Graph's objects "in the same shape as the native export" fill them.
fn audit_download(events: &[Value]) -> Vec<u8> {
    let mut header: Vec<String> = [
        "Date (UTC)",
        "CorrelationId",
        "Service",
        "Category",
        "Activity",
        "Result",
        "ResultReason",
        "User Agent",
        "ActorType",
        "ActorDisplayName",
        "ActorObjectId",
        "ActorUserPrincipalName",
        "IPAddress",
        "ActorHomeTenantId",
        "ActorHomeTenantName",
        "ActorServicePrincipalId",
        "ActorServicePrincipalName",
    ]
    .map(String::from)
    .to_vec();
    for t in 1..=3 {
        for part in ["Type", "DisplayName", "ObjectId", "UserPrincipalName"] {
            header.push(format!("Target{t}{part}"));
        }
        for p in 1..=5 {
            for part in ["Name", "OldValue", "NewValue"] {
                header.push(format!("Target{t}ModifiedProperty{p}{part}"));
            }
        }
    }
    for d in 1..=6 {
        header.push(format!("AdditionalDetail{d}Key"));
        header.push(format!("AdditionalDetail{d}Value"));
    }
    let mut out = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    out.write_record(&header).expect("header");
    let text = |v: &Value, path: &str| {
        path.split('.')
            .try_fold(v, |v, k| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    for e in events {
        let by_user = e["initiatedBy"].get("user").is_some();
        let actor = if by_user {
            "initiatedBy.user"
        } else {
            "initiatedBy.app"
        };
        let mut row = vec![
            text(e, "activityDateTime"),
            text(e, "correlationId"),
            text(e, "loggedByService"),
            text(e, "category"),
            text(e, "activityDisplayName"),
            text(e, "result"),
            text(e, "resultReason"),
            String::new(),
            if by_user { "User" } else { "App" }.to_string(),
            text(e, &format!("{actor}.displayName")),
            text(e, "initiatedBy.user.id"),
            text(e, "initiatedBy.user.userPrincipalName"),
            text(e, "initiatedBy.user.ipAddress"),
            text(e, "initiatedBy.user.homeTenantId"),
            text(e, "initiatedBy.user.homeTenantName"),
            text(e, "initiatedBy.app.servicePrincipalId"),
            text(e, "initiatedBy.app.servicePrincipalName"),
        ];
        let none = Vec::new();
        let targets = e["targetResources"].as_array().unwrap_or(&none);
        for t in 0..3 {
            let target = targets.get(t).cloned().unwrap_or(Value::Null);
            for key in ["type", "displayName", "id", "userPrincipalName"] {
                row.push(text(&target, key));
            }
            let props = target["modifiedProperties"].as_array().unwrap_or(&none);
            for p in 0..5 {
                let prop = props.get(p).cloned().unwrap_or(Value::Null);
                for key in ["displayName", "oldValue", "newValue"] {
                    row.push(text(&prop, key));
                }
            }
        }
        let details = e["additionalDetails"].as_array().unwrap_or(&none);
        for d in 0..6 {
            let detail = details.get(d).cloned().unwrap_or(Value::Null);
            row.push(text(&detail, "key"));
            row.push(text(&detail, "value"));
        }
        out.write_record(&row).expect("row");
    }
    out.into_inner().expect("csv")
}

#[test]
fn entra_audit_log_download_csv_is_read_like_graph_audits() {
    let tmp = harness::temp();
    // The fixture's audit event (carol adds billing-sync's secret) as Graph gives it, an app
    // rotating an application's secret, a refused addition and a new service principal.
    let diagnostic: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("entra_diagnostic.json")).expect("fixture"),
    )
    .expect("json");
    let fixture = diagnostic["records"][1]["properties"].clone();
    assert_eq!(
        fixture["activityDisplayName"],
        "Add service principal credentials"
    );
    let key = |id: &str| {
        format!("[\"[KeyIdentifier={id},KeyType=Password,KeyUsage=Verify,DisplayName=ci]\"]")
    };
    let events = vec![
        fixture,
        serde_json::json!({"id": "Directory_0002", "activityDateTime": "2026-05-02T09:15:00Z",
            "activityDisplayName": "Update application – Certificates and secrets management ",
            "category": "ApplicationManagement", "correlationId": "c-aud-0002",
            "loggedByService": "Core Directory", "result": "success", "operationType": "Update",
            "initiatedBy": {"app": {"appId": "a0000000-0000-0000-0000-000000000007",
                "displayName": "deploy-automation",
                "servicePrincipalId": "s0000000-0000-0000-0000-000000000007",
                "servicePrincipalName": "deploy-automation"}},
            "targetResources": [{"id": "o0000000-0000-0000-0000-000000000001",
                "displayName": "billing-sync", "type": "Application",
                "modifiedProperties": [{"displayName": "KeyDescription", "oldValue": "[]",
                    "newValue": key("0a0b0c0d-0000-4000-8000-000000000011")}]}],
            "additionalDetails": [{"key": "AppId", "value": "a0000000-0000-0000-0000-000000000007"}]}),
        serde_json::json!({"id": "Directory_0003", "activityDateTime": "2026-05-02T09:20:00Z",
            "activityDisplayName": "Add service principal credentials",
            "category": "ApplicationManagement", "correlationId": "c-aud-0003",
            "loggedByService": "Core Directory", "result": "failure",
            "resultReason": "Insufficient privileges to complete the operation.",
            "initiatedBy": {"user": {"id": "u0000000-0000-0000-0000-000000000004",
                "userPrincipalName": "dave@example.com", "ipAddress": "203.0.113.50"}},
            "targetResources": [{"id": "s0000000-0000-0000-0000-000000000002",
                "displayName": "payments-api", "type": "ServicePrincipal",
                "modifiedProperties": [{"displayName": "KeyDescription", "oldValue": "[]",
                    "newValue": key("0a0b0c0d-0000-4000-8000-000000000012")}]}]}),
        serde_json::json!({"id": "Directory_0004", "activityDateTime": "2026-05-02T09:30:00Z",
            "activityDisplayName": "Add service principal", "category": "ApplicationManagement",
            "correlationId": "c-aud-0004", "loggedByService": "Core Directory",
            "result": "success",
            "initiatedBy": {"user": {"id": "u0000000-0000-0000-0000-000000000003",
                "displayName": "Carol", "userPrincipalName": "carol@example.com",
                "ipAddress": "192.0.2.33"}},
            "targetResources": [{"id": "s0000000-0000-0000-0000-000000000003",
                "displayName": "reports-export", "type": "ServicePrincipal"}]}),
    ];
    let (graph, portal) = (tmp.path().join("graph"), tmp.path().join("portal"));
    for dir in [&graph, &portal] {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    let value = serde_json::json!({"value": events});
    std::fs::write(graph.join("directoryAudits.json"), value.to_string()).expect("write");
    std::fs::write(
        portal.join("AuditLogs_2026-05-02.csv"),
        audit_download(&events),
    )
    .expect("write");

    let run = |store: &Path, dir: &Path| {
        let (out, report) = ingest_report(store, dir);
        assert_eq!(out.status.code(), Some(0), "{}", harness::stdout(&out));
        report
    };
    let (graph_store, portal_store) = (tmp.path().join("g.duckdb"), tmp.path().join("p.duckdb"));
    let from_graph_report = run(&graph_store, &graph);
    let report = run(&portal_store, &portal);
    let audit = &report["formats"]["entra_audit"];
    assert_eq!(
        (&audit["read"], &audit["ingested"], &audit["quarantined"]),
        (&Value::from(4), &Value::from(4), &Value::from(0)),
        "{report:#}"
    );

    // Each row is the event its Graph object is, but for what the download does not have: an
    // id (the event's is a digest of the row's record) and the operation type.
    let by_time = |store: &Path| {
        events_as_read(store)
            .into_values()
            .map(|mut e| {
                let id = e["event_id"].as_str().unwrap_or_default().to_string();
                let mut attributes: Value =
                    serde_json::from_str(e["attributes"].as_str().unwrap_or("{}")).expect("json");
                let operation = attributes
                    .as_object_mut()
                    .and_then(|a| a.remove("operation_type"));
                if let Some(o) = e.as_object_mut() {
                    o.remove("event_id");
                    o.insert("attributes".into(), attributes);
                }
                let time = e["event_time"].as_str().unwrap_or_default().to_string();
                (time, (id, operation, e))
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (from_graph, from_portal) = (by_time(&graph_store), by_time(&portal_store));
    assert_eq!(from_portal.len(), 4);
    for (time, (id, operation, event)) in &from_portal {
        assert!(id.starts_with("h:"), "{id}");
        assert_eq!(operation, &None, "{time}");
        assert_eq!(
            Some(event),
            from_graph.get(time).map(|(_, _, e)| e),
            "{time}"
        );
    }
    assert_eq!(
        from_graph["2026-05-02T09:15:00"].1,
        Some(Value::from("Update")),
        "Graph's operation type"
    );
    let issued: Vec<_> = from_portal
        .values()
        .map(|(_, _, e)| (e["outcome"].clone(), e["issued_credential_id"].clone()))
        .collect();
    assert_eq!(
        issued,
        [
            (
                "success",
                Value::from("c0ffee00-0000-0000-0000-000000000001")
            ),
            (
                "success",
                Value::from("0a0b0c0d-0000-4000-8000-000000000011")
            ),
            (
                "failure",
                Value::from("0a0b0c0d-0000-4000-8000-000000000012")
            ),
            ("success", Value::Null),
        ]
        .map(|(o, k)| (Value::from(o), k))
    );

    // The engine derives the same owner candidates from both: the issuer of each credential
    // and the creator of the service principal, not the refused addition's.
    let owners = |store: &Path| {
        let mut owners: Vec<(String, String, String, String)> =
            harness::rows(&harness::open(store), Table::Ownership, Snapshot::Current)
                .iter()
                .map(|o| {
                    let text = |k: &str| o[k].as_str().unwrap_or_default().to_string();
                    // The evidence without the record's file and line.
                    let evidence = text("evidence");
                    let evidence = evidence
                        .rsplit_once(" (")
                        .map_or(evidence.clone(), |(e, _)| e.to_string());
                    (text("identity_id"), text("owner"), text("source"), evidence)
                })
                .collect();
        owners.sort();
        owners
    };
    let from_download = owners(&portal_store);
    assert_eq!(from_download, owners(&graph_store));
    let owner = |i: &str, o: &str, e: &str| {
        (
            i.to_string(),
            o.to_string(),
            "creator".to_string(),
            e.to_string(),
        )
    };
    assert_eq!(
        from_download,
        [
            owner(
                "o0000000-0000-0000-0000-000000000001",
                "deploy-automation",
                "Update application – Certificates and secrets management  at 2026-05-02T09:15:00Z issuing 0a0b0c0d-0000-4000-8000-000000000011"
            ),
            owner(
                "s0000000-0000-0000-0000-000000000001",
                "carol@example.com",
                "Add service principal credentials at 2026-05-02T08:40:00Z issuing c0ffee00-0000-0000-0000-000000000001"
            ),
            owner(
                "s0000000-0000-0000-0000-000000000003",
                "carol@example.com",
                "Add service principal at 2026-05-02T09:30:00Z"
            ),
        ]
    );
    assert_eq!(report["owner_candidates"], 3);
    assert_eq!(from_graph_report["owner_candidates"], 3);

    // Each issued credential traces the same from both: issued by whom, for what; the
    // refused addition as refused.
    for credential in [
        "c0ffee00-0000-0000-0000-000000000001",
        "0a0b0c0d-0000-4000-8000-000000000011",
        "0a0b0c0d-0000-4000-8000-000000000012",
    ] {
        let trace = |store: &Path| {
            let out = harness::nhiscope(store, &["trace", credential, "--output", "json"]);
            assert!(out.status.success(), "{}", harness::stderr(&out));
            let t: Value = serde_json::from_slice(&out.stdout).expect("json trace");
            t["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .map(|s| (s["depth"].clone(), s["kind"].clone(), s["text"].clone()))
                .collect::<Vec<_>>()
        };
        let steps = trace(&portal_store);
        assert_eq!(steps, trace(&graph_store), "{credential}");
        let expected = if credential.ends_with("012") {
            "refused"
        } else {
            "issued"
        };
        assert!(
            steps.iter().any(|(_, kind, _)| kind == expected),
            "{credential}: {steps:?}"
        );
        if expected == "refused" {
            // The refused addition issued nothing.
            assert!(
                !steps.iter().any(|(_, kind, _)| kind == "issued"),
                "{credential}: {steps:?}"
            );
        }
    }
}

#[test]
fn trace_goes_from_an_edge_request_back_to_the_issuer() {
    let tmp = harness::temp();
    let logs = stage_fixtures(tmp.path());
    let store = tmp.path().join("store.duckdb");
    let out = ingest(&store, &[&logs.display().to_string()], b"");
    assert_eq!(out.status.code(), Some(2), "{}", harness::stderr(&out));

    let out = harness::nhiscope(&store, &["trace", "gw-req-0001", "--output", "json"]);
    assert!(out.status.success(), "{}", harness::stderr(&out));
    let t: Value = serde_json::from_slice(&out.stdout).expect("json trace");
    assert_eq!(t["kind"], "request");
    let steps: Vec<(String, String)> = t["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap_or_default().to_string(),
                s["text"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let find = |kind: &str, needle: &str| {
        steps
            .iter()
            .position(|(k, t)| k == kind && t.contains(needle))
            .unwrap_or_else(|| panic!("no {kind} step with {needle:?}: {steps:#?}"))
    };
    // The edge request → the role session behind it → the AssumeRole that minted it with the
    // CI user's key → the CreateAccessKey by alice that issued that key.
    let request = find(
        "request",
        "by arn:aws:iam::111122223333:role/deploy with ASIADEPLOYSESSION001",
    );
    let session = find("credential", "ASIADEPLOYSESSION001");
    let minted = find("issued", "AssumeRole 2026-05-02T10:00:00 by arn:aws:iam::111122223333:user/ci-deployer using AKIACIDEPLOYER000001");
    let issued = find(
        "minted",
        "CreateAccessKey 2026-05-01T09:01:00 by arn:aws:iam::111122223333:user/alice",
    );
    assert!(
        request < session && session < minted && minted < issued,
        "{steps:#?}"
    );
    find("action", "PutObject on releases");

    // A GCP key: created by dave, used by the CI service account through a delegation.
    let out = harness::nhiscope(
        &store,
        &[
            "trace",
            "//iam.googleapis.com/projects/prod-payments/serviceAccounts/ci@prod-payments.iam.gserviceaccount.com/keys/9f8e7d6c5b4a",
        ],
    );
    assert!(out.status.success(), "{}", harness::stderr(&out));
    let text = harness::stdout(&out);
    assert!(
        text.contains(
            "google.iam.admin.v1.CreateServiceAccountKey 2026-05-02T12:00:00 by dave@example.com"
        ),
        "{text}"
    );
    assert!(
        text.contains("storage.objects.get on projects/_/buckets/ledger/objects/2026.csv"),
        "{text}"
    );

    // An address: who acted from it.
    let out = harness::nhiscope(&store, &["trace", "198.51.100.77", "--output", "csv"]);
    assert!(harness::stdout(&out).starts_with("depth,kind,text,evidence\n"));
    let out = harness::nhiscope(&store, &["trace", "198.51.100.77"]);
    let text = harness::stdout(&out);
    assert!(
        text.contains("arn:aws:iam::111122223333:user/ci-deployer with AKIACIDEPLOYER000001 x2"),
        "{text}"
    );
    assert!(
        text.contains("system:serviceaccount:payments:api"),
        "{text}"
    );

    // An identity: its owner candidate from the issuance logs, its key, its actions.
    let out = harness::nhiscope(
        &store,
        &["trace", "arn:aws:iam::111122223333:user/ci-deployer"],
    );
    let text = harness::stdout(&out);
    assert!(text.contains("owner      arn:aws:iam::111122223333:user/alice (creator: CreateUser at 2026-05-01T09:00:00Z"), "{text}");
    assert!(
        text.contains("uses AKIACIDEPLOYER000001 (4 events"),
        "{text}"
    );
    assert!(text.contains("ConsoleLogin on - x1"), "{text}");

    let out = harness::nhiscope(&store, &["trace", "AKIANOTHINGKNOWN0000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(harness::stderr(&out).contains("nothing is known"));
}

/// GitHub audit events in the shapes besides today's streaming one, end to end: an older
/// export's deploy key with the event's own keys under `data` (its fingerprint, the actor's
/// address and agent), a fine-grained token whose request an owner denied, then refused by the
/// API. Ingested, the key is issued by alice and traces to her; the token is refused, not
/// issued, its refusals are failures, and issuance (owner candidates) has the key only.
/// GitHub Enterprise Server's `/var/log/github/audit.log` (and what its log forwarding sends):
/// syslog lines whose message is a Ruby hash (the entry GitHub's "Audit logging" page shows) or
/// JSON (git pushes, which carry no action and no time, so nothing reads them as an event).
#[test]
fn github_enterprise_server_audit_log_lines_end_to_end() {
    let tmp = harness::temp();
    let log = tmp.path().join("audit.log");
    let lines = [
        r#"Oct 26 01:42:08 github-ent github_audit: {:created_at=>1351215728326, :actor_ip=>"10.0.0.51", :data=>{}, :user=>"some-user", :repo=>"some-user/some-repository", :actor=>"some-user", :actor_id=>2, :user_id=>2, :action=>"repo.create", :repo_id=>1, :from=>"repositories#create"}"#,
        r#"Oct 26 02:19:31 github-ent github_audit: { "pid":22860, "program":"receive-pack", "pusher":"some-user", "real_ip":"10.0.0.51", "repo_name":"some-user/some-repository", "status":"post_receive_hook" }"#,
        r#"Oct 26 03:00:00 github-ent github_audit: {:created_at=>1351220400000, :actor_ip=>"10.0.0.052", :actor=>"deployer", :action=>"public_key.create", :repo=>"some-user/some-repository", :data=>{:fingerprint=>"SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", :title=>"ci \"prod\" key", :read_only=>false}}"#,
        r#"Oct 26 03:00:01 github-ent github_audit: {:created_at=>1351220401000, :at=>#<Time 2012-10-26>, :action=>"repo.destroy"}"#,
    ];
    std::fs::write(&log, lines.join("\n") + "\n").expect("write");
    let store = tmp.path().join("store.duckdb");
    let (out, report) = ingest_report(&store, &log);
    assert_eq!(
        out.status.code(),
        Some(2),
        "some lines quarantined: {report:#}"
    );
    let github = &report["formats"]["github_audit"];
    assert_eq!(
        (&github["read"], &github["ingested"]),
        (&Value::from(2), &Value::from(2)),
        "{report:#}"
    );
    assert_eq!(report["formats"]["unknown"]["quarantined"], 2, "{report:#}");
    let sample = report["quarantine_sample"].to_string();
    assert!(
        sample.contains("audit.log:2:"),
        "the push, unrecognised: {sample}"
    );
    assert!(
        sample.contains(
            "audit.log:4: syslog line whose message is neither JSON nor a plain Ruby hash"
        ),
        "{sample}"
    );

    let stored: Vec<Value> = events_as_read(&store).into_values().collect();
    let created = stored
        .iter()
        .find(|e| e["action"] == "repo.create")
        .expect("repo.create");
    assert_eq!(
        [
            &created["actor"],
            &created["source_ip"],
            &created["target"],
            &created["event_time"]
        ],
        [
            Value::from("some-user"),
            Value::from("10.0.0.51"),
            Value::from("some-user/some-repository"),
            Value::from("2012-10-26T01:42:08.326"),
        ]
        .each_ref(),
        "{created}"
    );
    let key = stored
        .iter()
        .find(|e| e["action"] == "public_key.create")
        .expect("public_key.create");
    assert_eq!(
        [
            &key["issued_credential_id"],
            &key["source_ip"],
            &key["actor"],
            &key["outcome"]
        ],
        [
            "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
            "10.0.0.52",
            "deployer",
            "success"
        ]
        .map(Value::from)
        .each_ref(),
        "{key}"
    );

    // GitHub Enterprise Server 3.x keeps its services' logs in systemd's journal: the same
    // entries exported with `journalctl -o json`.
    let journal = tmp.path().join("journal.json");
    let entry = serde_json::json!({"__CURSOR": "s=9;i=1", "__REALTIME_TIMESTAMP": "1351224000000000",
        "_HOSTNAME": "github-ent", "SYSLOG_IDENTIFIER": "github_audit",
        "MESSAGE": r#"{:created_at=>1351224000000, :actor=>"deployer", :actor_ip=>"10.0.0.52", :action=>"public_key.delete", :repo=>"some-user/some-repository", :data=>{:fingerprint=>"SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"}}"#});
    std::fs::write(&journal, entry.to_string() + "\n").expect("write");
    let (out, report) = ingest_report(&store, &journal);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(
        report["formats"]["github_audit"]["ingested"], 1,
        "{report:#}"
    );
    assert!(events_as_read(&store)
        .values()
        .any(|e| e["action"] == "public_key.delete" && e["actor"] == "deployer"));
}

#[test]
fn github_nested_data_and_refused_events_end_to_end() {
    let tmp = harness::temp();
    let dir = tmp.path().join("github");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let events = [
        // An older organization export: the event's own keys under `data`, as the documented
        // `data.*` keys are (github/docs `data/reusables/audit_log/exported-log-keys-and-values.md`);
        // `public_key.create`'s keys (`key`, `fingerprint`, `title`, `read_only`) as
        // `src/audit-logs/data/ghec/enterprise.json` lists them.
        serde_json::json!({"action": "public_key.create", "actor": "alice", "org": "acme",
            "repo": "acme/api", "user": "alice", "created_at": 1777896000000_i64,
            "actor_location": {"country_code": "NL"},
            "data": {"fingerprint": "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
                     "title": "deploy-prod", "read_only": false,
                     "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx9example",
                     "actor_ip": "198.51.100.023",
                     "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"}}),
        // Streaming: an owner denies the token's request in the web interface (the fields of
        // `personal_access_token.request_denied`; `token_id` names the token, the owner used none).
        serde_json::json!({"@timestamp": 1777903200000_i64, "_document_id": "gh-ent-0002",
            "action": "personal_access_token.request_denied", "actor": "erin",
            "actor_id": 1402, "actor_ip": "203.0.113.40", "org": "acme", "org_id": 9001,
            "business": "acme-corp", "business_id": 77, "created_at": 1777903200000_i64,
            "operation_type": "remove", "user": "mallory", "user_id": 1777,
            "token_id": 7770001, "user_programmatic_access_name": "sync-all-repos",
            "user_programmatic_access_request_id": 3301, "repository_selection": "all",
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Firefox/126.0"}),
        // The token then used against the organization's API, answered 403 (`api.request`, as
        // audit-log streaming records API requests, with `status_code`).
        serde_json::json!({"@timestamp": 1777906800000_i64, "_document_id": "gh-ent-0003",
            "action": "api.request", "actor": "mallory", "actor_id": 1777,
            "actor_ip": "198.51.100.99", "org": "acme", "org_id": 9001,
            "business": "acme-corp", "business_id": 77, "created_at": 1777906800000_i64,
            "programmatic_access_type": "Fine-grained personal access token",
            "token_id": 7770001, "hashed_token": "Wb2Lz3mC0uQ7Rk1sYp8vNa4dXe6fGh9jKl5oTq2rSw0=",
            "request_category": "api", "request_method": "GET",
            "route": "/repos/{owner}/{repo}/contents/{path}", "status_code": 403,
            "user_agent": "python-requests/2.32.3"}),
    ];
    let ndjson: Vec<String> = events.iter().map(Value::to_string).collect();
    std::fs::write(dir.join("audit.ndjson"), ndjson.join("\n")).expect("write");
    let store = tmp.path().join("store.duckdb");
    let (out, report) = ingest_report(&store, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", harness::stderr(&out));
    let github = &report["formats"]["github_audit"];
    assert_eq!(
        (&github["read"], &github["ingested"], &github["quarantined"]),
        (&Value::from(3), &Value::from(3), &Value::from(0)),
        "{report:#}"
    );

    let stored = events_as_read(&store);
    let key = stored
        .values()
        .find(|e| e["action"] == "public_key.create")
        .expect("the key");
    assert_eq!(
        [
            &key["issued_credential_id"],
            &key["source_ip"],
            &key["target"],
            &key["outcome"],
        ],
        [
            "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
            "198.51.100.23",
            "acme/api",
            "success"
        ]
        .map(Value::from)
        .each_ref()
    );
    assert!(
        key["user_agent"]
            .as_str()
            .is_some_and(|a| a.contains("Firefox/126.0")),
        "{key}"
    );
    let denied = &stored["gh-ent-0002"];
    assert_eq!(
        [
            &denied["outcome"],
            &denied["error_code"],
            &denied["issued_credential_id"],
            &denied["credential_id"],
        ],
        [
            Value::from("failure"),
            Value::from("request_denied"),
            Value::from("7770001"),
            Value::Null
        ]
        .each_ref()
    );
    let refused = &stored["gh-ent-0003"];
    assert_eq!(
        [
            &refused["outcome"],
            &refused["error_code"],
            &refused["credential_id"],
            &refused["credential_kind"],
        ],
        ["failure", "403", "7770001", "pat_fine_grained"]
            .map(Value::from)
            .each_ref()
    );

    let trace = |subject: &str| {
        let out = harness::nhiscope(&store, &["trace", subject, "--output", "json"]);
        assert!(out.status.success(), "{}", harness::stderr(&out));
        let t: Value = serde_json::from_slice(&out.stdout).expect("json trace");
        t["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| {
                (
                    s["kind"].as_str().unwrap_or_default().to_string(),
                    s["text"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    // The key: issued by alice, for the repository.
    let steps = trace("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8");
    assert!(
        steps.contains(&(
            "issued".into(),
            "public_key.create 2026-05-04T12:00:00 by alice using - (for acme/api)".into()
        )),
        "{steps:#?}"
    );
    // The token: refused by erin, never issued; its 403 among its actions.
    let steps = trace("7770001");
    assert!(
        steps.contains(&(
            "refused".into(),
            "personal_access_token.request_denied 2026-05-04T14:00:00 by erin using - (for mallory)"
                .into()
        )),
        "{steps:#?}"
    );
    assert!(!steps.iter().any(|(k, _)| k == "issued"), "{steps:#?}");
    assert!(
        steps
            .iter()
            .any(|(k, t)| k == "action" && t.starts_with("api.request on - x1")),
        "{steps:#?}"
    );

    // Issuance (the owner candidates) has the key and not the refused token; the token's
    // activity counts its refused request.
    let db = harness::open(&store);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let query = |sql: &str| {
        rt.block_on(async {
            let a = nhiscope_engine::analysis::Analysis::new(&db, Snapshot::Current, 0, false)
                .await
                .expect("analysis");
            harness::batches_json(&a.query(sql).await.expect("query"))
        })
    };
    let issuance =
        query("SELECT subject_id, issued_by, issued_for FROM issuance ORDER BY subject_id");
    assert_eq!(
        issuance,
        vec![serde_json::json!({
            "subject_id": "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
            "issued_by": "alice", "issued_for": "acme/api"})]
    );
    let activity =
        query("SELECT events, failures FROM credential_activity WHERE credential_id = '7770001'");
    assert_eq!(
        activity,
        vec![serde_json::json!({"events": 1, "failures": 1})]
    );
}
