//! Everything a collector needs for one account: the SDK configuration, per-collector IAM
//! clients with call counters, the scan time, and the results the bulk stage shares with the
//! dependent one (user list, credential report, CodeCommit reach).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use aws_config::SdkConfig;
use nhiscope_engine::time::Micros;

use super::calls::CallCounter;
use super::credential_report::CredentialReport;
use super::errors::classify;
use crate::collector::CollectorError;
use crate::runner::CallCounting;

/// A user as the dependent collectors need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub name: String,
    pub arn: String,
}

/// Results of the bulk stage, read by the dependent stage.
#[derive(Debug, Default)]
pub struct Shared {
    /// Users, from authorization details (or `ListUsers` when that failed).
    pub users: tokio::sync::OnceCell<Vec<UserRef>>,
    /// The credential report, when it could be had.
    pub report: OnceLock<CredentialReport>,
    /// Users whose policies may reach CodeCommit's Git operations (the only use of IAM SSH
    /// keys), from authorization details.
    pub codecommit_users: OnceLock<HashSet<String>>,
}

/// The per-account context.
pub struct AwsContext {
    pub account: String,
    pub partition: String,
    /// Scan time (a parameter, never read from the clock by collectors).
    pub now: Micros,
    /// Concurrent requests per per-identity collector.
    pub concurrency: usize,
    /// Tag keys that name an owner, normalised once (case and punctuation ignored).
    owner_tag_keys: HashSet<String>,
    /// List SSH keys of every user, not only of users who may reach CodeCommit.
    pub ssh_keys_all_users: bool,
    sdk: SdkConfig,
    counters: Mutex<HashMap<String, CallCounter>>,
    pub shared: Shared,
}

impl AwsContext {
    pub fn new(
        sdk: SdkConfig,
        account: String,
        partition: String,
        now: Micros,
        concurrency: usize,
        owner_tag_keys: Vec<String>,
    ) -> AwsContext {
        AwsContext {
            account,
            partition,
            now,
            concurrency: concurrency.max(1),
            owner_tag_keys: owner_tag_keys
                .iter()
                .map(|k| super::credential_report::normalise_name(k))
                .collect(),
            ssh_keys_all_users: false,
            sdk,
            counters: Mutex::new(HashMap::new()),
            shared: Shared::default(),
        }
    }

    fn counter(&self, collector: &str) -> CallCounter {
        let mut map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(collector.to_string()).or_default().clone()
    }

    /// An IAM client whose calls count towards `collector`.
    pub fn iam(&self, collector: &str) -> aws_sdk_iam::Client {
        let conf = aws_sdk_iam::config::Builder::from(&self.sdk)
            .interceptor(self.counter(collector))
            .build();
        aws_sdk_iam::Client::from_conf(conf)
    }

    /// Calls per operation, over all collectors.
    pub fn calls_by_operation(&self) -> std::collections::BTreeMap<String, i64> {
        let map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = std::collections::BTreeMap::new();
        for c in map.values() {
            for (op, n) in c.by_operation() {
                *out.entry(op).or_insert(0) += n;
            }
        }
        out
    }

    /// The account's users: from the bulk stage, or listed now (`ListUsers`) if it failed.
    pub async fn users(&self, collector: &str) -> Result<&[UserRef], CollectorError> {
        let users = self
            .shared
            .users
            .get_or_try_init(|| async {
                let iam = self.iam(collector);
                let users: Vec<UserRef> = iam
                    .list_users()
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| classify("ListUsers", e))?
                    .into_iter()
                    .map(|u| UserRef {
                        name: u.user_name,
                        arn: u.arn,
                    })
                    .collect();
                Ok::<_, CollectorError>(users)
            })
            .await?;
        Ok(users.as_slice())
    }

    /// Returns true if `key` names an owner (`owner`, `Owner`, `team`, `created-by`...).
    pub fn is_owner_tag(&self, key: &str) -> bool {
        self.owner_tag_keys
            .contains(&super::credential_report::normalise_name(key))
    }
}

impl CallCounting for AwsContext {
    fn calls_of(&self, collector: &str) -> i64 {
        self.counter(collector).total()
    }
    fn total_calls(&self) -> i64 {
        let map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        map.values().map(CallCounter::total).sum()
    }
}

/// Converts an SDK timestamp to micros.
pub fn micros(t: &aws_smithy_types::DateTime) -> Micros {
    t.secs() * 1_000_000 + i64::from(t.subsec_nanos() / 1_000)
}
