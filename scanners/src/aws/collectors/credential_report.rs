//! The credential report (`GenerateCredentialReport` + `GetCredentialReport`): console
//! passwords with their last use, the root user and its keys, and the per-key last-used data
//! that spares one `GetAccessKeyLastUsed` call per key. The parsed report is shared with the
//! dependent collectors.

use std::time::Duration;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::ReportStateType;
use nhiscope_engine::model::{CredentialRow, IdentityRow, RowSet};
use serde_json::json;

use crate::aws::context::{micros, AwsContext};
use crate::aws::credential_report::{self as report, CredentialReport};
use crate::aws::errors::classify;
use crate::collector::{CollectorError, Stage};

pub struct CredentialReportCollector;

const NAME: &str = "credential_report";
/// A report generated this long before the scan still counts as describing it.
const FRESH_WINDOW: i64 = 5 * 60 * 1_000_000;
/// How long to wait for AWS to generate the report.
const GENERATION_ATTEMPTS: u32 = 30;

crate::collector!(
    CredentialReportCollector,
    AwsContext,
    NAME,
    Stage::Bulk,
    collect
);

async fn fetch(ctx: &AwsContext) -> Result<CredentialReport, CollectorError> {
    let iam = ctx.iam(NAME);
    let mut wait = Duration::from_millis(200);
    let mut generated_for_us = false;
    for _ in 0..GENERATION_ATTEMPTS {
        let state = iam
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| classify("GenerateCredentialReport", e))?
            .state;
        generated_for_us |= matches!(
            state,
            Some(ReportStateType::Started | ReportStateType::Inprogress)
        );
        if state == Some(ReportStateType::Complete) {
            match iam.get_credential_report().send().await {
                Ok(out) => {
                    let content = out.content.map(|b| b.into_inner()).unwrap_or_default();
                    let generated = out.generated_time.as_ref().map(micros);
                    let mut parsed = report::parse(&content, generated).map_err(|message| {
                        CollectorError::Parse {
                            api: "GetCredentialReport".into(),
                            message,
                        }
                    })?;
                    // Fresh: generated on our request, or within minutes before the scan.
                    parsed.fresh =
                        generated_for_us || generated.is_some_and(|g| g >= ctx.now - FRESH_WINDOW);
                    return Ok(parsed);
                }
                Err(e)
                    if matches!(
                        e.code(),
                        Some("ReportInProgress" | "ReportNotPresent" | "ReportExpired")
                    ) => {}
                Err(e) => return Err(classify("GetCredentialReport", e)),
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(3));
    }
    Err(CollectorError::Service {
        api: "GenerateCredentialReport".into(),
        code: "ReportNotReady".into(),
        message: format!("report not complete after {GENERATION_ATTEMPTS} attempts"),
    })
}

async fn collect(ctx: &AwsContext) -> Result<RowSet, CollectorError> {
    let parsed = fetch(ctx).await?;
    for (line, reason) in &parsed.errors {
        tracing::warn!(message = "Skipped credential report row.", line, reason = %reason);
    }
    let rows = rows_from_report(&parsed);
    let _ = ctx.shared.report.set(parsed);
    Ok(rows)
}

/// Model rows the report alone establishes: the root user and its keys, console passwords.
pub fn rows_from_report(parsed: &CredentialReport) -> RowSet {
    let mut rows = RowSet::default();
    for r in &parsed.rows {
        if r.is_root() {
            rows.identities.push(IdentityRow {
                identity_id: r.arn.clone(),
                name: "root".into(),
                kind: "root".into(),
                created_at: r.user_creation_time,
                last_used_at: r.password_last_used,
                attributes: Some(json!({ "mfa_active": r.mfa_active }).to_string()),
                ..Default::default()
            });
            for (i, k) in r.keys.iter().enumerate() {
                if k.active.is_none() && k.last_rotated.is_none() {
                    continue;
                }
                if k.active == Some(false) && k.last_rotated.is_none() {
                    continue;
                }
                rows.credentials.push(CredentialRow {
                    credential_id: format!("{}/access_key_{}", r.arn, i + 1),
                    identity_id: Some(r.arn.clone()),
                    kind: "access_key".into(),
                    status: status(k.active),
                    created_at: k.last_rotated,
                    last_used_at: k.last_used_date,
                    last_used_service: k.last_used_service.clone(),
                    last_used_region: k.last_used_region.clone(),
                    redacted_prefix: Some("AKIA".into()),
                    description: Some("root user access key (id not disclosed by IAM)".into()),
                    ..Default::default()
                });
            }
            continue;
        }
        if r.password_enabled == Some(true) {
            rows.credentials.push(CredentialRow {
                credential_id: format!("{}/password", r.arn),
                identity_id: Some(r.arn.clone()),
                kind: "password".into(),
                status: "active".into(),
                created_at: r.password_last_changed,
                expires_at: r.password_next_rotation,
                last_used_at: r.password_last_used,
                attributes: Some(json!({ "mfa_active": r.mfa_active }).to_string()),
                ..Default::default()
            });
        }
    }
    rows
}

fn status(active: Option<bool>) -> String {
    match active {
        Some(true) => "active",
        Some(false) => "inactive",
        None => "unknown",
    }
    .into()
}
