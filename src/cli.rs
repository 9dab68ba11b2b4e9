//! Command-line definitions (clap). Flags only: no I/O happens while parsing.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "nhiscope",
    version,
    about = "Non-human identity discovery, governance and audit analytics"
)]
pub struct Cli {
    /// The DuckDB store file (default: the platform data dir, e.g. ~/.local/share/nhiscope/nhiscope.duckdb).
    #[arg(long, global = true, env = "NHISCOPE_STORE")]
    pub store: Option<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long, global = true, env = "NHISCOPE_CONFIG")]
    pub config: Option<PathBuf>,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors; no progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a provider into the store (one snapshot per account).
    Scan {
        #[command(subcommand)]
        provider: ScanProvider,
    },
    /// List identities (or credentials) of the current state, a point in time, or one scan.
    Inventory(InventoryArgs),
    /// Scan history: list, show one, diff two.
    Scans {
        #[command(subcommand)]
        action: ScansAction,
    },
    /// Load the bundled demo estate (clearly labelled demo data) and show its inventory.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum ScanProvider {
    /// AWS IAM, through the standard credential chain.
    Aws(AwsArgs),
}

#[derive(Debug, Args)]
pub struct AwsArgs {
    /// Named profile to scan (repeatable; each is its own account).
    #[arg(long = "profile")]
    pub profiles: Vec<String>,
    /// Role ARN to assume in a member account (repeatable).
    #[arg(long = "assume-role")]
    pub assume_roles: Vec<String>,
    /// External id for --assume-role.
    #[arg(long)]
    pub external_id: Option<String>,
    /// Endpoint override (e.g. a moto server).
    #[arg(long, env = "NHISCOPE_AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Region for IAM/STS endpoints.
    #[arg(long)]
    pub region: Option<String>,
    /// Concurrent requests per per-identity collector.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Attempts per API call (retries with back-off and jitter).
    #[arg(long)]
    pub max_attempts: Option<u32>,
    /// First retry back-off, in milliseconds.
    #[arg(long)]
    pub initial_backoff_ms: Option<u64>,
    /// Print API calls per operation after the scan.
    #[arg(long)]
    pub show_calls: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Show the state as of this time (RFC 3339 or `YYYY-MM-DD`).
    #[arg(long, conflicts_with = "scan")]
    pub as_of: Option<String>,
    /// Show exactly what one scan collected.
    #[arg(long)]
    pub scan: Option<i64>,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// List credentials instead of identities.
    #[arg(long)]
    pub credentials: bool,
    /// Counts by provider, tenant and kind.
    #[arg(long, conflicts_with = "credentials")]
    pub summary: bool,
    #[arg(long)]
    pub provider: Option<String>,
    /// Account / tenant / project / org.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Identity kind (user, role, group, root...) or credential kind (access_key, password...).
    #[arg(long)]
    pub kind: Option<String>,
    /// Credential status (active, inactive...), with --credentials.
    #[arg(long, requires = "credentials")]
    pub status: Option<String>,
    /// Search name, ARN/id, unique id, or an exact access key id.
    #[arg(long, short = 's')]
    pub search: Option<String>,
    /// Only identities without an owner candidate.
    #[arg(long, conflicts_with = "owned")]
    pub no_owner: bool,
    /// Only identities with an owner candidate.
    #[arg(long)]
    pub owned: bool,
    #[command(flatten)]
    pub snapshot: SnapshotArgs,
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum ScansAction {
    /// Scan history, newest first.
    List {
        #[arg(long)]
        source: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One scan with its collectors and errors.
    Show {
        scan_id: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// What changed from one scan to another (same source).
    Diff {
        from: i64,
        to: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Replace an earlier demo load in the store (otherwise a second load adds new snapshots).
    #[arg(long)]
    pub fresh: bool,
}
