//! In-process, in-memory views of the store that the dashboard reads on every request, shared
//! by every clone of one [`Store`] (the web server's connection pool):
//!
//! - [`columns`]: the identity summary ([`super::summary`]) as compact columns with a position
//!   per sort order, loaded once per summary build; [`page`] cuts inventory pages from it and
//!   [`search`] answers the name / ARN / id / owner substring search with a trigram index.
//! - [`detail`]: every identity page of the current snapshot, compressed section by section,
//!   built in the background when the snapshot or the findings change.
//! - [`sessions`]: dashboard sessions and API tokens already checked, until they expire or an
//!   account or session changes.
//!
//! Whether the summary still matches the store is a DuckDB statement (the fingerprint, see
//! [`Store::summary_build`]); it is asked at most every [`RECHECK`] and again as soon as this
//! process writes a scan, an evaluation, a suppression or a summary (a generation counter the
//! writers bump), and the answer holds only for the `now` window in which no suppression starts
//! or stops being in force. Everything here is derived: a miss reads the store as before.

pub(crate) mod columns;
pub(crate) mod detail;
pub(crate) mod page;
pub(crate) mod search;
pub(crate) mod sessions;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use self::columns::{Loaded, SummaryIndex};
use super::summary::SummaryBuild;
use super::{Result, Store};
use crate::time::Micros;

/// How long a positive fingerprint check is trusted when this process wrote nothing since.
pub(crate) const RECHECK: Duration = Duration::from_millis(500);

/// A summary build found to match the store, and for which `now` values that holds.
#[derive(Debug, Clone)]
struct Checked {
    build: SummaryBuild,
    generation: u64,
    at: Instant,
    /// `now` in `from..until` sees the same suppressions in force as the build did.
    from: Micros,
    until: Micros,
}

/// What the clones of one store share.
#[derive(Default)]
pub(crate) struct Shared {
    /// Bumped by every in-process write the summary's fingerprint covers.
    generation: AtomicU64,
    checked: Mutex<Option<Checked>>,
    /// The index of one summary build (`None`: the build did not fit, see
    /// [`SummaryIndex::load`]).
    index: Mutex<Option<(i64, Option<Arc<SummaryIndex>>)>>,
    pub(crate) sessions: sessions::SessionCache,
    /// Whether the store held log events when last asked, and when that was.
    events: Mutex<Option<(Instant, bool)>>,
    /// The identity pages in memory (see [`detail`]).
    pub(crate) detail: Mutex<detail::DetailSlot>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Forgets every fingerprint check (a write happened).
    pub(crate) fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

impl Store {
    /// Loads the in-memory index of the identity summary now (when the summary matches the
    /// store), so the first dashboard request does not pay for it, and starts building the
    /// in-memory identity pages in the background ([`Store::wait_for_identity_pages`]).
    /// Returns whether the inventory index loaded.
    pub fn warm_dashboard(&self, now: Micros) -> Result<bool> {
        let inventory = matches!(self.summary_index(now)?, Some((_, Some(_))));
        if let Some(build) = self.fresh_summary_build(now)? {
            self.start_detail_build(&build.content);
        }
        Ok(inventory)
    }

    /// Whether any log event is stored: asked at most every [`RECHECK`] (and at once after
    /// this process ingests), so pages of a store without logs do not query for activity.
    pub(crate) fn has_events(&self) -> Result<bool> {
        if let Some((at, present)) = *lock(&self.shared.events) {
            if at.elapsed() < RECHECK {
                return Ok(present);
            }
        }
        let present: bool =
            self.conn()
                .query_row("SELECT EXISTS (SELECT 1 FROM events)", [], |r| r.get(0))?;
        *lock(&self.shared.events) = Some((Instant::now(), present));
        Ok(present)
    }

    /// Forgets whether events are stored (this process ingested).
    pub(crate) fn forget_events_check(&self) {
        *lock(&self.shared.events) = None;
    }

    /// Marks the summary's fingerprint as possibly changed by this process.
    pub(crate) fn summary_touched(&self) {
        self.shared.bump();
    }

    /// [`Store::summary_build`], answered from the last check while it holds (see the module
    /// documentation).
    pub(crate) fn fresh_summary_build(&self, now: Micros) -> Result<Option<SummaryBuild>> {
        let generation = self.shared.generation.load(Ordering::SeqCst);
        if let Some(c) = lock(&self.shared.checked).as_ref() {
            if c.generation == generation
                && c.at.elapsed() < RECHECK
                && c.from <= now
                && now < c.until
            {
                return Ok(Some(c.build.clone()));
            }
        }
        let Some((build, from, until)) = self.summary_build_window(now)? else {
            return Ok(None);
        };
        *lock(&self.shared.checked) = Some(Checked {
            build: build.clone(),
            generation,
            at: Instant::now(),
            from,
            until,
        });
        Ok(Some(build))
    }

    /// The in-memory index of the summary build that matches the store at `now`: `Ok(None)`
    /// when the summary is stale; `Some((build, None))` when the index cannot hold this
    /// summary, or it changed while loading (see [`SummaryIndex::load`]): read the store.
    pub(crate) fn summary_index(
        &self,
        now: Micros,
    ) -> Result<Option<(SummaryBuild, Option<Arc<SummaryIndex>>)>> {
        let Some(build) = self.fresh_summary_build(now)? else {
            return Ok(None);
        };
        let mut slot = lock(&self.shared.index);
        if let Some((build_id, index)) = slot.as_ref() {
            if *build_id == build.build_id {
                return Ok(Some((build, index.clone())));
            }
        }
        // One loader at a time (the slot stays locked); the old index is dropped first.
        *slot = None;
        let started = Instant::now();
        let index = match SummaryIndex::load(self, &build)? {
            Loaded::Index(index) => {
                let index: Arc<SummaryIndex> = Arc::from(index);
                tracing::info!(
                    message = "Loaded the in-memory inventory index.",
                    build_id = build.build_id,
                    identities = index.len(),
                    bytes = index.heap_bytes(),
                    millis = started.elapsed().as_millis() as u64
                );
                Some(index)
            }
            Loaded::TooBig => {
                tracing::warn!(
                    message = "The identity summary does not fit the in-memory index; pages read it from the store.",
                    build_id = build.build_id
                );
                None
            }
            // A refresh ran in between: this request reads the store, the next one loads.
            Loaded::Moved => return Ok(Some((build, None))),
        };
        *slot = Some((build.build_id, index.clone()));
        Ok(Some((build, index)))
    }
}
