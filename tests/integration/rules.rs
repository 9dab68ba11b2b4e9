//! The rule pack: every rule has a valid header, a fixture with positive and negative cases,
//! plans against the model, and flags exactly its fixture's positives; user rule directories,
//! parameter overrides and errors that name file and line, through the CLI.

use std::path::Path;

use nhiscope_engine::analysis::Analysis;
use nhiscope_engine::rules::{self, Fixture, RuleSet};
use nhiscope_engine::store::Snapshot;
use nhiscope_engine::Store;

use crate::harness::{nhiscope, repo, stderr, stdout, temp};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

fn repo_rules() -> Vec<nhiscope_engine::rules::Rule> {
    let (rules, errors) = rules::load_dir(&repo().join("rules"));
    assert!(errors.is_empty(), "{errors:?}");
    rules
}

fn fixture_of(id: &str) -> Option<Fixture> {
    let path = repo()
        .join("rules")
        .join("tests")
        .join(format!("{id}.toml"));
    let text = std::fs::read_to_string(&path).ok()?;
    Some(Fixture::parse(&text, &path.display().to_string()).expect("fixture parses"))
}

#[test]
fn every_rule_file_is_valid_has_a_fixture_and_plans() {
    let rules = repo_rules();
    assert!(rules.len() >= 20, "{} rules", rules.len());
    let mut set = RuleSet::default();
    set.extend(rules.clone()).expect("unique ids");
    let owasp_covered: std::collections::BTreeSet<&str> =
        rules.iter().map(|r| r.owasp.as_str()).collect();
    for want in ["NHI1", "NHI3", "NHI4", "NHI5", "NHI6", "NHI7", "NHI10"] {
        assert!(owasp_covered.contains(want), "no rule for {want}");
    }
    let store = Store::open_in_memory().expect("store");
    let rt = runtime();
    let analysis = rt
        .block_on(Analysis::new(&store, Snapshot::Current, 0, false))
        .expect("analysis");
    let mut problems = Vec::new();
    for rule in &rules {
        let file = Path::new(&rule.origin)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("");
        if file != rule.id {
            problems.push(format!(
                "{}: file name should be {}.toml",
                rule.origin, rule.id
            ));
        }
        match fixture_of(&rule.id) {
            None => problems.push(format!(
                "{}: no fixture rules/tests/{}.toml",
                rule.id, rule.id
            )),
            Some(f) if f.rule != rule.id => {
                problems.push(format!("{}: fixture names rule {}", rule.id, f.rule))
            }
            Some(_) => {}
        }
        if let Err(e) = rt.block_on(analysis.plan(rule)) {
            problems.push(e.to_string());
        }
        if rule.references.is_empty() || rule.compliance.is_empty() {
            problems.push(format!(
                "{}: needs references and compliance mappings",
                rule.id
            ));
        }
    }
    // Every fixture belongs to a rule.
    for entry in std::fs::read_dir(repo().join("rules/tests"))
        .expect("tests dir")
        .flatten()
    {
        let stem = entry
            .path()
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        if set.get(&stem).is_none() {
            problems.push(format!("rules/tests/{stem}.toml: no such rule"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_rule_flags_exactly_its_fixture_positives() {
    let rt = runtime();
    let mut problems = Vec::new();
    let rules = repo_rules();
    for rule in &rules {
        let Some(fixture) = fixture_of(&rule.id) else {
            problems.push(format!("{}: no fixture", rule.id));
            continue;
        };
        let outcome = rt.block_on(fixture.run(rule)).expect("fixture runs");
        for p in outcome.problems {
            problems.push(format!("{}: {p}", rule.id));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The embedded pack is the repository's pack.
    let builtin = rules::builtin().expect("builtin");
    assert_eq!(builtin.len(), rules.len());
}

#[test]
fn cli_lists_checks_and_tests_rules_and_reports_bad_files_with_lines() {
    let dir = temp();
    let store = dir.path().join("s.duckdb");
    let out = nhiscope(&store, &["rules", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("NHI7-AWS-001"));
    let out = nhiscope(&store, &["rules", "check"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("0 with errors"), "{}", stdout(&out));
    let out = nhiscope(&store, &["rules", "test"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains(" 0 failed"), "{}", stdout(&out));

    // A user rule directory: `run(severity, sql, command)` writes rule ACME-1 and runs a
    // `rules` subcommand with `--rules`.
    let user = dir.path().join("my-rules");
    std::fs::create_dir_all(user.join("tests")).expect("mkdir");
    let run = |severity: &str, sql: &str, command: &str| {
        std::fs::write(
            user.join("ACME-1.toml"),
            format!("id = \"ACME-1\"\ntitle = \"t\"\nowasp = \"NHI7\"\nseverity = \"{severity}\"\nproviders = [\"aws\"]\nrationale = \"r\"\nremediation = \"x\"\nsql = \"\"\"\n{sql}\n\"\"\"\n"),
        )
        .expect("write rule");
        nhiscope(
            &store,
            &[
                "--rules",
                user.to_str().unwrap_or_default(),
                "rules",
                command,
            ],
        )
    };
    // A query naming a column that does not exist: the error names the file and the line.
    let out = run(
        "low",
        "SELECT provider, tenant, credential_id AS resource, no_such_column AS message\nFROM credentials",
        "check",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("ACME-1.toml:8"), "{text}");
    assert!(text.contains("no_such_column"), "{text}");
    // A bad severity fails the load, naming file and line.
    let out = run("urgent", "SELECT 1", "list");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ACME-1.toml:4"), "{}", stderr(&out));
    // A valid user rule loads beside the built-in pack.
    let out = run(
        "low",
        "SELECT provider, tenant, credential_id AS resource, 'x' AS message FROM credentials",
        "list",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ACME-1"), "{}", stdout(&out));
}

#[test]
fn params_are_overridden_from_the_config_and_checked() {
    let dir = temp();
    let store = dir.path().join("s.duckdb");
    let out = nhiscope(&store, &["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let key_age_findings = || -> usize {
        let out = nhiscope(
            &store,
            &["evaluate", "--as-of", &tomorrow, "--format", "json"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v.as_array()
            .map(|a| a.iter().filter(|f| f["rule_id"] == "NHI7-AWS-001").count())
            .unwrap_or(0)
    };
    assert!(key_age_findings() > 0);
    std::fs::write(
        dir.path().join("nhiscope.toml"),
        "version = 1\n[rules.params.\"NHI7-AWS-001\"]\nmax_key_age_days = 3650\n",
    )
    .expect("config");
    assert_eq!(key_age_findings(), 0, "no demo key is ten years old");
    std::fs::write(
        dir.path().join("nhiscope.toml"),
        "version = 1\n[rules.params.\"NHI7-AWS-001\"]\nmax_key_age = 30\n",
    )
    .expect("config");
    let out = nhiscope(&store, &["evaluate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown param `max_key_age`"),
        "{}",
        stderr(&out)
    );
    std::fs::write(
        dir.path().join("nhiscope.toml"),
        "version = 1\n[rules.params.\"NHI7-AWS-001\"]\nmax_key_age_days = \"ninety\"\n",
    )
    .expect("config");
    let out = nhiscope(&store, &["evaluate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("must be an integer"),
        "{}",
        stderr(&out)
    );
}
