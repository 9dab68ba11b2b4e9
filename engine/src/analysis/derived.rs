//! Derived tables every rule can read besides the model tables:
//!
//! - `permissions`: one row per identity, sensitive catalogue entry and granting statement,
//!   after IAM evaluation logic: an explicit unconditional `Deny` on all resources wins, a
//!   permissions boundary must also allow the action, conditions on an `Allow` narrow it but
//!   do not remove it (`conditional = true`), conditions on a `Deny` mean it may not apply
//!   (it does not remove the grant). `*` (admin) is removed by any unconditional all-resource
//!   `Deny`, since the identity is then "everything but ...". The policy analysis runs once
//!   per distinct statement: DuckDB groups the grants by statement content
//!   (`grant_statements`), the IAM functions evaluate those (`statement_actions`,
//!   `statement_deny_all`), and only the grant rows of sensitive statements, without their
//!   lists, leave the store (`grant_links`).
//! - `nhi_identities`: the identities that are non-human, with why (`nhi_reason`): roles
//!   other than service-linked and human SSO/SAML-only roles, users holding a programmatic
//!   credential (access key, SSH key, signing certificate, service-specific credential), and
//!   every workload kind of the other providers (service accounts, service principals, managed
//!   identities, applications, GitHub apps, deploy keys, tokens).
//! - `direct_attachments`: per identity, the policies attached to it directly (managed and
//!   inline, not through a group), aggregated where the grants are (DuckDB), so the 10 M-row
//!   grant table never leaves the store for it.
//! - `iam_privesc_paths`: the privilege-escalation catalogue, one row per path and action.

use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::datasource::MemTable;

use duckdb::types::Value;

use super::duckdb_table::{snapshot_rows, snapshot_values};
use crate::model::Table;
use crate::policy::privesc::PATHS;
use crate::store::Snapshot;

/// The key of a statement's content (effect, actions and resources; conditions are a
/// property of each grant row): 63 bits of DuckDB's hash, so analysis work grows with the
/// number of distinct statements, not with the number of grant rows.
const STATEMENT_KEY: &str =
    "(hash(t.effect, t.actions, t.not_actions, t.resources, t.not_resources) >> 1)::BIGINT";

/// DuckDB side: the distinct statements of the snapshot's grants.
pub fn grant_statements_sql() -> String {
    format!(
        "SELECT {STATEMENT_KEY} AS statement_key, any_value(t.effect) AS effect,
                any_value(t.actions) AS actions, any_value(t.not_actions) AS not_actions,
                any_value(t.resources) AS resources, any_value(t.not_resources) AS not_resources
         FROM {} GROUP BY 1",
        snapshot_rows(Table::Grants)
    )
}

/// The columns of [`grant_statements_sql`].
pub fn grant_statements_schema() -> SchemaRef {
    let grants = Table::Grants.schema();
    let mut fields = vec![Arc::new(Field::new(
        "statement_key",
        DataType::Int64,
        false,
    ))];
    for name in [
        "effect",
        "actions",
        "not_actions",
        "resources",
        "not_resources",
    ] {
        fields.push(Arc::new(
            grants.field_with_name(name).expect("grants column").clone(),
        ));
    }
    Arc::new(Schema::new(fields))
}

/// DuckDB side: the lean grant rows (no lists) whose statement is one of the keys in the
/// first fixed parameter (comma-separated; every row when it is NULL), plus every boundary
/// row. Only these rows leave the store. `restricted` marks the rows of identities the IAM
/// evaluation logic can narrow: those with a `Deny` among these rows, a boundary, or a
/// statement whose effect is unknown. Usually few; every other identity's allowed rows are
/// its permissions as they are.
pub fn grant_links_sql() -> String {
    format!(
        "WITH links AS (
             SELECT t.provider, t.tenant, t.identity_id, t.policy_id, t.statement_index, t.sid,
                    t.relation, t.effect, t.conditions IS NOT NULL AS conditional,
                    {STATEMENT_KEY} AS statement_key
             FROM {}
             WHERE t.relation = 'boundary' OR ?::VARCHAR IS NULL
                OR {STATEMENT_KEY} IN (SELECT TRY_CAST(unnest(string_split(?::VARCHAR, ',')) AS BIGINT))
         )
         SELECT l.*, EXISTS (SELECT 1 FROM links r
                             WHERE r.tenant = l.tenant AND r.identity_id = l.identity_id
                               AND ({RESTRICTING})) AS restricted
         FROM links l",
        snapshot_rows(Table::Grants)
    )
}

