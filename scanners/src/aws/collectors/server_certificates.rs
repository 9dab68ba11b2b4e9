//! Server certificates stored in IAM (`ListServerCertificates`, paginated): account-level
//! credentials with an expiry date.

use nhiscope_engine::model::{CredentialRow, RowSet};
use serde_json::json;

use crate::aws::context::{micros, AwsContext};
use crate::aws::errors::classify;
use crate::collector::{CollectorError, Stage};

pub struct ServerCertificates;

const NAME: &str = "server_certificates";

crate::collector!(ServerCertificates, AwsContext, NAME, Stage::Bulk, collect);

async fn collect(ctx: &AwsContext) -> Result<RowSet, CollectorError> {
    let iam = ctx.iam(NAME);
    let certs: Vec<_> = iam
        .list_server_certificates()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("ListServerCertificates", e))?;
    let mut rows = RowSet::default();
    for c in certs {
        rows.credentials.push(CredentialRow {
            credential_id: c.arn.clone(),
            identity_id: None,
            kind: "server_certificate".into(),
            status: "active".into(),
            created_at: c.upload_date.as_ref().map(micros),
            expires_at: c.expiration.as_ref().map(micros),
            description: Some(c.server_certificate_name.clone()),
            attributes: Some(json!({ "id": c.server_certificate_id, "path": c.path }).to_string()),
            ..Default::default()
        });
    }
    Ok(rows)
}
