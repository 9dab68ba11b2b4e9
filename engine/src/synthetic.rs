//! A synthetic AWS estate written straight into the store with DuckDB's own generators, for
//! benchmarks at scales no test fixture reaches (a million identities, ten million grants).
//! Shapes follow real estates: 60% users / 40% roles, keys of every age, a few thousand
//! shared managed policies plus inline ones, trust policies of every kind, owner tags on most.

use duckdb::params;

use crate::store::{CollectorRecord, CollectorStatus, Result, Store};
use crate::time::{Micros, DAY};

/// What was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticCounts {
    pub scan_id: i64,
    pub identities: i64,
    pub credentials: i64,
    pub grants: i64,
    pub trusts: i64,
}

/// Statement templates: (actions, not_actions, resources), picked by weight below.
const STATEMENTS: &str = "[
    {'a': ['s3:GetObject', 's3:ListBucket'], 'n': [], 'r': ['arn:aws:s3:::data-*']},
    {'a': ['ec2:Describe*'], 'n': [], 'r': ['*']},
    {'a': ['logs:CreateLogStream', 'logs:PutLogEvents'], 'n': [], 'r': ['*']},
    {'a': ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'], 'n': [], 'r': ['arn:aws:dynamodb:*:*:table/app-*']},
    {'a': ['sqs:SendMessage', 'sqs:ReceiveMessage'], 'n': [], 'r': ['*']},
    {'a': ['secretsmanager:GetSecretValue', 'kms:Decrypt'], 'n': [], 'r': ['*']},
    {'a': ['iam:PassRole'], 'n': [], 'r': ['*']},
    {'a': ['ec2:RunInstances', 'ec2:CreateTags'], 'n': [], 'r': ['*']},
    {'a': ['lambda:CreateFunction', 'lambda:InvokeFunction'], 'n': [], 'r': ['*']},
    {'a': ['sts:AssumeRole'], 'n': [], 'r': ['*']},
    {'a': ['kms:*'], 'n': [], 'r': ['*']},
    {'a': ['*'], 'n': [], 'r': ['*']},
    {'a': [], 'n': ['iam:*', 'organizations:*'], 'r': ['*']}
]";

