//! Versioned schema migrations. Each migration is a SQL file applied once, in order, in its
//! own transaction, and recorded in `schema_migrations`. Versions need not be contiguous:
//! every known migration the store has not recorded is applied, so a store migrated by a build
//! that knew versions 1, 2 and 4 still receives 3 from a later build that knows all four.

use duckdb::Connection;

use super::{Result, StoreError};

/// The migrations, in order. Append; never edit a released one.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/0001_initial.sql"),
    ),
    (
        2,
        "findings",
        include_str!("../../migrations/0002_findings.sql"),
    ),
    (
        3,
        "dashboard",
        include_str!("../../migrations/0003_dashboard.sql"),
    ),
    (
        4,
        "events",
        include_str!("../../migrations/0004_events.sql"),
    ),
    (
        5,
        "findings_unindexed",
        include_str!("../../migrations/0005_findings_unindexed.sql"),
    ),
    (
        6,
        "identity_summary",
        include_str!("../../migrations/0006_identity_summary.sql"),
    ),
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

/// The version recorded in the store (0 for a new store).
pub fn current_version(conn: &Connection) -> Result<i64> {
    let exists: i64 = conn.query_row(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations'",
        [],
        |r| r.get(0),
    )?;
    if exists == 0 {
        return Ok(0);
    }
    let v: Option<i64> = conn.query_row("SELECT max(version) FROM schema_migrations", [], |r| {
        r.get(0)
    })?;
    Ok(v.unwrap_or(0))
}

/// Applies every migration newer than the store's version.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)",
    )?;
    let found = current_version(conn)?;
    let known = latest_version();
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    let applied: Vec<i64> = {
        let mut stmt = conn.prepare("SELECT version FROM schema_migrations")?;
        let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| !applied.contains(&m.0)) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|source| StoreError::Migration {
                version,
                name,
                source,
            })?;
        tx.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
            duckdb::params![version, name],
        )?;
        tx.commit()?;
        tracing::info!(message = "Applied store migration.", version, name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_version_is_applied_even_with_gaps() {
        let mut conn = Connection::open_in_memory().expect("db");
        migrate(&mut conn).expect("migrate");
        let mut stmt = conn
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .expect("prepare");
        let applied: Vec<i64> = stmt
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("versions");
        let known: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
        assert_eq!(applied, known);
        // A second run applies nothing and fails on nothing.
        migrate(&mut conn).expect("idempotent");
    }
}
