//! X.509 signing certificates of users (`ListSigningCertificates`). Only users the credential
//! report shows with a certificate are asked; without a report, every user is.

use nhiscope_engine::model::{CredentialRow, RowSet};

use crate::aws::context::{micros, AwsContext, UserRef};
use crate::aws::errors::of_user;
use crate::aws::per_user::for_each_user;
use crate::collector::{CollectorError, Stage};

pub struct SigningCertificates;

const NAME: &str = "signing_certificates";

crate::collector!(
    SigningCertificates,
    AwsContext,
    NAME,
    Stage::Dependent,
    collect
);

async fn collect(ctx: &AwsContext) -> Result<RowSet, CollectorError> {
    let users = ctx.users(NAME).await?;
    let report = ctx.shared.report.get().map(|r| r.by_arn());
    let wanted: Vec<&UserRef> = users
        .iter()
        .filter(|u| match report.as_ref() {
            None => true,
            // A user missing from the report was created after it: ask.
            Some(m) => m.get(u.arn.as_str()).is_none_or(|r| {
                r.certs_active.contains(&Some(true))
                    || r.certs_last_rotated.iter().any(Option::is_some)
            }),
        })
        .collect();
    let iam = ctx.iam(NAME);
    for_each_user(
        wanted.into_iter().cloned(),
        ctx.concurrency,
        |user: UserRef| {
            let iam = iam.clone();
            async move {
                let Some(certs) = of_user(
                    "ListSigningCertificates",
                    iam.list_signing_certificates()
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
                for c in certs {
                    rows.credentials.push(CredentialRow {
                        credential_id: c.certificate_id.clone(),
                        identity_id: Some(user.arn.clone()),
                        kind: "signing_certificate".into(),
                        status: c.status.as_str().to_ascii_lowercase(),
                        created_at: c.upload_date.as_ref().map(micros),
                        redacted_prefix: Some(c.certificate_id.chars().take(6).collect()),
                        ..Default::default()
                    });
                }
                Ok(rows)
            }
        },
    )
    .await
}
