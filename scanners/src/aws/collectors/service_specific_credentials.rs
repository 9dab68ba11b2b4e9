//! Service-specific credentials (CodeCommit HTTPS, Keyspaces, Bedrock API keys) of all users in
//! one paginated call: `ListServiceSpecificCredentials` with `AllUsers`.

use nhiscope_engine::model::{CredentialRow, RowSet};
use serde_json::json;

use crate::aws::context::{micros, AwsContext};
use crate::aws::errors::classify;
use crate::collector::{CollectorError, Stage};

pub struct ServiceSpecificCredentials;

const NAME: &str = "service_specific_credentials";

crate::collector!(
    ServiceSpecificCredentials,
    AwsContext,
    NAME,
    Stage::Dependent,
    collect
);

async fn collect(ctx: &AwsContext) -> Result<RowSet, CollectorError> {
    let users = ctx.users(NAME).await?;
    let arn_of: std::collections::HashMap<&str, &str> = users
        .iter()
        .map(|u| (u.name.as_str(), u.arn.as_str()))
        .collect();
    let iam = ctx.iam(NAME);
    let mut rows = RowSet::default();
    let mut marker: Option<String> = None;
    loop {
        let out = iam
            .list_service_specific_credentials()
            .all_users(true)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| classify("ListServiceSpecificCredentials", e))?;
        for c in out.service_specific_credentials() {
            let user_arn = arn_of
                .get(c.user_name.as_str())
                .map(|a| a.to_string())
                .unwrap_or_else(|| {
                    format!(
                        "arn:{}:iam::{}:user/{}",
                        ctx.partition, ctx.account, c.user_name
                    )
                });
            rows.credentials.push(CredentialRow {
                credential_id: c.service_specific_credential_id.clone(),
                identity_id: Some(user_arn),
                kind: "service_specific".into(),
                status: c.status.as_str().to_ascii_lowercase(),
                created_at: Some(micros(&c.create_date)),
                expires_at: c.expiration_date.as_ref().map(micros),
                redacted_prefix: Some(c.service_specific_credential_id.chars().take(4).collect()),
                description: Some(c.service_name.clone()),
                attributes: Some(
                    json!({ "service": c.service_name, "service_user_name": c.service_user_name })
                        .to_string(),
                ),
                ..Default::default()
            });
        }
        match out.marker {
            Some(m) if out.is_truncated => marker = Some(m),
            _ => break,
        }
    }
    Ok(rows)
}
