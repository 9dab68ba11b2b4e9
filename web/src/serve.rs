//! Running the dashboard: build the state from an open store, bind (127.0.0.1 by default) and
//! serve, over plain HTTP until the shutdown future resolves, or over TLS (rustls with the
//! aws-lc-rs provider, certificate and key from PEM files).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use nhiscope_engine::rules::RuleSet;
use nhiscope_engine::{Store, StoreError};

use crate::pool::StorePool;
use crate::state::{AppState, Clock};

/// Connections in the pool: enough for the blocking threads serving concurrent requests.
pub const POOL_SIZE: usize = 8;

/// The state for serving `store` (which the server then owns, read-write). Loads the
/// inventory's in-memory index first, so the first request does not wait for it.
pub fn state(
    store: Store,
    rules: RuleSet,
    clock: Clock,
    tls: bool,
) -> Result<AppState, StoreError> {
    let started = std::time::Instant::now();
    if store.warm_dashboard(clock())? {
        tracing::info!(
            message = "Inventory index ready.",
            millis = started.elapsed().as_millis() as u64
        );
    }
    Ok(AppState {
        pool: Arc::new(StorePool::new(
            store,
            POOL_SIZE,
            crate::pool::default_slots(),
        )?),
        rules: Arc::new(rules),
        clock,
        tls,
    })
}

/// Serves the dashboard on an already bound listener until `shutdown` resolves.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(message = "Dashboard listening.", addr = ?addr);
    axum::serve(listener, crate::router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves the dashboard over TLS on an already bound listener, with the certificate chain and
/// private key read from PEM files. The state should say `tls: true` (Secure cookies, HSTS).
pub async fn run_tls(
    listener: std::net::TcpListener,
    state: AppState,
    cert: &Path,
    key: &Path,
) -> std::io::Result<()> {
    // One process-wide crypto provider; a second install (tests, restarts) is harmless.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr().ok();
    tracing::info!(message = "Dashboard listening (TLS).", addr = ?addr);
    axum_server::from_tcp_rustls(listener, config)?
        .serve(crate::router(state).into_make_service())
        .await
}
