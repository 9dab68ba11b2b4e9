//! The provider-neutral model: one Arrow schema per table ([`schema`]), one row type per
//! table ([`rows`]) and the typed builder that turns rows into `RecordBatch`es ([`batch`]).
//!
//! Every data table starts with the same four *stamp* columns (`scan_id`, `collector`,
//! `provider`, `tenant`): which snapshot and which collector produced the row. The row types
//! carry only the data columns; the store adds the stamp when it writes a collection.
//! Normalised log events ([`events`]) have their own row type and a direct Arrow builder.

pub mod batch;
pub mod events;
pub mod rows;
pub mod schema;

pub use batch::{to_record_batch, Stamp};
pub use events::{EventBatchBuilder, EventRow};
pub use rows::*;
pub use schema::Table;
