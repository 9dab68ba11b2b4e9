//! nhiscope-scanners: the sources. One module per provider, one module per collector, all
//! behind one [`collector::Collector`] trait; [`runner`] turns collector outcomes into a
//! snapshot in the store. [`logs`] reads audit and access logs into the `events` table.
//!
//! Scanners never return fixtures: every row comes from a provider API response.

pub mod aws;
pub mod collector;
pub mod logs;
pub mod runner;

pub use collector::{Collector, CollectorError, Stage};
pub use runner::{run_scan, ScanObserver, ScanOutcome, SourceInfo};
