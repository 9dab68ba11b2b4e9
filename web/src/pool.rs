//! A small pool of connections to the one store the server owns. DuckDB connections are not
//! `Sync`, so each sits behind its own mutex; store calls run on tokio's blocking threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use nhiscope_engine::{Store, StoreError};

use crate::error::AppError;

/// Connections (clones of one `Store`) handed out one request at a time.
pub struct StorePool {
    conns: Vec<Mutex<Store>>,
    next: AtomicUsize,
}

impl StorePool {
    /// A pool of `size` connections to `store` (at least one).
    pub fn new(store: Store, size: usize) -> Result<StorePool, StoreError> {
        let mut conns = Vec::with_capacity(size.max(1));
        for _ in 1..size.max(1) {
            conns.push(Mutex::new(store.try_clone()?));
        }
        conns.push(Mutex::new(store));
        Ok(StorePool {
            conns,
            next: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.conns.len();
        for i in 0..n {
            if let Ok(guard) = self.conns[(start + i) % n].try_lock() {
                return guard;
            }
        }
        self.conns[start % n]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` with a connection on a blocking thread.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, AppError> + Send + 'static,
    {
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut store = pool.lock();
            f(&mut store)
        })
        .await
        .map_err(|e| AppError::internal(format!("store task: {e}")))?
    }
}
