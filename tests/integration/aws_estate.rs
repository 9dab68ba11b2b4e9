//! A realistic estate seeded into moto (hundreds of users and roles, keys of all ages, console
//! users, MFA, SSH keys, signing certificates, groups, inline/managed policies, trust to
//! services, other accounts and GitHub OIDC) must arrive in the store, object by object and
//! field by field, through the real `nhiscope scan aws`.

use std::collections::{HashMap, HashSet};

use nhiscope_engine::store::{ScanStatus, Snapshot};
use nhiscope_engine::time::{self, DAY};
use nhiscope_engine::Table;
use serde_json::Value;

use crate::harness::{self, Moto};

fn ts(v: &Value) -> Option<i64> {
    v.as_str().and_then(time::parse)
}

fn by<'a>(rows: &'a [Value], key: &str) -> HashMap<String, &'a Value> {
    rows.iter()
        .map(|r| (r[key].as_str().unwrap_or_default().to_string(), r))
        .collect()
}

fn close_to(actual: Option<i64>, days_ago: i64, now: i64, what: &str) {
    let want = now - days_ago * DAY;
    let got = actual.unwrap_or_else(|| panic!("{what}: no timestamp"));
    assert!(
        (got - want).abs() < DAY,
        "{what}: {} is not {} days ago",
        time::format(got),
        days_ago
    );
}

