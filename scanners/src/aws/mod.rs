//! AWS IAM: every identity, credential, policy and trust an account's IAM knows.
//!
//! [`AwsOptions`] says which accounts (profiles, roles to assume in member accounts, an
//! emulator endpoint); [`targets`] resolves them through the standard aws-config chain (env,
//! profiles, SSO, IMDS) and checks each with `sts:GetCallerIdentity`; [`scan_target`] runs the
//! collectors of [`collectors::all`] into one snapshot per account.

pub mod calls;
pub mod collectors;
pub mod context;
pub mod credential_report;
pub mod errors;
pub mod per_user;
pub mod policy_doc;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use nhiscope_engine::time::Micros;
use nhiscope_engine::{Store, StoreError};
use serde::Deserialize;

use crate::runner::{run_scan, ScanObserver, ScanOutcome, SourceInfo};
use context::AwsContext;

/// A role to assume in a member account.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AssumeRole {
    pub role_arn: String,
    pub external_id: Option<String>,
    /// Profile whose credentials assume the role (default chain when absent).
    pub source_profile: Option<String>,
    #[serde(default = "default_session_name")]
    pub session_name: String,
}

fn default_session_name() -> String {
    "nhiscope".into()
}

/// What to scan and how hard to push the API.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AwsOptions {
    /// Named profiles, each its own account; empty = the default credential chain.
    pub profiles: Vec<String>,
    /// Roles to assume into member accounts.
    pub assume_roles: Vec<AssumeRole>,
    /// Endpoint override (emulators such as moto).
    pub endpoint_url: Option<String>,
    /// Region for the IAM/STS endpoints (IAM is global; default us-east-1).
    pub region: Option<String>,
    /// Concurrent requests per per-identity collector.
    pub concurrency: usize,
    /// Attempts per call, retries on throttling, 5xx and dropped connections included.
    pub max_attempts: u32,
    /// First retry back-off in milliseconds (exponential with jitter after it).
    pub initial_backoff_ms: u64,
    /// Tag keys naming an owner.
    pub owner_tag_keys: Vec<String>,
    /// List SSH keys of every user, not only of users whose policies may reach CodeCommit.
    pub ssh_keys_all_users: bool,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            profiles: Vec::new(),
            assume_roles: Vec::new(),
            endpoint_url: None,
            region: None,
            concurrency: 8,
            max_attempts: 6,
            initial_backoff_ms: 500,
            owner_tag_keys: [
                "owner",
                "owners",
                "team",
                "created-by",
                "creator",
                "contact",
                "maintainer",
                "owner-email",
                "technical-owner",
                "business-owner",
                "responsible",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            ssh_keys_all_users: false,
        }
    }
}

/// Errors before any collector runs (no credentials, unreachable STS...).
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("AWS target {target}: cannot establish identity: {message}")]
    Identity { target: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One account to scan.
pub struct Target {
    /// How it was reached: `default`, `profile:prod`, `role:arn:...`.
    pub label: String,
    pub sdk: SdkConfig,
    pub account: String,
    pub partition: String,
}

async fn base_config(opts: &AwsOptions, profile: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            // Standard mode: exponential back-off with full jitter and a retry quota. (Adaptive
            // mode was measured to stall a whole scan for ~30 s after two throttles.)
            RetryConfig::standard()
                .with_max_attempts(opts.max_attempts.max(1))
                .with_initial_backoff(Duration::from_millis(opts.initial_backoff_ms))
                .with_max_backoff(Duration::from_secs(20)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        )
        .region(Region::new(
            opts.region.clone().unwrap_or_else(|| "us-east-1".into()),
        ));
    if let Some(p) = profile {
        // A named profile means that profile's credentials, even when env credentials exist.
        let creds = aws_config::profile::ProfileFileCredentialsProvider::builder()
            .profile_name(p)
            .build();
        loader = loader.profile_name(p).credentials_provider(creds);
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

async fn identify(label: String, sdk: SdkConfig) -> Result<Target, AwsError> {
    let sts = aws_sdk_sts::Client::new(&sdk);
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::Identity {
            target: label.clone(),
            message: aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
        })?;
    let account = me.account.unwrap_or_default();
    let partition = me
        .arn
        .as_deref()
        .and_then(|a| a.split(':').nth(1))
        .unwrap_or("aws")
        .to_string();
    Ok(Target {
        label,
        sdk,
        account,
        partition,
    })
}

/// Resolves the accounts to scan. Each failure is returned beside the targets that worked.
pub async fn targets(opts: &AwsOptions) -> (Vec<Target>, Vec<AwsError>) {
    let mut pending: Vec<(String, SdkConfig)> = Vec::new();
    if opts.profiles.is_empty() && opts.assume_roles.is_empty() {
        pending.push(("default".into(), base_config(opts, None).await));
    }
    for p in &opts.profiles {
        pending.push((format!("profile:{p}"), base_config(opts, Some(p)).await));
    }
    for r in &opts.assume_roles {
        let base = base_config(opts, r.source_profile.as_deref()).await;
        let mut provider = aws_config::sts::AssumeRoleProvider::builder(&r.role_arn)
            .session_name(&r.session_name)
            .configure(&base);
        if let Some(id) = &r.external_id {
            provider = provider.external_id(id);
        }
        let provider = provider.build().await;
        let sdk = base
            .to_builder()
            .credentials_provider(aws_credential_provider(provider))
            .build();
        pending.push((format!("role:{}", r.role_arn), sdk));
    }
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for (label, sdk) in pending {
        match identify(label, sdk).await {
            Ok(t) if found.iter().any(|f: &Target| f.account == t.account) => {
                tracing::warn!(message = "Account reached twice; scanning it once.", account = %t.account, target = %t.label);
            }
            Ok(t) => found.push(t),
            Err(e) => errors.push(e),
        }
    }
    (found, errors)
}

fn aws_credential_provider(
    p: aws_config::sts::AssumeRoleProvider,
) -> aws_credential_types::provider::SharedCredentialsProvider {
    aws_credential_types::provider::SharedCredentialsProvider::new(p)
}

/// Scans one account into `store` as source `aws:<account>`.
pub async fn scan_target(
    store: &mut Store,
    target: &Target,
    opts: &AwsOptions,
    clock: &(dyn Fn() -> Micros + Sync),
    observer: &dyn ScanObserver,
) -> Result<(ScanOutcome, std::collections::BTreeMap<String, i64>), AwsError> {
    let mut ctx = AwsContext::new(
        target.sdk.clone(),
        target.account.clone(),
        target.partition.clone(),
        clock(),
        opts.concurrency,
        opts.owner_tag_keys.clone(),
    );
    ctx.ssh_keys_all_users = opts.ssh_keys_all_users;
    let source = SourceInfo {
        source: format!("aws:{}", target.account),
        provider: "aws".into(),
        tenant: target.account.clone(),
    };
    let collectors = collectors::all();
    let outcome = run_scan(store, &source, &collectors, &ctx, clock, observer).await?;
    Ok((outcome, ctx.calls_by_operation()))
}
