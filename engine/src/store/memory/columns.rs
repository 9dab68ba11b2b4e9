//! The identity summary of one build as compact in-memory columns: interned provider, tenant
//! and kind, the strings of each identity packed into one buffer per column, the figures as
//! plain integers, and per inventory sort order the rows in order (`order`) and each row's
//! position (`position`, 1-based like the summary's `r_*` columns). Lookups by (tenant,
//! identity id) and by credential id go through sorted 64-bit hashes, checked on use.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;

use super::search::Trigrams;
use crate::store::inventory_page::InventorySort;
use crate::store::summary::SummaryBuild;
use crate::store::{Result, Store, StoreError};

/// A NULL timestamp or figure in an `i64` column.
pub(crate) const NULL: i64 = i64::MIN;

/// Strings of one column, packed: row `i` is `data[ends[i - 1]..ends[i]]`.
#[derive(Debug, Default)]
pub(crate) struct StrCol {
    data: String,
    ends: Vec<u32>,
    /// Which rows are NULL (`None` while none is).
    nulls: Option<Vec<bool>>,
}

impl StrCol {
    pub(crate) fn push(&mut self, value: Option<&str>) -> Option<()> {
        if value.is_none() && self.nulls.is_none() {
            self.nulls = Some(vec![false; self.ends.len()]);
        }
        if let Some(nulls) = &mut self.nulls {
            nulls.push(value.is_none());
        }
        self.data.push_str(value.unwrap_or(""));
        self.ends.push(u32::try_from(self.data.len()).ok()?);
        Some(())
    }

    pub(crate) fn get(&self, row: u32) -> Option<&str> {
        let row = row as usize;
        if self
            .nulls
            .as_ref()
            .is_some_and(|n| n.get(row).copied().unwrap_or(false))
        {
            return None;
        }
        Some(self.str(row))
    }

    /// Row `row` ("" when NULL).
    pub(crate) fn str(&self, row: usize) -> &str {
        let start = if row == 0 { 0 } else { self.ends[row - 1] } as usize;
        &self.data[start..self.ends[row] as usize]
    }

    fn heap_bytes(&self) -> usize {
        self.data.capacity()
            + self.ends.capacity() * 4
            + self.nulls.as_ref().map_or(0, |n| n.capacity())
    }
}

/// Distinct values of a low-cardinality column, numbered in order of appearance.
#[derive(Debug, Default)]
pub(crate) struct Interned {
    pub(crate) values: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Interned {
    fn id(&mut self, value: &str) -> u32 {
        if let Some(id) = self.ids.get(value) {
            return *id;
        }
        let id = self.values.len() as u32;
        self.values.push(value.to_string());
        self.ids.insert(value.to_string(), id);
        id
    }

    /// The number of `value`, if any row has it.
    pub(crate) fn find(&self, value: &str) -> Option<u32> {
        self.ids.get(value).copied()
    }
}

/// Bits of [`SummaryIndex::attrs`]: kind (16 bits), provider (8 bits), two flags.
pub(crate) const KIND_BITS: u32 = 0xffff;
pub(crate) const PROVIDER_SHIFT: u32 = 16;
pub(crate) const HAS_OWNER: u32 = 1 << 24;
pub(crate) const HAS_FINDINGS: u32 = 1 << 25;

/// One summary build in memory.
#[derive(Debug, Default)]
pub(crate) struct SummaryIndex {
    pub(crate) build_id: i64,
    pub(crate) providers: Interned,
    pub(crate) tenants: Interned,
    pub(crate) kinds: Interned,
    /// Per row: kind id, provider id << 16, [`HAS_OWNER`], [`HAS_FINDINGS`].
    pub(crate) attrs: Vec<u32>,
    pub(crate) tenant: Vec<u32>,
    /// Worst open severity rank + 1 (0: no open finding).
    pub(crate) rank: Vec<u8>,
    pub(crate) name: StrCol,
    pub(crate) identity_id: StrCol,
    pub(crate) unique_id: StrCol,
    pub(crate) owners: StrCol,
    /// Epoch micros or [`NULL`].
    pub(crate) created: Vec<i64>,
    pub(crate) last_used: Vec<i64>,
    pub(crate) oldest_key: Vec<i64>,
    /// `coalesce(last_used, created, 0)`, what staleness is judged on.
    pub(crate) activity: Vec<i64>,
    pub(crate) active_keys: Vec<i64>,
    pub(crate) open_findings: Vec<i64>,
    /// Per sort (in [`InventorySort::ALL`] order): rows by position, and each row's position.
    pub(crate) order: [Vec<u32>; 6],
    pub(crate) position: [Vec<u32>; 6],
    /// (hash of tenant and identity id, row), sorted.
    by_key: Vec<(u64, u32)>,
    /// (hash of a credential id of the current snapshot, holder's row), sorted.
    credentials: Vec<(u64, u32)>,
    pub(crate) trigrams: Trigrams,
    /// The distinct values of `activity` and `oldest_key`, sorted: where a time bound falls
    /// among them says exactly which rows it selects, however `now` moved.
    pub(crate) activity_values: Vec<i64>,
    pub(crate) oldest_values: Vec<i64>,
    /// Filter counts of this build, keyed by [`super::page`]'s exact filter key.
    pub(crate) counts: std::sync::Mutex<HashMap<[i64; 8], usize>>,
}

/// Sorted distinct values of a column.
pub(crate) fn distinct_sorted(values: &[i64]) -> Vec<i64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    v.shrink_to_fit();
    v
}

