//! The dashboard's inventory: one page of identities under typed filters, sorted by a column
//! from a closed list, paged by keyset (sort key, tenant, identity id) rather than OFFSET so
//! page 10 000 costs what page 1 costs. Every user value is a bound parameter; the SQL text is
//! chosen only from this module's constants.

use duckdb::params;
use serde::{Deserialize, Serialize};

use super::findings::LISTED;
use super::{Result, Snapshot, Store};
use crate::rules::Severity;
use crate::time::{Micros, DAY};

/// Columns the inventory can be sorted by (the closed list the SQL text is chosen from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InventorySort {
    #[default]
    Name,
    Kind,
    Created,
    LastUsed,
    KeyAge,
    Findings,
}

impl InventorySort {
    pub const ALL: [InventorySort; 6] = [
        InventorySort::Name,
        InventorySort::Kind,
        InventorySort::Created,
        InventorySort::LastUsed,
        InventorySort::KeyAge,
        InventorySort::Findings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InventorySort::Name => "name",
            InventorySort::Kind => "kind",
            InventorySort::Created => "created",
            InventorySort::LastUsed => "last_used",
            InventorySort::KeyAge => "key_age",
            InventorySort::Findings => "findings",
        }
    }

    pub fn parse(text: &str) -> Option<InventorySort> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The sort key as text that orders like the column (numbers zero-padded, nulls first).
    pub(crate) fn key_sql(self) -> &'static str {
        match self {
            InventorySort::Name => "lower(name) || chr(0) || name",
            InventorySort::Kind => "kind || chr(0) || lower(name)",
            InventorySort::Created => "lpad(coalesce(created, 0)::VARCHAR, 20, '0')",
            InventorySort::LastUsed => "lpad(coalesce(last_used, 0)::VARCHAR, 20, '0')",
            // Older keys first when ascending: order by the key's creation time, descending age.
            InventorySort::KeyAge => {
                "lpad(coalesce(oldest_key, 9000000000000000)::VARCHAR, 20, '0')"
            }
            InventorySort::Findings => "lpad(open_findings::VARCHAR, 20, '0')",
        }
    }
}

/// Age of an identity's oldest active access key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyAge {
    /// No active access key.
    NoKey,
    Under90Days,
    From90To365Days,
    Over365Days,
}

impl KeyAge {
    pub const ALL: [KeyAge; 4] = [
        KeyAge::NoKey,
        KeyAge::Under90Days,
        KeyAge::From90To365Days,
        KeyAge::Over365Days,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyAge::NoKey => "no_key",
            KeyAge::Under90Days => "under_90_days",
            KeyAge::From90To365Days => "90_to_365_days",
            KeyAge::Over365Days => "over_365_days",
        }
    }

    pub fn parse(text: &str) -> Option<KeyAge> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub(crate) fn code(self) -> i64 {
        match self {
            KeyAge::NoKey => 0,
            KeyAge::Under90Days => 1,
            KeyAge::From90To365Days => 2,
            KeyAge::Over365Days => 3,
        }
    }
}

/// Where the next page starts: the last row's sort key, tenant and identity id, and, from a
/// page cut from the identity summary, that row's (summary build, position) as a shortcut the
/// same build may take (any other build or plan goes by key, tenant and id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryCursor {
    pub key: String,
    pub tenant: String,
    pub identity_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<(i64, i64)>,
}

/// Filters, sort and page of the dashboard inventory. `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct InventoryQuery {
    pub snapshot: Snapshot,
    /// Substring of name, ARN / id, unique id or owner (e.g. an email), or an exact
    /// credential id (an access key id).
    pub search: Option<String>,
    pub provider: Option<String>,
    pub tenant: Option<String>,
    pub kind: Option<String>,
    pub has_findings: Option<bool>,
    /// Only identities with an open finding at or above this severity.
    pub min_severity: Option<Severity>,
    /// Only identities unused (nor created) for `stale_days` (`Some(true)`), or used since.
    pub stale: Option<bool>,
    pub has_owner: Option<bool>,
    pub key_age: Option<KeyAge>,
    pub sort: InventorySort,
    pub descending: bool,
    pub after: Option<InventoryCursor>,
    /// Rows per page (1..=1000; default 50).
    pub limit: Option<usize>,
}