/// The grant-link rows that make their identity `restricted` (unqualified columns, valid on
/// both the DuckDB and the DataFusion side).
pub const RESTRICTING: &str = "relation = 'boundary' OR effect <> 'Allow'";

/// The columns of [`grant_links_sql`].
pub fn grant_links_schema() -> SchemaRef {
    let grants = Table::Grants.schema();
    let mut fields: Vec<Arc<Field>> = [
        "provider",
        "tenant",
        "identity_id",
        "policy_id",
        "statement_index",
        "sid",
        "relation",
        "effect",
    ]
    .iter()
    .map(|name| Arc::new(grants.field_with_name(name).expect("grants column").clone()))
    .collect();
    fields.push(Arc::new(Field::new(
        "conditional",
        DataType::Boolean,
        false,
    )));
    fields.push(Arc::new(Field::new(
        "statement_key",
        DataType::Int64,
        false,
    )));
    fields.push(Arc::new(Field::new("restricted", DataType::Boolean, false)));
    Arc::new(Schema::new(fields))
}

/// DuckDB side: per identity, its directly attached policies (one row per attachment: the
/// first statement, or the one `Unknown` row, index -1, of a policy whose document is not
/// visible), counted, in no particular order (DuckDB's `list_sort` costs more than the
/// aggregation; rules sort what they report). The lists are aggregated as integer keys of
/// the distinct policies and their names put back after: a list aggregate's state is held in
/// memory (DuckDB cannot spill it), and keys instead of names halved both its memory and its
/// time at the 1M-identity benchmark (7 M attachments: 1.4 GB / 3.0 s → 0.6 GB / 1.5 s).
/// Each model table is read through [`snapshot_rows`]: bind [`direct_attachments_values`]
/// after the first read's snapshot values.
pub fn direct_attachments_sql() -> String {
    const DIRECT: &str = "t.via = t.identity_id AND t.relation IN ('attached', 'inline')
                          AND t.statement_index <= 0";
    let grants = snapshot_rows(Table::Grants);
    format!(
        "WITH keys AS (
             SELECT policy_id, (row_number() OVER ())::INTEGER AS k
             FROM (SELECT DISTINCT t.policy_id FROM {grants} WHERE {DIRECT})
         ),
         names AS (SELECT list(policy_id ORDER BY k) AS names FROM keys),
         agg AS (
             SELECT t.provider, t.tenant, t.identity_id, count(*) AS attached,
                    list(keys.k) AS ks
             FROM {grants} JOIN keys ON keys.policy_id = t.policy_id
             WHERE {DIRECT}
             GROUP BY t.provider, t.tenant, t.identity_id
         )
         SELECT agg.provider, agg.tenant, agg.identity_id, agg.attached,
                list_transform(agg.ks, lambda k: names.names[k]) AS policies
         FROM agg CROSS JOIN names"
    )
}

/// The values of [`direct_attachments_sql`]'s second snapshot read.
pub fn direct_attachments_values(snapshot: Snapshot) -> Vec<Value> {
    snapshot_values(snapshot).into_iter().collect()
}

/// Tables DuckDB computes with much of its memory (a list aggregate over the grants, which
/// it cannot spill): the rules reading them run first, under the store's cap, which is
/// lowered once they have run ([`super::Analysis::evaluate`]).
pub const NEED_STORE_MEMORY: &[&str] = &["direct_attachments"];

