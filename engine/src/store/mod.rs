//! The DuckDB store: one embedded database file holding every snapshot.
//!
//! - [`migrations`]: versioned schema migrations, applied on open.
//! - [`scans`]: scan lifecycle (begin, record collectors, write collections, finish) and history.
//! - [`query`]: inventory reads over the current state, a point in time or one scan.
//! - [`diff`]: what changed between two scans of one source.
//! - [`findings`]: the finding lifecycle (open, resolved, suppressed) across evaluations.
//! - [`events`]: normalised log events (ingest runs, dedupe, quarantine).
//! - [`dashboard`], [`inventory_page`], [`identity`], [`auth`]: what the web dashboard reads
//!   and writes (overview figures, keyset-paged inventory, one identity, accounts and audit).
//! - [`summary`]: the per-identity summary of the current snapshot those pages read, rebuilt
//!   after scans and evaluations and ignored when it no longer matches the store.
//! - `memory`: what the clones of one store share in memory: the summary as an index the
//!   inventory pages are cut from, and the sessions already checked.
//!
//! Writes go through DuckDB's Arrow appender, one transaction per collection, so a crash
//! leaves earlier snapshots untouched and the interrupted scan visibly `running`.

pub mod activity;
pub mod auth;
mod batch_scan;
pub mod dashboard;
pub mod diff;
pub mod events;
pub mod findings;
pub mod identity;
pub mod inventory_page;
mod inventory_summary;
pub(crate) mod memory;
pub mod migrations;
pub mod query;
mod row_ranges;
pub mod scans;
pub mod staging;
pub mod summary;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use duckdb::Connection;

pub use diff::{DiffEntry, DiffReport};
pub use events::{EventWriter, IngestClosed, IngestRun, IngestTotals, Quarantined};
pub use findings::{
    EvaluationSummary, FindingEvent, FindingFilter, NewSuppression, StoredFinding, Suppression,
};
pub use query::{CredentialFilter, InventoryFilter, Snapshot};
pub use scans::{CollectorRecord, CollectorStatus, ScanRecord, ScanStatus};

/// Errors of the store. Messages name the store file or the scan concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store {path}: {source}")]
    Open {
        path: PathBuf,
        source: duckdb::Error,
    },
    #[error("store query failed: {0}")]
    Db(#[from] duckdb::Error),
    #[error("cannot build Arrow batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: duckdb::Error,
    },
    #[error("store schema version {found} is newer than this nhiscope understands ({known}); upgrade nhiscope")]
    TooNew { found: i64, known: i64 },
    #[error("scan {0} not found")]
    ScanNotFound(i64),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open store.
pub struct Store {
    pub(crate) conn: Connection,
    path: Option<PathBuf>,
    /// Where a read-only store stages evaluations (DuckDB refuses appends on a read-only
    /// database, even to temporary tables): a private in-memory database.
    stage: Option<Connection>,
    /// What every clone of this store shares in memory (see [`memory`]).
    shared: std::sync::Arc<memory::Shared>,
    /// The cap last set by [`Store::set_memory_limit`], as given.
    memory_limit: std::sync::Mutex<Option<String>>,
}

/// The DuckDB storage format a new store file is created with. DuckDB's default stays
/// readable by DuckDB 1.0; the newer format compresses strings with one combined
/// dictionary + FSST method, which costs a third less CPU to write (measured on ingested
/// events) at the same size. A store created earlier keeps its format.
const STORAGE_VERSION: &str = "v1.5.0";

/// The memory DuckDB's buffer manager may use for a store unless a command sets another cap
/// ([`Store::set_memory_limit`]); beyond it, temporary tables and large joins spill to the
/// store's temporary directory. DuckDB's own default is 80% of RAM: recording an evaluation
/// of 6.4 M findings took 8 GB with it, and 4.2 GB under this cap for one more second.
pub const DEFAULT_MEMORY_LIMIT: &str = "2GB";

/// DuckDB's cap lowered for a while ([`Store::lower_memory_limit`]): dropping it restores
/// the cap.
pub struct LoweredMemoryLimit<'a> {
    store: &'a Store,
    restore: Option<String>,
}