impl InventoryQuery {
    /// True when no filter or sort needs per-identity aggregates (credentials, findings), so a
    /// page can be cut from the identities alone.
    fn narrow(&self) -> bool {
        self.has_findings.is_none()
            && self.min_severity.is_none()
            && self.stale.is_none()
            && self.key_age.is_none()
            && matches!(
                self.sort,
                InventorySort::Name | InventorySort::Kind | InventorySort::Created
            )
    }
}

/// One identity row of the inventory page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryItem {
    pub provider: String,
    pub tenant: String,
    pub kind: String,
    pub name: String,
    pub identity_id: String,
    pub created_at: Option<Micros>,
    pub last_used_at: Option<Micros>,
    pub active_keys: i64,
    pub oldest_active_key: Option<Micros>,
    pub owners: Option<String>,
    pub open_findings: i64,
    /// Highest severity among open findings.
    pub max_severity: Option<String>,
}

/// One page of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryPage {
    pub items: Vec<InventoryItem>,
    /// Rows matching the filters (all pages).
    pub total: i64,
    /// The cursor of the next page, when there is one.
    pub next: Option<InventoryCursor>,
}

/// The snapshot's identities (`i`), credentials (`c`) and ownership (`o`); `$2` as-of, `$3` scan.
const SNAPSHOT: &str = "
    sel AS (SELECT scan_id, collector FROM collections_at(make_timestamp($2::BIGINT), $3::BIGINT)),
    i AS (SELECT t.* FROM identities t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector),
    c AS (SELECT t.* FROM credentials t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector),
    o AS (SELECT t.* FROM ownership t SEMI JOIN sel ON t.scan_id = sel.scan_id AND t.collector = sel.collector)";

/// Per-identity credential figures (over `c`, grouped by tenant and identity).
const CREDENTIAL_AGGREGATES: &str = "
    count(*) FILTER (WHERE kind = 'access_key' AND status = 'active') AS active_keys,
    min(created_at) FILTER (WHERE kind = 'access_key' AND status = 'active') AS oldest_key,
    max(last_used_at) AS last_used";

/// Filters on the identity's own columns: `$4` provider, `$5` tenant, `$6` kind.
const IDENTITY_FILTERS: &str = "($4::VARCHAR IS NULL OR i.provider = $4)
    AND ($5::VARCHAR IS NULL OR i.tenant = $5) AND ($6::VARCHAR IS NULL OR i.kind = $6)";

/// The keyset condition (`{cmp}` is `>` or `<`): after (`$15` key, `$16` tenant, `$17` id).
const CURSOR: &str = "($15::VARCHAR IS NULL OR sort_key {cmp} $15
    OR (sort_key = $15 AND (tenant {cmp} $16 OR (tenant = $16 AND identity_id {cmp} $17))))";

/// Days without use after which an identity counts as stale (CIS: 45 to 90).
pub const STALE_DAYS: i64 = 90;

pub(crate) const SEVERITY_NAMES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

impl Store {
    /// One page of identities with credential, owner and open-finding summaries, at `now`
    /// (suppressions in force, staleness and key ages are judged at `now`).
    /// Pages of the current snapshot come from the identity summary when it matches the store
    /// (see [`super::summary`]), held in memory (`super::memory`); other snapshots, and a
    /// stale summary, aggregate at request time.
    pub fn inventory_page(&self, q: &InventoryQuery, now: Micros) -> Result<InventoryPage> {
        if q.snapshot == Snapshot::Current {
            match self.summary_index(now)? {
                Some((_, Some(index))) => return index.page(self, q, now),
                Some((build, None)) => return self.inventory_page_from_summary(q, now, build),
                None => {}
            }
        }
        self.inventory_page_with(q, now, q.narrow())
    }

