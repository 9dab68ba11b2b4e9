//! Inventory pages cut from the in-memory summary ([`super::columns`]): the same rows, totals
//! and cursors as [`Store::inventory_page_from_summary`] reads from the store. A page walks the
//! sort order's rows from the cursor's position, keeping those the filters pass; a search
//! first takes its candidate rows from the trigram index ([`super::search`]) and the holder of
//! a credential with that id (a hash in memory, confirmed by the store's point lookup).

use super::columns::{SummaryIndex, HAS_FINDINGS, HAS_OWNER, KIND_BITS, NULL, PROVIDER_SHIFT};
use super::search::{like, Candidates};
use crate::rules::Severity;
use crate::store::inventory_page::{
    InventoryCursor, InventoryItem, InventoryPage, InventoryQuery, InventorySort, KeyAge,
    SEVERITY_NAMES, STALE_DAYS,
};
use crate::store::{Result, Store};
use crate::time::{Micros, DAY};

/// Filter counts one index build keeps before it starts again.
const COUNTS_KEPT: usize = 4096;

/// The query's filters on the index's columns (a search aside). Every test is a comparison
/// of one row's values, so a count runs through the columns without branching.
struct Filter {
    /// `attrs & mask == want` (kind, provider, owner, findings).
    mask: u32,
    want: u32,
    /// `rank >= min_rank` (worst severity + 1).
    min_rank: u8,
    /// `tenant == tenant` unless `any_tenant`.
    tenant: u32,
    any_tenant: bool,
    /// Inclusive ranges of activity (staleness) and oldest key.
    activity: (i64, i64),
    oldest: (i64, i64),
    /// A value asked for that no row has: nothing matches.
    none: bool,
    /// No filter at all.
    open: bool,
}

impl Filter {
    fn of(index: &SummaryIndex, q: &InventoryQuery, now: Micros) -> Filter {
        let mut f = Filter {
            mask: 0,
            want: 0,
            min_rank: 0,
            tenant: 0,
            any_tenant: true,
            activity: (i64::MIN, i64::MAX),
            oldest: (i64::MIN, i64::MAX),
            none: false,
            open: true,
        };
        if let Some(p) = &q.provider {
            f.open = false;
            match index.providers.find(p) {
                Some(id) => {
                    f.mask |= 0xff << PROVIDER_SHIFT;
                    f.want |= id << PROVIDER_SHIFT;
                }
                None => f.none = true,
            }
        }
        if let Some(k) = &q.kind {
            f.open = false;
            match index.kinds.find(k) {
                Some(id) => {
                    f.mask |= KIND_BITS;
                    f.want |= id;
                }
                None => f.none = true,
            }
        }
        if let Some(t) = &q.tenant {
            f.open = false;
            match index.tenants.find(t) {
                Some(id) => (f.tenant, f.any_tenant) = (id, false),
                None => f.none = true,
            }
        }
        for (asked, bit) in [(q.has_owner, HAS_OWNER), (q.has_findings, HAS_FINDINGS)] {
            if let Some(yes) = asked {
                f.open = false;
                f.mask |= bit;
                if yes {
                    f.want |= bit;
                }
            }
        }
        if let Some(sev) = q.min_severity {
            f.open = false;
            let rank = Severity::ALL.iter().position(|x| *x == sev).unwrap_or(0);
            f.min_rank = rank as u8 + 1;
        }
        let stale_before = now - STALE_DAYS * DAY;
        if let Some(stale) = q.stale {
            f.open = false;
            f.activity = if stale {
                (i64::MIN, stale_before - 1)
            } else {
                (stale_before, i64::MAX)
            };
        }
        let (d90, d365) = (now - 90 * DAY, now - 365 * DAY);
        if let Some(age) = q.key_age {
            f.open = false;
            f.oldest = match age {
                KeyAge::NoKey => (NULL, NULL),
                KeyAge::Under90Days => (d90, i64::MAX),
                KeyAge::From90To365Days => (d365, d90 - 1),
                KeyAge::Over365Days => (NULL + 1, d365 - 1),
            };
        }
        f
    }

