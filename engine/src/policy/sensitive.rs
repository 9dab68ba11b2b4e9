//! The sensitive-action catalogue and which of its entries one statement applies to.
//!
//! Entries are of three kinds:
//! - `*`: every action on every resource (administrator). Only an `Action` of `*` (or `*:*`)
//!   on `Resource: "*"` counts; `NotAction` statements are never "admin", however broad.
//! - `service:*`: a service-wide wildcard on a sensitive service (iam, kms, secretsmanager,
//!   sts, organizations, ...). A statement applies when its patterns cover the literal
//!   `service:*` (so `kms:*`, `*` and `NotAction: s3:*` do; `kms:Create*` does not).
//! - single actions: the building blocks of privilege escalation and credential exposure.
//!   Self-service actions (a user managing its own keys and password) do not count when every
//!   resource of the statement is scoped to `${aws:username}`.

use super::actions::statement_applies;
use super::privesc;

/// Sensitive services whose service-wide wildcard is reported.
pub const SENSITIVE_SERVICES: &[&str] = &[
    "iam",
    "kms",
    "secretsmanager",
    "sts",
    "organizations",
    "ssm",
    "lambda",
    "s3",
];

/// Actions beyond the privilege-escalation set that rules reason about. (The catalogue is
/// kept to what rules use: every entry costs a row per granting statement in `permissions`.)
const EXTRA_ACTIONS: &[&str] = &["sts:AssumeRole", "iam:UpdateAccessKey"];

/// Self-service actions: harmless when scoped to the caller's own user.
const SELF_SERVICE: &[&str] = &[
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
];

/// The whole catalogue: `*`, then `service:*` entries, then single actions.
pub fn catalogue() -> &'static [String] {
    static CATALOGUE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let mut out = vec!["*".to_string()];
        out.extend(SENSITIVE_SERVICES.iter().map(|s| format!("{s}:*")));
        for a in privesc::actions()
            .into_iter()
            .chain(EXTRA_ACTIONS.iter().copied())
        {
            if !out.iter().any(|o| o == a) {
                out.push(a.to_string());
            }
        }
        out
    })
}

fn is_full_wildcard(pattern: &str) -> bool {
    pattern == "*" || pattern == "*:*"
}

fn all_resources<S: AsRef<str>>(resources: &[S], not_resources: &[S]) -> bool {
    not_resources.is_empty() && resources.iter().any(|r| r.as_ref() == "*")
}

fn self_scoped<S: AsRef<str>>(resources: &[S], not_resources: &[S]) -> bool {
    not_resources.is_empty()
        && !resources.is_empty()
        && resources
            .iter()
            .all(|r| r.as_ref().contains("${aws:username}"))
}

/// True when the statement's resources cover every resource (`"*"`, no `NotResource`): what a
/// `Deny` needs to win everywhere and what "admin" means.
pub fn covers_all_resources<S: AsRef<str>>(resources: &[S], not_resources: &[S]) -> bool {
    all_resources(resources, not_resources)
}

/// The catalogue entries one statement applies to (whatever its effect), in catalogue order.
pub fn statement_entries<S: AsRef<str>>(
    actions: &[S],
    not_actions: &[S],
    resources: &[S],
    not_resources: &[S],
) -> Vec<&'static str> {
    let cat = catalogue();
    let mut out = Vec::new();
    if not_actions.is_empty() && actions.is_empty() {
        return out;
    }
    // Fast path: with only `Action` patterns naming non-wildcard services, only entries of
    // those services can match.
    let services: Option<Vec<&str>> = if not_actions.is_empty() {
        actions
            .iter()
            .map(|p| {
                let p = p.as_ref();
                match p.split_once(':') {
                    Some((svc, _)) if !svc.contains(['*', '?']) => Some(svc),
                    _ => None,
                }
            })
            .collect()
    } else {
        None
    };
    let self_only = self_scoped(resources, not_resources);
    for entry in cat {
        let entry = entry.as_str();
        if entry == "*" {
            if not_actions.is_empty()
                && actions.iter().any(|p| is_full_wildcard(p.as_ref()))
                && all_resources(resources, not_resources)
            {
                out.push(entry);
            }
            continue;
        }
        if let Some(services) = &services {
            let svc = entry.split_once(':').map(|(s, _)| s).unwrap_or(entry);
            if !services.iter().any(|s| s.eq_ignore_ascii_case(svc)) {
                continue;
            }
        }
        if !statement_applies(actions, not_actions, entry) {
            continue;
        }
        if self_only && SELF_SERVICE.contains(&entry) {
            continue;
        }
        out.push(entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(actions: &[&str], not_actions: &[&str], resources: &[&str]) -> Vec<&'static str> {
        statement_entries(actions, not_actions, resources, &[])
    }

    #[test]
    fn admin_needs_star_action_on_star_resource() {
        assert!(entries(&["*"], &[], &["*"]).contains(&"*"));
        assert!(entries(&["*:*"], &[], &["*"]).contains(&"*"));
        assert!(!entries(&["*"], &[], &["arn:aws:s3:::bucket/*"]).contains(&"*"));
        assert!(!entries(&[], &["iam:*"], &["*"]).contains(&"*"));
        // `*` on `*` reaches every other entry too.
        assert_eq!(entries(&["*"], &[], &["*"]).len(), catalogue().len());
    }

    #[test]
    fn service_wildcards_need_the_whole_service() {
        assert!(entries(&["kms:*"], &[], &["*"]).contains(&"kms:*"));
        assert!(entries(&["KMS:*"], &[], &["*"]).contains(&"kms:*"));
        assert!(!entries(&["kms:Create*"], &[], &["*"]).contains(&"kms:*"));
        assert!(entries(&["iam:*"], &[], &["*"]).contains(&"iam:PassRole"));
        // NotAction excluding s3 grants the rest of the world, iam included.
        let e = entries(&[], &["s3:*"], &["*"]);
        assert!(e.contains(&"iam:*") && !e.contains(&"s3:*") && !e.contains(&"*"));
    }

    #[test]
    fn single_actions_with_wildcards_and_case() {
        let e = entries(&["iam:Put*Policy", "ec2:runinstances"], &[], &["*"]);
        assert!(e.contains(&"iam:PutUserPolicy"));
        assert!(e.contains(&"iam:PutRolePolicy"));
        assert!(e.contains(&"ec2:RunInstances"));
        assert!(!e.contains(&"iam:*"));
        assert!(entries(&["s3:GetObject", "ec2:Describe*"], &[], &["*"]).is_empty());
    }

    #[test]
    fn self_service_on_own_user_is_not_escalation() {
        let own = ["arn:aws:iam::*:user/${aws:username}"];
        assert!(!entries(&["iam:CreateAccessKey"], &[], &own).contains(&"iam:CreateAccessKey"));
        assert!(entries(&["iam:CreateAccessKey"], &[], &["*"]).contains(&"iam:CreateAccessKey"));
        // Attaching policies to oneself is escalation whatever the scope.
        assert!(entries(&["iam:AttachUserPolicy"], &[], &own).contains(&"iam:AttachUserPolicy"));
    }

    #[test]
    fn covers_all_resources_only_for_star_without_not_resource() {
        assert!(covers_all_resources(&["*"], &[]));
        assert!(!covers_all_resources(&["*"], &["arn:aws:s3:::x"]));
        assert!(!covers_all_resources(&["arn:aws:s3:::x"], &[]));
    }
}
