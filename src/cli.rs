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
    /// Extra rule directory (repeatable); rules with a built-in id replace the built-in one.
    #[arg(long = "rules", global = true, value_name = "DIR")]
    pub rules_dirs: Vec<PathBuf>,
    /// Evaluate rules as if at this time (RFC 3339 or date; default: now).
    #[arg(long, global = true, value_name = "TIME")]
    pub now: Option<String>,
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
    /// The rule pack: list, check (plan every rule), test (run fixtures).
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Evaluate every rule over the current state (recording the finding lifecycle), or over
    /// a past state with --as-of (printed only).
    Evaluate(EvaluateArgs),
    /// Stored findings: list and export, or suppress / unsuppress / show one.
    Findings(FindingsArgs),
    /// Ingest audit and access logs (files, directories, globs, `-` for stdin; `.gz` too) into
    /// the store's `events` table: CloudTrail, Entra ID, Azure activity, GCP audit, GitHub
    /// audit, Kubernetes audit, API Gateway and Envoy access logs.
    Ingest(IngestArgs),
    /// The chain behind an access key id, request id, identity or IP address, from ingested
    /// logs and the inventory: issuance -> assume/delegation chain -> actions -> resources.
    Trace(TraceArgs),
    /// Serve the web dashboard over the store (binds 127.0.0.1:8080 by default).
    Serve(crate::commands::serve::ServeArgs),
    /// Dashboard accounts and API tokens.
    User {
        #[command(subcommand)]
        action: crate::commands::user::UserAction,
    },
    /// The dashboard under load: inventory and identity pages, p50 / p99 latency.
    BenchWeb(crate::commands::bench_web::BenchWebArgs),
    /// Benchmarks that print figures (not tests).
    Bench {
        #[command(subcommand)]
        action: BenchCommand,
    },
}

/// Every benchmark: the rule-pack ones ([`BenchAction`]) and the ingest one.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    #[command(flatten)]
    Rules(BenchAction),
    /// Generate realistic CloudTrail (NDJSON and gzipped S3 delivery files), then time
    /// `nhiscope ingest` over each and DuckDB's own `read_json` over the same files; prints
    /// events/s, MB/s and peak RSS per run.
    Ingest(BenchIngestArgs),
}

