//! OIDC and SAML identity providers: `ListOpenIDConnectProviders` + `GetOpenIDConnectProvider`
//! each (URL, audiences, thumbprints), and `ListSAMLProviders`.

use futures::{StreamExt, TryStreamExt};
use nhiscope_engine::model::{FederationProviderRow, RowSet, TagRow};

use crate::aws::context::{micros, AwsContext};
use crate::aws::errors::{classify, is_no_such_entity};
use crate::collector::{CollectorError, Stage};

pub struct FederationProviders;

const NAME: &str = "federation_providers";

crate::collector!(FederationProviders, AwsContext, NAME, Stage::Bulk, collect);

async fn collect(ctx: &AwsContext) -> Result<RowSet, CollectorError> {
    let iam = ctx.iam(NAME);
    let list = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| classify("ListOpenIDConnectProviders", e))?;
    let arns: Vec<String> = list
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn.clone())
        .collect();
    let details: Vec<
        Option<(
            String,
            aws_sdk_iam::operation::get_open_id_connect_provider::GetOpenIdConnectProviderOutput,
        )>,
    > = futures::stream::iter(arns.into_iter().map(|arn| {
        let iam = iam.clone();
        async move {
            match iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .send()
                .await
            {
                Ok(out) => Ok(Some((arn, out))),
                Err(e) if is_no_such_entity(&e) => Ok(None),
                Err(e) => Err(classify("GetOpenIDConnectProvider", e)),
            }
        }
    }))
    .buffer_unordered(ctx.concurrency)
    .try_collect()
    .await?;
    let mut rows = RowSet::default();
    for (arn, d) in details.into_iter().flatten() {
        for t in d.tags() {
            rows.tags.push(TagRow {
                resource_id: arn.clone(),
                key: t.key.clone(),
                value: t.value.clone(),
            });
        }
        rows.federation_providers.push(FederationProviderRow {
            federation_id: arn,
            kind: "oidc".into(),
            url: d.url.clone(),
            audiences: d.client_id_list().to_vec(),
            thumbprints: d.thumbprint_list().to_vec(),
            created_at: d.create_date.as_ref().map(micros),
            valid_until: None,
        });
    }
    let saml = iam
        .list_saml_providers()
        .send()
        .await
        .map_err(|e| classify("ListSAMLProviders", e))?;
    for p in saml.saml_provider_list() {
        let Some(arn) = p.arn.clone() else { continue };
        rows.federation_providers.push(FederationProviderRow {
            federation_id: arn,
            kind: "saml".into(),
            url: None,
            audiences: Vec::new(),
            thumbprints: Vec::new(),
            created_at: p.create_date.as_ref().map(micros),
            valid_until: p.valid_until.as_ref().map(micros),
        });
    }
    Ok(rows)
}
