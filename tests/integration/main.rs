//! nhiscope's one integration-test binary: a module per feature, sharing the harness (a real
//! moto server per test, the seeder, the `nhiscope` binary in a temp dir).

mod accuracy;
mod aws_estate;
mod aws_faults;
mod browser;
mod cli;
mod conformance;
mod findings;
mod harness;
mod ingest;
mod logs_conformance;
mod multi_account;
mod rules;
mod snapshots;
mod tidy;
mod web;