/// The summary's columns the index reads, in this order.
const COLUMNS: &str = "provider, tenant, kind, name, identity_id, unique_id, created, last_used,
    active_keys, oldest_key, owners, open_findings, max_rank,
    r_name, r_kind, r_created, r_last_used, r_key_age, r_findings";

pub(crate) fn hash_key(tenant: &str, identity_id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (tenant, identity_id).hash(&mut h);
    h.finish()
}

pub(crate) fn hash_credential(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

pub(crate) fn strings(col: &ArrayRef) -> Result<StringArray> {
    let c = cast(col, &DataType::Utf8)?;
    c.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| StoreError::Invalid("summary column is not text".into()))
}

pub(crate) fn ints(col: &ArrayRef) -> Result<Int64Array> {
    let c = cast(col, &DataType::Int64)?;
    c.as_any()
        .downcast_ref::<Int64Array>()
        .cloned()
        .ok_or_else(|| StoreError::Invalid("summary column is not an integer".into()))
}

fn opt_str(a: &StringArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}

fn opt_int(a: &Int64Array, i: usize) -> i64 {
    if a.is_null(i) {
        NULL
    } else {
        a.value(i)
    }
}

/// What [`SummaryIndex::load`] found.
pub(crate) enum Loaded {
    Index(Box<SummaryIndex>),
    /// More kinds or providers, or more text, than the compact layout holds.
    TooBig,
    /// The store holds another build than the one checked (a refresh ran in between).
    Moved,
}

