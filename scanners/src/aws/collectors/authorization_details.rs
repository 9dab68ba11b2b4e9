//! Users, groups, roles, managed and inline policies, memberships, boundaries, tags, role last
//! use and instance profiles, in bulk: `GetAccountAuthorizationDetails` (paginated) plus
//! `ListRoles` (paginated) for what authorization details leave out (max session duration,
//! description). Grants are expanded per statement, through groups; trust policies become
//! trust rows; owner tags become owner candidates.

use std::collections::HashMap;

use aws_sdk_iam::types::{AttachedPolicy, ManagedPolicyDetail, PolicyDetail, Tag};
use nhiscope_engine::model::{IdentityRow, MembershipRow, OwnershipRow, PolicyRow, RowSet, TagRow};
use serde_json::{json, Value};

use crate::aws::context::{micros, AwsContext, UserRef};
use crate::aws::errors::classify;
use crate::aws::policy_doc;
use crate::collector::{CollectorError, Stage};

pub struct AuthorizationDetails;

const NAME: &str = "authorization_details";

crate::collector!(AuthorizationDetails, AwsContext, NAME, Stage::Bulk, collect);

/// Name of a policy from its ARN (`arn:aws:iam::aws:policy/job-function/ViewOnlyAccess`).
fn name_from_arn(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

/// Group names that denote a team (`team-payments`, `payments-team`, `squad-x`): membership in
/// one makes the team an owner candidate. Permission groups (`admins`, `developers`) do not.
fn is_team_group(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["team", "squad", "tribe"].iter().any(|w| {
        n.starts_with(&format!("{w}-"))
            || n.starts_with(&format!("{w}_"))
            || n.ends_with(&format!("-{w}"))
            || n.ends_with(&format!("_{w}"))
    })
}

fn inline_policy_id(owner_arn: &str, name: &str) -> String {
    format!("{owner_arn}#inline/{name}")
}

struct Builder<'c> {
    ctx: &'c AwsContext,
    rows: RowSet,
    /// Managed policy ARN → decoded default document.
    documents: HashMap<String, Value>,
    /// AWS-managed policies, kept only when something in the account references them.
    aws_managed: HashMap<String, PolicyRow>,
}

impl Builder<'_> {
    fn tags(&mut self, resource: &str, tags: &[Tag]) {
        for t in tags {
            self.rows.tags.push(TagRow {
                resource_id: resource.to_string(),
                key: t.key.clone(),
                value: t.value.clone(),
            });
            if self.ctx.is_owner_tag(&t.key) && !t.value.trim().is_empty() {
                self.rows.ownership.push(OwnershipRow {
                    identity_id: resource.to_string(),
                    owner: t.value.trim().to_string(),
                    source: format!("tag:{}", t.key),
                    evidence: Some(format!("tag {}={}", t.key, t.value)),
                });
            }
        }
    }

    fn inline(
        &mut self,
        owner: &str,
        via: &str,
        identity: &str,
        list: &[PolicyDetail],
        record_policy: bool,
    ) -> Result<(), CollectorError> {
        for p in list {
            let name = p.policy_name.clone().unwrap_or_default();
            let id = inline_policy_id(via, &name);
            let doc = p
                .policy_document
                .as_deref()
                .map(policy_doc::decode)
                .transpose()
                .map_err(|message| CollectorError::Parse {
                    api: "GetAccountAuthorizationDetails".into(),
                    message: format!("inline policy {id}: {message}"),
                })?;
            if record_policy {
                self.rows.policies.push(PolicyRow {
                    policy_id: id.clone(),
                    name: name.clone(),
                    kind: "inline".into(),
                    owner_id: Some(owner.to_string()),
                    document: doc.as_ref().map(policy_doc::to_text),
                    ..Default::default()
                });
            }
            self.rows.grants.extend(policy_doc::grants(
                identity,
                &id,
                "inline",
                via,
                doc.as_ref(),
            ));
        }
        Ok(())
    }

    fn attached(&mut self, via: &str, identity: &str, list: &[AttachedPolicy]) {
        for a in list {
            let Some(arn) = a.policy_arn.as_deref() else {
                continue;
            };
            let doc = self.documents.get(arn);
            let grants = policy_doc::grants(identity, arn, "attached", via, doc);
            self.rows.grants.extend(grants);
        }
    }

    fn boundary(&mut self, identity: &str, arn: Option<&str>) {
        if let Some(arn) = arn {
            let grants =
                policy_doc::grants(identity, arn, "boundary", identity, self.documents.get(arn));
            self.rows.grants.extend(grants);
        }
    }

    fn managed_policy(&mut self, p: &ManagedPolicyDetail) -> Result<(), CollectorError> {
        let Some(arn) = p.arn.clone() else {
            return Ok(());
        };
        let default = p
            .policy_version_list()
            .iter()
            .find(|v| v.is_default_version)
            .or_else(|| p.policy_version_list().first());
        let doc = default
            .and_then(|v| v.document.as_deref())
            .map(policy_doc::decode)
            .transpose()
            .map_err(|message| CollectorError::Parse {
                api: "GetAccountAuthorizationDetails".into(),
                message: format!("managed policy {arn}: {message}"),
            })?;
        let aws_managed = arn.contains(":iam::aws:policy/");
        let row = PolicyRow {
            policy_id: arn.clone(),
            name: p.policy_name.clone().unwrap_or_else(|| name_from_arn(&arn)),
            kind: if aws_managed {
                "aws_managed"
            } else {
                "customer_managed"
            }
            .into(),
            owner_id: None,
            default_version: p
                .default_version_id
                .clone()
                .or_else(|| default.and_then(|v| v.version_id.clone())),
            attachment_count: p.attachment_count.map(i64::from),
            document: doc.as_ref().map(policy_doc::to_text),
            created_at: p.create_date.as_ref().map(micros),
            updated_at: p.update_date.as_ref().map(micros),
            description: p.description.clone(),
        };
        if aws_managed {
            self.aws_managed.insert(arn.clone(), row);
        } else {
            self.rows.policies.push(row);
        }
        if let Some(doc) = doc {
            self.documents.insert(arn, doc);
        }
        Ok(())
    }
}

