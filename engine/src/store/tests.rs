//! Store tests: the migrations produce exactly the Arrow schemas; snapshots, partial scans,
//! as-of and diffs behave as the invariants say.

use arrow::datatypes::DataType;

use super::*;
use crate::model::{CredentialRow, IdentityRow, RowSet, Stamp, Table};
use crate::time::DAY;

fn duck_type(t: &DataType) -> String {
    match t {
        DataType::Utf8 => "VARCHAR".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP".into(),
        DataType::List(f) => format!("{}[]", duck_type(f.data_type())),
        other => format!("unmapped {other}"),
    }
}

#[test]
fn store_tables_match_arrow_schemas() {
    let store = Store::open_in_memory().expect("store");
    for table in Table::ALL {
        let mut stmt = store
            .conn()
            .prepare(&format!("DESCRIBE {}", table.name()))
            .expect("describe");
        let cols: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("cols");
        let schema = table.schema();
        assert_eq!(cols.len(), schema.fields().len(), "{}", table.name());
        for ((name, ty, null), field) in cols.iter().zip(schema.fields()) {
            assert_eq!(name, field.name(), "{}", table.name());
            assert_eq!(ty, &duck_type(field.data_type()), "{}.{name}", table.name());
            assert_eq!(
                null == "YES",
                field.is_nullable(),
                "{}.{name} nullability",
                table.name()
            );
        }
    }
}

#[test]
fn migrations_apply_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("s.duckdb");
    drop(Store::open(&path).expect("first open"));
    let store = Store::open(&path).expect("second open");
    assert_eq!(
        store.schema_version().expect("version"),
        migrations::latest_version()
    );
}

/// DuckDB's `memory_limit` setting on `conn`, as it reports it.
fn memory_limit(conn: &Connection) -> String {
    conn.query_row("SELECT current_setting('memory_limit')", [], |r| r.get(0))
        .expect("setting")
}

