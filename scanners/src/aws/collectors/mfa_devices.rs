//! MFA devices: every virtual device in one paginated `ListVirtualMFADevices` (with the user it
//! is assigned to), then `ListMFADevices` only for users the credential report shows with MFA
//! but no virtual device (hardware and FIDO devices). Unassigned virtual devices are kept too.

use std::collections::HashSet;

use nhiscope_engine::model::{CredentialRow, RowSet};

use crate::aws::context::{micros, AwsContext, UserRef};
use crate::aws::errors::{classify, of_user};
use crate::aws::per_user::for_each_user;
use crate::collector::{CollectorError, Stage};

pub struct MfaDevices;

const NAME: &str = "mfa_devices";

crate::collector!(MfaDevices, AwsContext, NAME, Stage::Dependent, collect);

fn device(serial: &str, user: Option<String>, enabled: Option<i64>, kind: &str) -> CredentialRow {
    CredentialRow {
        credential_id: serial.to_string(),
        status: if user.is_some() {
            "active"
        } else {
            "unassigned"
        }
        .into(),
        identity_id: user,
        kind: "mfa_device".into(),
        created_at: enabled,
        description: Some(kind.to_string()),
        ..Default::default()
    }
}

async fn collect(ctx: &AwsContext) -> Result<RowSet, CollectorError> {
    let iam = ctx.iam(NAME);
    let virtual_devices: Vec<_> = iam
        .list_virtual_mfa_devices()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("ListVirtualMFADevices", e))?;
    let mut rows = RowSet::default();
    // Users holding a virtual device need no per-user call.
    let mut with_virtual: HashSet<String> = HashSet::new();
    for d in &virtual_devices {
        let user = d.user.as_ref().map(|u| u.arn.clone());
        if let Some(u) = &user {
            with_virtual.insert(u.clone());
        }
        rows.credentials.push(device(
            &d.serial_number,
            user,
            d.enable_date.as_ref().map(micros),
            "virtual",
        ));
    }
    let users = ctx.users(NAME).await?;
    let report = ctx.shared.report.get().map(|r| r.by_arn());
    let others: Vec<&UserRef> = users
        .iter()
        .filter(|u| !with_virtual.contains(&u.arn))
        .filter(|u| match report.as_ref() {
            None => true,
            Some(m) => m
                .get(u.arn.as_str())
                .is_none_or(|r| r.mfa_active != Some(false)),
        })
        .collect();
    let more = for_each_user(
        others.into_iter().cloned(),
        ctx.concurrency,
        |user: UserRef| {
            let iam = iam.clone();
            async move {
                let Some(devices) = of_user(
                    "ListMFADevices",
                    iam.list_mfa_devices()
                        .user_name(&user.name)
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect()
                        .await,
                )?
                else {
                    return Ok(RowSet::default());
                };
                let mut rows = RowSet::default();
                for d in devices {
                    let kind = if d.serial_number.starts_with("arn:") {
                        "virtual"
                    } else {
                        "hardware"
                    };
                    rows.credentials.push(device(
                        &d.serial_number,
                        Some(user.arn.clone()),
                        Some(micros(&d.enable_date)),
                        kind,
                    ));
                }
                Ok(rows)
            }
        },
    )
    .await?;
    rows.append(more);
    // A device can be both listed as virtual and per user: keep one row per serial.
    let mut seen = HashSet::new();
    rows.credentials
        .retain(|c| seen.insert(c.credential_id.clone()));
    Ok(rows)
}
