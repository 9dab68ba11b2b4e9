//! The identity page of the current snapshot, in memory, so that serving one costs no DuckDB
//! query: for every identity, each section of its page (attributes, tags, owners, credentials,
//! groups, trusts, grants, findings, history) as one small zstd frame compressed with a
//! dictionary trained on that section, and the policy statements its grants point to, stored
//! once for the estate.
//!
//! It is built from the store in one read transaction (one sorted query per section, streamed),
//! in the background when the current snapshot or the findings change: until then pages are
//! read from the store. What it holds does not depend on suppressions: the overlay (a finding
//! shown suppressed) is applied per request from the suppressions in force, cached per summary
//! build (whose freshness check covers them). Answers equal [`Store::identity_detail`]'s store
//! path (test `detail_index_equals_the_store`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, Int64Array, ListArray, RecordBatch, StringArray, UInt64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field};
use duckdb::params;
use serde::{Deserialize, Serialize};
use zstd::zstd_safe::{CCtx, CDict, DCtx, DDict};

use super::columns::{hash_key, ints, strings};
use super::lock;
use crate::model::{GrantRow, TrustRow};
use crate::store::identity::{
    history_events, summarise_permissions, IdentityAttributes, IdentityCredential, IdentityDetail,
    IdentityFinding, OwnerCandidate,
};
use crate::store::summary::CONTENT;
use crate::store::{Result, Store, StoreError};
use crate::time::Micros;

/// The sections of a page, in the order they are built and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Attributes,
    Tags,
    Owners,
    Credentials,
    Groups,
    Trusts,
    Grants,
    Findings,
    History,
}

const PARTS: [Part; 9] = [
    Part::Attributes,
    Part::Tags,
    Part::Owners,
    Part::Credentials,
    Part::Groups,
    Part::Trusts,
    Part::Grants,
    Part::Findings,
    Part::History,
];

/// The current snapshot's collections.
const SEL: &str = "sel AS (SELECT scan_id, collector FROM collections_at(NULL, NULL))";

/// Sample bytes a section's dictionary is trained on, and the dictionary's size.
const SAMPLE_BYTES: usize = 4 << 20;
const DICT_BYTES: usize = 64 << 10;
/// zstd level: the build is on the serving machine, and level 3 costs little more than 1.
const LEVEL: i32 = 3;
/// The most compressed bytes the index may hold; beyond it pages are read from the store.
const MAX_BYTES: usize = 6 << 30;

impl Part {
    /// The section's query: `tenant`, the identity id, then what the section needs, ordered
    /// by tenant and identity id first (every section in the same order), then as the page
    /// lists the section's rows.
    fn sql(self) -> String {
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
        }
    }

    /// Row `i` of a section batch as the JSON the page's section holds (`Cols` from column 2).
    fn row_json(self, c: &Cols, tenant: &str, id: &str, i: usize) -> Result<String> {
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
            Part::Grants => Err(StoreError::Invalid("grants are not rows of JSON".into())),
        }
    }
}

/// The columns of a batch from column 2 on, as text, integers and lists of text.
struct Cols {
    columns: Vec<Col>,
}

enum Col {
    Text(StringArray),
    Int(Int64Array),
    List(ListArray),
}