#[test]
fn every_seeded_object_and_field_arrives() {
    let dir = harness::temp();
    let moto = Moto::start();
    let m = moto.seed(dir.path(), &["--users", "200", "--roles", "120"]);
    let store_path = dir.path().join("store.duckdb");
    moto.reset_calls();
    let now = time::from_datetime(chrono::Utc::now());
    let out = harness::scan(&moto, &store_path, &[]);
    let text = harness::stdout(&out);
    // moto does not implement service-specific credentials: that collector fails, the scan is
    // partial, the CLI says so and exits 2 — and everything else is stored.
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {text}\nstderr: {}",
        harness::stderr(&out)
    );
    assert!(text.contains("partial"), "{text}");
    assert!(
        text.contains(
            "collector service_specific_credentials failed: ListServiceSpecificCredentials"
        ),
        "{text}"
    );

    let store = harness::open(&store_path);
    let scans = store.scans(None, 10).expect("scans");
    assert_eq!(scans.len(), 1);
    assert_eq!(scans[0].status, ScanStatus::Partial);
    assert_eq!(
        scans[0].source,
        format!("aws:{}", m["account"].as_str().expect("account"))
    );
    let failed: Vec<&str> = scans[0]
        .collectors
        .iter()
        .filter(|c| c.status != nhiscope_engine::store::CollectorStatus::Ok)
        .map(|c| c.collector.as_str())
        .collect();
    assert_eq!(failed, vec!["service_specific_credentials"]);

    let cur = Snapshot::Current;
    let identities = harness::rows(&store, Table::Identities, cur);
    let credentials = harness::rows(&store, Table::Credentials, cur);
    let grants = harness::rows(&store, Table::Grants, cur);
    let trusts = harness::rows(&store, Table::Trusts, cur);
    let tags = harness::rows(&store, Table::Tags, cur);
    let owners = harness::rows(&store, Table::Ownership, cur);
    let members = harness::rows(&store, Table::Memberships, cur);
    let policies = harness::rows(&store, Table::Policies, cur);
    let feds = harness::rows(&store, Table::FederationProviders, cur);
    let ids = by(&identities, "identity_id");
    let creds = by(&credentials, "credential_id");
    let has_grant = |identity: &str, policy: &str, relation: &str, via: &str| {
        grants.iter().any(|g| {
            g["identity_id"] == identity
                && g["policy_id"] == policy
                && g["relation"] == relation
                && g["via"] == via
        })
    };
    let tag_of = |resource: &str, key: &str| -> Option<String> {
        tags.iter()
            .find(|t| t["resource_id"] == resource && t["key"] == key)
            .and_then(|t| t["value"].as_str().map(str::to_string))
    };

    let users = m["users"].as_array().expect("users");
    let roles = m["roles"].as_array().expect("roles");
    let groups = m["groups"].as_array().expect("groups");
    assert_eq!(users.len(), 200);
    assert_eq!(
        identities.len(),
        users.len() + roles.len() + groups.len(),
        "no identity missing or invented"
    );

    let mut keys_seen = 0;
    for u in users {
        let arn = u["arn"].as_str().expect("arn");
        let row = ids.get(arn).unwrap_or_else(|| panic!("user {arn} missing"));
        assert_eq!(row["kind"], "user");
        assert_eq!(row["name"], u["name"]);
        assert_eq!(row["path"], u["path"]);
        assert!(row["unique_id"].is_string(), "{arn}: unique id");
        close_to(
            ts(&row["created_at"]),
            u["age_days"].as_i64().expect("age"),
            now,
            arn,
        );
        for (k, v) in u["tags"].as_object().expect("tags") {
            assert_eq!(tag_of(arn, k).as_deref(), v.as_str(), "{arn} tag {k}");
            if k == "owner" {
                assert!(
                    owners.iter().any(|o| o["identity_id"] == arn
                        && o["owner"] == *v
                        && o["source"] == "tag:owner"),
                    "{arn} owner"
                );
            }
        }
        for k in u["keys"].as_array().expect("keys") {
            keys_seen += 1;
            let id = k["id"].as_str().expect("key id");
            let c = creds
                .get(id)
                .unwrap_or_else(|| panic!("key {id} of {arn} missing"));
            assert_eq!(c["identity_id"], arn);
            assert_eq!(c["kind"], "access_key");
            assert_eq!(c["status"], k["status"], "{id} status");
            assert_eq!(c["redacted_prefix"], &id[..4]);
            close_to(
                ts(&c["created_at"]),
                k["age_days"].as_i64().expect("age"),
                now,
                id,
            );
            assert_eq!(
                c["last_used_at"].is_string(),
                k["used"].as_bool().expect("used"),
                "{id} last used"
            );
        }
        let password = format!("{arn}/password");
        assert_eq!(
            creds.contains_key(password.as_str()),
            u["console"].as_bool().expect("console"),
            "{arn} console"
        );
        for serial in u["mfa"].as_array().expect("mfa") {
            let c = creds
                .get(serial.as_str().expect("serial"))
                .unwrap_or_else(|| panic!("mfa {serial}"));
            assert_eq!(c["identity_id"], arn);
            assert_eq!(c["kind"], "mfa_device");
        }
        for id in u["ssh_keys"].as_array().expect("ssh") {
            let c = creds
                .get(id.as_str().expect("id"))
                .unwrap_or_else(|| panic!("ssh key {id}"));
            assert_eq!(c["kind"], "ssh_key");
            assert_eq!(c["identity_id"], arn);
            assert!(c["fingerprint"].is_string(), "ssh fingerprint");
        }
        // SSH keys of users who cannot reach CodeCommit are not listed (see ssh_public_keys.rs).
        for id in u["ssh_keys_unusable"].as_array().into_iter().flatten() {
            assert!(
                !creds.contains_key(id.as_str().expect("id")),
                "unusable SSH key {id} listed"
            );
        }
        for id in u["signing_certs"].as_array().expect("certs") {
            let c = creds
                .get(id.as_str().expect("id"))
                .unwrap_or_else(|| panic!("signing cert {id}"));
            assert_eq!(c["kind"], "signing_certificate");
            assert_eq!(c["identity_id"], arn);
        }
        for name in u["inline"].as_array().expect("inline") {
            let pid = format!("{arn}#inline/{}", name.as_str().expect("name"));
            assert!(
                policies
                    .iter()
                    .any(|p| p["policy_id"] == pid.as_str() && p["kind"] == "inline"),
                "{pid}"
            );
            assert!(has_grant(arn, &pid, "inline", arn), "grant {pid}");
        }
        for p in u["attached"].as_array().expect("attached") {
            assert!(
                has_grant(arn, p.as_str().expect("arn"), "attached", arn),
                "{arn} attached {p}"
            );
        }
        for g in u["groups"].as_array().expect("groups") {
            let garn = format!(
                "arn:aws:iam::{}:group/{}",
                m["account"].as_str().expect("acct"),
                g.as_str().expect("g")
            );
            assert!(
                members
                    .iter()
                    .any(|r| r["member_id"] == arn && r["group_id"] == garn.as_str()),
                "{arn} in {garn}"
            );
            let team_owner = owners.iter().any(|o| {
                o["identity_id"] == arn
                    && o["source"] == format!("group:{}", g.as_str().expect("g")).as_str()
            });
            assert_eq!(
                team_owner,
                g == "team-payments",
                "{arn}: team groups (only) name owners"
            );
            let gm = groups
                .iter()
                .find(|x| x["arn"] == garn.as_str())
                .expect("group in manifest");
            for p in gm["attached"].as_array().expect("attached") {
                assert!(
                    has_grant(arn, p.as_str().expect("p"), "attached", &garn),
                    "{arn} via {garn}: {p}"
                );
            }
            for name in gm["inline"].as_array().expect("inline") {
                let pid = format!("{garn}#inline/{}", name.as_str().expect("n"));
                assert!(
                    has_grant(arn, &pid, "inline", &garn),
                    "{arn} via {garn}: {pid}"
                );
            }
        }
    }
    assert!(keys_seen > 150, "the estate has keys ({keys_seen})");

    for r in roles {
        let arn = r["arn"].as_str().expect("arn");
        let row = ids.get(arn).unwrap_or_else(|| panic!("role {arn} missing"));
        assert_eq!(row["kind"], "role");
        assert_eq!(row["path"], r["path"]);
        assert_eq!(
            row["max_session_seconds"], r["max_session"],
            "{arn} max session"
        );
        assert!(
            row["description"]
                .as_str()
                .is_some_and(|d| d.contains("role for")),
            "{arn} description"
        );
        assert_eq!(row["service_linked"], false);
        for p in r["trust"].as_array().expect("trust") {
            let (kind, principal) = (&p[0], &p[1]);
            assert!(
                trusts.iter().any(|t| t["identity_id"] == arn
                    && t["principal_type"] == *kind
                    && t["principal"] == *principal),
                "{arn} trusts {kind}:{principal}"
            );
        }
        if r["kind"] == "github" || r["kind"] == "github-wildcard" {
            assert!(
                trusts.iter().any(|t| t["identity_id"] == arn
                    && t["condition_keys"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k
                            .as_str()
                            .is_some_and(|k| k.ends_with("githubusercontent.com:sub"))))),
                "{arn} sub condition"
            );
        }
        if r["kind"] == "github-nosub" {
            assert!(
                !trusts.iter().any(|t| t["identity_id"] == arn
                    && t["condition_keys"].as_array().is_some_and(|k| k
                        .iter()
                        .any(|k| k.as_str().is_some_and(|k| k.ends_with(":sub"))))),
                "{arn} has no sub condition"
            );
        }
        for ip in r["instance_profiles"].as_array().expect("ips") {
            assert!(
                members.iter().any(|x| x["member_id"] == arn
                    && x["group_id"] == *ip
                    && x["relation"] == "instance_profile"),
                "{arn} profile"
            );
        }
        for (k, v) in r["tags"].as_object().expect("tags") {
            assert_eq!(tag_of(arn, k).as_deref(), v.as_str(), "{arn} tag {k}");
        }
        for p in r["attached"].as_array().expect("attached") {
            assert!(
                has_grant(arn, p.as_str().expect("p"), "attached", arn),
                "{arn} attached {p}"
            );
        }
        for name in r["inline"].as_array().expect("inline") {
            let pid = format!("{arn}#inline/{}", name.as_str().expect("n"));
            assert!(has_grant(arn, &pid, "inline", arn), "{arn} inline {pid}");
        }
        if r["used"].as_bool().expect("used") {
            assert!(row["last_used_at"].is_string(), "{arn} last used");
        }
    }

    for p in m["policies"].as_array().expect("policies") {
        let row = policies
            .iter()
            .find(|x| x["policy_id"] == p["arn"])
            .unwrap_or_else(|| panic!("policy {p}"));
        assert_eq!(row["kind"], "customer_managed");
        assert_eq!(row["name"], p["name"]);
        if p["name"] == "ci-deploy" {
            assert_eq!(row["default_version"], "v2");
            assert!(
                row["document"]
                    .as_str()
                    .is_some_and(|d| d.contains("DeployV2")),
                "default version document"
            );
        }
    }
    for aws in [
        "AdministratorAccess",
        "PowerUserAccess",
        "SecurityAudit",
        "ReadOnlyAccess",
    ] {
        let arn = format!("arn:aws:iam::aws:policy/{aws}");
        let row = policies
            .iter()
            .find(|x| x["policy_id"] == arn.as_str())
            .unwrap_or_else(|| panic!("{arn}"));
        assert_eq!(row["kind"], "aws_managed");
        assert!(row["document"].is_string());
    }
    let unreferenced = policies
        .iter()
        .filter(|p| p["kind"] == "aws_managed")
        .count();
    assert!(
        unreferenced < 10,
        "only referenced AWS-managed policies are stored ({unreferenced})"
    );
    let statements_with_actions = grants
        .iter()
        .filter(|g| g["actions"].as_array().is_some_and(|a| !a.is_empty()))
        .count();
    assert!(statements_with_actions > 100);

    let oidc = &m["oidc"][0];
    let f = feds
        .iter()
        .find(|f| f["federation_id"] == oidc["arn"])
        .expect("oidc provider");
    assert_eq!(f["kind"], "oidc");
    assert!(f["url"]
        .as_str()
        .is_some_and(|u| u.contains("token.actions.githubusercontent.com")));
    assert_eq!(f["audiences"], oidc["audiences"]);
    assert_eq!(f["thumbprints"], oidc["thumbprints"]);
    assert!(feds
        .iter()
        .any(|f| f["federation_id"] == m["saml"][0] && f["kind"] == "saml"));
    assert!(credentials.iter().any(|c| c["kind"] == "server_certificate"
        && c["description"] == "legacy-elb"
        && c["expires_at"].is_string()));

    // Bulk calls: per-identity calls stay near two per user (access keys, SSH keys).
    let calls = moto.calls();
    let total = calls["total"].as_i64().expect("total");
    // moto fakes the report's generation time, so every user's keys are listed there; SSH
    // keys are listed for the users whose policies reach CodeCommit (a third of this estate).
    let per_user_budget = users.len() as i64 * 17 / 10 + 40;
    assert!(
        total <= per_user_budget,
        "{total} calls for {} users: {calls}",
        users.len()
    );
    assert_eq!(
        calls["calls"]["GetAccountAuthorizationDetails"], 1,
        "{calls}"
    );
    // No secret value (access key secrets, the console password, the certificate's private key)
    // is anywhere in the store: not in any column of any table, not in the file's bytes.
    let secrets: Vec<&str> = m["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(secrets.len() > 150, "{}", secrets.len());
    let mut tokens: HashSet<String> = HashSet::new();
    for table in Table::ALL {
        for row in harness::rows(&store, table, Snapshot::Scan(scans[0].scan_id)) {
            let text = row.to_string();
            tokens.extend(
                text.split(|c: char| !(c.is_ascii_alphanumeric() || "/+!-".contains(c)))
                    .map(str::to_string),
            );
            for s in secrets.iter().filter(|s| s.len() < 20) {
                assert!(
                    !text.contains(*s),
                    "secret value in {}: {row}",
                    table.name()
                );
            }
        }
    }
    drop(store);
    let mut bytes = std::fs::read(&store_path).expect("store file");
    bytes.extend(std::fs::read(store_path.with_extension("duckdb.wal")).unwrap_or_default());
    // The check sees identifiers of the same shape (so it would see a secret).
    let some_key = users
        .iter()
        .flat_map(|u| u["keys"].as_array().into_iter().flatten())
        .next()
        .expect("a key");
    assert!(tokens.contains(some_key["id"].as_str().expect("id")));
    for s in &secrets {
        assert!(!tokens.contains(*s), "a secret value is stored");
    }
    // Raw bytes: the password, the private key line and a sample of key secrets.
    for s in secrets.iter().take(3).chain(secrets.iter().rev().take(10)) {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
            "a secret value is in the store file"
        );
    }
    let store = harness::open(&store_path);
    let credentials = harness::rows(&store, Table::Credentials, Snapshot::Current);
    let no_dupes: HashSet<&str> = credentials
        .iter()
        .filter_map(|c| c["credential_id"].as_str())
        .collect();
    assert_eq!(
        no_dupes.len(),
        credentials.len(),
        "credential ids are unique"
    );
}