    /// [`Store::inventory_page`], with the plan chosen: `narrow` pages the identities first and
    /// aggregates credentials, owners and findings for the page only (possible when neither a
    /// filter nor the sort needs those aggregates); otherwise everything is aggregated first.
    pub(crate) fn inventory_page_with(
        &self,
        q: &InventoryQuery,
        now: Micros,
        narrow: bool,
    ) -> Result<InventoryPage> {
        let (cmp, dir) = if q.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let key = q.sort.key_sql();
        let sql = if narrow {
            format!(
                "WITH {LISTED}, {SNAPSHOT},
            base AS (
                SELECT i.provider, i.tenant, i.kind, i.name, i.identity_id,
                       epoch_us(i.created_at) AS created, i.last_used_at AS own_last_used
                FROM i
                WHERE {IDENTITY_FILTERS}
                  AND ($7::VARCHAR IS NULL OR i.name ILIKE $7 OR i.identity_id ILIKE $7 OR i.unique_id ILIKE $7
                       OR EXISTS (SELECT 1 FROM o WHERE o.tenant = i.tenant AND o.identity_id = i.identity_id
                                                     AND o.owner ILIKE $7)
                       OR EXISTS (SELECT 1 FROM c WHERE c.tenant = i.tenant AND c.identity_id = i.identity_id
                                                     AND c.credential_id = $8::VARCHAR))
                  AND ($9::BOOLEAN IS NULL OR $9 = EXISTS (SELECT 1 FROM o WHERE o.tenant = i.tenant
                                                                          AND o.identity_id = i.identity_id))
                  AND $10::BOOLEAN IS NULL AND $11::BIGINT IS NULL AND $12::BOOLEAN IS NULL
                  AND $13::BIGINT IS NOT NULL AND $14::BIGINT IS NULL),
            keyed AS (SELECT *, {key} AS sort_key FROM base),
            page AS (SELECT * FROM keyed WHERE {CURSOR} ORDER BY sort_key {dir}, tenant {dir}, identity_id {dir} LIMIT $18),
            cs AS (SELECT c.tenant, c.identity_id, {CREDENTIAL_AGGREGATES}
                   FROM c SEMI JOIN page p ON p.tenant = c.tenant AND p.identity_id = c.identity_id GROUP BY ALL),
            os AS (SELECT o.tenant, o.identity_id, string_agg(DISTINCT owner, ', ' ORDER BY owner) AS owners
                   FROM o SEMI JOIN page p ON p.tenant = o.tenant AND p.identity_id = o.identity_id GROUP BY ALL),
            fs AS (SELECT l.tenant, l.identity_id, count(*) AS open_findings, max(rank) AS max_rank
                   FROM listed l SEMI JOIN page p ON p.tenant = l.tenant AND p.identity_id = l.identity_id
                   WHERE l.shown = 'open' GROUP BY ALL)
            SELECT p.provider, p.tenant, p.kind, p.name, p.identity_id, p.created,
                   epoch_us(greatest(p.own_last_used, cs.last_used)), coalesce(cs.active_keys, 0),
                   epoch_us(cs.oldest_key), os.owners, coalesce(fs.open_findings, 0), fs.max_rank, p.sort_key,
                   (SELECT count(*) FROM base) AS total
            FROM page p LEFT JOIN cs ON cs.tenant = p.tenant AND cs.identity_id = p.identity_id
                        LEFT JOIN os ON os.tenant = p.tenant AND os.identity_id = p.identity_id
                        LEFT JOIN fs ON fs.tenant = p.tenant AND fs.identity_id = p.identity_id
            ORDER BY p.sort_key {dir}, p.tenant {dir}, p.identity_id {dir}"
            )
        } else {
            format!(
                "WITH {LISTED}, {SNAPSHOT},
            cs AS (SELECT tenant, identity_id, {CREDENTIAL_AGGREGATES}, list(credential_id) AS credential_ids
                   FROM c WHERE identity_id IS NOT NULL GROUP BY ALL),
            os AS (SELECT tenant, identity_id, string_agg(DISTINCT owner, ', ' ORDER BY owner) AS owners
                   FROM o GROUP BY ALL),
            fs AS (SELECT tenant, identity_id, count(*) AS open_findings, max(rank) AS max_rank
                   FROM listed WHERE shown = 'open' AND identity_id IS NOT NULL GROUP BY ALL),
            base AS (
                SELECT i.provider, i.tenant, i.kind, i.name, i.identity_id,
                       epoch_us(i.created_at) AS created,
                       epoch_us(greatest(i.last_used_at, cs.last_used)) AS last_used,
                       coalesce(cs.active_keys, 0) AS active_keys,
                       epoch_us(cs.oldest_key) AS oldest_key, os.owners,
                       coalesce(fs.open_findings, 0) AS open_findings, fs.max_rank
                FROM i LEFT JOIN cs ON cs.tenant = i.tenant AND cs.identity_id = i.identity_id
                       LEFT JOIN os ON os.tenant = i.tenant AND os.identity_id = i.identity_id
                       LEFT JOIN fs ON fs.tenant = i.tenant AND fs.identity_id = i.identity_id
                WHERE {IDENTITY_FILTERS}
                  AND ($7::VARCHAR IS NULL OR i.name ILIKE $7 OR i.identity_id ILIKE $7
                       OR i.unique_id ILIKE $7 OR os.owners ILIKE $7
                       OR list_contains(cs.credential_ids, $8::VARCHAR))
                  AND ($9::BOOLEAN IS NULL OR $9 = (os.owners IS NOT NULL))
                  AND ($10::BOOLEAN IS NULL OR $10 = (fs.open_findings IS NOT NULL))
                  AND ($11::BIGINT IS NULL OR fs.max_rank >= $11)
                  AND ($12::BOOLEAN IS NULL OR $12 = (coalesce(greatest(i.last_used_at, cs.last_used), i.created_at,
                                                             make_timestamp(0)) < make_timestamp($13::BIGINT)))
                  AND ($14::BIGINT IS NULL
                       OR ($14 = 0 AND cs.oldest_key IS NULL)
                       OR ($14 = 1 AND cs.oldest_key >= make_timestamp($1::BIGINT - 90 * {DAY}))
                       OR ($14 = 2 AND cs.oldest_key < make_timestamp($1::BIGINT - 90 * {DAY})
                                  AND cs.oldest_key >= make_timestamp($1::BIGINT - 365 * {DAY}))
                       OR ($14 = 3 AND cs.oldest_key < make_timestamp($1::BIGINT - 365 * {DAY})))),
            keyed AS (SELECT *, {key} AS sort_key FROM base)
            SELECT provider, tenant, kind, name, identity_id, created, last_used, active_keys,
                   oldest_key, owners, open_findings, max_rank, sort_key,
                   (SELECT count(*) FROM base) AS total
            FROM keyed
            WHERE {CURSOR}
            ORDER BY sort_key {dir}, tenant {dir}, identity_id {dir}
            LIMIT $18"
            )
        };
        let cmp_sql = |text: String| text.replace("{cmp}", cmp);
        let sql = cmp_sql(sql);
        let limit = q.limit.unwrap_or(50).clamp(1, 1000);
        let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let rank = q
            .min_severity
            .map(|s| Severity::ALL.iter().position(|x| *x == s).unwrap_or(0) as i64);
        let (as_of, scan) = (q.snapshot.as_of(), q.snapshot.scan());
        let cursor = q.after.as_ref();
        let mut stmt = self.conn().prepare(&sql)?;
        let mut total = 0i64;
        let mut keys = Vec::new();
        let rows = stmt.query_map(
            params![
                now,
                as_of,
                scan,
                q.provider,
                q.tenant,
                q.kind,
                search.map(|s| format!("%{s}%")),
                search,
                q.has_owner,
                q.has_findings,
                rank,
                q.stale,
                now - STALE_DAYS * DAY,
                q.key_age.map(KeyAge::code),
                cursor.map(|c| c.key.as_str()),
                cursor.map(|c| c.tenant.as_str()),
                cursor.map(|c| c.identity_id.as_str()),
                (limit + 1) as i64
            ],
            |r| {
                Ok((
                    inventory_item(r)?,
                    r.get::<_, String>(12)?,
                    r.get::<_, i64>(13)?,
                ))
            },
        )?;
        let mut items = Vec::new();
        for row in rows {
            let (item, key, t) = row?;
            total = t;
            items.push(item);
            keys.push(key);
        }
        let next = if items.len() > limit {
            items.truncate(limit);
            let last = &items[limit - 1];
            Some(InventoryCursor {
                key: keys[limit - 1].clone(),
                tenant: last.tenant.clone(),
                identity_id: last.identity_id.clone(),
                position: None,
            })
        } else {
            None
        };
        if items.is_empty() && total == 0 && q.after.is_some() {
            // A cursor past the end: report the filter's total anyway.
            total = self
                .inventory_page(
                    &InventoryQuery {
                        after: None,
                        limit: Some(1),
                        ..q.clone()
                    },
                    now,
                )?
                .total;
        }
        Ok(InventoryPage { items, total, next })
    }
}

