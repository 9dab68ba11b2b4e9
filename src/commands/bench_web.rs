//! `nhiscope bench-web`: the dashboard under load. Serves the store on a loopback port in this
//! process, signs a benchmark session in, and drives the inventory page and identity pages with
//! 32 keep-alive connections, printing requests/s, p50 and p99 per page kind. Generate a large estate
//! first (`nhiscope bench rules` writes a synthetic one; `nhiscope evaluate` records findings).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use nhiscope_engine::rules::RuleSet;
use nhiscope_engine::store::auth::Role;
use nhiscope_engine::store::inventory_page::InventoryQuery;

/// `nhiscope bench-web` flags.
#[derive(Debug, Args)]
pub struct BenchWebArgs {
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds per page kind.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Cap the store's memory, as `serve --memory-limit` does.
    #[arg(long, value_name = "SIZE", default_value = super::serve::DEFAULT_MEMORY_LIMIT)]
    pub memory_limit: Option<String>,
}

/// Seconds per page kind of the one-connection pass.
const SINGLE_SECONDS: u64 = 5;

/// The process's peak resident set (`VmHWM`), as Linux reports it.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

pub fn run(args: &BenchWebArgs, store_path: &Path, rules: &RuleSet, now: i64) -> Result<ExitCode> {
    let mut store = super::open_store(store_path, args.memory_limit.as_deref())?;
    if store.ensure_identity_summary(now)? {
        outln!("rebuilt the identity summary");
    }
    let sample = store.inventory_page(
        &InventoryQuery {
            limit: Some(200),
            sort: nhiscope_engine::store::inventory_page::InventorySort::LastUsed,
            ..Default::default()
        },
        now,
    )?;
    let identities = sample.total;
    let session = nhiscope_web::secret::new_token()?;
    store.put_web_user(
        "bench",
        &nhiscope_web::secret::hash_password(&nhiscope_web::secret::new_token()?)?,
        Role::Viewer,
        now,
    )?;
    store.create_web_session(
        &nhiscope_web::secret::digest(&session),
        "bench",
        now,
        now + 86_400_000_000,
    )?;
    let enc = |s: &str| nhiscope_web::fmt::enc(s);
    // Pages cut from the identities first (browse, search, owner filter) and pages that
    // aggregate credentials and findings first (filters and sorts on them).
    let inventory: Vec<String> = vec![
        "/inventory".into(),
        "/inventory?q=svc-4242".into(),
        "/inventory?owner=no&kind=user".into(),
        "/inventory?sort=created&dir=desc".into(),
    ];
    let aggregated: Vec<String> = vec![
        "/inventory?sort=last_used&dir=desc".into(),
        "/inventory?findings=yes&severity=high".into(),
        "/inventory?key_age=over_365_days".into(),
    ];
    let identity: Vec<String> = sample
        .items
        .iter()
        .map(|i| {
            format!(
                "/identity?tenant={}&id={}",
                enc(&i.tenant),
                enc(&i.identity_id)
            )
        })
        .collect();
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let clock: nhiscope_web::Clock = Arc::new(move || now);
        // The identity pages are built in the background when serving; measure them built.
        let started = std::time::Instant::now();
        store.warm_dashboard(now)?;
        if store.wait_for_identity_pages(std::time::Duration::from_secs(1800))? {
            outln!(
                "in-memory identity pages ready in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        } else {
            outln!("in-memory identity pages not built: identity pages read the store");
        }
        let state = nhiscope_web::serve::state(store, rules.clone(), clock, false)?;
        let server = tokio::spawn(nhiscope_web::serve::run(
            listener,
            state,
            std::future::pending(),
        ));
        let cookie = format!("{}={session}", nhiscope_web::auth::SESSION_COOKIE);
        outln!(
            "{identities} identities; {} connections, {} s per page kind",
            args.connections,
            args.seconds
        );
        // One connection first (what a single request costs), then the full load.
        for (connections, seconds) in [
            (1, args.seconds.min(SINGLE_SECONDS)),
            (args.connections, args.seconds),
        ] {
            outln!("{connections} connection(s):");
            for (name, paths) in [
                ("inventory", &inventory),
                ("inv-aggr", &aggregated),
                ("identity", &identity),
            ] {
                if paths.is_empty() {
                    continue;
                }
                let r = nhiscope_web::loadgen::run(
                    &base,
                    paths,
                    &cookie,
                    connections,
                    Duration::from_secs(seconds),
                )
                .await;
                outln!(
                    "{name:<10} {:>8} requests {:>8.0} req/s  p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  errors {}",
                    r.requests,
                    r.per_second,
                    r.p50_ms,
                    r.p99_ms,
                    r.max_ms,
                    r.errors
                );
            }
        }
        outln!("peak RSS {}", peak_rss());
        server.abort();
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
