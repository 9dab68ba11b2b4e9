//! nhiscope-web: the dashboard, an axum server rendering askama templates over the engine API.
//!
//! - [`router`](mod@router): every route, in one list, behind the [`security`] middleware (headers, same
//!   origin check).
//! - [`auth`]: the `Viewer` / `Admin` extractors (session cookie or API token) and the CSRF
//!   checked `AdminForm` / `AdminJson` bodies; [`secret`]: argon2 hashes, tokens, digests.
//! - [`views`]: one module per page (overview, inventory, identity, findings, scans, rules,
//!   audit, login); [`api`]: the JSON API mirroring them (`/api/v1`, OpenAPI document).
//! - [`pool`]: DuckDB connections shared by handlers on blocking threads; [`state`]: shared
//!   state with an injected clock; [`error`]: one error type, rendered with an operation id.
//! - [`serve`]: bind and run; [`loadgen`]: the load generator behind `nhiscope bench web`.
//!
//! **Invariant:** this crate contains no SQL. Every read and write is an engine `Store`
//! method taking typed arguments.

pub mod api;
mod assets;
pub mod auth;
pub mod chart;
pub mod error;
pub mod fmt;
pub mod loadgen;
pub mod pool;
pub mod router;
pub mod secret;
pub mod security;
pub mod serve;
pub mod state;
pub mod views;

pub use error::AppError;
pub use router::router;
pub use state::{AppState, Clock};