/// An inventory row from columns 0-11 of a page query (provider, tenant, kind, name, identity
/// id, created, last used, active keys, oldest active key, owners, open findings, worst
/// severity rank): the layout both the summary and the aggregating plans select.
pub(super) fn inventory_item(r: &duckdb::Row<'_>) -> duckdb::Result<InventoryItem> {
    let rank: Option<i64> = r.get(11)?;
    Ok(InventoryItem {
        provider: r.get(0)?,
        tenant: r.get(1)?,
        kind: r.get(2)?,
        name: r.get(3)?,
        identity_id: r.get(4)?,
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
        active_keys: r.get(7)?,
        oldest_active_key: r.get(8)?,
        owners: r.get(9)?,
        open_findings: r.get(10)?,
        max_severity: rank
            .and_then(|k| SEVERITY_NAMES.get(k as usize))
            .map(|s| s.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_pages_cover_every_identity_once_in_order() {
        let mut store = Store::open_in_memory().expect("store");
        let now = 1_800_000_000_000_000;
        store
            .generate_synthetic(230, 400, 500, now)
            .expect("synthetic");
        for sort in InventorySort::ALL {
            for descending in [false, true] {
                let mut q = InventoryQuery {
                    sort,
                    descending,
                    limit: Some(40),
                    ..Default::default()
                };
                let mut seen = Vec::new();
                loop {
                    let page = store.inventory_page(&q, now).expect("page");
                    assert_eq!(page.total, 230);
                    seen.extend(page.items.iter().map(|i| i.identity_id.clone()));
                    match page.next {
                        Some(c) => q.after = Some(c),
                        None => break,
                    }
                }
                let mut unique = seen.clone();
                unique.sort();
                unique.dedup();
                assert_eq!(
                    (seen.len(), unique.len()),
                    (230, 230),
                    "{sort:?} {descending}"
                );
            }
        }
        let by_name = store
            .inventory_page(&InventoryQuery::default(), now)
            .expect("page");
        let names: Vec<_> = by_name
            .items
            .iter()
            .map(|i| i.name.to_lowercase())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        let hostile = store
            .inventory_page(
                &InventoryQuery {
                    search: Some("x' OR 1=1 --".into()),
                    ..Default::default()
                },
                now,
            )
            .expect("page");
        assert_eq!(hostile.total, 0);
        let one = store
            .inventory_page(
                &InventoryQuery {
                    search: Some("svc-17".into()),
                    kind: Some("user".into()),
                    ..Default::default()
                },
                now,
            )
            .expect("page");
        assert!(
            one.items.iter().all(|i| i.name.contains("svc-17")),
            "{one:?}"
        );
        assert!(one.total >= 1);
    }

    #[test]
    fn narrow_and_wide_plans_agree() {
        let mut store = Store::open_in_memory().expect("store");
        let now = 1_800_000_000_000_000;
        store
            .generate_synthetic(180, 300, 300, now)
            .expect("synthetic");
        let queries = [
            InventoryQuery::default(),
            InventoryQuery {
                sort: InventorySort::Created,
                descending: true,
                ..Default::default()
            },
            InventoryQuery {
                sort: InventorySort::Kind,
                has_owner: Some(false),
                ..Default::default()
            },
            InventoryQuery {
                search: Some("svc-1".into()),
                kind: Some("user".into()),
                ..Default::default()
            },
        ];
        for base in queries {
            assert!(base.narrow());
            let mut pages = [base.clone(), base.clone()];
            for p in &mut pages {
                p.limit = Some(25);
            }
            loop {
                let narrow = store
                    .inventory_page_with(&pages[0], now, true)
                    .expect("narrow");
                let wide = store
                    .inventory_page_with(&pages[1], now, false)
                    .expect("wide");
                assert_eq!(narrow, wide, "{base:?}");
                match narrow.next {
                    Some(c) => {
                        pages[0].after = Some(c.clone());
                        pages[1].after = Some(c);
                    }
                    None => break,
                }
            }
        }
        // A credential id search finds its holder on both plans.
        let holder = store
            .inventory_page(
                &InventoryQuery {
                    sort: InventorySort::KeyAge,
                    limit: Some(1000),
                    ..Default::default()
                },
                now,
            )
            .expect("page")
            .items
            .into_iter()
            .find(|i| i.active_keys > 0)
            .expect("an identity with a key");
        let detail = store
            .identity_detail(Snapshot::Current, &holder.tenant, &holder.identity_id, now)
            .expect("detail")
            .expect("exists");
        let key = detail.credentials[0].credential_id.clone();
        let q = InventoryQuery {
            search: Some(key),
            ..Default::default()
        };
        for narrow in [true, false] {
            let page = store.inventory_page_with(&q, now, narrow).expect("page");
            assert_eq!(page.items.len(), 1);
            assert_eq!(page.items[0].identity_id, holder.identity_id);
        }
    }
}
