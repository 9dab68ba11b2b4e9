//! A small pool of connections to the one store the server owns. DuckDB connections are not
//! `Sync`, so each sits behind its own mutex; store calls run on tokio's blocking threads.
//! A semaphore in front bounds how many store calls run at once (by default one per CPU), so
//! a burst of requests queues in the server instead of running dozens of DuckDB queries, each
//! with its own working memory, side by side.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use nhiscope_engine::{Store, StoreError};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// Store calls that may run at once by default: the machine's CPUs (DuckDB parallelises each
/// query over them anyway).
pub fn default_slots() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Connections (clones of one `Store`) handed out one request at a time.
pub struct StorePool {
    conns: Vec<Mutex<Store>>,
    next: AtomicUsize,
    slots: Semaphore,
}

impl StorePool {
    /// A pool of `size` connections to `store` (at least one), running at most `slots` store
    /// calls at once (at least one).
    pub fn new(store: Store, size: usize, slots: usize) -> Result<StorePool, StoreError> {
        let mut conns = Vec::with_capacity(size.max(1));
        for _ in 1..size.max(1) {
            conns.push(Mutex::new(store.try_clone()?));
        }
        conns.push(Mutex::new(store));
        Ok(StorePool {
            conns,
            next: AtomicUsize::new(0),
            slots: Semaphore::new(slots.max(1)),
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

    /// Runs `f` with a connection on a blocking thread, once a slot is free.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, AppError> + Send + 'static,
    {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| AppError::internal(format!("store slots: {e}")))?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut store = pool.lock();
            f(&mut store)
        })
        .await
        .map_err(|e| AppError::internal(format!("store task: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_slots_store_calls_run_at_once() {
        let store = Store::open_in_memory().expect("store");
        let pool = Arc::new(StorePool::new(store, 8, 2).expect("pool"));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                pool.run(move |_| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                })
                .await
            }));
        }
        for t in tasks {
            t.await.expect("task").expect("run");
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
