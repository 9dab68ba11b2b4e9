//! `nhiscope inventory`: identities or credentials, filtered, as a table, JSON or CSV.

use std::process::ExitCode;

use anyhow::Result;
use nhiscope_engine::store::{CredentialFilter, InventoryFilter, Snapshot};
use nhiscope_engine::Store;

use crate::cli::InventoryArgs;
use crate::output;

pub fn run(args: &InventoryArgs, snapshot: Snapshot, store: &Store) -> Result<ExitCode> {
    let batches = if args.summary {
        store.summary(snapshot)?
    } else if args.credentials {
        store.credentials(&CredentialFilter {
            snapshot,
            provider: args.provider.clone(),
            tenant: args.tenant.clone(),
            kind: args.kind.clone(),
            status: args.status.clone(),
            search: args.search.clone(),
            limit: args.limit,
        })?
    } else {
        store.inventory(&InventoryFilter {
            snapshot,
            provider: args.provider.clone(),
            tenant: args.tenant.clone(),
            kind: args.kind.clone(),
            search: args.search.clone(),
            has_owner: match (args.owned, args.no_owner) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            limit: args.limit,
        })?
    };
    output::batches(args.format, &batches)?;
    Ok(ExitCode::SUCCESS)
}
