//! The bundled demo estate: a realistic, deterministic, clearly labelled *demo* AWS account
//! ("Acme demo", account 999900001111, source `demo:aws:999900001111`) in two snapshots a week
//! apart, so that inventory, history, diff and as-of all have something to show. It lives in
//! the binary, never in scanner code, and is never mixed with real scans (own source).

use nhiscope_engine::model::*;
use nhiscope_engine::time::{Micros, DAY};
use nhiscope_scanners::aws::policy_doc;
use serde_json::{json, Value};

pub const ACCOUNT: &str = "999900001111";
pub const SOURCE: &str = "demo:aws:999900001111";
pub const COLLECTOR: &str = "demo_estate";

const APPS: &[&str] = &[
    "payments",
    "checkout",
    "ledger",
    "search",
    "catalog",
    "billing",
    "reporting",
    "identity",
    "notifications",
    "inventory",
    "shipping",
    "fraud",
    "ml-scoring",
    "etl",
    "warehouse",
    "analytics",
    "mobile-api",
    "partner-api",
    "webhooks",
    "audit",
];
const HUMANS: &[&str] = &[
    "alice.smith",
    "bob.jones",
    "carol.nguyen",
    "dan.ibrahim",
    "erin.kowalski",
    "farid.haddad",
    "grace.lee",
    "hector.alvarez",
    "ines.moreau",
    "jamal.wright",
];
const TEAMS: &[&str] = &[
    "team-payments",
    "team-platform",
    "team-data",
    "team-growth",
    "secops",
];

fn arn(kind: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:{kind}/{name}")
}

struct Gen {
    rng: fastrand::Rng,
    /// Anchor of every age (the second snapshot's time).
    now: Micros,
    /// Time of the snapshot being generated: nothing is used after it.
    at: Micros,
    rows: RowSet,
}

/// FNV-1a: stable ids and per-identity random streams, so removing one identity from the
/// second snapshot does not reshuffle the others.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl Gen {
    fn key_id(&self, user: &str, slot: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut h = stable_hash(&format!("{user}#{slot}"));
        let mut id = String::from("AKIADEMO");
        for _ in 0..12 {
            id.push(ALPHABET[(h % 32) as usize] as char);
            h /= 32;
        }
        id
    }

    fn reseed(&mut self, name: &str) {
        self.rng = fastrand::Rng::with_seed(stable_hash(name));
    }

    fn days_ago(&self, days: i64) -> Micros {
        self.now - days * DAY
    }

    fn policy(&mut self, id: &str, name: &str, kind: &str, doc: &Value, owner: Option<&str>) {
        self.rows.policies.push(PolicyRow {
            policy_id: id.into(),
            name: name.into(),
            kind: kind.into(),
            owner_id: owner.map(str::to_string),
            default_version: (kind != "inline").then(|| "v1".into()),
            attachment_count: None,
            document: Some(doc.to_string()),
            created_at: Some(self.days_ago(800)),
            updated_at: Some(self.days_ago(200)),
            description: None,
        });
    }

    fn grant(&mut self, identity: &str, policy: &str, relation: &str, via: &str, doc: &Value) {
        let g = policy_doc::grants(identity, policy, relation, via, Some(doc));
        self.rows.grants.extend(g);
    }

    fn owner_tag(&mut self, identity: &str, owner: &str) {
        self.rows.tags.push(TagRow {
            resource_id: identity.into(),
            key: "owner".into(),
            value: owner.into(),
        });
        self.rows.ownership.push(OwnershipRow {
            identity_id: identity.into(),
            owner: owner.into(),
            source: "tag:owner".into(),
            evidence: Some(format!("tag owner={owner}")),
        });
    }

    fn access_key(
        &mut self,
        user: &str,
        slot: &str,
        age_days: i64,
        used_days_ago: Option<i64>,
        active: bool,
    ) {
        let id = self.key_id(user, slot);
        let regions = ["us-east-1", "eu-west-1", "eu-central-1", "us-west-2"];
        let services = [
            "s3",
            "sts",
            "dynamodb",
            "sqs",
            "secretsmanager",
            "ecr",
            "cloudformation",
        ];
        let created = self.days_ago(age_days);
        let used = used_days_ago.map(|d| self.days_ago(d.min(age_days)).min(self.at));
        self.rows.credentials.push(CredentialRow {
            redacted_prefix: Some("AKIA".into()),
            credential_id: id,
            identity_id: Some(user.into()),
            kind: "access_key".into(),
            status: if active { "active" } else { "inactive" }.into(),
            created_at: Some(created),
            last_used_at: used,
            last_used_service: used.map(|_| services[self.rng.usize(..services.len())].into()),
            last_used_region: used.map(|_| regions[self.rng.usize(..regions.len())].into()),
            ..Default::default()
        });
    }
}