/// The columns of [`direct_attachments_sql`].
pub fn direct_attachments_schema() -> SchemaRef {
    let grants = Table::Grants.schema();
    let mut fields: Vec<Arc<Field>> = ["provider", "tenant", "identity_id"]
        .iter()
        .map(|name| Arc::new(grants.field_with_name(name).expect("grants column").clone()))
        .collect();
    fields.push(Arc::new(Field::new("attached", DataType::Int64, false)));
    fields.push(Arc::new(Field::new(
        "policies",
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        false,
    )));
    Arc::new(Schema::new(fields))
}

/// Per distinct statement: the sensitive catalogue entries it allows or denies, and whether
/// it covers all resources.
pub const STATEMENT_ACTIONS_SQL: &str = "
SELECT statement_key, effect,
       unnest(iam_sensitive_actions(actions, not_actions, resources, not_resources)) AS action,
       iam_covers_all_resources(resources, not_resources) AS all_resources
FROM grant_statements WHERE effect = 'Allow' OR effect = 'Deny'
";

/// The distinct `Deny` statements that cover all resources (whatever their actions).
pub const STATEMENT_DENY_ALL_SQL: &str = "
SELECT statement_key FROM grant_statements
WHERE effect = 'Deny' AND iam_covers_all_resources(resources, not_resources)
";

/// The sensitive grant rows with their catalogue entries (the body of `permissions`).
const GRANTED: &str = "
    SELECT l.provider, l.tenant, l.identity_id, l.policy_id, l.relation, l.statement_index, l.sid,
           l.effect, l.conditional, l.restricted, f.all_resources, f.action
    FROM grant_links l JOIN statement_actions f ON f.statement_key = l.statement_key
";

/// The columns of `permissions`, selected from the alias `a`.
const PERMISSION_COLUMNS: &str = "a.provider, a.tenant, a.identity_id, a.action, a.policy_id,
       a.statement_index, a.sid, a.relation, a.conditional, a.all_resources";

/// The query behind `permissions` when no grant row is `restricted` (checked first: one
/// scan instead of two).
pub fn permissions_unrestricted_sql() -> String {
    format!(
        "WITH st AS ({GRANTED})
         SELECT {PERMISSION_COLUMNS} FROM st a
         WHERE a.effect = 'Allow' AND a.relation <> 'boundary'"
    )
}

/// The query behind `permissions`: the allowed rows of unrestricted identities as they are
/// (see [`grant_links_sql`]), and those of restricted identities after their denies and
/// boundaries. The joins that apply them only see restricted identities' rows.
pub fn permissions_sql() -> String {
    format!(
        "WITH st AS ({GRANTED}),
restricted_st AS (SELECT * FROM st WHERE restricted),
denied AS (
    SELECT DISTINCT tenant, identity_id, action FROM restricted_st
    WHERE effect = 'Deny' AND NOT conditional AND all_resources
),
deny_any AS (
    SELECT DISTINCT l.tenant, l.identity_id FROM grant_links l
    JOIN statement_deny_all d ON d.statement_key = l.statement_key
    WHERE NOT l.conditional
),
bounded AS (SELECT DISTINCT tenant, identity_id FROM grant_links WHERE relation = 'boundary'),
boundary_allows AS (
    SELECT DISTINCT tenant, identity_id, action FROM restricted_st
    WHERE relation = 'boundary' AND effect = 'Allow'
),
unknown_boundary AS (
    SELECT DISTINCT tenant, identity_id FROM grant_links WHERE relation = 'boundary' AND effect = 'Unknown'
)
SELECT {PERMISSION_COLUMNS}
FROM st a
WHERE NOT a.restricted AND a.effect = 'Allow' AND a.relation <> 'boundary'
UNION ALL
SELECT {PERMISSION_COLUMNS}
FROM restricted_st a
WHERE a.effect = 'Allow' AND a.relation <> 'boundary'
  AND NOT EXISTS (SELECT 1 FROM denied d
                  WHERE d.tenant = a.tenant AND d.identity_id = a.identity_id AND d.action = a.action)
  AND (a.action <> '*' OR NOT EXISTS (SELECT 1 FROM deny_any x
                  WHERE x.tenant = a.tenant AND x.identity_id = a.identity_id))
  AND (NOT EXISTS (SELECT 1 FROM bounded b WHERE b.tenant = a.tenant AND b.identity_id = a.identity_id)
       OR EXISTS (SELECT 1 FROM boundary_allows o
                  WHERE o.tenant = a.tenant AND o.identity_id = a.identity_id AND o.action = a.action)
       OR EXISTS (SELECT 1 FROM unknown_boundary u
                  WHERE u.tenant = a.tenant AND u.identity_id = a.identity_id))"
    )
}

