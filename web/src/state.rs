//! What every handler shares: the store pool, the loaded rules, the clock and the server's
//! settings. Time is a parameter so tests can fix it.

use std::sync::Arc;

use nhiscope_engine::rules::RuleSet;
use nhiscope_engine::time::Micros;

use crate::pool::StorePool;

/// The clock: UTC micros.
pub type Clock = Arc<dyn Fn() -> Micros + Send + Sync>;

/// Shared state of the dashboard.
#[derive(Clone)]
pub struct AppState {
    pub pool: Arc<StorePool>,
    pub rules: Arc<RuleSet>,
    pub clock: Clock,
    /// Served over TLS: cookies get `Secure`, responses HSTS.
    pub tls: bool,
}

impl AppState {
    pub fn now(&self) -> Micros {
        (self.clock)()
    }
}