fn admin_doc() -> Value {
    json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})
}

/// The estate at time `at`, ages anchored at `now`; `later` = the second snapshot (a week of
/// changes applied).
pub fn estate(now: Micros, at: Micros, later: bool) -> RowSet {
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(42),
        now,
        at,
        rows: RowSet::default(),
    };

    // Managed policies.
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    let readonly = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let power = "arn:aws:iam::aws:policy/PowerUserAccess";
    let ci_policy = arn("policy", "ci-deploy");
    let secrets_policy = arn("policy", "secrets-reader");
    let ro_doc = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","ec2:Describe*","iam:Get*","iam:List*","logs:Get*"],"Resource":"*"}]});
    let power_doc = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"}]});
    let ci_doc = json!({"Version":"2012-10-17","Statement":[
        {"Sid":"Deploy","Effect":"Allow","Action":["cloudformation:*","s3:PutObject","s3:GetObject","ecr:*","lambda:UpdateFunctionCode"],"Resource":"*"},
        {"Sid":"PassDeployRoles","Effect":"Allow","Action":"iam:PassRole","Resource": if later { json!("arn:aws:iam::999900001111:role/deploy-*") } else { json!("*") }}]});
    let secrets_doc = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","kms:Decrypt"],"Resource":"*"}]});
    g.policy(
        admin,
        "AdministratorAccess",
        "aws_managed",
        &admin_doc(),
        None,
    );
    g.policy(readonly, "ReadOnlyAccess", "aws_managed", &ro_doc, None);
    g.policy(power, "PowerUserAccess", "aws_managed", &power_doc, None);
    g.policy(&ci_policy, "ci-deploy", "customer_managed", &ci_doc, None);
    g.policy(
        &secrets_policy,
        "secrets-reader",
        "customer_managed",
        &secrets_doc,
        None,
    );

    // Groups.
    let groups = [
        ("admins", admin, &admin_doc()),
        ("developers", power, &power_doc),
        ("ci-bots", ci_policy.as_str(), &ci_doc),
    ];
    for (name, policy, doc) in groups {
        let id = arn("group", name);
        g.rows.identities.push(IdentityRow {
            identity_id: id.clone(),
            name: name.into(),
            kind: "group".into(),
            path: Some("/".into()),
            created_at: Some(g.days_ago(1200)),
            ..Default::default()
        });
        g.grant(&id, policy, "attached", &id, doc);
    }

    // Root user with a (bad) access key.
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    g.rows.identities.push(IdentityRow {
        identity_id: root.clone(),
        name: "root".into(),
        kind: "root".into(),
        created_at: Some(g.days_ago(2400)),
        ..Default::default()
    });
    g.rows.credentials.push(CredentialRow {
        credential_id: format!("{root}/access_key_1"),
        identity_id: Some(root),
        kind: "access_key".into(),
        status: "active".into(),
        created_at: Some(g.days_ago(1900)),
        last_used_at: Some(g.days_ago(400)),
        redacted_prefix: Some("AKIA".into()),
        ..Default::default()
    });

    // Machine users: CI, services, integrations.
    for (i, app) in APPS.iter().enumerate() {
        if later && i == 3 {
            continue; // svc-search was deleted during the week
        }
        for prefix in ["svc", "ci-deploy"] {
            let name = format!("{prefix}-{app}");
            let id = arn("user", &format!("machines/{name}"));
            g.reseed(&name);
            g.rows.identities.push(IdentityRow {
                identity_id: id.clone(),
                name: name.clone(),
                kind: "user".into(),
                unique_id: Some(format!("AIDADEMO{:012}", i * 31 + prefix.len())),
                path: Some("/machines/".into()),
                created_at: Some(g.days_ago(300 + (i as i64) * 40)),
                ..Default::default()
            });
            if i % 3 != 0 {
                g.owner_tag(&id, TEAMS[i % TEAMS.len()]);
            }
            let age = 20 + g.rng.i64(0..900);
            let used = match g.rng.u8(0..10) {
                0 | 1 => None,
                2 => Some(200),
                _ => Some(g.rng.i64(0..30)),
            };
            if later && i == 5 && prefix == "svc" {
                g.access_key(&id, "rotated", 2, Some(1), true); // rotated this week
            } else {
                g.access_key(&id, "1", age, used, true);
            }
            if i % 4 == 0 {
                let second_age = g.rng.i64(0..age.max(1));
                let used = Some(g.rng.i64(0..10));
                g.access_key(&id, "2", second_age, used, i % 8 != 0);
            }
            if prefix == "ci-deploy" {
                g.rows.memberships.push(MembershipRow {
                    member_id: id.clone(),
                    group_id: arn("group", "ci-bots"),
                    relation: "group".into(),
                });
                g.grant(
                    &id,
                    &ci_policy,
                    "attached",
                    &arn("group", "ci-bots"),
                    &ci_doc,
                );
            } else if i % 5 == 0 {
                g.grant(&id, admin, "attached", &id, &admin_doc());
            } else {
                g.grant(&id, &secrets_policy, "attached", &id, &secrets_doc);
            }
        }
    }
    // A legacy integration user with console access and keys.
    let legacy = arn("user", "jenkins-legacy");
    g.rows.identities.push(IdentityRow {
        identity_id: legacy.clone(),
        name: "jenkins-legacy".into(),
        kind: "user".into(),
        path: Some("/".into()),
        created_at: Some(g.days_ago(1500)),
        ..Default::default()
    });
    g.access_key(&legacy, "1", 1400, Some(3), true);
    g.rows.credentials.push(CredentialRow {
        credential_id: format!("{legacy}/password"),
        identity_id: Some(legacy.clone()),
        kind: "password".into(),
        status: "active".into(),
        created_at: Some(g.days_ago(1400)),
        last_used_at: Some(g.days_ago(12).min(at)),
        ..Default::default()
    });
    g.grant(&legacy, admin, "attached", &legacy, &admin_doc());

    // Humans.
    for (i, name) in HUMANS.iter().enumerate() {
        let id = arn("user", name);
        g.rows.identities.push(IdentityRow {
            identity_id: id.clone(),
            name: name.to_string(),
            kind: "user".into(),
            path: Some("/".into()),
            created_at: Some(g.days_ago(100 + i as i64 * 90)),
            ..Default::default()
        });
        g.rows.credentials.push(CredentialRow {
            credential_id: format!("{id}/password"),
            identity_id: Some(id.clone()),
            kind: "password".into(),
            status: "active".into(),
            created_at: Some(g.days_ago(60)),
            last_used_at: Some(g.days_ago(i as i64).min(at)),
            attributes: Some(json!({"mfa_active": i % 4 != 0}).to_string()),
            ..Default::default()
        });
        if i % 4 != 0 {
            g.rows.credentials.push(CredentialRow {
                credential_id: format!("arn:aws:iam::{ACCOUNT}:mfa/{name}"),
                identity_id: Some(id.clone()),
                kind: "mfa_device".into(),
                status: "active".into(),
                created_at: Some(g.days_ago(60)),
                description: Some("virtual".into()),
                ..Default::default()
            });
        }
        if i % 3 == 0 {
            g.access_key(&id, "1", 400, Some(90), true);
        }
        let group = if i < 2 { "admins" } else { "developers" };
        g.rows.memberships.push(MembershipRow {
            member_id: id.clone(),
            group_id: arn("group", group),
            relation: "group".into(),
        });
        let (p, d) = if i < 2 {
            (admin, admin_doc())
        } else {
            (power, power_doc.clone())
        };
        g.grant(&id, p, "attached", &arn("group", group), &d);
    }

    // Roles.
    let oidc = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com");
    g.rows.federation_providers.push(FederationProviderRow {
        federation_id: oidc.clone(),
        kind: "oidc".into(),
        url: Some("https://token.actions.githubusercontent.com".into()),
        audiences: vec!["sts.amazonaws.com".into()],
        thumbprints: vec!["6938fd4d98bab03faadb97b34396831e3780aea1".into()],
        created_at: Some(g.days_ago(700)),
        valid_until: None,
    });
    g.rows.federation_providers.push(FederationProviderRow {
        federation_id: arn("saml-provider", "okta"),
        kind: "saml".into(),
        url: None,
        audiences: vec![],
        thumbprints: vec![],
        created_at: Some(g.days_ago(900)),
        valid_until: Some(now + 200 * DAY),
    });
    let role = |g: &mut Gen,
                name: &str,
                trust: Value,
                policy: (&str, &Value),
                last_used: Option<i64>,
                owner: Option<&str>,
                path: &str| {
        let id = format!("arn:aws:iam::{ACCOUNT}:role{path}{name}");
        g.rows.identities.push(IdentityRow {
            identity_id: id.clone(),
            name: name.into(),
            kind: "role".into(),
            path: Some(path.into()),
            created_at: Some(g.days_ago(150 + name.len() as i64 * 20)),
            last_used_at: last_used.map(|d| g.days_ago(d).min(g.at)),
            last_used_region: last_used.map(|_| "eu-west-1".into()),
            max_session_seconds: Some(if name.contains("break-glass") {
                43_200
            } else {
                3_600
            }),
            service_linked: path.starts_with("/aws-service-role/"),
            ..Default::default()
        });
        g.rows.trusts.extend(policy_doc::trusts(&id, &trust));
        g.grant(&id, policy.0, "attached", &id, policy.1);
        if let Some(o) = owner {
            g.owner_tag(&id, o);
        }
    };
    for (i, app) in APPS.iter().enumerate() {
        let sub = if i == 2 {
            json!({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}})
        } else if i == 7 {
            json!({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}})
        } else {
            json!({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": format!("repo:acme/{app}:ref:refs/heads/main")}})
        };
        let trust = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated": oidc},"Action":"sts:AssumeRoleWithWebIdentity","Condition": sub}]});
        role(
            &mut g,
            &format!("deploy-{app}"),
            trust,
            (ci_policy.as_str(), &ci_doc),
            Some(i as i64 * 7 % 60),
            Some(TEAMS[i % TEAMS.len()]),
            "/",
        );
        let lambda = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]});
        role(
            &mut g,
            &format!("{app}-lambda-exec"),
            lambda,
            (secrets_policy.as_str(), &secrets_doc),
            if i % 4 == 0 { None } else { Some(1) },
            None,
            "/service/",
        );
    }
    let audit = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]});
    role(
        &mut g,
        "org-audit",
        audit,
        (readonly, &ro_doc),
        Some(2),
        Some("secops"),
        "/",
    );
    let vendor = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::464622532012:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"acme-7f3a"}}}]});
    role(
        &mut g,
        "datadog-integration",
        vendor,
        (readonly, &ro_doc),
        Some(0),
        Some("team-platform"),
        "/",
    );
    let glass = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]});
    role(
        &mut g,
        "break-glass-admin",
        glass,
        (admin, &admin_doc()),
        None,
        None,
        "/",
    );
    let slr = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"support.amazonaws.com"},"Action":"sts:AssumeRole"}]});
    role(
        &mut g,
        "AWSServiceRoleForSupport",
        slr,
        (readonly, &ro_doc),
        None,
        None,
        "/aws-service-role/support.amazonaws.com/",
    );
    if later {
        let ecs = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]});
        role(
            &mut g,
            "ledger-ecs-task",
            ecs,
            (secrets_policy.as_str(), &secrets_doc),
            Some(0),
            Some("team-payments"),
            "/service/",
        );
    }

    // An account-level server certificate close to expiry.
    g.rows.credentials.push(CredentialRow {
        credential_id: format!("arn:aws:iam::{ACCOUNT}:server-certificate/legacy-elb"),
        kind: "server_certificate".into(),
        status: "active".into(),
        created_at: Some(g.days_ago(700)),
        expires_at: Some(now + 12 * DAY),
        description: Some("legacy-elb".into()),
        ..Default::default()
    });
    g.rows
}
