//! SSH public keys (`ListSSHPublicKeys` per user, then `GetSSHPublicKey` for each key's
//! fingerprint, public material). IAM SSH keys authenticate to CodeCommit only, so by default
//! only users whose policies may reach `codecommit:GitPull`/`GitPush` are asked (everyone when
//! authorization details failed, or with `ssh_keys_all_users`); a key of a user who cannot use
//! it grants nothing until the policies change, which the next scan sees.

use aws_sdk_iam::types::EncodingType;
use nhiscope_engine::model::{CredentialRow, RowSet};

use crate::aws::context::{micros, AwsContext, UserRef};
use crate::aws::errors::{classify, is_no_such_entity, of_user};
use crate::aws::per_user::for_each_user;
use crate::collector::{CollectorError, Stage};

pub struct SshPublicKeys;

const NAME: &str = "ssh_public_keys";

crate::collector!(SshPublicKeys, AwsContext, NAME, Stage::Dependent, collect);

async fn collect(ctx: &AwsContext) -> Result<RowSet, CollectorError> {
    let users = ctx.users(NAME).await?;
    let reach = ctx
        .shared
        .codecommit_users
        .get()
        .filter(|_| !ctx.ssh_keys_all_users);
    let wanted: Vec<UserRef> = users
        .iter()
        .filter(|u| reach.is_none_or(|r| r.contains(&u.arn)))
        .cloned()
        .collect();
    let iam = ctx.iam(NAME);
    for_each_user(wanted, ctx.concurrency, |user: UserRef| {
        let iam = iam.clone();
        async move {
            let Some(keys) = of_user(
                "ListSSHPublicKeys",
                iam.list_ssh_public_keys()
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
            for k in keys {
                let fingerprint = match iam
                    .get_ssh_public_key()
                    .user_name(&user.name)
                    .ssh_public_key_id(&k.ssh_public_key_id)
                    .encoding(EncodingType::Ssh)
                    .send()
                    .await
                {
                    Ok(out) => out.ssh_public_key.map(|p| p.fingerprint),
                    Err(e) if is_no_such_entity(&e) => continue,
                    Err(e) => return Err(classify("GetSSHPublicKey", e)),
                };
                rows.credentials.push(CredentialRow {
                    credential_id: k.ssh_public_key_id.clone(),
                    identity_id: Some(user.arn.clone()),
                    kind: "ssh_key".into(),
                    status: k.status.as_str().to_ascii_lowercase(),
                    created_at: Some(micros(&k.upload_date)),
                    fingerprint,
                    redacted_prefix: Some(k.ssh_public_key_id.chars().take(4).collect()),
                    ..Default::default()
                });
            }
            Ok(rows)
        }
    })
    .await
}
