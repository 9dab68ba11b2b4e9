//! The collector contract. A collector asks one provider API family for one kind of object and
//! returns model rows, or an error that names the API and says why. Collectors run in stages:
//! account-wide bulk collectors first, then collectors that need their results (per-identity
//! calls). A failed collector writes nothing, so its earlier data stays in force.

use futures::future::BoxFuture;
use nhiscope_engine::RowSet;

/// When a collector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Bulk, account-wide calls; fill the context's shared results.
    Bulk,
    /// Calls that need the bulk results (user lists, the credential report).
    Dependent,
}

/// Why a collector failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectorError {
    #[error("{api}: access denied ({code}): {message}")]
    AccessDenied {
        api: String,
        code: String,
        message: String,
    },
    #[error("{api}: not implemented by this endpoint: {message}")]
    NotImplemented { api: String, message: String },
    #[error("{api}: throttled after retries: {message}")]
    Throttled { api: String, message: String },
    #[error("{api}: service error ({code}): {message}")]
    Service {
        api: String,
        code: String,
        message: String,
    },
    #[error("{api}: transport error: {message}")]
    Transport { api: String, message: String },
    #[error("{api}: cannot parse response: {message}")]
    Parse { api: String, message: String },
}

/// One collector: a name, a stage and the collection itself. `Ctx` is the provider's context
/// (clients, tenant, shared results of the bulk stage).
pub trait Collector<Ctx>: Send + Sync {
    /// Stable name, used in the store (`scan_collectors.collector`, row stamps).
    fn name(&self) -> &'static str;
    /// When it runs.
    fn stage(&self) -> Stage;
    /// Collects. API calls are counted by the context, not here.
    fn collect<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<RowSet, CollectorError>>;
}

/// Implements [`Collector`] for a unit struct whose work is an `async fn(&Ctx)`.
#[macro_export]
macro_rules! collector {
    ($ty:ident, $ctx:ty, $name:expr, $stage:expr, $collect:path) => {
        impl $crate::collector::Collector<$ctx> for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn stage(&self) -> $crate::collector::Stage {
                $stage
            }
            fn collect<'a>(
                &'a self,
                ctx: &'a $ctx,
            ) -> futures::future::BoxFuture<
                'a,
                Result<nhiscope_engine::RowSet, $crate::collector::CollectorError>,
            > {
                Box::pin($collect(ctx))
            }
        }
    };
}