    #[inline]
    fn test(&self, attrs: u32, rank: u8, tenant: u32, activity: i64, oldest: i64) -> bool {
        (attrs & self.mask == self.want)
            & (rank >= self.min_rank)
            & (self.any_tenant | (tenant == self.tenant))
            & (activity >= self.activity.0)
            & (activity <= self.activity.1)
            & (oldest >= self.oldest.0)
            & (oldest <= self.oldest.1)
    }

    fn row(&self, x: &SummaryIndex, r: usize) -> bool {
        !self.none
            && self.test(
                x.attrs[r],
                x.rank[r],
                x.tenant[r],
                x.activity[r],
                x.oldest_key[r],
            )
    }

    /// Rows passing the filter, remembered per index build: two filters with the same key
    /// (time bounds as their place among the column's values) select the same rows.
    fn count(&self, x: &SummaryIndex) -> usize {
        if self.none {
            return 0;
        }
        let key = self.key(x);
        if let Some(n) = x.counts.lock().ok().and_then(|c| c.get(&key).copied()) {
            return n;
        }
        let n = self.count_rows(x);
        if let Ok(mut counts) = x.counts.lock() {
            if counts.len() >= COUNTS_KEPT {
                counts.clear();
            }
            counts.insert(key, n);
        }
        n
    }

    /// What decides the rows the filter passes: the attribute, severity and tenant tests, and
    /// each inclusive time range as the number of distinct column values below its bounds.
    fn key(&self, x: &SummaryIndex) -> [i64; 8] {
        let rank = |values: &[i64], (lo, hi): (i64, i64)| {
            (
                values.partition_point(|v| *v < lo) as i64,
                values.partition_point(|v| *v <= hi) as i64,
            )
        };
        let (a0, a1) = rank(&x.activity_values, self.activity);
        let (o0, o1) = rank(&x.oldest_values, self.oldest);
        let tenant = if self.any_tenant {
            -1
        } else {
            i64::from(self.tenant)
        };
        [
            i64::from(self.mask),
            i64::from(self.want),
            i64::from(self.min_rank),
            tenant,
            a0,
            a1,
            o0,
            o1,
        ]
    }

    /// Counts the rows passing the filter. The loop is specialised to the filters asked for,
    /// so it reads only their columns.
    fn count_rows(&self, x: &SummaryIndex) -> usize {
        match (!self.any_tenant, self.min_rank > 0) {
            (false, false) => self.count_by::<false, false>(x),
            (false, true) => self.count_by::<false, true>(x),
            (true, false) => self.count_by::<true, false>(x),
            (true, true) => self.count_by::<true, true>(x),
        }
    }

    fn count_by<const T: bool, const R: bool>(&self, x: &SummaryIndex) -> usize {
        let full = (i64::MIN, i64::MAX);
        match (self.activity != full, self.oldest != full) {
            (false, false) => self.count_with::<T, R, false, false>(x),
            (false, true) => self.count_with::<T, R, false, true>(x),
            (true, false) => self.count_with::<T, R, true, false>(x),
            (true, true) => self.count_with::<T, R, true, true>(x),
        }
    }

    /// Counts with tenant (`T`), severity (`R`), activity (`A`) and oldest-key (`O`) tests.
    fn count_with<const T: bool, const R: bool, const A: bool, const O: bool>(
        &self,
        x: &SummaryIndex,
    ) -> usize {
        let n = x.attrs.len();
        let (attrs, rank, tenant) = (&x.attrs[..n], &x.rank[..n], &x.tenant[..n]);
        let (activity, oldest) = (&x.activity[..n], &x.oldest_key[..n]);
        let mut count = 0usize;
        for i in 0..n {
            let mut ok = attrs[i] & self.mask == self.want;
            if R {
                ok &= rank[i] >= self.min_rank;
            }
            if T {
                ok &= tenant[i] == self.tenant;
            }
            if A {
                ok &= (activity[i] >= self.activity.0) & (activity[i] <= self.activity.1);
            }
            if O {
                ok &= (oldest[i] >= self.oldest.0) & (oldest[i] <= self.oldest.1);
            }
            count += usize::from(ok);
        }
        count
    }
}

