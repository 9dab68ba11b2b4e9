//! The identity page of the current snapshot, in memory, so that serving one costs no DuckDB
//! query: for every identity, each section of its page (attributes, tags, owners, credentials,
//! groups, trusts, grants, findings, history) as one small zstd frame compressed with a
//! dictionary trained on that section, and the policy statements its grants point to, stored
//! once for the estate.
//!
//! It is built from the store in one read transaction (one sorted query per section, streamed),
//! in the background when the current snapshot or the findings change: until then pages are
//! read from the store. What it holds does not depend on suppressions: the overlay (a finding
//! shown suppressed) is applied per request from the suppressions in force, cached per summary
//! build (whose freshness check covers them). Answers equal [`Store::identity_detail`]'s store
//! paths (tests `summary_agrees_with_aggregates_on_a_synthetic_estate`, `summary_follows_scans_that_remove_identities_or_fail`).

mod build;
mod frames;
mod overlay;
mod sections;

use std::collections::HashMap;
use std::sync::Arc;

use duckdb::params;
use serde::{Deserialize, Serialize};

use self::frames::Section;
use self::overlay::InForce;
use self::sections::Part;
use super::columns::hash_key;
use super::lock;
use crate::model::GrantRow;
use crate::rules::rule::Severity;
use crate::store::activity::{Activity, ActivityEvent};
use crate::store::identity::{
    summarise_permissions, IdentityAttributes, IdentityCredential, IdentityDetail, IdentityFinding,
    OwnerCandidate,
};
use crate::store::summary::CONTENT;
use crate::store::{Result, Store, StoreError};
use crate::time::Micros;

/// A policy statement, stored once however many grants point to it.
#[derive(Debug)]
struct Statement {
    policy_id: String,
    statement_index: i64,
    sid: Option<String>,
    effect: String,
    actions: Vec<String>,
    not_actions: Vec<String>,
    resources: Vec<String>,
    not_resources: Vec<String>,
    conditions: Option<String>,
}

/// A finding as stored: `resource` is `None` when it is the identity itself.
#[derive(Debug, Serialize, Deserialize)]
struct StoredFinding {
    finding_id: String,
    rule_id: String,
    owasp: String,
    severity: String,
    status: String,
    message: String,
    resource: Option<String>,
}

/// A grant as stored: its statement, relation, and `via` when it is not the identity.
type StoredGrant = (u32, String, Option<String>);

