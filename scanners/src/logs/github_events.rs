//! What some of GitHub's audit log actions mean for credentials, for the parser
//! ([`super::github_audit`]): the actions that issue one, with the keys that name the new
//! credential, the actions that record an attempt GitHub (or an owner) refused, with the
//! evidence kept as the event's error code, and those that carry the HTTP status of the request
//! they record ([`has_status`]). Both lists are explicit: an action not named here
//! issues nothing and succeeded, whatever its name looks like (`org.oauth_app_access_denied`
//! is an owner's successful change, not a refused attempt).
//!
//! The names, descriptions and keys are GitHub's, from github/docs:
//! `src/audit-logs/data/ghec/enterprise.json` (each action of the enterprise audit log with
//! its description and `fields`), `src/audit-logs/data/fpt/user.json` (the security log's
//! actions), and the rendered "Audit log events for your organization" page. Every event
//! also carries the keys of the actor's own authentication (`token_id`, `hashed_token`,
//! `programmatic_access_type`), so `token_id` names the credential the actor used, not the
//! one an action issued.

/// An action that issues a credential, and where its event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issuing {
    pub action: &'static str,
    /// The keys naming the issued credential, in order of preference.
    pub ids: &'static [&'static str],
    /// Whether `token_id` names the issued token when the actor did not authenticate with a
    /// token of its own (no `programmatic_access_type`, no `hashed_token`: an owner's action
    /// in the web interface).
    pub token_is_subject: bool,
}

/// The issuing actions.
///
/// - `public_key.create`: "An SSH key was added to a user account or a deploy key was added
///   to a repository"; fields `key`, `fingerprint`, `title`, `read_only`. The fingerprint
///   names the key (`key` is the public key itself). There is no `deploy_key.*` action:
///   deploy keys are `public_key.*` events with a `repo`.
/// - `personal_access_token.access_granted` ("A fine-grained personal access token was
///   granted access to resources"), `.create` ("Triggered when you create a fine-grained
///   personal access token", security log), `.credential_regenerated` ("Triggered when you
///   regenerate a fine-grained personal access token"): fields `user_programmatic_access_id`
///   (the token), `user_programmatic_access_name`. `.request_denied` ("A request for a
///   fine-grained personal access token to access organization resources was denied") is the
///   refused grant: it issues nothing, and is listed so the refusal names its token (see
///   [`REFUSED`]). `.request_created` asks for access and grants none; `.access_revoked`,
///   `.destroy` and `.request_cancelled` remove or withdraw.
/// - `oauth_application.generate_client_secret` ("An OAuth application's secret key was
///   generated"), `.reset_secret` ("The secret key for an OAuth application was reset"):
///   fields `oauth_application`, `oauth_application_id`; no key names the secret itself, so the
///   application's id stands for it.
/// - `integration.generate_client_secret` (a GitHub App's client secret; fields `name`,
///   `integration`, `application_client_id`): the App's client id stands for its secret.
///   GitHub documents no private key generation action for Apps.
pub const ISSUING: &[Issuing] = &[
    Issuing {
        action: "public_key.create",
        ids: &["fingerprint"],
        token_is_subject: false,
    },
    Issuing {
        action: "personal_access_token.access_granted",
        ids: &["user_programmatic_access_id"],
        token_is_subject: true,
    },
    Issuing {
        action: "personal_access_token.create",
        ids: &["user_programmatic_access_id"],
        token_is_subject: true,
    },
    Issuing {
        action: "personal_access_token.credential_regenerated",
        ids: &["user_programmatic_access_id"],
        token_is_subject: true,
    },
    Issuing {
        action: "personal_access_token.request_denied",
        ids: &["user_programmatic_access_id"],
        token_is_subject: true,
    },
    Issuing {
        action: "oauth_application.generate_client_secret",
        ids: &["oauth_application_id"],
        token_is_subject: false,
    },
    Issuing {
        action: "oauth_application.reset_secret",
        ids: &["oauth_application_id"],
        token_is_subject: false,
    },
    Issuing {
        action: "integration.generate_client_secret",
        ids: &["application_client_id"],
        token_is_subject: false,
    },
];

