//! The sections of an identity page: the query each is built from (sorted by tenant and
//! identity id, then as the page lists its rows) and how one row becomes the JSON the section
//! holds.

use std::sync::Arc;

use arrow::array::{Array, Int64Array, ListArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field};

use super::StoredFinding;
use crate::model::TrustRow;
use crate::store::activity::{ActivityEvent, LATEST};
use crate::store::identity::{IdentityAttributes, IdentityCredential, OwnerCandidate};
use crate::store::memory::columns::{ints, strings};
use crate::store::{Result, StoreError};

/// The sections of a page, in the order they are built and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Attributes,
    Tags,
    Owners,
    Credentials,
    Groups,
    Trusts,
    Grants,
    Findings,
    History,
    Activity,
}

pub(super) const PARTS: [Part; 10] = [
    Part::Attributes,
    Part::Tags,
    Part::Owners,
    Part::Credentials,
    Part::Groups,
    Part::Trusts,
    Part::Grants,
    Part::Findings,
    Part::History,
    Part::Activity,
];

/// The current snapshot's collections.
pub(super) const SEL: &str = "sel AS (SELECT scan_id, collector FROM collections_at(NULL, NULL))";

impl Part {
    /// The section's query: `tenant`, the identity id, then what the section needs, ordered
    /// by tenant and identity id first (every section in the same order), then as the page
    /// lists the section's rows.
    pub(super) fn sql(self) -> String {
        let of = |table: &str, key: &str, cols: &str, order: &str| {
            format!(
                "WITH {SEL} SELECT tenant, {key}, {cols} FROM {table} t
                 SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector
                 ORDER BY tenant, {key}, {order}"
            )
        };
        match self {
            Part::Attributes => of(
                "identities",
                "identity_id",
                "provider, name, kind, unique_id, path, epoch_us(created_at),
                 epoch_us(last_used_at), last_used_service, last_used_region,
                 permissions_boundary, description, scan_id",
                "scan_id",
            ),
            Part::Tags => of("tags", "resource_id", "key, value", "key"),
            Part::Owners => of(
                "ownership",
                "identity_id",
                "owner, source, evidence",
                "owner, source",
            ),
            Part::Credentials => of(
                "credentials",
                "identity_id",
                "credential_id, kind, status, epoch_us(created_at), epoch_us(last_used_at),
                 last_used_service, epoch_us(expires_at), redacted_prefix",
                "kind, created_at, credential_id",
            ),
            Part::Groups => of(
                "memberships",
                "member_id",
                "group_id || ' (' || relation || ')'",
                "group_id",
            ),
            Part::Trusts => of(
                "trusts",
                "identity_id",
                "statement_index, sid, effect, principal_type, principal, actions,
                 condition_keys, conditions",
                "statement_index, principal, principal_type",
            ),
            Part::Grants => format!(
                "WITH {SEL} SELECT tenant, identity_id, {STATEMENT_HASH} AS h, relation,
                        nullif(via, identity_id) AS via
                 FROM grants t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector
                 ORDER BY tenant, identity_id, policy_id, statement_index, relation, via"
            ),
            // A finding shows on the page of its identity and on that of its resource when
            // the resource is another identity of the current snapshot.
            Part::Findings => format!(
                "WITH {SEL}, cur AS (SELECT DISTINCT tenant, identity_id FROM identities t
                        SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector),
                 f AS (SELECT identity_id AS k, * FROM findings WHERE identity_id IS NOT NULL
                       UNION ALL
                       SELECT resource AS k, * FROM findings f
                       WHERE resource IS DISTINCT FROM identity_id
                         AND EXISTS (SELECT 1 FROM cur WHERE cur.tenant = f.tenant AND cur.identity_id = f.resource))
                 SELECT tenant, k, finding_id, rule_id, owasp, severity, status, message,
                        nullif(resource, k)
                 FROM f
                 ORDER BY tenant, k, status = 'resolved',
                          CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2
                                        WHEN 'low' THEN 1 ELSE 0 END DESC, rule_id, finding_id"
            ),
            // Per scan of the identity's source it was in: its credentials as `id=status`.
            Part::History => format!(
                "WITH {HISTORY_SCANS},
                 pres AS (SELECT DISTINCT tenant, identity_id, scan_id FROM identities
                          WHERE scan_id IN (SELECT scan_id FROM s)),
                 creds AS (SELECT tenant, identity_id, scan_id,
                                  list(credential_id || '=' || status ORDER BY credential_id) AS l
                           FROM credentials WHERE scan_id IN (SELECT scan_id FROM s) GROUP BY ALL)
                 SELECT p.tenant, p.identity_id, p.scan_id, c.l
                 FROM pres p LEFT JOIN creds c USING (tenant, identity_id, scan_id)
                 ORDER BY p.tenant, p.identity_id, p.scan_id"
            ),
            // The latest events of each identity in the logs (as `Store::identity_activity`).
            Part::Activity => format!(
                "WITH {SEL},
                 cur AS (SELECT DISTINCT tenant, identity_id FROM identities t
                         SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector),
                 creds AS (SELECT DISTINCT tenant, credential_id, identity_id FROM credentials t
                           SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector
                           WHERE identity_id IS NOT NULL),
                 m AS (SELECT e.actor_id AS k, e.* FROM events e WHERE e.actor_id IS NOT NULL
                       UNION
                       SELECT e.session_issuer AS k, e.* FROM events e WHERE e.session_issuer IS NOT NULL
                       UNION
                       SELECT c.identity_id AS k, e.* FROM events e
                       JOIN creds c ON c.tenant = e.tenant AND c.credential_id = e.credential_id),
                 r AS (SELECT m.*, row_number() OVER (PARTITION BY m.tenant, m.k ORDER BY m.event_time DESC, m.event_id) AS n,
                              count(*) OVER (PARTITION BY m.tenant, m.k) AS total,
                              min(m.event_time) OVER (PARTITION BY m.tenant, m.k) AS first_at,
                              max(m.event_time) OVER (PARTITION BY m.tenant, m.k) AS last_at
                       FROM m SEMI JOIN cur ON cur.tenant = m.tenant AND cur.identity_id = m.k)
                 SELECT tenant, k, epoch_us(event_time), source_format, action, event_source,
                        credential_id, source_ip, user_agent, region, outcome, error_code, request_id,
                        total, epoch_us(first_at), epoch_us(last_at)
                 FROM r WHERE n <= {LATEST} ORDER BY tenant, k, n"
            ),
        }
    }

    /// Row `i` of a section batch as the JSON the page's section holds (`Cols` from column 2).
    pub(super) fn row_json(self, c: &Cols, tenant: &str, id: &str, i: usize) -> Result<String> {
        let json =
            |v: serde_json::Result<String>| v.map_err(|e| StoreError::Invalid(e.to_string()));
        match self {
            Part::Attributes => json(serde_json::to_string(&IdentityAttributes {
                provider: c.string(0, i),
                tenant: tenant.to_string(),
                identity_id: id.to_string(),
                name: c.string(1, i),
                kind: c.string(2, i),
                unique_id: c.opt(3, i),
                path: c.opt(4, i),
                created_at: c.int(5, i),
                last_used_at: c.int(6, i),
                last_used_service: c.opt(7, i),
                last_used_region: c.opt(8, i),
                permissions_boundary: c.opt(9, i),
                description: c.opt(10, i),
                scan_id: c.int(11, i).unwrap_or_default(),
            })),
            Part::Tags => json(serde_json::to_string(&(c.string(0, i), c.string(1, i)))),
            Part::Owners => json(serde_json::to_string(&OwnerCandidate {
                owner: c.string(0, i),
                source: c.string(1, i),
                evidence: c.opt(2, i),
            })),
            Part::Credentials => json(serde_json::to_string(&IdentityCredential {
                credential_id: c.string(0, i),
                kind: c.string(1, i),
                status: c.string(2, i),
                created_at: c.int(3, i),
                last_used_at: c.int(4, i),
                last_used_service: c.opt(5, i),
                expires_at: c.int(6, i),
                redacted_prefix: c.opt(7, i),
            })),
            Part::Groups => json(serde_json::to_string(&c.string(0, i))),
            Part::Trusts => json(serde_json::to_string(&TrustRow {
                identity_id: id.to_string(),
                statement_index: c.int(0, i).unwrap_or_default(),
                sid: c.opt(1, i),
                effect: c.string(2, i),
                principal_type: c.string(3, i),
                principal: c.string(4, i),
                actions: c.list(5, i),
                condition_keys: c.list(6, i),
                conditions: c.opt(7, i),
            })),
            Part::Findings => json(serde_json::to_string(&StoredFinding {
                finding_id: c.string(0, i),
                rule_id: c.string(1, i),
                owasp: c.string(2, i),
                severity: c.string(3, i),
                status: c.string(4, i),
                message: c.string(5, i),
                resource: c.opt(6, i),
            })),
            Part::History => {
                let mut items = vec![c.int(0, i).unwrap_or_default().to_string()];
                items.extend(c.list(1, i));
                json(serde_json::to_string(&items))
            }
            Part::Activity => json(serde_json::to_string(&(
                ActivityEvent {
                    event_time: c.int(0, i).unwrap_or_default(),
                    source_format: c.string(1, i),
                    action: c.string(2, i),
                    event_source: c.opt(3, i),
                    credential_id: c.opt(4, i),
                    source_ip: c.opt(5, i),
                    user_agent: c.opt(6, i),
                    region: c.opt(7, i),
                    outcome: c.string(8, i),
                    error_code: c.opt(9, i),
                    request_id: c.opt(10, i),
                },
                c.int(11, i).unwrap_or_default(),
                c.int(12, i),
                c.int(13, i),
            ))),
            Part::Grants => Err(StoreError::Invalid("grants are not rows of JSON".into())),
        }
    }
}

