//! nhiscope-engine: the provider-neutral model, the DuckDB snapshot store and the analysis
//! built on them.
//!
//! - [`model`]: Arrow schemas (the single source of truth for every table), row types and the
//!   typed batch builder that turns rows into `RecordBatch`es.
//! - [`store`]: the DuckDB store: migrations, snapshot writes through the Arrow appender,
//!   current / as-of views, scan history and diffs.
//!
//! Only this crate knows DuckDB (and, later, DataFusion). Time is always a parameter.

pub mod model;
pub mod store;
pub mod time;

pub use model::{RowSet, Table};
pub use store::{Store, StoreError};