impl SummaryIndex {
    /// Reads summary build `build` (in one transaction, so the rows are that build's).
    pub(crate) fn load(store: &Store, build: &SummaryBuild) -> Result<Loaded> {
        let tx = store.conn().unchecked_transaction()?;
        let current: i64 = tx.query_row(
            "SELECT coalesce(max(build_id), 0) FROM identity_summary_state",
            [],
            |r| r.get(0),
        )?;
        if current != build.build_id {
            return Ok(Loaded::Moved);
        }
        let mut index = SummaryIndex {
            build_id: build.build_id,
            ..Default::default()
        };
        let n = usize::try_from(build.identities).unwrap_or(0);
        let mut positions: [Vec<u32>; 6] = Default::default();
        let batches: Vec<RecordBatch> = tx
            .prepare(&format!("SELECT {COLUMNS} FROM identity_summary"))?
            .query_arrow([])?
            .collect();
        for b in &batches {
            if index.push_batch(b, &mut positions)?.is_none() {
                return Ok(Loaded::TooBig);
            }
        }
        let rows = index.attrs.len();
        if rows != n || u32::try_from(rows).is_err() {
            return Ok(Loaded::Moved);
        }
        // Positions must be a permutation of 1..=rows in every order.
        for (s, pos) in positions.iter().enumerate() {
            let mut order = vec![u32::MAX; rows];
            for (row, p) in pos.iter().enumerate() {
                let slot = (*p as usize).wrapping_sub(1);
                match order.get_mut(slot) {
                    Some(o) if *o == u32::MAX => *o = row as u32,
                    _ => return Ok(Loaded::Moved),
                }
            }
            index.order[s] = order;
        }
        index.position = positions;
        index.by_key = (0..rows)
            .map(|r| {
                let t = index.tenants.values[index.tenant[r] as usize].as_str();
                (hash_key(t, index.identity_id.str(r)), r as u32)
            })
            .collect();
        index.by_key.sort_unstable();
        let by_name = &index.order[0];
        let mut stmt = tx.prepare(
            "SELECT c.credential_id, s.r_name FROM credential_lookup c
             JOIN identity_summary s USING (tenant, identity_id)",
        )?;
        for b in stmt.query_arrow([])? {
            let (ids, pos) = (strings(b.column(0))?, ints(b.column(1))?);
            for i in 0..b.num_rows() {
                if let Some(&row) = by_name.get((pos.value(i) as usize).wrapping_sub(1)) {
                    index.credentials.push((hash_credential(ids.value(i)), row));
                }
            }
        }
        drop(stmt);
        tx.commit()?;
        index.credentials.sort_unstable();
        index.credentials.dedup();
        index.credentials.shrink_to_fit();
        index.activity_values = distinct_sorted(&index.activity);
        index.oldest_values = distinct_sorted(&index.oldest_key);
        index.trigrams = Trigrams::build(
            rows,
            &[
                &index.name,
                &index.identity_id,
                &index.unique_id,
                &index.owners,
            ],
        );
        Ok(Loaded::Index(Box::new(index)))
    }

    /// Appends one batch of [`COLUMNS`]; `None` when the layout cannot hold it.
    fn push_batch(&mut self, b: &RecordBatch, positions: &mut [Vec<u32>; 6]) -> Result<Option<()>> {
        let s = |i: usize| strings(b.column(i));
        let n = |i: usize| ints(b.column(i));
        let (provider, tenant, kind, name, id, unique) = (s(0)?, s(1)?, s(2)?, s(3)?, s(4)?, s(5)?);
        let (created, last_used, keys, oldest) = (n(6)?, n(7)?, n(8)?, n(9)?);
        let (owners, findings, rank) = (s(10)?, n(11)?, n(12)?);
        let r: Vec<Int64Array> = (13..19).map(n).collect::<Result<_>>()?;
        for i in 0..b.num_rows() {
            let (p, k) = (
                self.providers.id(provider.value(i)),
                self.kinds.id(kind.value(i)),
            );
            if p > 0xff || k > KIND_BITS {
                return Ok(None);
            }
            let mut attrs = k | (p << PROVIDER_SHIFT);
            if !owners.is_null(i) {
                attrs |= HAS_OWNER;
            }
            if findings.value(i) > 0 {
                attrs |= HAS_FINDINGS;
            }
            self.attrs.push(attrs);
            self.tenant.push(self.tenants.id(tenant.value(i)));
            self.rank.push(if rank.is_null(i) {
                0
            } else {
                (rank.value(i).clamp(0, 250) + 1) as u8
            });
            for (col, v) in [
                (&mut self.name, Some(name.value(i))),
                (&mut self.identity_id, Some(id.value(i))),
                (&mut self.unique_id, opt_str(&unique, i)),
                (&mut self.owners, opt_str(&owners, i)),
            ] {
                if col.push(v).is_none() {
                    return Ok(None);
                }
            }
            let (c, l) = (opt_int(&created, i), opt_int(&last_used, i));
            self.created.push(c);
            self.last_used.push(l);
            self.activity.push(if l != NULL {
                l
            } else if c != NULL {
                c
            } else {
                0
            });
            self.oldest_key.push(opt_int(&oldest, i));
            self.active_keys.push(keys.value(i));
            self.open_findings.push(findings.value(i));
            for (s, col) in r.iter().enumerate() {
                positions[s].push(u32::try_from(col.value(i)).unwrap_or(0));
            }
        }
        Ok(Some(()))
    }

