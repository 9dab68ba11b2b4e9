//! Access keys of every user (`ListAccessKeys` per user, concurrently; users a fresh credential
//! report shows without any key are skipped). Last use comes from
//! the credential report when a report slot's rotation time matches the key's creation time;
//! otherwise (no report, ambiguous slot) from `GetAccessKeyLastUsed`.

use nhiscope_engine::model::{CredentialRow, RowSet};
use serde_json::json;

use crate::aws::context::{micros, AwsContext, UserRef};
use crate::aws::credential_report::{KeySlot, ReportRow};
use crate::aws::errors::{classify, is_no_such_entity, of_user};
use crate::aws::per_user::for_each_user;
use crate::collector::{CollectorError, Stage};

pub struct AccessKeys;

const NAME: &str = "access_keys";

crate::collector!(AccessKeys, AwsContext, NAME, Stage::Dependent, collect);

/// The report slot describing a key created at `created` (same second), if exactly one does.
pub fn matching_slot(row: &ReportRow, created: i64) -> Option<&KeySlot> {
    let secs = created.div_euclid(1_000_000);
    let mut found = row
        .keys
        .iter()
        .filter(|k| k.last_rotated.map(|t| t.div_euclid(1_000_000)) == Some(secs));
    let first = found.next();
    if found.next().is_some() {
        return None;
    }
    first
}

async fn collect(ctx: &AwsContext) -> Result<RowSet, CollectorError> {
    let users = ctx.users(NAME).await?;
    let iam = ctx.iam(NAME);
    let report = ctx.shared.report.get().map(|r| r.by_arn());
    let report_time = ctx.shared.report.get().and_then(|r| r.generated_at);
    // A fresh report names every user holding a key; users it shows without any are skipped.
    let fresh = ctx.shared.report.get().is_some_and(|r| r.fresh);
    let wanted: Vec<UserRef> = users
        .iter()
        .filter(|u| {
            !fresh
                || report
                    .as_ref()
                    .and_then(|m| m.get(u.arn.as_str()))
                    .is_none_or(|r| {
                        r.keys
                            .iter()
                            .any(|k| k.active == Some(true) || k.last_rotated.is_some())
                    })
        })
        .cloned()
        .collect();
    for_each_user(wanted, ctx.concurrency, |user: UserRef| {
        let iam = iam.clone();
        let row = report.as_ref().and_then(|m| m.get(user.arn.as_str()).copied());
        async move {
            let Some(keys) = of_user("ListAccessKeys", iam
                .list_access_keys()
                .user_name(&user.name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await)? else {
                return Ok(RowSet::default());
            };
            let mut rows = RowSet::default();
            for k in keys {
                let Some(id) = k.access_key_id else { continue };
                let created = k.create_date.as_ref().map(micros);
                let mut cred = CredentialRow {
                    redacted_prefix: Some(id.chars().take(4).collect()),
                    credential_id: id.clone(),
                    identity_id: Some(user.arn.clone()),
                    kind: "access_key".into(),
                    status: k
                        .status
                        .map(|s| s.as_str().to_ascii_lowercase())
                        .unwrap_or_else(|| "unknown".into()),
                    created_at: created,
                    ..Default::default()
                };
                let slot = row.zip(created).and_then(|(r, c)| matching_slot(r, c));
                let source = if let Some(slot) = slot {
                    cred.last_used_at = slot.last_used_date;
                    cred.last_used_service = slot.last_used_service.clone();
                    cred.last_used_region = slot.last_used_region.clone();
                    "credential_report"
                } else {
                    match iam.get_access_key_last_used().access_key_id(&id).send().await {
                        Ok(out) => {
                            if let Some(l) = out.access_key_last_used {
                                cred.last_used_at = l.last_used_date.as_ref().map(micros);
                                cred.last_used_service = Some(l.service_name).filter(|s| s != "N/A");
                                cred.last_used_region = Some(l.region).filter(|s| s != "N/A");
                            }
                        }
                        Err(e) if is_no_such_entity(&e) => {}
                        Err(e) => return Err(classify("GetAccessKeyLastUsed", e)),
                    }
                    "GetAccessKeyLastUsed"
                };
                cred.attributes = Some(
                    json!({ "last_used_source": source, "report_generated_at": report_time.filter(|_| slot.is_some()) })
                        .to_string(),
                );
                rows.credentials.push(cred);
            }
            Ok(rows)
        }
    })
    .await
}