#[cfg(test)]
thread_local! {
    /// Identity pages served from memory (tests check the index is used).
    pub(crate) static MEMORY_PAGES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The pages of one build of the current snapshot.
pub(crate) struct DetailIndex {
    /// [`CONTENT`] (what the summary fingerprint covers but suppressions) when it was built.
    pub(crate) content: String,
    /// Identity slot by [`hash_key`]; `u32::MAX` when two identities share a hash.
    slots: HashMap<u64, u32>,
    sections: Vec<Section>,
    statements: Vec<Statement>,
    /// Whether the store held any log event (no: pages have no activity to show).
    has_events: bool,
}

impl DetailIndex {
    pub(crate) fn len(&self) -> usize {
        self.sections.first().map_or(0, |s| s.ends.len())
    }

    /// Compressed pages and statements, in bytes (roughly).
    pub(crate) fn heap_bytes(&self) -> usize {
        let statements: usize = self
            .statements
            .iter()
            .map(|s| {
                s.policy_id.len()
                    + [&s.actions, &s.not_actions, &s.resources, &s.not_resources]
                        .iter()
                        .flat_map(|l| l.iter())
                        .map(|a| a.len() + 24)
                        .sum::<usize>()
                    + 160
            })
            .sum();
        self.sections
            .iter()
            .map(|s| s.data.capacity() + s.ends.capacity() * 8)
            .sum::<usize>()
            + self.slots.capacity() * 16
            + statements
    }

    fn section<T: for<'de> Deserialize<'de>>(&self, part: Part, slot: u32) -> Result<Option<T>> {
        let Some(bytes) = self.sections[part as usize].decode(slot)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Invalid(format!("identity page section: {e}")))
    }

    /// The slot and attributes of (`tenant`, `identity_id`), `None` when it is not here; an
    /// error when two identities share its hash (the store path answers).
    fn find(&self, tenant: &str, identity_id: &str) -> Result<Option<(u32, IdentityAttributes)>> {
        let Some(&slot) = self.slots.get(&hash_key(tenant, identity_id)) else {
            return Ok(None);
        };
        if slot == u32::MAX {
            return Err(StoreError::Invalid("identity hash shared".into()));
        }
        let Some(attributes) = self.section::<IdentityAttributes>(Part::Attributes, slot)? else {
            return Ok(None);
        };
        let here = attributes.tenant == tenant && attributes.identity_id == identity_id;
        Ok(here.then_some((slot, attributes)))
    }

    /// The activity of (`tenant`, `identity_id`): `Some(None)` when no log was ingested; an
    /// error when the identity is not here (the store path answers).
    fn activity(&self, tenant: &str, identity_id: &str) -> Result<Option<Option<Activity>>> {
        let Some((slot, _)) = self.find(tenant, identity_id)? else {
            return Err(StoreError::Invalid("identity not in the index".into()));
        };
        if !self.has_events {
            return Ok(Some(None));
        }
        let rows: Vec<(ActivityEvent, i64, Option<Micros>, Option<Micros>)> =
            self.section(Part::Activity, slot)?.unwrap_or_default();
        let mut activity = Activity::default();
        for (event, total, first, last) in rows {
            activity.events.push(event);
            (activity.total, activity.first, activity.last) = (total, first, last);
        }
        Ok(Some(Some(activity)))
    }

    /// The page of (`tenant`, `identity_id`), `Ok(None)` when it is not in the snapshot, with
    /// `suppressed` telling which open findings show suppressed.
    fn detail(
        &self,
        tenant: &str,
        identity_id: &str,
        suppressed: impl Fn(&str, &str, &str) -> bool,
    ) -> Result<Option<IdentityDetail>> {
        let Some((slot, attributes)) = self.find(tenant, identity_id)? else {
            return Ok(None);
        };
        let tags: Vec<(String, String)> = self.section(Part::Tags, slot)?.unwrap_or_default();
        let owners: Vec<OwnerCandidate> = self.section(Part::Owners, slot)?.unwrap_or_default();
        let credentials: Vec<IdentityCredential> =
            self.section(Part::Credentials, slot)?.unwrap_or_default();
        let groups: Vec<String> = self.section(Part::Groups, slot)?.unwrap_or_default();
        let trusts = self.section(Part::Trusts, slot)?.unwrap_or_default();
        let stored: Vec<StoredGrant> = self.section(Part::Grants, slot)?.unwrap_or_default();
        let grants: Vec<GrantRow> = stored
            .into_iter()
            .filter_map(|(stmt, relation, via)| {
                let s = self.statements.get(stmt as usize)?;
                Some(GrantRow {
                    identity_id: identity_id.to_string(),
                    policy_id: s.policy_id.clone(),
                    relation,
                    via: via.unwrap_or_else(|| identity_id.to_string()),
                    statement_index: s.statement_index,
                    sid: s.sid.clone(),
                    effect: s.effect.clone(),
                    actions: s.actions.clone(),
                    not_actions: s.not_actions.clone(),
                    resources: s.resources.clone(),
                    not_resources: s.not_resources.clone(),
                    conditions: s.conditions.clone(),
                })
            })
            .collect();
        let stored: Vec<StoredFinding> = self.section(Part::Findings, slot)?.unwrap_or_default();
        let mut overlaid = false;
        let mut findings: Vec<IdentityFinding> = stored
            .into_iter()
            .map(|f| {
                let resource = f.resource.as_deref().unwrap_or(identity_id);
                let status =
                    if f.status == "open" && suppressed(&f.finding_id, &f.rule_id, resource) {
                        overlaid = true;
                        "suppressed".to_string()
                    } else {
                        f.status
                    };
                IdentityFinding {
                    finding_id: f.finding_id,
                    rule_id: f.rule_id,
                    owasp: f.owasp,
                    severity: f.severity,
                    status,
                    message: f.message,
                }
            })
            .collect();
        if overlaid {
            // As the store path orders them (by the shown status).
            findings.sort_by(|a, b| {
                // The store ranks an unknown severity with `info`.
                let key = |f: &IdentityFinding| {
                    let rank = Severity::parse(&f.severity).unwrap_or(Severity::Info);
                    (f.status == "resolved", std::cmp::Reverse(rank))
                };
                key(a)
                    .cmp(&key(b))
                    .then_with(|| a.rule_id.cmp(&b.rule_id))
                    .then_with(|| a.finding_id.cmp(&b.finding_id))
            });
        }
        let history = self.section(Part::History, slot)?.unwrap_or_default();
        Ok(Some(IdentityDetail {
            permissions: summarise_permissions(&grants),
            attributes,
            tags,
            owners,
            credentials,
            groups,
            trusts,
            grants,
            findings,
            history,
        }))
    }
}

