//! Rules as data: one TOML file per rule (metadata, parameters with defaults, and a DataFusion
//! SQL query over the model tables), loaded from the built-in pack and user directories.
//!
//! - [`rule`]: the rule file format, its validation and the finding-row contract.
//! - [`params`]: parameter values (defaults, `nhiscope.toml` overrides) bound to `$name`
//!   placeholders, never spliced into SQL text.
//! - [`load`]: loading files and directories, with errors that name the file and line.
//! - [`fixture`]: per-rule test fixtures (rows in, expected resources out).

pub mod fixture;
pub mod load;
pub mod params;
pub mod rule;

pub use fixture::Fixture;
pub use load::{builtin, load_dir, load_file, RuleSet};
pub use params::{ParamOverrides, ParamValue};
pub use rule::{Rule, RuleError, Severity};
