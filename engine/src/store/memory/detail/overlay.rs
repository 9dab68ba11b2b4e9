//! The suppression overlay of the in-memory identity pages: which open findings show
//! suppressed, judged as the store's `GLOB` does for patterns of `*` and `?`.

/// The suppressions in force for one summary build: (finding id, rule id, resource pattern).
pub(crate) struct InForce {
    pub(super) build_id: i64,
    pub(super) rules: Vec<(Option<String>, Option<String>, Option<String>)>,
    /// Some pattern uses GLOB syntax beyond `*` and `?`: the store path judges.
    pub(super) complex: bool,
}

impl InForce {
    pub(super) fn suppresses(&self, finding_id: &str, rule_id: &str, resource: &str) -> bool {
        self.rules.iter().any(|(f, r, pattern)| match f {
            Some(f) => f == finding_id,
            None => {
                matches!(r.as_deref(), Some(r) if r == "*" || r == rule_id)
                    && wildcard(pattern.as_deref().unwrap_or("*"), resource)
            }
        })
    }
}

/// `text GLOB pattern` for patterns of literals, `*` (any run) and `?` (one character).
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards_match_as_glob_does() {
        for (p, t, want) in [
            ("*", "", true),
            ("*", "anything/at:all", true),
            ("AKIA*", "AKIAXYZ", true),
            ("AKIA*", "xAKIA", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*role/ci-*", "arn:aws:iam::1:role/ci-deploy", true),
            ("*role/ci-*", "arn:aws:iam::1:user/ci-deploy", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(wildcard(p, t), want, "{p} vs {t}");
        }
    }
}
