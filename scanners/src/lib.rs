//! nhiscope-scanners: the sources. One module per provider, one module per collector, all
//! behind one [`collector::Collector`] trait; [`runner`] turns collector outcomes into a
//! snapshot in the store. [`logs`] reads audit and access logs into the `events` table.
//!
//! Feature `collect` (default) builds the collectors, the scan runner and the ingest pipeline,
//! everything that talks to a provider or writes to the store; without it only the log readers
//! and parsers build (the fuzz targets in `fuzz/` use that, so they need neither DuckDB nor the
//! AWS SDK).
//!
//! Scanners never return fixtures: every row comes from a provider API response.

#[cfg(feature = "collect")]
pub mod aws;
#[cfg(feature = "collect")]
pub mod collector;
pub mod logs;
#[cfg(feature = "collect")]
pub mod runner;

#[cfg(feature = "collect")]
pub use collector::{Collector, CollectorError, Stage};
#[cfg(feature = "collect")]
pub use runner::{run_scan, ScanObserver, ScanOutcome, SourceInfo};