/// Actions that record a refused or failed attempt, and the error code their event gets.
///
/// - `personal_access_token.request_denied`: "A request for a fine-grained personal access
///   token to access organization resources was denied."
/// - `protected_branch.rejected_ref_update`: "A branch update attempt was rejected."
/// - `public_key.verification_failure` / `.unverification_failure`: "A user account's SSH key
///   or a repository's deploy key was unable to be verified" (unverified).
/// - `secret_scanning_push_protection_request.deny`: "A request to bypass secret scanning
///   push protection was denied by a user" (the push stays blocked;
///   `secret_scanning_push_protection.bypass` is a bypass that went through).
/// - `org.recovery_code_failed`: "An organization owner failed to sign into a organization
///   with an external identity provider (IdP) using a recovery code."
/// - `external_identity.scim_api_failure`: "Failed external identity SCIM API request" (the
///   identity provider's provisioning token; `.scim_api_success` is its success; both carry
///   `status_code`).
/// - `user.failed_login`: "A user tried to sign in with an incorrect username, password, or
///   two-factor authentication code"; `user.two_factor_challenge_failure`: "A 2FA challenge
///   issued for a user account failed" (security log).
///
/// Not listed, on purpose: `org.sso_response` / `business.sso_response` (no outcome key among
/// their documented fields: `issuer`, `external_identity_nameid`, ...),
/// `integration_installation_request.close` (approved, denied or canceled alike, with a free
/// `reason`), owners' changes named like refusals (`org.oauth_app_access_denied`).
pub const REFUSED: &[(&str, &str)] = &[
    ("personal_access_token.request_denied", "request_denied"),
    (
        "protected_branch.rejected_ref_update",
        "rejected_ref_update",
    ),
    ("public_key.verification_failure", "verification_failure"),
    (
        "public_key.unverification_failure",
        "unverification_failure",
    ),
    (
        "secret_scanning_push_protection_request.deny",
        "bypass_denied",
    ),
    ("org.recovery_code_failed", "recovery_code_failed"),
    ("external_identity.scim_api_failure", "scim_api_failure"),
    ("user.failed_login", "failed_login"),
    (
        "user.two_factor_challenge_failure",
        "two_factor_challenge_failure",
    ),
];

/// Actions whose event carries the HTTP `status_code` of the request it records: `api.request`
/// (audit log streaming of API requests: `request_method`, `route`, `status_code`, ...) and the
/// SCIM API events (`external_identity.scim_api_success` / `_failure`, with `status_code`).
pub fn has_status(action: &str) -> bool {
    action == "api.request" || action.starts_with("external_identity.scim_api_")
}

/// The issuing entry of `action`, if it issues a credential.
pub fn issuing(action: &str) -> Option<&'static Issuing> {
    ISSUING.iter().find(|i| i.action == action)
}

/// The error code of `action` when it records a refused attempt.
pub fn refused(action: &str) -> Option<&'static str> {
    REFUSED
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, code)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_hold_each_action_once_and_removals_issue_nothing() {
        for (i, a) in ISSUING.iter().enumerate() {
            assert!(
                ISSUING[i + 1..].iter().all(|b| b.action != a.action),
                "{a:?}"
            );
            assert!(!a.ids.is_empty(), "{a:?}");
        }
        for (i, (a, _)) in REFUSED.iter().enumerate() {
            assert!(REFUSED[i + 1..].iter().all(|(b, _)| b != a), "{a}");
        }
        for removal in [
            "public_key.delete",
            "personal_access_token.access_revoked",
            "personal_access_token.destroy",
            "personal_access_token.request_cancelled",
            "personal_access_token.request_created",
            "oauth_application.remove_client_secret",
            "integration.remove_client_secret",
            "integration.revoke_tokens",
            "deploy_key.create",
        ] {
            assert_eq!(issuing(removal), None, "{removal}");
        }
        // A refused issuance is listed in both: it names its credential and refuses it.
        assert!(issuing("personal_access_token.request_denied").is_some());
        assert_eq!(
            refused("personal_access_token.request_denied"),
            Some("request_denied")
        );
        for success in [
            "org.oauth_app_access_denied",
            "secret_scanning_push_protection.bypass",
            "org.sso_response",
            "integration_installation_request.close",
            "git.push",
        ] {
            assert_eq!(refused(success), None, "{success}");
        }
        assert!(has_status("api.request") && has_status("external_identity.scim_api_failure"));
        assert!(!has_status("git.clone"));
    }
}
