//! What some of GitHub's audit log actions mean, for the parser ([`super::github_audit`]): the
//! actions that record an attempt GitHub (or an owner) refused, with the evidence kept as the
//! event's error code, and those that carry the HTTP status of the request they record. The
//! list is explicit: an action not named here succeeded, whatever its name looks like
//! (`org.oauth_app_access_denied` is an owner's successful change, not a refused attempt).
//!
//! The names, descriptions and keys are GitHub's, from github/docs:
//! `src/audit-logs/data/ghec/enterprise.json` (each action of the enterprise audit log with
//! its description and `fields`), `src/audit-logs/data/fpt/user.json` (the security log's
//! actions), and the rendered "Audit log events for your organization" page. Every event
//! also carries the keys of the actor's own authentication (`token_id`, `hashed_token`,
//! `programmatic_access_type`), so `token_id` names the credential the actor used, not the
//! one an action issued.

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
    fn refusals_are_listed_once_and_look_alikes_are_not() {
        for (i, (a, _)) in REFUSED.iter().enumerate() {
            assert!(REFUSED[i + 1..].iter().all(|(b, _)| b != a), "{a}");
        }
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