#[derive(Debug, Args)]
pub struct BenchIngestArgs {
    /// Events to generate.
    #[arg(long, default_value_t = 10_000_000)]
    pub events: u64,
    /// Records per S3 delivery file.
    #[arg(long, default_value_t = 10_000)]
    pub per_file: u64,
    /// Where to write the generated logs and the benchmark stores (kept for re-runs: files of
    /// the right size are not generated again).
    #[arg(long, default_value = "bench-ingest")]
    pub dir: PathBuf,
    /// A Python with the `duckdb` module, for the `read_json` comparison (our bundled DuckDB
    /// has no JSON extension); skipped when absent.
    #[arg(long, env = "NHISCOPE_TEST_PYTHON", default_value = "python3")]
    pub python: PathBuf,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files, directories, glob patterns, or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Parse every record as this format instead of detecting it per record (cloudtrail,
    /// gcp_audit, k8s_audit, entra_signin, entra_audit, azure_activity, github_audit,
    /// apigw_access, envoy_access).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Summary as a table, JSON (the whole report) or CSV (per-format counts).
    #[arg(long = "output", value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Cap the store's memory during the run (DuckDB spills to disk beyond it).
    #[arg(long, default_value = "1GB", value_name = "SIZE")]
    pub memory_limit: String,
    /// Tenant of records that name none: the cluster of Kubernetes audit logs, the mesh of
    /// Envoy logs without an authority.
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// Parsing threads (default: one per CPU; a reading thread and the store writer run
    /// beside them).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// An access key id (AKIA.../ASIA...), SA key, token id, request id, identity id or IP.
    pub subject: String,
    /// An indented tree, JSON, or CSV (depth, kind, text, evidence).
    #[arg(long = "output", value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
pub enum BenchAction {
    /// Generate a synthetic estate into the store (unless it already holds one) and time the
    /// full rule pack over it; prints wall time per phase and peak RSS.
    Rules {
        #[arg(long, default_value_t = 1_000_000)]
        identities: i64,
        #[arg(long, default_value_t = 3_000_000)]
        credentials: i64,
        #[arg(long, default_value_t = 10_000_000)]
        grants: i64,
        /// Rules evaluated at the same time.
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
        /// Only the rules whose id contains this text.
        #[arg(long)]
        only: Option<String>,
        /// Also record the finding lifecycle (as `evaluate` does) and time it.
        #[arg(long)]
        record: bool,
        /// Print each selected rule's executed plan with its per-operator metrics (rows,
        /// time, memory) instead of evaluating the pack.
        #[arg(long)]
        explain: bool,
        /// Cap DuckDB's memory (e.g. 1GB); staged findings spill to disk beyond it.
        #[arg(long)]
        memory_limit: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// The loaded rules with their parameters.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Plan every rule against the model schema; errors name file and line.
    Check,
    /// Run each rule's fixture (`tests/<id>.toml` beside the rules) and compare.
    Test,
}

/// Severity threshold for `--fail-on` and `--severity`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl SeverityArg {
    pub fn severity(self) -> nhiscope_engine::rules::Severity {
        use nhiscope_engine::rules::Severity;
        match self {
            SeverityArg::Info => Severity::Info,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FindingFormat {
    Table,
    Json,
    Csv,
    /// SARIF 2.1.0 (code-scanning UIs).
    Sarif,
    /// OCSF Detection Finding events, one JSON object per line (SIEMs).
    Ocsf,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Evaluate the state as of this time instead of the current state (nothing recorded).
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, value_enum, default_value_t = FindingFormat::Table)]
    pub format: FindingFormat,
    /// Exit 3 when an open, unsuppressed finding has at least this severity.
    #[arg(long, value_enum)]
    pub fail_on: Option<SeverityArg>,
    /// Cap the store's memory (DuckDB spills to disk beyond it; default 2GB).
    #[arg(long, value_name = "SIZE", env = "NHISCOPE_MEMORY_LIMIT")]
    pub memory_limit: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FindingsArgs {
    #[command(subcommand)]
    pub action: Option<FindingsAction>,
    /// Statuses to list: open, suppressed, resolved, or all (default: open,suppressed).
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,
    /// Minimum severity.
    #[arg(long, value_enum)]
    pub severity: Option<SeverityArg>,
    #[arg(long)]
    pub rule: Option<String>,
    /// OWASP NHI category (NHI1..NHI10).
    #[arg(long)]
    pub owasp: Option<String>,
    #[arg(long)]
    pub provider: Option<String>,
    #[arg(long)]
    pub tenant: Option<String>,
    /// Substring of the resource or identity.
    #[arg(long, short = 's')]
    pub search: Option<String>,
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = FindingFormat::Table)]
    pub format: FindingFormat,
    /// Exit 3 when an open, unsuppressed finding has at least this severity.
    #[arg(long, value_enum)]
    pub fail_on: Option<SeverityArg>,
}

#[derive(Debug, Subcommand)]
pub enum FindingsAction {
    /// Suppress one finding (by id) or a rule on a resource pattern, with a reason.
    Suppress {
        /// The finding id (F-...).
        finding: Option<String>,
        /// Suppress this rule (or `*`) instead of one finding...
        #[arg(long, conflicts_with = "finding")]
        rule: Option<String>,
        /// ...on resources matching this pattern (`*` wildcards; default all).
        #[arg(long, requires = "rule")]
        resource: Option<String>,
        #[arg(long)]
        reason: String,
        /// Who decided (default: $USER).
        #[arg(long)]
        author: Option<String>,
        /// When the suppression lapses (RFC 3339 or date).
        #[arg(long)]
        expires: Option<String>,
    },
    /// Revoke a suppression: its findings show as open again.
    Unsuppress {
        suppression_id: i64,
        #[arg(long)]
        author: Option<String>,
    },
    /// One finding with its evidence, remediation and lifecycle events.
    Show {
        finding: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
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
    /// Do not evaluate the rules after the scan.
    #[arg(long)]
    pub no_rules: bool,
    /// Exit 3 when an open, unsuppressed finding has at least this severity.
    #[arg(long, value_enum)]
    pub fail_on: Option<SeverityArg>,
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
    /// Serve the dashboard afterwards (the default when stdout is a terminal).
    #[arg(long, conflicts_with = "no_serve")]
    pub serve: bool,
    /// Only load and print; do not serve the dashboard.
    #[arg(long)]
    pub no_serve: bool,
    /// Dashboard address when serving.
    #[arg(long, default_value = "127.0.0.1:8080", env = "NHISCOPE_BIND")]
    pub bind: String,
}