/// The columns of a batch from column 2 on, as text, integers and lists of text.
pub(super) struct Cols {
    columns: Vec<Col>,
}

enum Col {
    Text(StringArray),
    Int(Int64Array),
    List(ListArray),
}

impl Cols {
    pub(super) fn new(b: &RecordBatch) -> Result<Cols> {
        let columns = b.columns()[2..]
            .iter()
            .map(|c| {
                Ok(match c.data_type() {
                    DataType::List(_) | DataType::LargeList(_) => {
                        let list = cast(
                            c,
                            &DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                        )?;
                        Col::List(
                            list.as_any()
                                .downcast_ref::<ListArray>()
                                .cloned()
                                .ok_or_else(|| StoreError::Invalid("list column".into()))?,
                        )
                    }
                    DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64
                    | DataType::UInt8
                    | DataType::UInt16
                    | DataType::UInt32 => Col::Int(ints(c)?),
                    _ => Col::Text(strings(c)?),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Cols { columns })
    }

    pub(super) fn opt(&self, c: usize, i: usize) -> Option<String> {
        match self.columns.get(c) {
            Some(Col::Text(a)) if !a.is_null(i) => Some(a.value(i).to_string()),
            Some(Col::Int(a)) if !a.is_null(i) => Some(a.value(i).to_string()),
            _ => None,
        }
    }

    pub(super) fn string(&self, c: usize, i: usize) -> String {
        self.opt(c, i).unwrap_or_default()
    }

    pub(super) fn int(&self, c: usize, i: usize) -> Option<i64> {
        match self.columns.get(c) {
            Some(Col::Int(a)) if !a.is_null(i) => Some(a.value(i)),
            _ => None,
        }
    }

    /// A list's non-NULL items (a NULL list: none).
    pub(super) fn list(&self, c: usize, i: usize) -> Vec<String> {
        match self.columns.get(c) {
            Some(Col::List(a)) if !a.is_null(i) => {
                let items = a.value(i);
                match items.as_any().downcast_ref::<StringArray>() {
                    Some(s) => s.iter().flatten().map(str::to_string).collect(),
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }
}

/// The statement a grant row points to, as the hash that names it in the index.
pub(super) const STATEMENT_HASH: &str =
    "hash(policy_id, statement_index, sid, effect, actions, not_actions, resources, not_resources, conditions)";

/// The finished scans an identity's history runs over (as the store path reads them).
pub(super) const HISTORY_SCANS: &str =
    "s AS (SELECT scan_id, provider, tenant, epoch_us(finished_at) AS finished FROM scans
      WHERE status IN ('complete', 'partial')
        AND EXISTS (SELECT 1 FROM scan_collectors sc WHERE sc.scan_id = scans.scan_id
                    AND sc.status = 'ok'
                    AND (sc.tables IS NULL OR list_contains(sc.tables, 'identities'))))";
