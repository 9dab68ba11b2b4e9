//! IAM policy analysis, implemented once and shared by the scanners (what may a statement
//! reach?) and the rules engine (the `iam_*` SQL functions and the derived `permissions`
//! table).
//!
//! - [`actions`]: IAM action-pattern matching (`*`, `?`, case-insensitive) and `NotAction`.
//! - [`sensitive`]: the catalogue of actions the rules reason about (admin, service-wide
//!   wildcards on sensitive services, privilege-escalation building blocks) and which of them
//!   one statement applies to, with its resource scoping.
//! - [`privesc`]: the known privilege-escalation combinations over that catalogue.

pub mod actions;
pub mod privesc;
pub mod sensitive;

pub use actions::{action_matches, may_allow};
