//! The summary path agrees with the aggregate-first path: every sort and filter, after
//! findings and suppressions change, after a scan removes an identity and after a collector
//! fails; a stale summary is never used. The in-memory index agrees with the summary read from
//! the store on every sort, direction and filter (and their combinations), searches included.

use super::super::activity::{Activity, LATEST};
use super::super::identity::{IdentityDetail, HINT_MISSES};
use super::super::inventory_page::{InventoryPage, InventoryQuery, InventorySort, KeyAge};
use super::super::memory::detail::MEMORY_PAGES;
use super::super::{CollectorRecord, CollectorStatus, NewSuppression, Snapshot, Store};
use crate::model::{CredentialRow, IdentityRow, OwnershipRow, RowSet, Stamp, Table};
use crate::rules::Severity;
use crate::time::DAY;
use arrow::array::{Array, StringArray};

const NOW: i64 = 1_800_000_000_000_000;

/// Every page of `q`, each read by `page`, following the cursors.
fn pages_of(
    q: &InventoryQuery,
    mut page: impl FnMut(&InventoryQuery) -> InventoryPage,
) -> Vec<InventoryPage> {
    let mut q = q.clone();
    let mut out = Vec::new();
    loop {
        let p = page(&q);
        let next = p.next.clone();
        out.push(p);
        match next {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
}

/// Every page of `q`, from the in-memory index of the summary.
fn memory_pages(store: &Store, q: &InventoryQuery) -> Vec<InventoryPage> {
    pages_of(q, |q| {
        let (_, index) = store.summary_index(NOW).expect("index").expect("fresh");
        index
            .expect("loaded")
            .page(store, q, NOW)
            .expect("memory page")
    })
}

/// Queries for the in-memory index: every sort both ways alone and under each filter, and
/// filters combined, searches with wildcards, case and credential ids.
fn memory_queries(credential: &str) -> Vec<InventoryQuery> {
    let base = InventoryQuery {
        limit: Some(37),
        ..Default::default()
    };
    let mut filters = vec![
        base.clone(),
        InventoryQuery {
            has_findings: Some(true),
            ..base.clone()
        },
        InventoryQuery {
            has_findings: Some(false),
            ..base.clone()
        },
        InventoryQuery {
            has_owner: Some(true),
            ..base.clone()
        },
        InventoryQuery {
            has_owner: Some(false),
            kind: Some("user".into()),
            ..base.clone()
        },
        InventoryQuery {
            kind: Some("role".into()),
            provider: Some("aws".into()),
            ..base.clone()
        },
        InventoryQuery {
            kind: Some("nothing".into()),
            ..base.clone()
        },
        InventoryQuery {
            tenant: Some("100000000001".into()),
            stale: Some(false),
            ..base.clone()
        },
        InventoryQuery {
            tenant: Some("2".into()),
            ..base.clone()
        },
        InventoryQuery {
            stale: Some(true),
            min_severity: Some(Severity::Low),
            ..base.clone()
        },
        InventoryQuery {
            min_severity: Some(Severity::High),
            has_findings: Some(true),
            ..base.clone()
        },
        InventoryQuery {
            min_severity: Some(Severity::Critical),
            ..base.clone()
        },
    ];
    for key_age in KeyAge::ALL {
        filters.push(InventoryQuery {
            key_age: Some(key_age),
            ..base.clone()
        });
    }
    for search in [
        "svc-1",
        "SVC-1",
        "svc_1",
        "s%9",
        "%",
        "_",
        "\\",
        "vc-",
        "app-2",
        "aroa",
        "team-1",
        "x' OR 1=1 --",
        "   ",
        "zzz",
        credential,
    ] {
        filters.push(InventoryQuery {
            search: Some(search.into()),
            ..base.clone()
        });
    }
    filters.push(InventoryQuery {
        search: Some("svc".into()),
        has_owner: Some(true),
        key_age: Some(KeyAge::Over365Days),
        ..base.clone()
    });
    let mut out = Vec::new();
    for f in filters {
        // Every sort for the filters; two for searches (few rows each).
        let sorts: &[InventorySort] = if f.search.is_some() {
            &[InventorySort::Name, InventorySort::LastUsed]
        } else {
            &InventorySort::ALL
        };
        for sort in sorts {
            for descending in [false, true] {
                out.push(InventoryQuery {
                    sort: *sort,
                    descending,
                    ..f.clone()
                });
            }
        }
    }
    out
}

/// The in-memory index gives the rows, totals and cursors the store's summary gives.
fn assert_memory_agrees(store: &Store) {
    let credential: String = store
        .conn()
        .query_row(
            "SELECT min(credential_id) FROM credential_lookup",
            [],
            |r| r.get::<_, Option<String>>(0),
        )
        .expect("credential")
        .unwrap_or_default();
    for q in memory_queries(&credential) {
        let memory = memory_pages(store, &q);
        let stored = all_pages(store, &q, true);
        assert_eq!(memory.len(), stored.len(), "{q:?}");
        for (n, (m, s)) in memory.iter().zip(&stored).enumerate() {
            assert!(m == s, "page {n} of {q:?}:\n{m:?}\n{s:?}");
        }
        // A cursor of another build (no position) continues at the same row.
        if let Some(mut cursor) = stored[0].next.clone() {
            cursor.position = None;
            let q2 = InventoryQuery {
                after: Some(cursor),
                ..q.clone()
            };
            let (_, index) = store.summary_index(NOW).expect("index").expect("fresh");
            let page = index.expect("loaded").page(store, &q2, NOW).expect("page");
            assert_eq!(page.items, stored[1].items, "{q:?}");
        }
    }
}

/// Every page of `q`, from the summary (`true`) or aggregated at request time.
fn all_pages(store: &Store, q: &InventoryQuery, summary: bool) -> Vec<InventoryPage> {
    pages_of(q, |q| {
        if summary {
            let build = store.summary_build(NOW).expect("build").expect("fresh");
            store
                .inventory_page_from_summary(q, NOW, build)
                .expect("summary page")
        } else {
            store
                .inventory_page_with(q, NOW, false)
                .expect("aggregated page")
        }
    })
}

/// Every sort both ways and every filter (`all`), or the ones open findings decide.
fn queries(all: bool) -> Vec<InventoryQuery> {
    let mut out = Vec::new();
    if !all {
        return vec![
            InventoryQuery {
                sort: InventorySort::Findings,
                descending: true,
                limit: Some(70),
                ..Default::default()
            },
            InventoryQuery {
                has_findings: Some(true),
                min_severity: Some(Severity::Medium),
                limit: Some(45),
                ..Default::default()
            },
        ];
    }
    for sort in InventorySort::ALL {
        for descending in [false, true] {
            out.push(InventoryQuery {
                sort,
                descending,
                limit: Some(70),
                ..Default::default()
            });
        }
    }
    let base = InventoryQuery {
        limit: Some(45),
        ..Default::default()
    };
    out.extend([
        InventoryQuery {
            has_findings: Some(true),
            min_severity: Some(Severity::High),
            ..base.clone()
        },
        InventoryQuery {
            has_findings: Some(false),
            sort: InventorySort::Findings,
            descending: true,
            ..base.clone()
        },
        InventoryQuery {
            min_severity: Some(Severity::Low),
            sort: InventorySort::LastUsed,
            ..base.clone()
        },
        InventoryQuery {
            stale: Some(true),
            ..base.clone()
        },
        InventoryQuery {
            stale: Some(false),
            sort: InventorySort::Created,
            ..base.clone()
        },
        InventoryQuery {
            has_owner: Some(false),
            kind: Some("user".into()),
            ..base.clone()
        },
        InventoryQuery {
            has_owner: Some(true),
            sort: InventorySort::Kind,
            ..base.clone()
        },
        InventoryQuery {
            search: Some("svc-1".into()),
            ..base.clone()
        },
        InventoryQuery {
            search: Some("x' OR 1=1 --".into()),
            ..base.clone()
        },
    ]);
    for key_age in KeyAge::ALL {
        out.push(InventoryQuery {
            key_age: Some(key_age),
            sort: InventorySort::KeyAge,
            ..base.clone()
        });
    }
    out
}

/// Every identity page of the current snapshot.
fn details(store: &Store) -> Vec<Option<IdentityDetail>> {
    let mut out = Vec::new();
    for b in store
        .table_rows(Table::Identities, Snapshot::Current)
        .expect("rows")
    {
        let col = |name: &str| {
            b.column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
                .expect("utf8")
        };
        let (tenants, ids) = (col("tenant"), col("identity_id"));
        for n in 0..b.num_rows().min(40) {
            out.push(
                store
                    .identity_detail(Snapshot::Current, tenants.value(n), ids.value(n), NOW)
                    .expect("detail"),
            );
        }
    }
    out.push(
        store
            .identity_detail(Snapshot::Current, "1", "arn:aws:iam::1:user/nobody", NOW)
            .expect("detail"),
    );
    out
}

/// The activity of every page's identity (`None` for pages of nobody).
fn activities(store: &Store, details: &[Option<IdentityDetail>]) -> Vec<Option<Activity>> {
    details
        .iter()
        .flatten()
        .map(|d| {
            let creds: Vec<String> = d
                .credentials
                .iter()
                .map(|c| c.credential_id.clone())
                .collect();
            let a = &d.attributes;
            store
                .identity_activity(&a.tenant, &a.identity_id, &creds, LATEST, NOW)
                .expect("activity")
        })
        .collect()
}

/// The identity pages read at request time, through the summary's row ids and from memory
/// are the same. The summary must be stale when called; it is fresh after.
fn assert_pages_agree(store: &mut Store, all: bool) -> Vec<Option<IdentityDetail>> {
    assert_eq!(store.summary_build(NOW).expect("build"), None);
    let slow_details = details(store);
    store.refresh_identity_summary(NOW).expect("refresh");
    if all {
        assert_memory_agrees(store);
    }
    store.forget_detail_index();
    HINT_MISSES.with(|m| m.set(0));
    let hinted = details(store);
    for (h, s) in hinted.iter().zip(&slow_details) {
        assert!(h == s, "hinted page differs:\n{h:#?}\n{s:#?}");
    }
    assert_eq!(hinted.len(), slow_details.len());
    assert_eq!(
        HINT_MISSES.with(|m| m.get()),
        0,
        "a row-id hint was not used"
    );
    let slow_activity = activities(store, &slow_details);
    // The in-memory pages give the same identity pages, without reading the store.
    assert!(store.warm_detail_index().expect("warm"));
    MEMORY_PAGES.with(|m| m.set(0));
    assert_eq!(activities(store, &slow_details), slow_activity);
    assert_eq!(
        MEMORY_PAGES.with(|m| m.get()),
        slow_activity.len(),
        "every activity from memory"
    );
    MEMORY_PAGES.with(|m| m.set(0));
    let memory = details(store);
    let served = MEMORY_PAGES.with(|m| m.get());
    for (m, s) in memory.iter().zip(&slow_details) {
        assert!(m == s, "in-memory page differs:\n{m:#?}\n{s:#?}");
    }
    assert_eq!(memory.len(), slow_details.len());
    let complex = store
        .conn()
        .query_row(
            "SELECT count(*) FROM suppressions WHERE revoked_at IS NULL AND resource LIKE '%[%'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("count");
    if complex == 0 {
        assert_eq!(served, memory.len(), "every page from memory");
    } else {
        assert_eq!(served, 0, "GLOB classes are judged by the store");
    }
    slow_details
}

/// Both paths give the same rows, totals and cursors for every query, and the same
/// identity pages. The summary must be stale when called.
fn assert_paths_agree(store: &mut Store, all: bool) {
    let slow_details = assert_pages_agree(store, all);
    assert!(slow_details.iter().any(|d| d
        .as_ref()
        .is_some_and(|d| !d.findings.is_empty() && !d.credentials.is_empty())));
    for q in queries(all) {
        let fast = all_pages(store, &q, true);
        let slow = all_pages(store, &q, false);
        assert_eq!(fast.len(), slow.len(), "{q:?}");
        for (f, s) in fast.iter().zip(&slow) {
            assert_eq!((&f.items, f.total), (&s.items, s.total), "{q:?}");
            let key = |p: &InventoryPage| {
                p.next
                    .as_ref()
                    .map(|c| (c.key.clone(), c.tenant.clone(), c.identity_id.clone()))
            };
            assert_eq!(key(f), key(s), "{q:?}");
        }
        // A cursor from the other path (or another build) continues at the same row.
        if let Some(cursor) = slow[0].next.clone() {
            let build = store.summary_build(NOW).expect("build").expect("fresh");
            let q2 = InventoryQuery {
                after: Some(cursor),
                ..q.clone()
            };
            let page = store
                .inventory_page_from_summary(&q2, NOW, build)
                .expect("page");
            assert_eq!(page.items, slow[1].items, "{q:?}");
        }
    }
}

/// Log events: by name (every third identity), by one of its keys (60 of them, some
/// repeating the name match), as the role behind a session (every fifth role), and in another
/// tenant; more than a page's worth for one identity.
fn add_events(store: &Store) {
    store
        .conn()
        .execute_batch(
            "INSERT INTO events (scan_id, collector, provider, tenant, event_id, event_time,
                    source_format, action, actor_id, credential_id, session_issuer, chain,
                    outcome, error_code, source_ip, raw_ref)
             SELECT 0, 'ingest:0', 'aws', tenant, 'n-' || n, make_timestamp(1000000 * n),
                    'cloudtrail', 'List' || (n % 4), identity_id, NULL, NULL, [], 'success', NULL,
                    '198.51.100.' || (n % 200), 'f:' || n
             FROM (SELECT tenant, identity_id, row_number() OVER (ORDER BY identity_id) AS n
                   FROM identities) WHERE n % 3 = 0;
             INSERT INTO events (scan_id, collector, provider, tenant, event_id, event_time,
                    source_format, action, actor_id, credential_id, session_issuer, chain,
                    outcome, error_code, raw_ref)
             SELECT 0, 'ingest:0', 'aws', tenant, 'k-' || n || '-' || r, make_timestamp(1000000 * (n + r)),
                    'cloudtrail', 'Get' || r, CASE WHEN r = 0 THEN identity_id END, credential_id, NULL, [],
                    CASE WHEN r % 7 = 3 THEN 'failure' ELSE 'success' END,
                    CASE WHEN r % 7 = 3 THEN 'AccessDenied' END, 'k:' || n
             FROM (SELECT tenant, identity_id, credential_id, row_number() OVER (ORDER BY credential_id) AS n
                   FROM credentials WHERE identity_id IS NOT NULL) c, range(CASE WHEN n = 1 THEN 60 ELSE 2 END) t(r)
             WHERE n <= 60;
             INSERT INTO events (scan_id, collector, provider, tenant, event_id, event_time,
                    source_format, action, actor_id, credential_id, session_issuer, chain,
                    outcome, raw_ref)
             SELECT 0, 'ingest:0', 'aws', tenant, 's-' || n, make_timestamp(1000000 * n + 5),
                    'cloudtrail', 'PutObject', 'arn:aws:sts::x:assumed-role/r/s', 'ASIA' || n,
                    identity_id, [], 'success', 's:' || n
             FROM (SELECT tenant, identity_id, row_number() OVER (ORDER BY identity_id) AS n
                   FROM identities WHERE kind = 'role') WHERE n % 5 = 0;
             INSERT INTO events (scan_id, collector, provider, tenant, event_id, event_time,
                    source_format, action, actor_id, credential_id, session_issuer, chain,
                    outcome, raw_ref)
             SELECT 0, 'ingest:0', 'aws', 'other', 'o-' || n, make_timestamp(1000000 * n),
                    'cloudtrail', 'Elsewhere', identity_id, NULL, NULL, [], 'success', 'o:' || n
             FROM (SELECT identity_id, row_number() OVER (ORDER BY identity_id) AS n FROM identities)
             WHERE n % 4 = 0;",
        )
        .expect("events");
    store.forget_events_check();
    store.summary_touched();
}

/// Findings on every other identity (one in five resolved), severities in turn.
fn add_findings(store: &Store, evaluation: i64) {
    store
        .conn()
        .execute_batch(&format!(
            "INSERT INTO findings
             SELECT 'F-' || {evaluation} || '-' || n || '-' || k, 'R' || ((n + k) % 3), 'NHI1',
                    ['info', 'low', 'medium', 'high', 'critical'][(n * 7 + k) % 5 + 1], 'title', provider,
                    tenant, identity_id, identity_id, 'message', NULL,
                    CASE WHEN (n + k) % 5 = 0 THEN 'resolved' ELSE 'open' END,
                    make_timestamp(1), make_timestamp(1), NULL, {evaluation}, {evaluation}
             FROM (SELECT provider, tenant, identity_id, row_number() OVER (ORDER BY identity_id) AS n
                   FROM identities) i, range(2) r(k)
             WHERE n % 2 = 0 OR k = 0 AND n % 3 = 0;
             INSERT INTO findings
             SELECT 'G-' || {evaluation} || '-' || n, 'R9', 'NHI5', 'high', 'title', provider, tenant,
                    CASE WHEN n % 2 = 0 THEN identity_id ELSE next_id END,
                    CASE WHEN n % 2 = 0 THEN NULL ELSE identity_id END, 'message ' || n, NULL, 'open',
                    make_timestamp(1), make_timestamp(1), NULL, {evaluation}, {evaluation}
             FROM (SELECT provider, tenant, identity_id, row_number() OVER (ORDER BY identity_id) AS n,
                          lead(identity_id) OVER (ORDER BY identity_id) AS next_id
                   FROM identities) i
             WHERE n % 7 = 1 AND next_id IS NOT NULL;
             INSERT INTO evaluations VALUES ({evaluation}, make_timestamp(1), 1, 0, 0, 0, 0, 0, 'test', NULL);"
        ))
        .expect("findings");
    // As the store's own writers do: the in-memory views recheck the store.
    store.summary_touched();
}

#[test]
fn summary_agrees_with_aggregates_on_a_synthetic_estate() {
    let mut store = Store::open_in_memory().expect("store");
    store
        .generate_synthetic(120, 200, 200, NOW)
        .expect("synthetic");
    add_findings(&store, 1);
    add_events(&store);
    assert_paths_agree(&mut store, true);
    // The identity page reads through the summary's row ids.
    let first = store
        .inventory_page(&InventoryQuery::default(), NOW)
        .expect("page")
        .items
        .remove(0);
    let hints = store
        .row_hints(Snapshot::Current, &first.tenant, &first.identity_id, NOW)
        .expect("hints")
        .expect("fresh")
        .expect("current");
    assert_eq!(hints.identity.len(), 1);
    assert!(!hints.grant.is_empty());
    // A suppression makes the summary stale until rebuilt; expiring ones are judged at `now`.
    store
        .suppress(
            &NewSuppression {
                rule_id: Some("R1".into()),
                resource: Some("*".into()),
                reason: "accepted".into(),
                author: "test".into(),
                expires_at: Some(NOW + DAY),
                ..Default::default()
            },
            "cli",
            NOW,
        )
        .expect("suppress");
    assert_eq!(store.summary_build(NOW).expect("build"), None);
    assert_paths_agree(&mut store, false);
    assert!(store.summary_build(NOW + 2 * DAY).expect("build").is_none());
    // One finding by id, and resource patterns with `?` (judged in memory) ...
    let some_finding: String = store
        .conn()
        .query_row(
            "SELECT min(finding_id) FROM findings WHERE status = 'open' AND rule_id = 'R2'",
            [],
            |r| r.get(0),
        )
        .expect("finding");
    for (finding, rule, resource) in [
        (Some(some_finding), None, None),
        (None, Some("R9"), Some("*?1*")),
        (None, Some("*"), Some("arn:aws:iam::*:role/*")),
    ] {
        store
            .suppress(
                &NewSuppression {
                    finding_id: finding,
                    rule_id: rule.map(str::to_string),
                    resource: resource.map(str::to_string),
                    reason: "accepted".into(),
                    author: "test".into(),
                    ..Default::default()
                },
                "cli",
                NOW,
            )
            .expect("suppress");
    }
    assert_pages_agree(&mut store, false);
    // ... and a GLOB class, which only the store judges.
    store
        .suppress(
            &NewSuppression {
                rule_id: Some("R0".into()),
                resource: Some("*[0-4]".into()),
                reason: "accepted".into(),
                author: "test".into(),
                ..Default::default()
            },
            "cli",
            NOW,
        )
        .expect("suppress");
    assert_pages_agree(&mut store, false);
    // A new evaluation's findings make it stale too.
    add_findings(&store, 2);
    assert_eq!(store.summary_build(NOW).expect("build"), None);
    assert_paths_agree(&mut store, false);
}

fn user(id: &str, created: i64) -> IdentityRow {
    IdentityRow {
        identity_id: format!("arn:aws:iam::1:user/{id}"),
        name: id.into(),
        kind: "user".into(),
        created_at: Some(created),
        ..Default::default()
    }
}

fn access_key(id: &str, holder: &str, created: i64) -> CredentialRow {
    CredentialRow {
        credential_id: id.into(),
        identity_id: Some(format!("arn:aws:iam::1:user/{holder}")),
        kind: "access_key".into(),
        status: "active".into(),
        created_at: Some(created),
        last_used_at: Some(created + DAY),
        ..Default::default()
    }
}

/// One scan of source `aws:1`: `(collector, Some(rows))` succeeded, `(collector, None)` failed.
fn scan(store: &mut Store, at: i64, parts: Vec<(&str, Option<RowSet>)>) {
    let id = store.begin_scan("aws:1", "aws", "1", at).expect("begin");
    for (collector, rows) in parts {
        let ok = rows.is_some();
        let tables = rows
            .as_ref()
            .map(|r| r.table_names().into_iter().map(str::to_string).collect())
            .unwrap_or_default();
        if let Some(rows) = rows {
            let stamp = Stamp {
                scan_id: id,
                collector: collector.into(),
                provider: "aws".into(),
                tenant: "1".into(),
            };
            store.write_collection(&stamp, &rows).expect("write");
        }
        let record = CollectorRecord {
            collector: collector.into(),
            status: if ok {
                CollectorStatus::Ok
            } else {
                CollectorStatus::Failed
            },
            items: 0,
            api_calls: 0,
            duration_ms: 0,
            error: (!ok).then(|| "AccessDenied".into()),
            tables,
        };
        store.record_collector(id, &record).expect("record");
    }
    store.finish_scan(id, at + 1, None, None).expect("finish");
}

#[test]
fn summary_follows_scans_that_remove_identities_or_fail() {
    let mut store = Store::open_in_memory().expect("store");
    let t0 = NOW - 400 * DAY;
    let users: Vec<IdentityRow> = (0..40)
        .map(|n| user(&format!("u{n}"), t0 + n * DAY))
        .collect();
    let keys: Vec<CredentialRow> = (0..40)
        .filter(|n| n % 3 != 0)
        .map(|n| access_key(&format!("AKIA{n:04}"), &format!("u{n}"), t0 + n * 10 * DAY))
        .collect();
    let owners: Vec<OwnershipRow> = (0..40)
        .filter(|n| n % 4 == 0)
        .map(|n| OwnershipRow {
            identity_id: format!("arn:aws:iam::1:user/u{n}"),
            owner: format!("team-{}@example.com", n % 3),
            source: "tag:owner".into(),
            evidence: None,
        })
        .collect();
    scan(
        &mut store,
        t0 + 100 * DAY,
        vec![
            (
                "users",
                Some(RowSet {
                    identities: users.clone(),
                    ownership: owners.clone(),
                    ..Default::default()
                }),
            ),
            (
                "keys",
                Some(RowSet {
                    credentials: keys.clone(),
                    ..Default::default()
                }),
            ),
        ],
    );
    add_findings(&store, 1);
    assert_paths_agree(&mut store, true);
    // A second scan: u5 is gone (its collector succeeded), the keys collector failed.
    scan(
        &mut store,
        t0 + 200 * DAY,
        vec![
            (
                "users",
                Some(RowSet {
                    identities: users.iter().filter(|u| u.name != "u5").cloned().collect(),
                    ownership: owners,
                    ..Default::default()
                }),
            ),
            ("keys", None),
        ],
    );
    assert_eq!(store.summary_build(NOW).expect("build"), None);
    // Stale: the page is aggregated at request time, and still right.
    let page = store
        .inventory_page(&InventoryQuery::default(), NOW)
        .expect("page");
    assert_eq!(page.total, 39);
    assert_paths_agree(&mut store, true);
    let page = store
        .inventory_page(
            &InventoryQuery {
                search: Some("AKIA0004".into()),
                ..Default::default()
            },
            NOW,
        )
        .expect("page");
    assert_eq!(
        page.items.len(),
        1,
        "the failed collector's keys still count"
    );
    assert_eq!(page.items[0].name, "u4");
    assert_eq!(page.items[0].active_keys, 1);
    let gone = store
        .inventory_page(
            &InventoryQuery {
                search: Some("u5".into()),
                ..Default::default()
            },
            NOW,
        )
        .expect("page");
    assert!(gone.items.iter().all(|i| i.name != "u5"));
    // Time travel never reads the summary.
    let before = store
        .inventory_page(
            &InventoryQuery {
                snapshot: Snapshot::AsOf(t0 + 150 * DAY),
                ..Default::default()
            },
            NOW,
        )
        .expect("page");
    assert_eq!(before.total, 40);
}