impl Cols {
    fn new(b: &RecordBatch) -> Result<Cols> {
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

    fn opt(&self, c: usize, i: usize) -> Option<String> {
        match self.columns.get(c) {
            Some(Col::Text(a)) if !a.is_null(i) => Some(a.value(i).to_string()),
            Some(Col::Int(a)) if !a.is_null(i) => Some(a.value(i).to_string()),
            _ => None,
        }
    }

    fn string(&self, c: usize, i: usize) -> String {
        self.opt(c, i).unwrap_or_default()
    }

    fn int(&self, c: usize, i: usize) -> Option<i64> {
        match self.columns.get(c) {
            Some(Col::Int(a)) if !a.is_null(i) => Some(a.value(i)),
            _ => None,
        }
    }

    /// A list's non-NULL items (a NULL list: none).
    fn list(&self, c: usize, i: usize) -> Vec<String> {
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
const STATEMENT_HASH: &str =
    "hash(policy_id, statement_index, sid, effect, actions, not_actions, resources, not_resources, conditions)";

/// The finished scans an identity's history runs over (as the store path reads them).
const HISTORY_SCANS: &str =
    "s AS (SELECT scan_id, provider, tenant, epoch_us(finished_at) AS finished FROM scans
      WHERE status IN ('complete', 'partial')
        AND EXISTS (SELECT 1 FROM scan_collectors sc WHERE sc.scan_id = scans.scan_id
                    AND sc.status = 'ok'
                    AND (sc.tables IS NULL OR list_contains(sc.tables, 'identities'))))";

/// A policy statement, stored once however many grants point to it.
#[derive(Debug)]
struct Statement {
    policy_id: String,
    statement_index: i64,
    sid: Option<String>,
    effect: String,
    actions: Vec<String>,
    not_actions: Vec<String>,
    resources: Vec<String>,
    not_resources: Vec<String>,
    conditions: Option<String>,
}

/// A finding as stored: `resource` is `None` when it is the identity itself.
#[derive(Debug, Serialize, Deserialize)]
struct StoredFinding {
    finding_id: String,
    rule_id: String,
    owasp: String,
    severity: String,
    status: String,
    message: String,
    resource: Option<String>,
}

/// A grant as stored: its statement, relation, and `via` when it is not the identity.
type StoredGrant = (u32, String, Option<String>);

/// One section of every page: identity `slot`'s frame is `data[ends[slot - 1]..ends[slot]]`
/// (empty: the section has no rows for it).
struct Section {
    dict: Option<DDict<'static>>,
    data: Vec<u8>,
    ends: Vec<u64>,
}

impl Section {
    fn frame(&self, slot: u32) -> &[u8] {
        let slot = slot as usize;
        let start = if slot == 0 { 0 } else { self.ends[slot - 1] } as usize;
        let end = self.ends.get(slot).copied().unwrap_or(start as u64) as usize;
        &self.data[start..end.max(start)]
    }
}

#[cfg(test)]
thread_local! {
    /// Identity pages served from memory (tests check the index is used).
    pub(crate) static MEMORY_PAGES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

thread_local! {
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

/// The pages of one build of the current snapshot.
pub(crate) struct DetailIndex {
    /// [`CONTENT`] (what the summary fingerprint covers but suppressions) when it was built.
    pub(crate) content: String,
    /// Identity slot by [`hash_key`]; `u32::MAX` when two identities share a hash.
    slots: HashMap<u64, u32>,
    sections: Vec<Section>,
    statements: Vec<Statement>,
}

/// Appends one section's frames, slot by slot, training its dictionary on the first ones.
struct SectionWriter {
    cctx: CCtx<'static>,
    cdict: Option<CDict<'static>>,
    dict: Option<Vec<u8>>,
    /// Payloads held back until the dictionary is trained: (slot, payload).
    pending: Vec<(u32, Vec<u8>)>,
    pending_bytes: usize,
    data: Vec<u8>,
    ends: Vec<u64>,
    scratch: Vec<u8>,
}

impl SectionWriter {
    fn new() -> SectionWriter {
        SectionWriter {
            cctx: CCtx::create(),
            cdict: None,
            dict: None,
            pending: Vec::new(),
            pending_bytes: 0,
            data: Vec::new(),
            ends: Vec::new(),
            scratch: Vec::new(),
        }
    }

    fn push(&mut self, slot: u32, payload: Vec<u8>) -> Result<()> {
        if self.dict.is_none() && self.cdict.is_none() && self.pending_bytes < SAMPLE_BYTES {
            self.pending_bytes += payload.len();
            self.pending.push((slot, payload));
            if self.pending_bytes >= SAMPLE_BYTES {
                self.train()?;
            }
            return Ok(());
        }
        self.write(slot, &payload)
    }

    /// Trains the dictionary on the payloads held back (none when zstd finds too little to
    /// learn from), then writes them.
    fn train(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let sizes: Vec<usize> = pending.iter().map(|(_, p)| p.len()).collect();
        let joined: Vec<u8> = pending
            .iter()
            .flat_map(|(_, p)| p.iter().copied())
            .collect();
        if pending.len() >= 16 {
            if let Ok(dict) = zstd::dict::from_continuous(&joined, &sizes, DICT_BYTES) {
                self.cdict = CDict::try_create(&dict, LEVEL);
                self.dict = Some(dict);
            }
        }
        // Marks the section as trained even without a dictionary.
        self.dict.get_or_insert_with(Vec::new);
        for (slot, payload) in pending {
            self.write(slot, &payload)?;
        }
        Ok(())
    }

    fn write(&mut self, slot: u32, payload: &[u8]) -> Result<()> {
        let slot = slot as usize;
        if slot < self.ends.len() {
            return Err(StoreError::Invalid(
                "identity page sections came out of order".into(),
            ));
        }
        self.ends.resize(slot, self.data.len() as u64);
        // zstd writes from the start of the buffer it is given.
        self.scratch.clear();
        self.scratch
            .reserve(zstd::zstd_safe::compress_bound(payload.len()));
        let written = match &self.cdict {
            Some(cdict) => self
                .cctx
                .compress_using_cdict(&mut self.scratch, payload, cdict),
            None => self.cctx.compress(&mut self.scratch, payload, LEVEL),
        };
        written.map_err(|code| {
            StoreError::Invalid(format!(
                "compressing an identity page failed: {}",
                zstd::zstd_safe::get_error_name(code)
            ))
        })?;
        self.data.extend_from_slice(&self.scratch);
        self.ends.push(self.data.len() as u64);
        if self.data.len() > MAX_BYTES {
            return Err(StoreError::Invalid(
                "identity pages exceed the in-memory limit".into(),
            ));
        }
        Ok(())
    }

    fn finish(mut self, slots: usize) -> Result<Section> {
        if !self.pending.is_empty() || self.dict.is_none() {
            self.train()?;
        }
        self.ends.resize(slots, self.data.len() as u64);
        self.data.shrink_to_fit();
        let dict = match self.dict.filter(|d| !d.is_empty()) {
            Some(d) => Some(DDict::try_create(&d).ok_or_else(|| {
                StoreError::Invalid("zstd cannot load a trained dictionary".into())
            })?),
            None => None,
        };
        Ok(Section {
            dict,
            data: self.data,
            ends: self.ends,
        })
    }
}

/// Rows grouped by (tenant, identity id), in the order a section's query returns them.
struct Groups {
    current: Option<(String, String)>,
    rows: Vec<String>,
}

impl DetailIndex {
    /// Builds the index from `store` in one read transaction.
    pub(crate) fn build(store: &Store) -> Result<DetailIndex> {
        let conn = store.conn().try_clone()?;
        let tx = conn.unchecked_transaction()?;
        let content: String = tx.query_row(&format!("SELECT {CONTENT}"), [], |r| r.get(0))?;
        let mut index = DetailIndex {
            content,
            slots: HashMap::new(),
            sections: Vec::new(),
            statements: Vec::new(),
        };
        // Build-time lookups: the slot of each (tenant, id), and each slot's provider and name.
        let mut keys: HashMap<(String, String), u32> = HashMap::new();
        let mut names: Vec<(String, String)> = Vec::new();
        let mut by_hash: HashMap<u64, u32> = HashMap::new();
        {
            let mut stmt = tx.prepare(&format!(
                "WITH {SEL}, g AS (SELECT DISTINCT {STATEMENT_HASH} AS h, policy_id, statement_index,
                        sid, effect, actions, not_actions, resources, not_resources, conditions
                      FROM grants t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector)
                 SELECT h, policy_id, statement_index, sid, effect, actions, not_actions, resources,
                        not_resources, conditions FROM g"
            ))?;
            for b in stmt.query_arrow([])? {
                let (h, c) = (hashes(&b, 0)?, Cols::new(&b)?);
                for i in 0..b.num_rows() {
                    // `Cols` starts at column 2: policy_id is column 1.
                    let statement = Statement {
                        policy_id: strings(b.column(1))?.value(i).to_string(),
                        statement_index: c.int(0, i).unwrap_or_default(),
                        sid: c.opt(1, i),
                        effect: c.string(2, i),
                        actions: c.list(3, i),
                        not_actions: c.list(4, i),
                        resources: c.list(5, i),
                        not_resources: c.list(6, i),
                        conditions: c.opt(7, i),
                    };
                    let id = index.statements.len() as u32;
                    if by_hash.insert(h.value(i), id).is_some() {
                        return Err(StoreError::Invalid(
                            "two policy statements share a hash".into(),
                        ));
                    }
                    index.statements.push(statement);
                }
            }
        }
        let scans = history_scans(&tx)?;
        for part in PARTS {
            let mut writer = SectionWriter::new();
            let mut stmt = tx.prepare(&part.sql())?;
            let mut groups = Groups {
                current: None,
                rows: Vec::new(),
            };
            let mut grants: Vec<StoredGrant> = Vec::new();
            let flush = |groups: &mut Groups,
                         grants: &mut Vec<StoredGrant>,
                         writer: &mut SectionWriter,
                         keys: &mut HashMap<(String, String), u32>,
                         names: &mut Vec<(String, String)>|
             -> Result<()> {
                let Some(key) = groups.current.take() else {
                    return Ok(());
                };
                let rows = std::mem::take(&mut groups.rows);
                let grant_rows = std::mem::take(grants);
                let slot = match part {
                    Part::Attributes => {
                        let slot = names.len() as u32;
                        let a: IdentityAttributes = serde_json::from_str(&rows[0])
                            .map_err(|e| StoreError::Invalid(format!("attributes: {e}")))?;
                        names.push((a.provider.clone(), a.name.clone()));
                        keys.insert(key.clone(), slot);
                        slot
                    }
                    _ => match keys.get(&key) {
                        Some(slot) => *slot,
                        None => return Ok(()),
                    },
                };
                let payload = match part {
                    Part::Attributes => rows[0].clone().into_bytes(),
                    Part::Grants => serde_json::to_vec(&grant_rows)
                        .map_err(|e| StoreError::Invalid(e.to_string()))?,
                    Part::History => {
                        let (provider, name) = &names[slot as usize];
                        let events = history_from_rows(&scans, provider, &key.0, name, &rows)?;
                        serde_json::to_vec(&events)
                            .map_err(|e| StoreError::Invalid(e.to_string()))?
                    }
                    _ => format!("[{}]", rows.join(",")).into_bytes(),
                };
                writer.push(slot, payload)
            };
            for b in stmt.stream_arrow([])? {
                let (tenants, ids) = (strings(b.column(0))?, strings(b.column(1))?);
                let extra = extra_columns(part, &b)?;
                for i in 0..b.num_rows() {
                    let (t, id) = (tenants.value(i), ids.value(i));
                    let same = groups
                        .current
                        .as_ref()
                        .is_some_and(|(ct, cid)| ct == t && cid == id);
                    if !same {
                        if part == Part::Attributes {
                            if let Some((ct, cid)) = &groups.current {
                                if (ct.as_str(), cid.as_str()) >= (t, id) {
                                    return Err(StoreError::Invalid(
                                        "identities came out of order".into(),
                                    ));
                                }
                            }
                        }
                        flush(&mut groups, &mut grants, &mut writer, &mut keys, &mut names)?;
                        groups.current = Some((t.to_string(), id.to_string()));
                    }
                    match &extra {
                        Extra::Rows(c) => {
                            // Attributes: the first row of an identity stands (as `LIMIT 1`).
                            if part != Part::Attributes || groups.rows.is_empty() {
                                groups.rows.push(part.row_json(c, t, id, i)?);
                            }
                        }
                        Extra::Grant(h, relation, via) => {
                            let Some(stmt) = by_hash.get(&h.value(i)) else {
                                return Err(StoreError::Invalid(
                                    "a grant's statement changed while reading".into(),
                                ));
                            };
                            grants.push((
                                *stmt,
                                relation.value(i).to_string(),
                                (!via.is_null(i)).then(|| via.value(i).to_string()),
                            ));
                        }
                    }
                }
            }
            flush(&mut groups, &mut grants, &mut writer, &mut keys, &mut names)?;
            index.sections.push(writer.finish(names.len())?);
        }
        tx.commit()?;
        for ((tenant, id), slot) in keys {
            index
                .slots
                .entry(hash_key(&tenant, &id))
                .and_modify(|s| *s = u32::MAX)
                .or_insert(slot);
        }
        Ok(index)
    }

    pub(crate) fn len(&self) -> usize {
        self.sections.first().map_or(0, |s| s.ends.len())
    }

    /// Compressed pages and statements, in bytes (roughly).
    pub(crate) fn heap_bytes(&self) -> usize {
        let statements: usize = self
            .statements
            .iter()
            .map(|s| {
                s.policy_id.len()
                    + [&s.actions, &s.not_actions, &s.resources, &s.not_resources]
                        .iter()
                        .flat_map(|l| l.iter())
                        .map(|a| a.len() + 24)
                        .sum::<usize>()
                    + 160
            })
            .sum();
        self.sections
            .iter()
            .map(|s| s.data.capacity() + s.ends.capacity() * 8)
            .sum::<usize>()
            + self.slots.capacity() * 16
            + statements
    }

    fn section<T: for<'de> Deserialize<'de>>(&self, part: Part, slot: u32) -> Result<Option<T>> {
        let s = &self.sections[part as usize];
        let frame = s.frame(slot);
        if frame.is_empty() {
            return Ok(None);
        }
        let size = zstd::zstd_safe::get_frame_content_size(frame)
            .ok()
            .flatten()
            .ok_or_else(|| StoreError::Invalid("identity page frame has no size".into()))?;
        let mut out: Vec<u8> = Vec::with_capacity(size as usize);
        DCTX.with(|d| {
            let mut d = d.borrow_mut();
            match &s.dict {
                Some(dict) => d.decompress_using_ddict(&mut out, frame, dict),
                None => d.decompress(&mut out, frame),
            }
        })
        .map_err(|code| {
            StoreError::Invalid(format!(
                "identity page frame: {}",
                zstd::zstd_safe::get_error_name(code)
            ))
        })?;
        serde_json::from_slice(&out)
            .map(Some)
            .map_err(|e| StoreError::Invalid(format!("identity page section: {e}")))
    }

    /// The page of (`tenant`, `identity_id`), `Ok(None)` when it is not in the snapshot, with
    /// `suppressed` telling which open findings show suppressed.
    fn detail(
        &self,
        tenant: &str,
        identity_id: &str,
        suppressed: impl Fn(&str, &str, &str) -> bool,
    ) -> Result<Option<IdentityDetail>> {
        let Some(&slot) = self.slots.get(&hash_key(tenant, identity_id)) else {
            return Ok(None);
        };
        if slot == u32::MAX {
            return Err(StoreError::Invalid("identity hash shared".into()));
        }
        let Some(attributes) = self.section::<IdentityAttributes>(Part::Attributes, slot)? else {
            return Ok(None);
        };
        if attributes.tenant != tenant || attributes.identity_id != identity_id {
            return Ok(None);
        }
        let tags: Vec<(String, String)> = self.section(Part::Tags, slot)?.unwrap_or_default();
        let owners: Vec<OwnerCandidate> = self.section(Part::Owners, slot)?.unwrap_or_default();
        let credentials: Vec<IdentityCredential> =
            self.section(Part::Credentials, slot)?.unwrap_or_default();
        let groups: Vec<String> = self.section(Part::Groups, slot)?.unwrap_or_default();
        let trusts = self.section(Part::Trusts, slot)?.unwrap_or_default();
        let stored: Vec<StoredGrant> = self.section(Part::Grants, slot)?.unwrap_or_default();
        let grants: Vec<GrantRow> = stored
            .into_iter()
            .filter_map(|(stmt, relation, via)| {
                let s = self.statements.get(stmt as usize)?;
                Some(GrantRow {
                    identity_id: identity_id.to_string(),
                    policy_id: s.policy_id.clone(),
                    relation,
                    via: via.unwrap_or_else(|| identity_id.to_string()),
                    statement_index: s.statement_index,
                    sid: s.sid.clone(),
                    effect: s.effect.clone(),
                    actions: s.actions.clone(),
                    not_actions: s.not_actions.clone(),
                    resources: s.resources.clone(),
                    not_resources: s.not_resources.clone(),
                    conditions: s.conditions.clone(),
                })
            })
            .collect();
        let stored: Vec<StoredFinding> = self.section(Part::Findings, slot)?.unwrap_or_default();
        let mut overlaid = false;
        let mut findings: Vec<IdentityFinding> = stored
            .into_iter()
            .map(|f| {
                let resource = f.resource.as_deref().unwrap_or(identity_id);
                let status =
                    if f.status == "open" && suppressed(&f.finding_id, &f.rule_id, resource) {
                        overlaid = true;
                        "suppressed".to_string()
                    } else {
                        f.status
                    };
                IdentityFinding {
                    finding_id: f.finding_id,
                    rule_id: f.rule_id,
                    owasp: f.owasp,
                    severity: f.severity,
                    status,
                    message: f.message,
                }
            })
            .collect();
        if overlaid {
            // As the store path orders them (by the shown status).
            findings.sort_by(|a, b| {
                let key = |f: &IdentityFinding| {
                    let rank = match f.severity.as_str() {
                        "critical" => 4,
                        "high" => 3,
                        "medium" => 2,
                        "low" => 1,
                        _ => 0,
                    };
                    (f.status == "resolved", -rank)
                };
                key(a)
                    .cmp(&key(b))
                    .then_with(|| a.rule_id.cmp(&b.rule_id))
                    .then_with(|| a.finding_id.cmp(&b.finding_id))
            });
        }
        let history = self.section(Part::History, slot)?.unwrap_or_default();
        Ok(Some(IdentityDetail {
            permissions: summarise_permissions(&grants),
            attributes,
            tags,
            owners,
            credentials,
            groups,
            trusts,
            grants,
            findings,
            history,
        }))
    }
}

/// The section-specific columns of a batch (after tenant and identity id).
enum Extra {
    Rows(Cols),
    Grant(UInt64Array, StringArray, StringArray),
}

fn extra_columns(part: Part, b: &RecordBatch) -> Result<Extra> {
    Ok(match part {
        Part::Grants => Extra::Grant(hashes(b, 2)?, strings(b.column(3))?, strings(b.column(4))?),
        _ => Extra::Rows(Cols::new(b)?),
    })
}

fn hashes(b: &RecordBatch, i: usize) -> Result<UInt64Array> {
    b.column(i)
        .as_any()
        .downcast_ref::<UInt64Array>()
        .cloned()
        .ok_or_else(|| StoreError::Invalid("statement hash is not UBIGINT".into()))
}

/// The finished scans of every (provider, tenant), in history order: (scan id, finish time).
type ScanLists = HashMap<(String, String), Vec<(i64, i64)>>;

fn history_scans(conn: &duckdb::Connection) -> Result<ScanLists> {
    let mut out: ScanLists = HashMap::new();
    let mut stmt = conn.prepare(&format!(
        "WITH {HISTORY_SCANS} SELECT provider, tenant, scan_id, finished FROM s ORDER BY finished, scan_id"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (provider, tenant, scan, at) = row?;
        out.entry((provider, tenant)).or_default().push((scan, at));
    }
    Ok(out)
}

/// An identity's history from its history rows (`[scan id, "credential=status", ...]`).
fn history_from_rows(
    scans: &ScanLists,
    provider: &str,
    tenant: &str,
    name: &str,
    rows: &[String],
) -> Result<Vec<crate::store::identity::HistoryEvent>> {
    let mut present: HashMap<i64, Vec<String>> = HashMap::new();
    for row in rows {
        let mut items: Vec<String> = serde_json::from_str(row)
            .map_err(|e| StoreError::Invalid(format!("history row: {e}")))?;
        if items.is_empty() {
            continue;
        }
        let scan: i64 = items
            .remove(0)
            .parse()
            .map_err(|_| StoreError::Invalid("history scan id".into()))?;
        present.insert(scan, items);
    }
    let empty = Vec::new();
    let list = scans
        .get(&(provider.to_string(), tenant.to_string()))
        .unwrap_or(&empty);
    Ok(history_events(
        name,
        list.iter().map(|(scan, at)| match present.remove(scan) {
            Some(creds) => (*scan, *at, true, creds),
            None => (*scan, *at, false, Vec::new()),
        }),
    ))
}

/// The suppressions in force for one summary build: (finding id, rule id, resource pattern).
pub(crate) struct InForce {
    build_id: i64,
    rules: Vec<(Option<String>, Option<String>, Option<String>)>,
    /// Some pattern uses GLOB syntax beyond `*` and `?`: the store path judges.
    complex: bool,
}

impl InForce {
    fn suppresses(&self, finding_id: &str, rule_id: &str, resource: &str) -> bool {
        self.rules.iter().any(|(f, r, pattern)| match f {
            Some(f) => f == finding_id,
            None => {
                matches!(r.as_deref(), Some(r) if r == "*" || r == rule_id)
                    && wildcard(pattern.as_deref().unwrap_or("*"), resource)
            }
        })
    }
}

/// `text GLOB pattern` for patterns of literals, `*` (any run) and `?` (one character).
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The slot of the shared state that holds the index.
#[derive(Default)]
pub(crate) struct DetailSlot {
    index: Option<Arc<DetailIndex>>,
    building: bool,
    /// The content a build failed for (not retried until the content changes).
    failed: Option<String>,
    in_force: Option<Arc<InForce>>,
}

impl Store {
    /// Builds the identity-page index now when the current one does not match the store.
    /// Returns whether an index matching the store is in place.
    #[cfg(test)]
    pub(crate) fn warm_detail_index(&self) -> Result<bool> {
        let content = self.detail_content()?;
        if lock(&self.shared.detail)
            .index
            .as_ref()
            .is_some_and(|i| i.content == content)
        {
            return Ok(true);
        }
        self.build_detail_index()?;
        Ok(lock(&self.shared.detail)
            .index
            .as_ref()
            .is_some_and(|i| i.content == content))
    }

    fn detail_content(&self) -> Result<String> {
        Ok(self
            .conn()
            .query_row(&format!("SELECT {CONTENT}"), [], |r| r.get(0))?)
    }

    /// Builds the index (on this thread) and puts it in place; a failure is logged and
    /// remembered, and pages keep reading the store.
    fn build_detail_index(&self) -> Result<()> {
        let started = std::time::Instant::now();
        // DuckDB's stream panics when fetching fails mid-way: that is a failed build.
        let built =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| DetailIndex::build(self)))
                .unwrap_or_else(|_| {
                    Err(StoreError::Invalid(
                        "reading the store failed mid-scan".into(),
                    ))
                });
        match built {
            Ok(index) => {
                tracing::info!(
                    message = "Loaded the in-memory identity pages.",
                    identities = index.len(),
                    statements = index.statements.len(),
                    bytes = index.heap_bytes(),
                    millis = started.elapsed().as_millis() as u64
                );
                let mut slot = lock(&self.shared.detail);
                slot.index = Some(Arc::new(index));
                slot.building = false;
                Ok(())
            }
            Err(e) => {
                tracing::warn!(
                    message = "Cannot hold the identity pages in memory; they are read from the store.",
                    error = %e
                );
                let content = self.detail_content().ok();
                let mut slot = lock(&self.shared.detail);
                slot.failed = content;
                slot.building = false;
                Err(e)
            }
        }
    }

    /// The identity page from memory: `None` when the index cannot answer (not built for
    /// the store as it is, summary stale, time travel): read the store.
    pub(crate) fn identity_detail_in_memory(
        &self,
        tenant: &str,
        identity_id: &str,
        now: Micros,
    ) -> Result<Option<Option<IdentityDetail>>> {
        let Some(build) = self.fresh_summary_build(now)? else {
            return Ok(None);
        };
        let (index, in_force) = {
            let slot = lock(&self.shared.detail);
            (slot.index.clone(), slot.in_force.clone())
        };
        let index = match index {
            Some(index) if index.content == build.content => index,
            _ => {
                self.start_detail_build(&build.content);
                return Ok(None);
            }
        };
        let in_force = match in_force {
            Some(f) if f.build_id == build.build_id => f,
            _ => {
                let f = Arc::new(self.in_force(build.build_id, now)?);
                lock(&self.shared.detail).in_force = Some(f.clone());
                f
            }
        };
        if in_force.complex {
            return Ok(None);
        }
        match index.detail(tenant, identity_id, |f, r, res| {
            in_force.suppresses(f, r, res)
        }) {
            Ok(found) => {
                #[cfg(test)]
                MEMORY_PAGES.with(|m| m.set(m.get() + 1));
                Ok(Some(found))
            }
            Err(e) => {
                tracing::debug!(message = "Identity page not served from memory.", error = %e);
                Ok(None)
            }
        }
    }

    /// Waits (up to `limit`) until the in-memory identity pages match the store, e.g. for a
    /// benchmark to measure the steady state. Returns whether they do.
    pub fn wait_for_identity_pages(&self, limit: std::time::Duration) -> Result<bool> {
        let started = std::time::Instant::now();
        let content = self.detail_content()?;
        loop {
            let slot = lock(&self.shared.detail);
            if slot.index.as_ref().is_some_and(|i| i.content == content) {
                return Ok(true);
            }
            if !slot.building || started.elapsed() > limit {
                return Ok(false);
            }
            drop(slot);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Drops the index (tests read the store path).
    #[cfg(test)]
    pub(crate) fn forget_detail_index(&self) {
        let mut slot = lock(&self.shared.detail);
        slot.index = None;
        slot.failed = None;
    }

    /// Starts building the index for `content` on a thread of its own, unless one is being
    /// built or a build for it failed. Unit tests build it only when they ask
    /// ([`Store::warm_detail_index`]), so they know which path answered.
    pub(crate) fn start_detail_build(&self, content: &str) {
        if cfg!(test) {
            return;
        }
        {
            let mut slot = lock(&self.shared.detail);
            if slot.building
                || slot.failed.as_deref() == Some(content)
                || slot.index.as_ref().is_some_and(|i| i.content == content)
            {
                return;
            }
            slot.building = true;
        }
        let store = match self.try_clone() {
            Ok(store) => store,
            Err(e) => {
                tracing::warn!(message = "Cannot open a connection to build identity pages.", error = %e);
                lock(&self.shared.detail).building = false;
                return;
            }
        };
        std::thread::spawn(move || store.build_detail_index().ok());
    }

    /// The suppressions in force at `now` (the same for every `now` the build holds for).
    fn in_force(&self, build_id: i64, now: Micros) -> Result<InForce> {
        let mut stmt = self.conn().prepare(
            "SELECT finding_id, rule_id, resource FROM suppressions
             WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > make_timestamp(?::BIGINT))",
        )?;
        let rules = stmt
            .query_map(params![now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let complex = rules.iter().any(|(_, _, p): &(_, _, Option<String>)| {
            p.as_deref().is_some_and(|p| p.contains(['[', ']', '\\']))
        });
        Ok(InForce {
            build_id,
            rules,
            complex,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards_match_as_glob_does() {
        for (p, t, want) in [
            ("*", "", true),
            ("*", "anything/at:all", true),
            ("AKIA*", "AKIAXYZ", true),
            ("AKIA*", "xAKIA", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*role/ci-*", "arn:aws:iam::1:role/ci-deploy", true),
            ("*role/ci-*", "arn:aws:iam::1:user/ci-deploy", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(wildcard(p, t), want, "{p} vs {t}");
        }
    }
}
