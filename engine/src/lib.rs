//! nhiscope-engine: the provider-neutral model, the DuckDB snapshot store and the analysis
//! built on them.
//!
//! - [`model`]: Arrow schemas (the single source of truth for every table), row types and the
//!   typed batch builder that turns rows into `RecordBatch`es.
//! - [`store`]: the DuckDB store: migrations, snapshot writes through the Arrow appender,
//!   current / as-of views, scan history and diffs.
//!
//! - [`policy`]: IAM policy analysis (action matching, the sensitive-action catalogue,
//!   privilege-escalation paths), shared by scanners and rules.
//! - [`rules`]: rule files (metadata, params, SQL), loading and fixtures.
//! - [`analysis`]: DataFusion sessions over a snapshot: model tables streamed from DuckDB, IAM
//!   SQL functions, derived tables, rule evaluation.
//! - [`findings`]: the finding type and its stable id.
//! - [`correlate`]: log events joined to the inventory (identity resolution, assume-role
//!   chains, last use, issuance) as views; [`trace`]: the chain behind one credential, request,
//!   identity or address.
//!
//! Feature `store` (default) builds everything that needs DuckDB or DataFusion; without it only
//! [`model`], [`policy`] and [`time`] build (what the log parsers need, for fuzzing).
//!
//! Only this crate knows DuckDB and DataFusion. Time is always a parameter.

#[cfg(feature = "store")]
pub mod analysis;
#[cfg(feature = "store")]
pub mod correlate;
#[cfg(feature = "store")]
pub mod findings;
pub mod model;
pub mod policy;
#[cfg(feature = "store")]
pub mod rules;
#[cfg(feature = "store")]
pub mod store;
#[cfg(feature = "store")]
pub mod synthetic;
pub mod time;
#[cfg(feature = "store")]
pub mod trace;

pub use model::{RowSet, Table};
#[cfg(feature = "store")]
pub use store::{Store, StoreError};
