//! `nhiscope serve`: the dashboard over an existing store. The server owns the store
//! read-write (DuckDB allows one writing process) and shares its connections between requests;
//! on first start with no dashboard account it creates `admin` with a random password and
//! prints it once.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use nhiscope_engine::rules::RuleSet;
use nhiscope_engine::store::auth::Role;
use nhiscope_engine::Store;

/// `nhiscope serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; the dashboard maps every credential).
    #[arg(long, default_value = "127.0.0.1:8080", env = "NHISCOPE_BIND")]
    pub bind: String,
    /// Serve HTTPS with this certificate chain (PEM); cookies become Secure, HSTS is sent.
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// Cap the store's memory: a page that needs more fails with an error instead of growing
    /// the process (DuckDB's own default is 80% of RAM, shared by every request).
    #[arg(long, value_name = "SIZE", env = "NHISCOPE_MEMORY_LIMIT", default_value = DEFAULT_MEMORY_LIMIT)]
    pub memory_limit: Option<String>,
}

/// The store's memory cap when serving, unless `--memory-limit` says otherwise.
pub const DEFAULT_MEMORY_LIMIT: &str = "4GB";

/// Creates `admin` with a random password when the store has no dashboard account; returns
/// the password to print once.
pub fn ensure_admin(store: &Store, now: i64) -> Result<Option<String>> {
    if store.web_user_count()? > 0 {
        return Ok(None);
    }
    let password = nhiscope_web::secret::new_password()?;
    let hash = nhiscope_web::secret::hash_password(&password)?;
    store.put_web_user("admin", &hash, Role::Admin, now)?;
    Ok(Some(password))
}

/// Serves `store` on `bind` (over TLS with `tls` = (certificate, key) PEM files) until the
/// process is stopped.
pub fn serve(
    mut store: Store,
    rules: &RuleSet,
    bind: &str,
    tls: Option<(&Path, &Path)>,
    now: i64,
) -> Result<ExitCode> {
    let first_password = ensure_admin(&store, now)?;
    // A summary that cannot be rebuilt (e.g. under the memory cap) leaves the pages on their
    // slower path; it is not a reason not to serve.
    if let Err(e) = store.ensure_identity_summary(now) {
        tracing::warn!(message = "Cannot rebuild the identity summary.", error = %e);
    }
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let listener =
            std::net::TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
        let addr = listener.local_addr()?;
        let clock: nhiscope_web::Clock = Arc::new(super::now);
        let state = nhiscope_web::serve::state(store, rules.clone(), clock, tls.is_some())?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        outln!("\nDashboard: {scheme}://{addr}/  (Ctrl-C stops it)");
        match &first_password {
            Some(pw) => outln!(
                "Log in as admin with password {pw}\n  (shown once; change it with `nhiscope user add admin --role admin`)"
            ),
            None => outln!("Log in with your dashboard account (`nhiscope user add NAME --role admin|viewer`)."),
        }
        match tls {
            Some((cert, key)) => nhiscope_web::serve::run_tls(listener, state, cert, key)
                .await
                .with_context(|| format!("TLS with {} and {}", cert.display(), key.display()))?,
            None => {
                listener.set_nonblocking(true)?;
                let listener = tokio::net::TcpListener::from_std(listener)?;
                nhiscope_web::serve::run(listener, state, std::future::pending())
                    .await
                    .context("dashboard server")?
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: &ServeArgs, store_path: &Path, rules: &RuleSet, now: i64) -> Result<ExitCode> {
    let store = super::open_store(store_path, args.memory_limit.as_deref())?;
    let tls = args.tls_cert.as_deref().zip(args.tls_key.as_deref());
    serve(store, rules, &args.bind, tls, now)
}