async fn collect(ctx: &AwsContext) -> Result<RowSet, CollectorError> {
    let iam = ctx.iam(NAME);
    let pages: Vec<_> = iam
        .get_account_authorization_details()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("GetAccountAuthorizationDetails", e))?;
    let roles_extra: HashMap<String, (Option<i32>, Option<String>)> = iam
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("ListRoles", e))?
        .into_iter()
        .map(|r| (r.arn, (r.max_session_duration, r.description)))
        .collect();

    let mut b = Builder {
        ctx,
        rows: RowSet::default(),
        documents: HashMap::new(),
        aws_managed: HashMap::new(),
    };
    // Policies first: grants need their documents.
    for page in &pages {
        for p in page.policies() {
            b.managed_policy(p)?;
        }
    }

    let mut groups_by_name: HashMap<String, &aws_sdk_iam::types::GroupDetail> = HashMap::new();
    for page in &pages {
        for g in page.group_detail_list() {
            if let Some(name) = g.group_name.clone() {
                groups_by_name.insert(name, g);
            }
        }
    }
    for g in groups_by_name.values() {
        let arn = g.arn.clone().unwrap_or_default();
        b.rows.identities.push(IdentityRow {
            identity_id: arn.clone(),
            name: g.group_name.clone().unwrap_or_default(),
            kind: "group".into(),
            unique_id: g.group_id.clone(),
            path: g.path.clone(),
            created_at: g.create_date.as_ref().map(micros),
            ..Default::default()
        });
        b.inline(&arn, &arn, &arn, g.group_policy_list(), true)?;
        b.attached(&arn, &arn, g.attached_managed_policies());
    }

    let mut users = Vec::new();
    for page in &pages {
        for u in page.user_detail_list() {
            let arn = u.arn.clone().unwrap_or_default();
            let name = u.user_name.clone().unwrap_or_default();
            users.push(UserRef {
                name: name.clone(),
                arn: arn.clone(),
            });
            let boundary = u
                .permissions_boundary
                .as_ref()
                .and_then(|p| p.permissions_boundary_arn.clone());
            b.rows.identities.push(IdentityRow {
                identity_id: arn.clone(),
                name,
                kind: "user".into(),
                unique_id: u.user_id.clone(),
                path: u.path.clone(),
                created_at: u.create_date.as_ref().map(micros),
                permissions_boundary: boundary.clone(),
                ..Default::default()
            });
            b.tags(&arn, u.tags());
            b.inline(&arn, &arn, &arn, u.user_policy_list(), true)?;
            b.attached(&arn, &arn, u.attached_managed_policies());
            b.boundary(&arn, boundary.as_deref());
            for group_name in u.group_list() {
                let Some(g) = groups_by_name.get(group_name) else {
                    continue;
                };
                let group_arn = g.arn.clone().unwrap_or_default();
                b.rows.memberships.push(MembershipRow {
                    member_id: arn.clone(),
                    group_id: group_arn.clone(),
                    relation: "group".into(),
                });
                if is_team_group(group_name) {
                    b.rows.ownership.push(OwnershipRow {
                        identity_id: arn.clone(),
                        owner: group_name.clone(),
                        source: format!("group:{group_name}"),
                        evidence: Some(format!("member of team group {group_name}")),
                    });
                }
                b.inline(&group_arn, &group_arn, &arn, g.group_policy_list(), false)?;
                b.attached(&group_arn, &arn, g.attached_managed_policies());
            }
        }
    }

    for page in &pages {
        for r in page.role_detail_list() {
            let arn = r.arn.clone().unwrap_or_default();
            let path = r.path.clone();
            let (max_session, description) = roles_extra.get(&arn).cloned().unwrap_or((None, None));
            let boundary = r
                .permissions_boundary
                .as_ref()
                .and_then(|p| p.permissions_boundary_arn.clone());
            let profiles: Vec<Value> = r
                .instance_profile_list()
                .iter()
                .map(|p| json!({"name": p.instance_profile_name, "arn": p.arn}))
                .collect();
            for p in r.instance_profile_list() {
                b.rows.memberships.push(MembershipRow {
                    member_id: arn.clone(),
                    group_id: p.arn.clone(),
                    relation: "instance_profile".into(),
                });
            }
            let last_used = r.role_last_used.as_ref();
            b.rows.identities.push(IdentityRow {
                identity_id: arn.clone(),
                name: r.role_name.clone().unwrap_or_default(),
                kind: "role".into(),
                unique_id: r.role_id.clone(),
                service_linked: path
                    .as_deref()
                    .is_some_and(|p| p.starts_with("/aws-service-role/")),
                path,
                created_at: r.create_date.as_ref().map(micros),
                permissions_boundary: boundary.clone(),
                last_used_at: last_used
                    .and_then(|l| l.last_used_date.as_ref())
                    .map(micros),
                last_used_region: last_used.and_then(|l| l.region.clone()),
                max_session_seconds: max_session.map(i64::from),
                description,
                attributes: (!profiles.is_empty())
                    .then(|| json!({ "instance_profiles": profiles }).to_string()),
                ..Default::default()
            });
            b.tags(&arn, r.tags());
            if let Some(trust) = r.assume_role_policy_document.as_deref() {
                let doc = policy_doc::decode(trust).map_err(|message| CollectorError::Parse {
                    api: "GetAccountAuthorizationDetails".into(),
                    message: format!("trust policy of {arn}: {message}"),
                })?;
                b.rows.trusts.extend(policy_doc::trusts(&arn, &doc));
            }
            b.inline(&arn, &arn, &arn, r.role_policy_list(), true)?;
            b.attached(&arn, &arn, r.attached_managed_policies());
            b.boundary(&arn, boundary.as_deref());
        }
    }
    let referenced: std::collections::HashSet<&str> =
        b.rows.grants.iter().map(|g| g.policy_id.as_str()).collect();
    let mut used: Vec<PolicyRow> = b
        .aws_managed
        .iter()
        .filter(|(arn, p)| referenced.contains(arn.as_str()) || p.attachment_count.unwrap_or(0) > 0)
        .map(|(_, p)| p.clone())
        .collect();
    used.sort_by(|a, b| a.policy_id.cmp(&b.policy_id));
    b.rows.policies.extend(used);
    let codecommit: std::collections::HashSet<String> = b
        .rows
        .grants
        .iter()
        .filter(|g| g.relation != "boundary")
        .filter(|g| {
            policy_doc::may_allow(g, "codecommit:GitPull")
                || policy_doc::may_allow(g, "codecommit:GitPush")
        })
        .map(|g| g.identity_id.clone())
        .collect();
    let _ = ctx.shared.codecommit_users.set(codecommit);
    let _ = ctx.shared.users.set(users);
    Ok(b.rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_come_from_arns_when_missing() {
        assert_eq!(
            name_from_arn("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"),
            "ViewOnlyAccess"
        );
        assert_eq!(
            inline_policy_id("arn:aws:iam::1:user/u", "p"),
            "arn:aws:iam::1:user/u#inline/p"
        );
    }

    #[test]
    fn team_groups_are_owner_candidates_permission_groups_are_not() {
        assert!(is_team_group("team-payments"));
        assert!(is_team_group("Payments-Team"));
        assert!(is_team_group("squad_search"));
        assert!(!is_team_group("developers"));
        assert!(!is_team_group("steamroller"));
    }
}
