//! IAM action patterns: case-insensitive, `*` any run of characters, `?` one character, and
//! the `Action` / `NotAction` forms of a statement.

use crate::model::GrantRow;

/// IAM action matching: case-insensitive, `*` any run of characters, `?` one character.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// True when a statement with these `Action` / `NotAction` lists applies to `action`: an
/// `Action` pattern matches it, or (for a `NotAction` statement) no `NotAction` pattern does.
pub fn statement_applies<S: AsRef<str>>(actions: &[S], not_actions: &[S], action: &str) -> bool {
    if !not_actions.is_empty() {
        !not_actions
            .iter()
            .any(|p| action_matches(p.as_ref(), action))
    } else {
        actions.iter().any(|p| action_matches(p.as_ref(), action))
    }
}

/// True when an `Allow` statement (or a statement whose document was not visible) may grant
/// `action`. Conditions and resources are ignored, so the answer errs towards "may".
pub fn may_allow(g: &GrantRow, action: &str) -> bool {
    match g.effect.as_str() {
        "Unknown" => true,
        "Allow" => statement_applies(&g.actions, &g.not_actions, action),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_patterns_match_like_iam() {
        assert!(action_matches("*", "codecommit:GitPull"));
        assert!(action_matches("codecommit:*", "CodeCommit:GitPull"));
        assert!(action_matches("codecommit:Git*", "codecommit:GitPush"));
        assert!(action_matches("codecommit:GitPu??", "codecommit:GitPush"));
        assert!(action_matches("*:Git*", "codecommit:GitPush"));
        assert!(!action_matches("codecommit:Get*", "codecommit:GitPull"));
        assert!(!action_matches("s3:*", "codecommit:GitPull"));
        assert!(!action_matches("codecommit:GitPull", "codecommit:GitPullX"));
        assert!(!action_matches("", "s3:GetObject"));
    }

    #[test]
    fn not_action_grants_everything_else() {
        let allow_all_but_iam = GrantRow {
            effect: "Allow".into(),
            not_actions: vec!["iam:*".into()],
            ..Default::default()
        };
        assert!(may_allow(&allow_all_but_iam, "codecommit:GitPull"));
        assert!(!may_allow(&allow_all_but_iam, "iam:CreateUser"));
        let deny = GrantRow {
            effect: "Deny".into(),
            actions: vec!["*".into()],
            ..Default::default()
        };
        assert!(!may_allow(&deny, "codecommit:GitPull"));
        let unknown = GrantRow {
            effect: "Unknown".into(),
            ..Default::default()
        };
        assert!(may_allow(&unknown, "iam:PassRole"));
    }
}