/// Index of a sort in [`InventorySort::ALL`] (the index's `order` / `position` slot).
fn slot(sort: InventorySort) -> usize {
    InventorySort::ALL
        .iter()
        .position(|s| *s == sort)
        .unwrap_or(0)
}

fn opt(v: i64) -> Option<i64> {
    (v != NULL).then_some(v)
}

impl SummaryIndex {
    /// Whether row `r`'s searchable columns contain `pattern` (lowercased) as `ILIKE` does.
    fn searched(&self, r: usize, pattern: &str) -> bool {
        [&self.name, &self.identity_id, &self.unique_id, &self.owners]
            .iter()
            .any(|c| {
                c.get(r as u32)
                    .is_some_and(|text| like(&text.to_lowercase(), pattern))
            })
    }

    fn item(&self, r: usize) -> InventoryItem {
        InventoryItem {
            provider: self.provider_of(r).to_string(),
            tenant: self.tenant_of(r).to_string(),
            kind: self.kind_of(r).to_string(),
            name: self.name.str(r).to_string(),
            identity_id: self.identity_id.str(r).to_string(),
            created_at: opt(self.created[r]),
            last_used_at: opt(self.last_used[r]),
            active_keys: self.active_keys[r],
            oldest_active_key: opt(self.oldest_key[r]),
            owners: self.owners.get(r as u32).map(str::to_string),
            open_findings: self.open_findings[r],
            max_severity: self.rank[r]
                .checked_sub(1)
                .and_then(|k| SEVERITY_NAMES.get(k as usize))
                .map(|s| s.to_string()),
        }
    }

    /// The position a cursor stands for in `sort`: its own when it came from this build, else
    /// found from its key, tenant and id (the position just before the first row past it, or
    /// just after the last row before it when descending).
    fn cursor_position(&self, sort: InventorySort, descending: bool, c: &InventoryCursor) -> u32 {
        if let Some((b, p)) = c.position {
            if b == self.build_id {
                return p.clamp(0, self.len() as i64 + 1) as u32;
            }
        }
        let order = &self.order[slot(sort)];
        let cmp = |row: u32| {
            let r = row as usize;
            (
                self.sort_key(sort, r).as_str(),
                self.tenant_of(r),
                self.identity_id.str(r),
            )
                .cmp(&(c.key.as_str(), c.tenant.as_str(), c.identity_id.as_str()))
        };
        if descending {
            order.partition_point(|row| cmp(*row).is_lt()) as u32 + 1
        } else {
            order.partition_point(|row| cmp(*row).is_le()) as u32
        }
    }

