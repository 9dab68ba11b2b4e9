//! Building the in-memory identity pages from the store: the distinct grant statements, then
//! one streamed, sorted query per section, rows grouped by identity into frames.

use std::collections::HashMap;

use arrow::array::{Array, RecordBatch, StringArray, UInt64Array};

use super::frames::SectionWriter;
use super::sections::{Cols, Part, HISTORY_SCANS, PARTS, SEL, STATEMENT_HASH};
use super::{DetailIndex, Statement, StoredGrant};
use crate::store::identity::{history_events, HistoryEvent, IdentityAttributes};
use crate::store::memory::columns::{hash_key, strings};
use crate::store::summary::CONTENT;
use crate::store::{Result, Store, StoreError};

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
            has_events: tx.query_row("SELECT EXISTS (SELECT 1 FROM events)", [], |r| r.get(0))?,
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
                        Extra::Grant(grant) => {
                            let (h, relation, via) = &**grant;
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
}

/// The section-specific columns of a batch (after tenant and identity id).
enum Extra {
    Rows(Cols),
    Grant(Box<(UInt64Array, StringArray, StringArray)>),
}

fn extra_columns(part: Part, b: &RecordBatch) -> Result<Extra> {
    Ok(match part {
        Part::Grants => Extra::Grant(Box::new((
            hashes(b, 2)?,
            strings(b.column(3))?,
            strings(b.column(4))?,
        ))),
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
) -> Result<Vec<HistoryEvent>> {
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
