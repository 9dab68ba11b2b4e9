//! Counts API calls (every attempt, retries included) per operation, through an SDK
//! interceptor: the figure the benchmark and the scan summary report.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Attempts per operation name, shared by the clients it is installed on.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<Mutex<BTreeMap<String, i64>>>);

impl CallCounter {
    /// Total attempts.
    pub fn total(&self) -> i64 {
        self.0.lock().map(|m| m.values().sum()).unwrap_or(0)
    }

    /// Attempts per operation.
    pub fn by_operation(&self) -> BTreeMap<String, i64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "nhiscope::CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        if let Ok(mut map) = self.0.lock() {
            *map.entry(op).or_insert(0) += 1;
        }
        Ok(())
    }
}