impl Store {
    /// Writes one complete synthetic scan of account `100000000001` at `now`: `identities`
    /// identities, about `credentials` credentials and `grants` grant statements.
    pub fn generate_synthetic(
        &mut self,
        identities: i64,
        credentials: i64,
        grants: i64,
        now: Micros,
    ) -> Result<SyntheticCounts> {
        let tenant = "100000000001";
        let scan_id = self.begin_scan("synthetic:100000000001", "aws", tenant, now)?;
        let tx = self.conn.transaction()?;
        // Identities: i % 5 < 3 users, else roles. Ages up to 4 years; 70% used recently.
        tx.execute(
            "INSERT INTO identities
             SELECT $1, 'synthetic', 'aws', $2,
                    CASE WHEN i % 5 < 3 THEN 'arn:aws:iam::' || $2 || ':user/svc-' || i
                         ELSE 'arn:aws:iam::' || $2 || ':role/app-' || i END,
                    CASE WHEN i % 5 < 3 THEN 'svc-' || i ELSE 'app-' || i END,
                    CASE WHEN i % 5 < 3 THEN 'user' ELSE 'role' END,
                    CASE WHEN i % 5 < 3 THEN 'AIDA' ELSE 'AROA' END || upper(substr(md5(i::VARCHAR), 1, 17)),
                    '/', NULL,
                    make_timestamp($3 - ((hash(i) % 1460)::BIGINT + 1) * $4),
                    NULL,
                    CASE WHEN (hash(i * 7) % 10)::BIGINT < 7 THEN make_timestamp($3 - ((hash(i * 3) % 200)::BIGINT) * $4) END,
                    CASE WHEN (hash(i * 7) % 10)::BIGINT < 7 THEN 'us-east-1' END, NULL,
                    CASE WHEN i % 5 >= 3 THEN [3600, 3600, 7200, 43200][(hash(i) % 4)::BIGINT + 1] END,
                    false, NULL, NULL
             FROM range($5) t(i)",
            params![scan_id, tenant, now, DAY, identities],
        )?;
        // Credentials: access keys (1-3 per user, about a fifth inactive) and console passwords.
        let users = identities * 3 / 5;
        let per_user = (credentials as f64 / users.max(1) as f64).max(1.0);
        tx.execute(
            "INSERT INTO credentials
             SELECT $1, 'synthetic', 'aws', $2,
                    CASE WHEN k = 0 AND (hash(u) % 10)::BIGINT = 0 THEN 'arn:aws:iam::' || $2 || ':user/svc-' || u || '/password'
                         ELSE 'AKIA' || upper(substr(md5((u * 4 + k)::VARCHAR), 1, 16)) END,
                    'arn:aws:iam::' || $2 || ':user/svc-' || u,
                    CASE WHEN k = 0 AND (hash(u) % 10)::BIGINT = 0 THEN 'password' ELSE 'access_key' END,
                    CASE WHEN (hash(u * 13 + k) % 5)::BIGINT = 0 THEN 'inactive' ELSE 'active' END,
                    make_timestamp($3 - ((hash(u * 11 + k) % 1000)::BIGINT + 1) * $4), NULL,
                    CASE WHEN (hash(u * 17 + k) % 10)::BIGINT < 6 THEN make_timestamp($3 - ((hash(u + k) % 120)::BIGINT) * $4) END,
                    NULL, NULL, NULL, 'AKIA', NULL, NULL
             FROM (SELECT i * 5 + (i % 3) AS u FROM range($5) t(i)) users,
                  range(CAST(ceil(2 * $6) AS BIGINT)) ks(k)
             WHERE (u % 5) < 3 AND k < 1 + (hash(u) % CAST(greatest(round(2 * $6 - 1), 1) AS BIGINT))::BIGINT",
            params![scan_id, tenant, now, DAY, users, per_user],
        )?;
        // Grants: about grants/identities attachments per identity of 3,000 shared one-statement
        // managed policies (statement template by weight, fixed per policy), so the same
        // statements recur as in life.
        let per_identity = (grants as f64 / identities.max(1) as f64).max(1.0);
        tx.execute(
            &format!(
                "INSERT INTO grants
                 WITH tpl AS (SELECT {STATEMENTS} AS s),
                 picks AS (
                    SELECT i, g, (hash(i * 31 + g) % 3000)::BIGINT AS policy,
                           CASE WHEN (hash(i * 31 + g) % 3000)::BIGINT < 2700 THEN 1 + (hash(i * 31 + g) % 6)::BIGINT
                                WHEN (hash(i * 31 + g) % 3000)::BIGINT < 2950 THEN 7 + (hash(i * 31 + g) % 4)::BIGINT
                                WHEN (hash(i * 31 + g) % 3000)::BIGINT < 2990 THEN 11
                                WHEN (hash(i * 31 + g) % 3000)::BIGINT < 2995 THEN 13
                                ELSE 12 END AS t
                    FROM range($3) a(i), range(CAST(round($4) AS BIGINT)) b(g))
                 SELECT $1, 'synthetic', 'aws', $2,
                        CASE WHEN i % 5 < 3 THEN 'arn:aws:iam::' || $2 || ':user/svc-' || i
                             ELSE 'arn:aws:iam::' || $2 || ':role/app-' || i END,
                        'arn:aws:iam::' || $2 || ':policy/p-' || policy,
                        'attached',
                        CASE WHEN i % 5 < 3 AND g % 2 = 0 THEN 'arn:aws:iam::' || $2 || ':group/g-' || (policy % 50)
                             WHEN i % 5 < 3 THEN 'arn:aws:iam::' || $2 || ':user/svc-' || i
                             ELSE 'arn:aws:iam::' || $2 || ':role/app-' || i END,
                        0, NULL, 'Allow', tpl.s[t].a, tpl.s[t].n, tpl.s[t].r, [], NULL
                 FROM picks, tpl"
            ),
            params![scan_id, tenant, identities, per_identity],
        )?;
        // Trusts: one per role; services, same account, GitHub OIDC (some without sub), vendors.
        tx.execute(
            "INSERT INTO trusts
             SELECT $1, 'synthetic', 'aws', $2, 'arn:aws:iam::' || $2 || ':role/app-' || i, 0, NULL, 'Allow',
                    CASE k WHEN 0 THEN 'Service' WHEN 1 THEN 'AWS' WHEN 2 THEN 'Federated' ELSE 'AWS' END,
                    CASE k WHEN 0 THEN 'lambda.amazonaws.com' WHEN 1 THEN 'arn:aws:iam::' || $2 || ':root'
                           WHEN 2 THEN 'arn:aws:iam::' || $2 || ':oidc-provider/token.actions.githubusercontent.com'
                           ELSE 'arn:aws:iam::210987654321:root' END,
                    ['sts:AssumeRole'],
                    CASE WHEN k = 2 AND i % 7 <> 0 THEN ['StringEquals:token.actions.githubusercontent.com:sub'] ELSE [] END,
                    CASE WHEN k = 2 AND i % 7 <> 0
                         THEN '{\"StringEquals\":{\"token.actions.githubusercontent.com:sub\":\"repo:acme/app:ref:refs/heads/main\"}}' END
             FROM (SELECT i, (hash(i) % 4)::BIGINT AS k FROM range($3) t(i) WHERE i % 5 >= 3)",
            params![scan_id, tenant, identities],
        )?;
        // Owner tags on 60% of identities.
        tx.execute(
            "INSERT INTO ownership
             SELECT $1, 'synthetic', 'aws', $2,
                    CASE WHEN i % 5 < 3 THEN 'arn:aws:iam::' || $2 || ':user/svc-' || i
                         ELSE 'arn:aws:iam::' || $2 || ':role/app-' || i END,
                    'team-' || ((hash(i) % 40)::BIGINT), 'tag:owner', NULL
             FROM range($3) t(i) WHERE (hash(i * 5) % 10)::BIGINT < 6",
            params![scan_id, tenant, identities],
        )?;
        tx.commit()?;
        let count = |table: &str| -> Result<i64> {
            Ok(self.conn().query_row(
                &format!("SELECT count(*) FROM {table} WHERE scan_id = ?"),
                params![scan_id],
                |r| r.get(0),
            )?)
        };
        let counts = SyntheticCounts {
            scan_id,
            identities: count("identities")?,
            credentials: count("credentials")?,
            grants: count("grants")?,
            trusts: count("trusts")?,
        };
        self.record_collector(
            scan_id,
            &CollectorRecord {
                collector: "synthetic".into(),
                status: CollectorStatus::Ok,
                items: counts.identities + counts.credentials + counts.grants + counts.trusts,
                api_calls: 0,
                duration_ms: 0,
                error: None,
                tables: ["identities", "credentials", "grants", "trusts", "ownership"]
                    .map(String::from)
                    .to_vec(),
            },
        )?;
        self.finish_scan(scan_id, now, Some(0), Some("{\"synthetic\":true}"))?;
        Ok(counts)
    }
}