/// The slot of the shared state that holds the index.
#[derive(Default)]
pub(crate) struct DetailSlot {
    index: Option<Arc<DetailIndex>>,
    building: bool,
    /// The content a build failed for (not retried until the content changes).
    failed: Option<String>,
    in_force: Option<Arc<InForce>>,
}

impl Store {
    /// Builds the identity-page index now when the current one does not match the store.
    /// Returns whether an index matching the store is in place.
    #[cfg(test)]
    pub(crate) fn warm_detail_index(&self) -> Result<bool> {
        let content = self.detail_content()?;
        if lock(&self.shared.detail)
            .index
            .as_ref()
            .is_some_and(|i| i.content == content)
        {
            return Ok(true);
        }
        self.build_detail_index()?;
        Ok(lock(&self.shared.detail)
            .index
            .as_ref()
            .is_some_and(|i| i.content == content))
    }

    fn detail_content(&self) -> Result<String> {
        Ok(self
            .conn()
            .query_row(&format!("SELECT {CONTENT}"), [], |r| r.get(0))?)
    }

    /// Builds the index (on this thread) and puts it in place; a failure is logged and
    /// remembered, and pages keep reading the store.
    fn build_detail_index(&self) -> Result<()> {
        let started = std::time::Instant::now();
        // DuckDB's stream panics when fetching fails mid-way: that is a failed build.
        let built =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| DetailIndex::build(self)))
                .unwrap_or_else(|_| {
                    Err(StoreError::Invalid(
                        "reading the store failed mid-scan".into(),
                    ))
                });
        match built {
            Ok(index) => {
                tracing::info!(
                    message = "Loaded the in-memory identity pages.",
                    identities = index.len(),
                    statements = index.statements.len(),
                    bytes = index.heap_bytes(),
                    millis = started.elapsed().as_millis() as u64
                );
                let mut slot = lock(&self.shared.detail);
                slot.index = Some(Arc::new(index));
                slot.building = false;
                Ok(())
            }
            Err(e) => {
                tracing::warn!(
                    message = "Cannot hold the identity pages in memory; they are read from the store.",
                    error = %e
                );
                let content = self.detail_content().ok();
                let mut slot = lock(&self.shared.detail);
                slot.failed = content;
                slot.building = false;
                Err(e)
            }
        }
    }

    /// The identity page from memory: `None` when the index cannot answer (not built for
    /// the store as it is, summary stale, time travel): read the store.
    /// The index when it matches the store at `now` (and the summary build it matches);
    /// otherwise `None`, with a build started when none is under way.
    fn fresh_detail_index(
        &self,
        now: Micros,
    ) -> Result<Option<(crate::store::summary::SummaryBuild, Arc<DetailIndex>)>> {
        let Some(build) = self.fresh_summary_build(now)? else {
            return Ok(None);
        };
        let index = lock(&self.shared.detail).index.clone();
        match index {
            Some(index) if index.content == build.content => Ok(Some((build, index))),
            _ => {
                self.start_detail_build(&build.content);
                Ok(None)
            }
        }
    }

    /// The identity's activity from memory (see [`Store::identity_activity`]): `None` when
    /// the index cannot answer.
    pub(crate) fn identity_activity_in_memory(
        &self,
        tenant: &str,
        identity_id: &str,
        now: Micros,
    ) -> Result<Option<Option<Activity>>> {
        let Some((_, index)) = self.fresh_detail_index(now)? else {
            return Ok(None);
        };
        match index.activity(tenant, identity_id) {
            Ok(found) => {
                #[cfg(test)]
                MEMORY_PAGES.with(|m| m.set(m.get() + 1));
                Ok(found)
            }
            Err(e) => {
                tracing::debug!(message = "Identity activity not served from memory.", error = %e);
                Ok(None)
            }
        }
    }

    pub(crate) fn identity_detail_in_memory(
        &self,
        tenant: &str,
        identity_id: &str,
        now: Micros,
    ) -> Result<Option<Option<IdentityDetail>>> {
        let Some((build, index)) = self.fresh_detail_index(now)? else {
            return Ok(None);
        };
        let in_force = lock(&self.shared.detail).in_force.clone();
        let in_force = match in_force {
            Some(f) if f.build_id == build.build_id => f,
            _ => {
                let f = Arc::new(self.in_force(build.build_id, now)?);
                lock(&self.shared.detail).in_force = Some(f.clone());
                f
            }
        };
        if in_force.complex {
            return Ok(None);
        }
        match index.detail(tenant, identity_id, |f, r, res| {
            in_force.suppresses(f, r, res)
        }) {
            Ok(found) => {
                #[cfg(test)]
                MEMORY_PAGES.with(|m| m.set(m.get() + 1));
                Ok(Some(found))
            }
            Err(e) => {
                tracing::debug!(message = "Identity page not served from memory.", error = %e);
                Ok(None)
            }
        }
    }

    /// Waits (up to `limit`) until the in-memory identity pages match the store, e.g. for a
    /// benchmark to measure the steady state. Returns whether they do.
    pub fn wait_for_identity_pages(&self, limit: std::time::Duration) -> Result<bool> {
        let started = std::time::Instant::now();
        let content = self.detail_content()?;
        loop {
            let slot = lock(&self.shared.detail);
            if slot.index.as_ref().is_some_and(|i| i.content == content) {
                return Ok(true);
            }
            if !slot.building || started.elapsed() > limit {
                return Ok(false);
            }
            drop(slot);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Drops the index (tests read the store path).
    #[cfg(test)]
    pub(crate) fn forget_detail_index(&self) {
        let mut slot = lock(&self.shared.detail);
        slot.index = None;
        slot.failed = None;
    }

    /// Starts building the index for `content` on a thread of its own, unless one is being
    /// built or a build for it failed. Unit tests build it only when they ask
    /// (`Store::warm_detail_index`), so they know which path answered.
    pub(crate) fn start_detail_build(&self, content: &str) {
        if cfg!(test) {
            return;
        }
        {
            let mut slot = lock(&self.shared.detail);
            if slot.building
                || slot.failed.as_deref() == Some(content)
                || slot.index.as_ref().is_some_and(|i| i.content == content)
            {
                return;
            }
            // An index of another content answers nothing: free it before building.
            slot.index = None;
            slot.building = true;
        }
        let store = match self.try_clone() {
            Ok(store) => store,
            Err(e) => {
                tracing::warn!(message = "Cannot open a connection to build identity pages.", error = %e);
                lock(&self.shared.detail).building = false;
                return;
            }
        };
        std::thread::spawn(move || store.build_detail_index().ok());
    }

    /// The suppressions in force at `now` (the same for every `now` the build holds for).
    fn in_force(&self, build_id: i64, now: Micros) -> Result<InForce> {
        let mut stmt = self.conn().prepare(
            "SELECT finding_id, rule_id, resource FROM suppressions
             WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > make_timestamp(?::BIGINT))",
        )?;
        let rules = stmt
            .query_map(params![now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let complex = rules.iter().any(|(_, _, p): &(_, _, Option<String>)| {
            p.as_deref().is_some_and(|p| p.contains(['[', ']', '\\']))
        });
        Ok(InForce {
            build_id,
            rules,
            complex,
        })
    }
}