/// DuckDB side: the query behind `nhi_identities` (computed where the identities,
/// credentials and trusts are). Each model table is read through [`snapshot_rows`]: bind
/// [`nhi_identities_values`] after the first table's snapshot values.
pub fn nhi_identities_sql() -> String {
    format!(
        "WITH i AS (SELECT t.* FROM {}),
              tr AS (SELECT t.tenant, t.identity_id, t.principal_type, t.principal FROM {}),
              cr AS (SELECT t.tenant, t.identity_id FROM {}
                     WHERE t.status = 'active'
                       AND t.kind IN ('access_key', 'ssh_key', 'signing_certificate', 'service_specific'))
         SELECT i.*,
                CASE WHEN i.kind = 'role' THEN 'role'
                     WHEN i.kind = 'user' THEN 'user with programmatic credentials'
                     ELSE i.kind END AS nhi_reason
         FROM i
         WHERE (i.kind = 'role' AND NOT i.service_linked
                AND coalesce(i.path, '') NOT LIKE '/aws-reserved/%'
                AND NOT (EXISTS (SELECT 1 FROM tr WHERE tr.tenant = i.tenant AND tr.identity_id = i.identity_id)
                         AND NOT EXISTS (SELECT 1 FROM tr
                                         WHERE tr.tenant = i.tenant AND tr.identity_id = i.identity_id
                                           AND NOT (tr.principal_type = 'Federated'
                                                    AND tr.principal LIKE '%:saml-provider/%'))))
            OR (i.kind = 'user' AND EXISTS (SELECT 1 FROM cr
                                           WHERE cr.tenant = i.tenant AND cr.identity_id = i.identity_id))
            OR i.kind IN ('service_account', 'service_principal', 'managed_identity', 'application',
                          'github_app', 'deploy_key', 'pat', 'workload_identity')",
        snapshot_rows(Table::Identities),
        snapshot_rows(Table::Trusts),
        snapshot_rows(Table::Credentials),
    )
}

/// The values of [`nhi_identities_sql`]'s second and third snapshot reads.
pub fn nhi_identities_values(snapshot: Snapshot) -> Vec<Value> {
    [snapshot_values(snapshot), snapshot_values(snapshot)]
        .into_iter()
        .flatten()
        .collect()
}

/// The columns of [`nhi_identities_sql`]: the identity's, then `nhi_reason`.
pub fn nhi_identities_schema() -> SchemaRef {
    let mut fields: Vec<Arc<Field>> = Table::Identities
        .schema()
        .fields()
        .iter()
        .cloned()
        .collect();
    fields.push(Arc::new(Field::new("nhi_reason", DataType::Utf8, false)));
    Arc::new(Schema::new(fields))
}

/// The privilege-escalation catalogue as a table: `path`, `action`, `required` (how many
/// actions the path needs), `description`.
pub fn privesc_paths() -> Result<MemTable> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("action", DataType::Utf8, false),
        Field::new("required", DataType::Int64, false),
        Field::new("description", DataType::Utf8, false),
    ]));
    let (mut path, mut action, mut required, mut description) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in PATHS {
        for a in p.actions {
            path.push(p.name);
            action.push(*a);
            required.push(p.actions.len() as i64);
            description.push(p.description);
        }
    }
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(path)),
            Arc::new(StringArray::from(action)),
            Arc::new(Int64Array::from(required)),
            Arc::new(StringArray::from(description)),
        ],
    )?;
    MemTable::try_new(schema, vec![vec![batch]])
}
