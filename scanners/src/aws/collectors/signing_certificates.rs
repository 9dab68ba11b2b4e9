//! X.509 signing certificates of users (`ListSigningCertificates`). Only users the credential
//! report shows with a certificate are asked; without a report, every user is.

use futures::future::BoxFuture;
use nhiscope_engine::model::{CredentialRow, RowSet};

use crate::aws::context::{micros, AwsContext, UserRef};
use crate::aws::errors::{classify, is_no_such_entity};
use crate::aws::per_user::for_each_user;
use crate::collector::{Collector, CollectorError, Stage};

pub struct SigningCertificates;

const NAME: &str = "signing_certificates";

impl Collector<AwsContext> for SigningCertificates {
    fn name(&self) -> &'static str {
        NAME
    }
    fn stage(&self) -> Stage {
        Stage::Dependent
    }
    fn collect<'a>(&'a self, ctx: &'a AwsContext) -> BoxFuture<'a, Result<RowSet, CollectorError>> {
        Box::pin(collect(ctx))
    }
}

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
                let certs: Vec<_> = match iam
                    .list_signing_certificates()
                    .user_name(&user.name)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                {
                    Ok(c) => c,
                    Err(e) if is_no_such_entity(&e) => return Ok(RowSet::default()),
                    Err(e) => return Err(classify("ListSigningCertificates", e)),
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