impl Drop for LoweredMemoryLimit<'_> {
    fn drop(&mut self) {
        if let Some(limit) = self.restore.take() {
            if let Err(e) = self.store.set_memory_limit(&limit) {
                tracing::warn!(message = "Could not restore DuckDB's memory cap.", limit, error = %e);
            }
        }
    }
}

/// The bytes of a size as DuckDB takes or shows it (`2GB`, `512MiB`, `1.8 GiB`,
/// `2000000000B`); `None` for anything else.
pub fn byte_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number: f64 = text[..split].parse().ok()?;
    let unit: u64 = match text[split..].trim().to_ascii_lowercase().as_str() {
        "" | "b" | "byte" | "bytes" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    Some((number * unit as f64) as u64)
}

impl Store {
    /// Opens (creating if needed) the store file at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Invalid(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
        }
        let open_error = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let config = duckdb::Config::default()
            .with("storage_compatibility_version", STORAGE_VERSION)
            .map_err(open_error)?;
        let conn = Connection::open_with_flags(path, config).map_err(open_error)?;
        let mut store = Store {
            conn,
            path: Some(path.to_owned()),
            stage: None,
            shared: Default::default(),
            memory_limit: Default::default(),
        };
        migrations::migrate(&mut store.conn)?;
        store.set_memory_limit(DEFAULT_MEMORY_LIMIT)?;
        Ok(store)
    }

    /// Opens an existing store for reading only; several readers may share the file. The
    /// store must exist and be at this build's schema version.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Invalid(format!(
                "no store at {}: load one with `nhiscope demo` or `nhiscope scan ...`",
                path.display()
            )));
        }
        let config = duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?;
        let conn =
            Connection::open_with_flags(path, config).map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?;
        let store = Store {
            conn,
            path: Some(path.to_owned()),
            stage: Some(Connection::open_in_memory()?),
            shared: Default::default(),
            memory_limit: Default::default(),
        };
        store.set_memory_limit(DEFAULT_MEMORY_LIMIT)?;
        let (found, known) = (store.schema_version()?, migrations::latest_version());
        if found != known {
            return Err(StoreError::Invalid(format!(
                "store {} is at schema version {found}, this nhiscope needs {known}; run any writing command (e.g. a scan) to migrate it",
                path.display()
            )));
        }
        Ok(store)
    }

    /// An in-memory store (tests, benchmarks).
    pub fn open_in_memory() -> Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        migrations::migrate(&mut conn)?;
        Ok(Store {
            conn,
            path: None,
            stage: None,
            shared: Default::default(),
            memory_limit: Default::default(),
        })
    }

    /// The file behind this store, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64> {
        migrations::current_version(&self.conn)
    }

    /// Caps the memory DuckDB's buffer manager uses for this store (`1GB`, `512MiB`, ...):
    /// beyond it, what a long ingest writes and what an evaluation stages spill to the store's
    /// temporary directory instead of growing. DuckDB rejects a malformed size.
    pub fn set_memory_limit(&self, limit: &str) -> Result<()> {
        for conn in std::iter::once(&self.conn).chain(self.stage.as_ref()) {
            conn.execute("SET memory_limit = ?", duckdb::params![limit])?;
        }
        if let Ok(mut set) = self.memory_limit.lock() {
            *set = Some(limit.to_string());
        }
        Ok(())
    }

    /// Lowers DuckDB's cap to `bytes` while the returned guard lives, if it is higher; the
    /// guard restores it.
    pub fn lower_memory_limit(&self, bytes: u64) -> Result<LoweredMemoryLimit<'_>> {
        let current: String =
            self.conn
                .query_row("SELECT current_setting('memory_limit')", [], |r| r.get(0))?;
        let mut restore = None;
        if byte_size(&current).is_none_or(|c| c > bytes) {
            for conn in std::iter::once(&self.conn).chain(self.stage.as_ref()) {
                conn.execute("SET memory_limit = ?", duckdb::params![format!("{bytes}B")])?;
            }
            let set = self.memory_limit.lock().ok().and_then(|s| s.clone());
            restore = Some(set.unwrap_or(current));
        }
        Ok(LoweredMemoryLimit {
            store: self,
            restore,
        })
    }

    /// The connection evaluations are staged on (see [`staging`]).
    pub(crate) fn stage_conn(&self) -> &Connection {
        self.stage.as_ref().unwrap_or(&self.conn)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}