    pub(crate) fn len(&self) -> usize {
        self.attrs.len()
    }

    /// The row of (tenant, identity id), if in the summary.
    pub(crate) fn row_of(&self, tenant: &str, identity_id: &str) -> Option<u32> {
        let h = hash_key(tenant, identity_id);
        let start = self.by_key.partition_point(|(k, _)| *k < h);
        self.by_key[start..]
            .iter()
            .take_while(|(k, _)| *k == h)
            .map(|(_, r)| *r)
            .find(|r| {
                self.identity_id.str(*r as usize) == identity_id
                    && self.tenant_of(*r as usize) == tenant
            })
    }

    /// Rows holding a credential whose id hashes like `id` (to be confirmed by the store).
    pub(crate) fn credential_rows(&self, id: &str) -> Vec<u32> {
        let h = hash_credential(id);
        let start = self.credentials.partition_point(|(k, _)| *k < h);
        self.credentials[start..]
            .iter()
            .take_while(|(k, _)| *k == h)
            .map(|(_, r)| *r)
            .collect()
    }

    pub(crate) fn tenant_of(&self, row: usize) -> &str {
        &self.tenants.values[self.tenant[row] as usize]
    }

    pub(crate) fn kind_of(&self, row: usize) -> &str {
        &self.kinds.values[(self.attrs[row] & KIND_BITS) as usize]
    }

    pub(crate) fn provider_of(&self, row: usize) -> &str {
        &self.providers.values[((self.attrs[row] >> PROVIDER_SHIFT) & 0xff) as usize]
    }

    /// The sort key of `row` as the store spells it ([`InventorySort::key_sql`]).
    pub(crate) fn sort_key(&self, sort: InventorySort, row: usize) -> String {
        /// `lpad(n::VARCHAR, 20, '0')`: left-padded with zeros, cut at 20 characters.
        fn lpad(n: i64) -> String {
            let mut s = format!("{n:0>20}");
            s.truncate(20);
            s
        }
        let or = |v: i64, d: i64| if v == NULL { d } else { v };
        match sort {
            InventorySort::Name => {
                let name = self.name.str(row);
                format!("{}\0{name}", name.to_lowercase())
            }
            InventorySort::Kind => {
                format!(
                    "{}\0{}",
                    self.kind_of(row),
                    self.name.str(row).to_lowercase()
                )
            }
            InventorySort::Created => lpad(or(self.created[row], 0)),
            InventorySort::LastUsed => lpad(or(self.last_used[row], 0)),
            InventorySort::KeyAge => lpad(or(self.oldest_key[row], 9_000_000_000_000_000)),
            InventorySort::Findings => lpad(self.open_findings[row]),
        }
    }

    /// Bytes the index holds on the heap (roughly).
    pub(crate) fn heap_bytes(&self) -> usize {
        let cols = [&self.name, &self.identity_id, &self.unique_id, &self.owners];
        cols.iter().map(|c| c.heap_bytes()).sum::<usize>()
            + self.attrs.capacity() * 4
            + self.tenant.capacity() * 4
            + self.rank.capacity()
            + (self.created.capacity()
                + self.last_used.capacity()
                + self.oldest_key.capacity()
                + self.activity.capacity()
                + self.active_keys.capacity()
                + self.open_findings.capacity()
                + self.activity_values.capacity()
                + self.oldest_values.capacity())
                * 8
            + self
                .order
                .iter()
                .chain(&self.position)
                .map(|v| v.capacity() * 4)
                .sum::<usize>()
            + (self.by_key.capacity() + self.credentials.capacity()) * 16
            + self.trigrams.heap_bytes()
    }
}
