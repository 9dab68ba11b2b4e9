//! Row types, one per table, carrying the data columns of [`super::Table`] in schema order.
//! Secret values have no field here: credentials carry identifiers, fingerprints and redacted
//! prefixes only.

use serde::{Deserialize, Serialize};

use crate::time::de_opt_micros;

use crate::time::Micros;

/// A non-human (or human) identity: user, role, group, service account, app, key holder.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityRow {
    /// Native id: ARN, objectId, service-account email, node id.
    pub identity_id: String,
    pub name: String,
    /// user, role, group, root, service_account, service_principal, application,
    /// managed_identity, github_app, deploy_key, pat, ...
    pub kind: String,
    /// Provider's stable internal id (AWS `AIDA...`/`AROA...`, Entra objectId).
    pub unique_id: Option<String>,
    pub path: Option<String>,
    pub display_name: Option<String>,
    #[serde(deserialize_with = "de_opt_micros")]
    pub created_at: Option<Micros>,
    pub permissions_boundary: Option<String>,
    #[serde(deserialize_with = "de_opt_micros")]
    pub last_used_at: Option<Micros>,
    pub last_used_region: Option<String>,
    pub last_used_service: Option<String>,
    pub max_session_seconds: Option<i64>,
    pub service_linked: bool,
    pub description: Option<String>,
    /// Provider-specific extras as a JSON object (instance profiles, ...).
    pub attributes: Option<String>,
}

/// A credential: access key, password, client secret, certificate, SA key, PAT, SSH key...
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CredentialRow {
    /// Identifier of the credential (never its secret value).
    pub credential_id: String,
    /// The identity that holds it (`None` for account-level credentials).
    pub identity_id: Option<String>,
    /// access_key, password, mfa_device, client_secret, certificate, server_certificate,
    /// signing_certificate, ssh_key, service_specific, sa_key, pat, deploy_key, ...
    pub kind: String,
    /// active, inactive, expired, unknown.
    pub status: String,
    #[serde(deserialize_with = "de_opt_micros")]
    pub created_at: Option<Micros>,
    #[serde(deserialize_with = "de_opt_micros")]
    pub expires_at: Option<Micros>,
    #[serde(deserialize_with = "de_opt_micros")]
    pub last_used_at: Option<Micros>,
    pub last_used_service: Option<String>,
    pub last_used_region: Option<String>,
    pub fingerprint: Option<String>,
    pub redacted_prefix: Option<String>,
    pub description: Option<String>,
    pub attributes: Option<String>,
}

/// A policy: managed (customer or provider), inline, or a role definition.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyRow {
    pub policy_id: String,
    pub name: String,
    /// aws_managed, customer_managed, inline, ...
    pub kind: String,
    /// For inline policies: the identity the policy is embedded in.
    pub owner_id: Option<String>,
    pub default_version: Option<String>,
    pub attachment_count: Option<i64>,
    /// The (default version) document as JSON text.
    pub document: Option<String>,
    #[serde(deserialize_with = "de_opt_micros")]
    pub created_at: Option<Micros>,
    #[serde(deserialize_with = "de_opt_micros")]
    pub updated_at: Option<Micros>,
    pub description: Option<String>,
}

/// One statement of one policy reaching one identity: identity → policy → actions/resources.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GrantRow {
    pub identity_id: String,
    pub policy_id: String,
    /// attached, inline, boundary.
    pub relation: String,
    /// The identity itself, or the group the grant comes through.
    pub via: String,
    pub statement_index: i64,
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: String,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub resources: Vec<String>,
    pub not_resources: Vec<String>,
    /// The statement's Condition block as JSON text.
    pub conditions: Option<String>,
}

/// Who may assume / federate into / impersonate an identity, one row per principal.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TrustRow {
    pub identity_id: String,
    pub statement_index: i64,
    pub sid: Option<String>,
    pub effect: String,
    /// AWS, Service, Federated, CanonicalUser, `*`, ...
    pub principal_type: String,
    pub principal: String,
    pub actions: Vec<String>,
    /// `Operator:key` for every condition key, e.g. `StringLike:token.actions.githubusercontent.com:sub`.
    pub condition_keys: Vec<String>,
    pub conditions: Option<String>,
}

/// An owner candidate for an identity, with where the claim comes from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OwnershipRow {
    pub identity_id: String,
    pub owner: String,
    /// `tag:<key>`, `creator`, `group:<name>`, ...
    pub source: String,
    pub evidence: Option<String>,
}

/// A tag or label on any resource.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TagRow {
    pub resource_id: String,
    pub key: String,
    pub value: String,
}

/// Membership of an identity in a group (or an instance profile, team, ...).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MembershipRow {
    pub member_id: String,
    pub group_id: String,
    /// group, instance_profile, team, ...
    pub relation: String,
}

/// A federation trust anchor: OIDC or SAML identity provider.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FederationProviderRow {
    pub federation_id: String,
    /// oidc or saml.
    pub kind: String,
    pub url: Option<String>,
    pub audiences: Vec<String>,
    pub thumbprints: Vec<String>,
    #[serde(deserialize_with = "de_opt_micros")]
    pub created_at: Option<Micros>,
    #[serde(deserialize_with = "de_opt_micros")]
    pub valid_until: Option<Micros>,
}

/// Rows of every table produced by one collector (or assembled by a generator, or written in
/// a rule fixture: the field names are the table names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RowSet {
    pub identities: Vec<IdentityRow>,
    pub credentials: Vec<CredentialRow>,
    pub policies: Vec<PolicyRow>,
    pub grants: Vec<GrantRow>,
    pub trusts: Vec<TrustRow>,
    pub ownership: Vec<OwnershipRow>,
    pub tags: Vec<TagRow>,
    pub memberships: Vec<MembershipRow>,
    pub federation_providers: Vec<FederationProviderRow>,
    pub events: Vec<super::EventRow>,
}

impl RowSet {
    /// The names of the tables this set has rows for.
    pub fn table_names(&self) -> Vec<&'static str> {
        use super::Table;
        let counts = [
            (Table::Identities, self.identities.len()),
            (Table::Credentials, self.credentials.len()),
            (Table::Policies, self.policies.len()),
            (Table::Grants, self.grants.len()),
            (Table::Trusts, self.trusts.len()),
            (Table::Ownership, self.ownership.len()),
            (Table::Tags, self.tags.len()),
            (Table::Memberships, self.memberships.len()),
            (Table::FederationProviders, self.federation_providers.len()),
            (Table::Events, self.events.len()),
        ];
        counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(t, _)| t.name())
            .collect()
    }

    /// Moves all rows of `other` into `self`.
    pub fn append(&mut self, mut other: RowSet) {
        self.identities.append(&mut other.identities);
        self.credentials.append(&mut other.credentials);
        self.policies.append(&mut other.policies);
        self.grants.append(&mut other.grants);
        self.trusts.append(&mut other.trusts);
        self.ownership.append(&mut other.ownership);
        self.tags.append(&mut other.tags);
        self.memberships.append(&mut other.memberships);
        self.federation_providers
            .append(&mut other.federation_providers);
        self.events.append(&mut other.events);
    }

    /// Total number of rows over all tables.
    pub fn len(&self) -> usize {
        self.identities.len()
            + self.credentials.len()
            + self.policies.len()
            + self.grants.len()
            + self.trusts.len()
            + self.ownership.len()
            + self.tags.len()
            + self.memberships.len()
            + self.federation_providers.len()
            + self.events.len()
    }

    /// True when no table has a row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