    /// One page of the current snapshot (see [`Store::inventory_page`]).
    pub(crate) fn page(
        &self,
        store: &Store,
        q: &InventoryQuery,
        now: Micros,
    ) -> Result<InventoryPage> {
        let n = self.len();
        let s = slot(q.sort);
        let (order, position) = (&self.order[s], &self.position[s]);
        let limit = q.limit.unwrap_or(50).clamp(1, 1000);
        let filter = Filter::of(self, q, now);
        let search = q.search.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let from = match &q.after {
            Some(c) => self.cursor_position(q.sort, q.descending, c),
            None if q.descending => n as u32 + 1,
            None => 0,
        };
        // Positions after the cursor, in the page's direction (1-based).
        let after = |p: u32| if q.descending { p < from } else { p > from };
        let walk = || -> Box<dyn Iterator<Item = u32>> {
            if q.descending {
                Box::new((1..from.min(n as u32 + 1)).rev())
            } else {
                Box::new(from.saturating_add(1)..=n as u32)
            }
        };
        let (rows, total): (Vec<u32>, usize) = match search {
            None => {
                let total = if filter.open { n } else { filter.count(self) };
                let rows = walk()
                    .map(|p| order[p as usize - 1])
                    .filter(|r| filter.open || filter.row(self, *r as usize))
                    .take(limit + 1)
                    .collect();
                (rows, total)
            }
            Some(text) => {
                let pattern = text.to_lowercase();
                let mut holders: Vec<u32> = Vec::new();
                if !self.credential_rows(text).is_empty() {
                    for (tenant, id) in store.credential_holders(text)? {
                        holders.extend(self.row_of(&tenant, &id));
                    }
                }
                let keep = |r: u32| {
                    filter.row(self, r as usize)
                        && (holders.contains(&r) || self.searched(r as usize, &pattern))
                };
                let mut matched: Vec<u32> = match self.trigrams.candidates(&pattern) {
                    Candidates::Rows(rows) => rows
                        .iter()
                        .chain(&holders)
                        .copied()
                        .filter(|r| keep(*r))
                        .collect(),
                    Candidates::All => (0..n as u32).filter(|r| keep(*r)).collect(),
                };
                matched.sort_unstable();
                matched.dedup();
                let total = matched.len();
                let mut page: Vec<u32> = matched
                    .into_iter()
                    .filter(|r| after(position[*r as usize]))
                    .collect();
                page.sort_unstable_by_key(|r| position[*r as usize]);
                if q.descending {
                    page.reverse();
                }
                page.truncate(limit + 1);
                (page, total)
            }
        };
        let mut items: Vec<InventoryItem> = rows.iter().map(|r| self.item(*r as usize)).collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            let r = rows[limit - 1] as usize;
            Some(InventoryCursor {
                key: self.sort_key(q.sort, r),
                tenant: self.tenant_of(r).to_string(),
                identity_id: self.identity_id.str(r).to_string(),
                position: Some((self.build_id, i64::from(position[r]))),
            })
        } else {
            None
        };
        Ok(InventoryPage {
            items,
            total: total as i64,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::columns::distinct_sorted;
    use super::*;

    /// Cached counts equal fresh ones whatever `now` is, including where rows cross a time
    /// bound between two calls.
    #[test]
    fn cached_counts_follow_time_bounds() {
        let mut x = SummaryIndex::default();
        let now = 1_000 * DAY;
        for d in 0..500i64 {
            x.attrs.push(if d % 3 == 0 { HAS_OWNER } else { 0 });
            x.rank.push((d % 5) as u8);
            x.tenant.push(0);
            x.activity.push(now - d * DAY);
            x.oldest_key
                .push(if d % 7 == 0 { NULL } else { now - 2 * d * DAY });
        }
        x.activity_values = distinct_sorted(&x.activity);
        x.oldest_values = distinct_sorted(&x.oldest_key);
        let queries = [
            InventoryQuery {
                stale: Some(true),
                ..Default::default()
            },
            InventoryQuery {
                stale: Some(false),
                has_owner: Some(true),
                ..Default::default()
            },
            InventoryQuery {
                key_age: Some(KeyAge::Over365Days),
                min_severity: Some(Severity::ALL[1]),
                ..Default::default()
            },
            InventoryQuery {
                key_age: Some(KeyAge::From90To365Days),
                ..Default::default()
            },
        ];
        let mut distinct = std::collections::BTreeSet::new();
        // Times a few hours apart: some steps cross a row's bound, most do not.
        for step in 0..200i64 {
            let at = now + step * DAY / 7;
            for q in &queries {
                let f = Filter::of(&x, q, at);
                let fresh = f.count_rows(&x);
                assert_eq!(f.count(&x), fresh, "{q:?} at step {step}");
                assert_eq!(f.count(&x), fresh, "{q:?} at step {step}, cached");
                distinct.insert((format!("{q:?}"), fresh));
            }
        }
        assert!(distinct.len() > 20, "time moved rows across bounds");
        assert!(x.counts.lock().map(|c| c.len()).unwrap_or(0) > 4);
    }
}