#[test]
fn stores_cap_duckdb_memory_unless_told_otherwise() {
    let capped = Connection::open_in_memory().expect("conn");
    capped
        .execute(
            "SET memory_limit = ?",
            duckdb::params![DEFAULT_MEMORY_LIMIT],
        )
        .expect("set");
    let default = memory_limit(&capped);
    assert_ne!(
        default,
        memory_limit(&Connection::open_in_memory().expect("conn")),
        "the cap differs from DuckDB's own default"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("s.duckdb");
    let store = Store::open(&path).expect("open");
    assert_eq!(memory_limit(store.conn()), default);
    store.set_memory_limit("512MB").expect("set");
    assert_ne!(memory_limit(store.conn()), default);
    drop(store);
    let read = Store::open_read_only(&path).expect("read-only");
    assert_eq!(memory_limit(read.conn()), default);
    assert_eq!(memory_limit(read.stage_conn()), default);
}

fn identity(id: &str) -> IdentityRow {
    IdentityRow {
        identity_id: id.into(),
        name: id.into(),
        kind: "user".into(),
        ..Default::default()
    }
}

fn key(id: &str, holder: &str) -> CredentialRow {
    CredentialRow {
        credential_id: id.into(),
        identity_id: Some(holder.into()),
        kind: "access_key".into(),
        status: "active".into(),
        ..Default::default()
    }
}

/// Writes one scan: `(collector, Some(rows))` succeeded, `(collector, None)` failed.
fn scan(store: &mut Store, at: i64, parts: Vec<(&str, Option<RowSet>)>) -> i64 {
    let id = store.begin_scan("aws:1", "aws", "1", at).expect("begin");
    for (collector, rows) in parts {
        let ok = rows.is_some();
        let tables: Vec<String> = rows
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
        store
            .record_collector(
                id,
                &CollectorRecord {
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
                },
            )
            .expect("record");
    }
    store.finish_scan(id, at + 1, None, None).expect("finish");
    id
}

fn ids(store: &Store, table: Table, snapshot: Snapshot) -> Vec<String> {
    let col = table.key_columns()[0];
    let mut out = Vec::new();
    for b in store.table_rows(table, snapshot).expect("rows") {
        let a = b.column_by_name(col).expect("col");
        let a = a
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .expect("utf8");
        out.extend(a.iter().flatten().map(str::to_string));
    }
    out.sort();
    out
}

#[test]
fn a_failed_collector_never_makes_data_look_deleted() {
    let mut store = Store::open_in_memory().expect("store");
    let t0 = 1_700_000_000_000_000;
    let first = scan(
        &mut store,
        t0,
        vec![
            (
                "users",
                Some(RowSet {
                    identities: vec![identity("a"), identity("b")],
                    ..Default::default()
                }),
            ),
            (
                "keys",
                Some(RowSet {
                    credentials: vec![key("AKIA1", "a")],
                    ..Default::default()
                }),
            ),
        ],
    );
    let second = scan(
        &mut store,
        t0 + DAY,
        vec![
            (
                "users",
                Some(RowSet {
                    identities: vec![identity("a")],
                    ..Default::default()
                }),
            ),
            ("keys", None),
        ],
    );
    assert_eq!(
        store.scan(second).expect("scan").status,
        ScanStatus::Partial
    );
    // `b` really is gone (its collector succeeded); the key is not (its collector failed).
    assert_eq!(ids(&store, Table::Identities, Snapshot::Current), vec!["a"]);
    assert_eq!(
        ids(&store, Table::Credentials, Snapshot::Current),
        vec!["AKIA1"]
    );
    // Point in time and per-scan views.
    assert_eq!(
        ids(&store, Table::Identities, Snapshot::AsOf(t0 + 10)),
        vec!["a", "b"]
    );
    assert!(ids(&store, Table::Identities, Snapshot::AsOf(t0 - 1)).is_empty());
    assert_eq!(
        ids(&store, Table::Credentials, Snapshot::Scan(second)),
        Vec::<String>::new()
    );
    // The diff compares only what both scans collected.
    let diff = store.diff(first, second).expect("diff");
    assert_eq!(diff.compared, vec!["users"]);
    assert_eq!(diff.not_compared, vec!["keys"]);
    assert_eq!(diff.of(Table::Identities, "removed").len(), 1);
    assert!(diff.of(Table::Credentials, "removed").is_empty());
}

#[test]
fn unfinished_and_failed_scans_are_invisible() {
    let mut store = Store::open_in_memory().expect("store");
    let t0 = 1_700_000_000_000_000;
    scan(
        &mut store,
        t0,
        vec![(
            "users",
            Some(RowSet {
                identities: vec![identity("a")],
                ..Default::default()
            }),
        )],
    );
    // A scan that died mid-way: rows written, never finished.
    let id = store
        .begin_scan("aws:1", "aws", "1", t0 + DAY)
        .expect("begin");
    let stamp = Stamp {
        scan_id: id,
        collector: "users".into(),
        provider: "aws".into(),
        tenant: "1".into(),
    };
    store
        .write_collection(&stamp, &RowSet::default())
        .expect("write");
    store
        .record_collector(
            id,
            &CollectorRecord {
                collector: "users".into(),
                status: CollectorStatus::Ok,
                items: 0,
                api_calls: 0,
                duration_ms: 0,
                error: None,
                tables: vec!["identities".into()],
            },
        )
        .expect("record");
    assert_eq!(ids(&store, Table::Identities, Snapshot::Current), vec!["a"]);
    assert_eq!(store.scan(id).expect("scan").status, ScanStatus::Running);
    // A scan whose every collector failed.
    let failed = scan(&mut store, t0 + 2 * DAY, vec![("users", None)]);
    assert_eq!(store.scan(failed).expect("scan").status, ScanStatus::Failed);
    assert_eq!(ids(&store, Table::Identities, Snapshot::Current), vec!["a"]);
}

#[test]
fn inventory_filters_bind_user_text_as_parameters() {
    let mut store = Store::open_in_memory().expect("store");
    scan(
        &mut store,
        1_700_000_000_000_000,
        vec![(
            "users",
            Some(RowSet {
                identities: vec![identity("ci-bot"), identity("o'brien")],
                credentials: vec![key("AKIAXYZ", "ci-bot")],
                ..Default::default()
            }),
        )],
    );
    let count = |search: &str| -> usize {
        store
            .inventory(&InventoryFilter {
                search: Some(search.into()),
                ..Default::default()
            })
            .expect("inventory")
            .iter()
            .map(|b| b.num_rows())
            .sum()
    };
    assert_eq!(count("ci-"), 1);
    assert_eq!(count("AKIAXYZ"), 1);
    assert_eq!(count("o'brien"), 1);
    assert_eq!(count("' OR 1=1 --"), 0);
}

#[test]
fn sizes_read_as_duckdb_writes_and_takes_them() {
    for (text, bytes) in [
        ("2GB", Some(2_000_000_000)),
        ("1.8 GiB", Some(1_932_735_283)),
        ("488.2 MiB", Some(511_914_803)),
        ("2000000000B", Some(2_000_000_000)),
        ("512 bytes", Some(512)),
        ("lots", None),
        ("2 parsecs", None),
    ] {
        assert_eq!(super::byte_size(text), bytes, "{text}");
    }
}

#[test]
fn a_lowered_memory_cap_is_restored_and_never_raised() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join("s.duckdb")).expect("open");
    store.set_memory_limit("3GB").expect("set");
    let before = memory_limit(store.conn());
    {
        let _lowered = store.lower_memory_limit(512 << 20).expect("lower");
        assert_eq!(memory_limit(store.conn()), "512.0 MiB");
    }
    assert_eq!(
        memory_limit(store.conn()),
        before,
        "restored as set, not as shown"
    );
    store.set_memory_limit("100MB").expect("set");
    let low = memory_limit(store.conn());
    {
        let _kept = store.lower_memory_limit(512 << 20).expect("lower");
        assert_eq!(memory_limit(store.conn()), low, "a lower cap is kept");
    }
    assert_eq!(memory_limit(store.conn()), low);
}
