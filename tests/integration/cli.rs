//! The CLI end to end: the demo (README's first command), inventory formats and filters,
//! search by access key id, scans list/show, configuration errors.

use crate::harness;

#[test]
fn demo_loads_a_labelled_estate_and_the_inventory_reads_it() {
    let dir = harness::temp();
    let store = dir.path().join("demo.duckdb");
    let out = harness::nhiscope(&store, &["demo"]);
    let text = harness::stdout(&out);
    assert!(out.status.success(), "{text}{}", harness::stderr(&out));
    assert!(text.contains("DEMO DATA"), "{text}");
    assert!(
        text.contains("access_key"),
        "summary lists credentials: {text}"
    );

    let out = harness::nhiscope(&store, &["inventory", "--kind", "user", "--format", "json"]);
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let users = users.as_array().expect("array");
    assert!(users.len() > 40, "{}", users.len());
    assert!(users
        .iter()
        .all(|u| u["tenant"] == "999900001111" && u["kind"] == "user"));

    // Search by an exact access key id finds its holder.
    let out = harness::nhiscope(
        &store,
        &[
            "inventory",
            "--credentials",
            "--kind",
            "access_key",
            "--format",
            "csv",
            "--limit",
            "1",
        ],
    );
    let csv = harness::stdout(&out);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let row: Vec<&str> = lines.next().expect("row").split(',').collect();
    let key = row[header
        .iter()
        .position(|h| *h == "credential_id")
        .expect("column")];
    let holder = row[header.iter().position(|h| *h == "holder").expect("column")];
    let out = harness::nhiscope(&store, &["inventory", "--search", key, "--format", "json"]);
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["name"], holder);

    // Unowned filter and table output.
    let out = harness::nhiscope(&store, &["inventory", "--no-owner", "--kind", "role"]);
    let table = harness::stdout(&out);
    assert!(table.contains("break-glass-admin"), "{table}");
    assert!(
        !table.contains("datadog-integration"),
        "owned roles are filtered out: {table}"
    );

    // The store opens in DuckDB's own client, views and macros included.
    let out = std::process::Command::new(harness::python())
        .arg("-c")
        .arg(
            "import sys,duckdb;c=duckdb.connect(sys.argv[1],read_only=True);\
             print(c.sql(\"select count(*) from current_identities where kind='user'\").fetchall()[0][0]);\
             print(c.sql(\"select count(*) from identities_as_of(TIMESTAMP '2000-01-01')\").fetchall()[0][0])",
        )
        .arg(&store)
        .output()
        .expect("duckdb client");
    assert!(out.status.success(), "{}", harness::stderr(&out));
    let counts: Vec<usize> = harness::stdout(&out)
        .lines()
        .map(|l| l.trim().parse().expect("count"))
        .collect();
    assert_eq!(counts, vec![users.len(), 0]);

    // History: two demo snapshots, diff between them.
    let out = harness::nhiscope(&store, &["scans", "list", "--format", "json"]);
    let scans: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(scans.as_array().map(Vec::len), Some(2));
    assert!(scans[0]["source"]
        .as_str()
        .is_some_and(|s| s.starts_with("demo:")));
    let out = harness::nhiscope(&store, &["scans", "diff", "1", "2", "--format", "json"]);
    let diff: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let entries = diff["entries"].as_array().expect("entries");
    assert!(entries.iter().any(|e| e["change"] == "removed"
        && e["key"]
            .as_str()
            .is_some_and(|k| k.ends_with("user/machines/svc-search"))));
    assert!(entries.iter().any(|e| e["change"] == "added"
        && e["key"]
            .as_str()
            .is_some_and(|k| k.ends_with("role/service/ledger-ecs-task"))));
    assert!(
        entries
            .iter()
            .any(|e| e["table"] == "grants" && e["change"] == "changed"),
        "PassRole narrowed"
    );
}

#[test]
fn bad_configuration_and_arguments_are_named() {
    let dir = harness::temp();
    let store = dir.path().join("s.duckdb");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "version = 1\n[aws]\nprofile = \"typo\"\n").expect("write");
    let out = harness::nhiscope(
        &store,
        &["--config", config.to_str().expect("utf8"), "inventory"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = harness::stderr(&out);
    assert!(
        err.contains("bad.toml")
            && err.contains("line 3")
            && err.contains("unknown field `profile`"),
        "{err}"
    );

    let out = harness::nhiscope(&store, &["inventory", "--as-of", "last tuesday"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        harness::stderr(&out).contains("--as-of"),
        "{}",
        harness::stderr(&out)
    );

    // A malformed memory cap stops `serve` before it binds, naming the flag.
    let out = harness::nhiscope(
        &dir.path().join("served.duckdb"),
        &["serve", "--bind", "127.0.0.1:0", "--memory-limit", "lots"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        harness::stderr(&out).contains("--memory-limit lots"),
        "{}",
        harness::stderr(&out)
    );

    let out = harness::nhiscope(&store, &["scans", "show", "42"]);
    assert!(
        harness::stderr(&out).contains("no store at"),
        "{}",
        harness::stderr(&out)
    );
    harness::nhiscope(&store, &["demo"]);
    let out = harness::nhiscope(&store, &["scans", "show", "42"]);
    assert!(
        harness::stderr(&out).contains("scan 42 not found"),
        "{}",
        harness::stderr(&out)
    );
}
