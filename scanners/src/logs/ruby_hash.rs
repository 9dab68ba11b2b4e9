//! Ruby hashes as `Hash#inspect` prints them, read as the JSON they stand for. GitHub
//! Enterprise Server writes its audit log entries this way (`github_audit: {:created_at=>
//! 1351215728326, :actor_ip=>"10.0.0.51", :data=>{}, :action=>"repo.create", ...}` in
//! `/var/log/github/audit.log` and what log forwarding sends), and Ruby 3.4 prints the same
//! hash as `{created_at: 1351215728326, ...}`.
//!
//! Read: symbol keys (`:key=>`, `key:`, `:"quoted key"=>`), string keys (`"key"=>`), strings
//! with Ruby's escapes (`\e`, `\#`, `\u{…}`, `\xNN`, ...), integers and floats, `true`, `false`,
//! `nil`, symbols as values (`:name`, read as text), nested hashes and arrays. Anything else
//! (an object's `#<...>` inspection, a bare time) makes the text no hash this reads.

/// The JSON of the Ruby hash `text`, or `None` when `text` is not one this reads.
pub fn to_json(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' | '}' | '[' | ']' | ',' => out.push(c),
            c if c.is_whitespace() => out.push(' '),
            '"' => {
                let end = string(text, at, &mut out)?;
                skip_to(&mut chars, end);
            }
            '=' if text[at..].starts_with("=>") => {
                out.push(':');
                chars.next();
            }
            ':' => {
                let rest = &text[at + 1..];
                let end = if rest.starts_with('"') {
                    string(text, at + 1, &mut out)?
                } else {
                    let n = identifier(rest);
                    if n == 0 {
                        return None;
                    }
                    push_text(&rest[..n], &mut out);
                    at + 1 + n
                };
                skip_to(&mut chars, end);
            }
            '-' | '0'..='9' => {
                let n = text[at..]
                    .find(|c: char| {
                        !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'))
                    })
                    .unwrap_or(text.len() - at);
                out.extend(text[at..at + n].chars().filter(|c| *c != '_'));
                skip_to(&mut chars, at + n);
            }
            c if c.is_alphabetic() || c == '_' => {
                let rest = &text[at..];
                let n = identifier(rest);
                let word = &rest[..n];
                let after = &rest[n..];
                // Ruby 3.4's `key: value` (one colon, not `::`).
                if after.starts_with(':') && !after.starts_with("::") {
                    push_text(word, &mut out);
                    out.push(':');
                    skip_to(&mut chars, at + n + 1);
                    continue;
                }
                match word {
                    "nil" => out.push_str("null"),
                    "true" | "false" => out.push_str(word),
                    _ => return None,
                }
                skip_to(&mut chars, at + n);
            }
            _ => return None,
        }
    }
    // Checked as a value, not just as syntax: a number out of range (`1E8888`) is no JSON
    // value either.
    serde_json::from_str::<serde_json::Value>(&out).ok()?;
    Some(out)
}

/// Advances `chars` to byte `end` of the text.
fn skip_to(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, end: usize) {
    while chars.peek().is_some_and(|(i, _)| *i < end) {
        chars.next();
    }
}

/// The length of the Ruby identifier (or symbol name: `?`, `!` and `=` may end it) at the
/// start of `text`.
fn identifier(text: &str) -> usize {
    let n = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    if n > 0 && text[n..].starts_with(['?', '!']) {
        n + 1
    } else {
        n
    }
}

/// `text` (no escapes in it) as a JSON string.
fn push_text(text: &str, out: &mut String) {
    out.push('"');
    out.push_str(text);
    out.push('"');
}

/// Reads the Ruby string literal whose opening quote is at byte `start` of `text` into `out`
/// as a JSON string; returns the byte after its closing quote.
fn string(text: &str, start: usize, out: &mut String) -> Option<usize> {
    out.push('"');
    let mut chars = text[start + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                return Some(start + 1 + i + 1);
            }
            '\\' => {
                let (j, e) = chars.next()?;
                match e {
                    '"' | '\\' | '/' | 'n' | 't' | 'r' | 'f' | 'b' => {
                        out.push('\\');
                        out.push(e);
                    }
                    'a' => out.push_str("\\u0007"),
                    'v' => out.push_str("\\u000b"),
                    'e' => out.push_str("\\u001b"),
                    '0' => out.push_str("\\u0000"),
                    'u' => {
                        let rest = &text[start + 1 + j + 1..];
                        let (hex, used) = match rest.strip_prefix('{') {
                            Some(inner) => {
                                let close = inner.find('}')?;
                                (&inner[..close], close + 2)
                            }
                            None => (rest.get(..4)?, 4),
                        };
                        let code = u32::from_str_radix(hex, 16).ok()?;
                        push_char(char::from_u32(code)?, out);
                        for _ in 0..used {
                            chars.next();
                        }
                    }
                    'x' => {
                        let rest = &text[start + 1 + j + 1..];
                        let n = rest
                            .find(|c: char| !c.is_ascii_hexdigit())
                            .unwrap_or(rest.len())
                            .min(2);
                        let byte = u32::from_str_radix(rest.get(..n)?, 16).ok()?;
                        // An invalid byte of a string Ruby could not print as text: kept as the
                        // Latin-1 character of that value.
                        push_char(char::from_u32(byte)?, out);
                        for _ in 0..n {
                            chars.next();
                        }
                    }
                    // `\#` (Ruby escapes `#{`, `#$` and `#@`) and any other escaped character
                    // stand for themselves.
                    other => push_char(other, out),
                }
            }
            c => push_char(c, out),
        }
    }
    None
}

/// One character inside a JSON string.
fn push_char(c: char, out: &mut String) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn read(text: &str) -> Option<Value> {
        to_json(text).map(|j| serde_json::from_str(&j).expect("valid JSON"))
    }

    #[test]
    fn github_enterprise_server_audit_entries_read_as_their_json() {
        // The entry GitHub's documentation shows for GitHub Enterprise Server's audit.log.
        let entry = r#"{:created_at=>1351215728326, :actor_ip=>"10.0.0.51", :data=>{}, :user=>"some-user", :repo=>"some-user/some-repository", :actor=>"some-user", :actor_id=>2, :user_id=>2, :action=>"repo.create", :repo_id=>1, :from=>"repositories#create"}"#;
        assert_eq!(
            read(entry),
            Some(json!({
                "created_at": 1351215728326u64, "actor_ip": "10.0.0.51", "data": {},
                "user": "some-user", "repo": "some-user/some-repository", "actor": "some-user",
                "actor_id": 2, "user_id": 2, "action": "repo.create", "repo_id": 1,
                "from": "repositories#create"
            }))
        );
        // Ruby 3.4's printing of the same kind of hash.
        assert_eq!(
            read(
                r#"{created_at: 1, action: "public_key.create", data: {fingerprint: "ab:cd", ok?: true}}"#
            ),
            Some(json!({"created_at": 1, "action": "public_key.create",
                        "data": {"fingerprint": "ab:cd", "ok?": true}}))
        );
    }

    #[test]
    fn values_keys_and_escapes_of_every_kind() {
        assert_eq!(
            read(
                r#"{"name"=>"a\"b\\c\e\#{x}\u00e9\u{1F600}\x41\n", :"odd key"=>nil, :list=>[1, -2.5, 1_000, 1.0e-05, :sym, true, false], :nested=>{:a=>{"b"=>[]}}}"#
            ),
            Some(json!({
                "name": "a\"b\\c\u{1b}#{x}é😀A\n",
                "odd key": null,
                "list": [1, -2.5, 1000, 1.0e-05, "sym", true, false],
                "nested": {"a": {"b": []}}
            }))
        );
        // A raw control character inside a string is escaped for JSON.
        assert_eq!(read("{:a=>\"x\ty\"}"), Some(json!({"a": "x\ty"})));
    }

    #[test]
    fn what_is_no_plain_hash_is_refused() {
        for text in [
            r#"{:at=>#<Time 2012-10-26>}"#,
            r#"{:a=>"unterminated}"#,
            r#"{:a=>Infinity}"#,
            r#"{:a=>Foo::Bar}"#,
            r#"{:a=>"x" "y"}"#,
            "1E8888888888888888888888888888888888888888",
            r#"{:=>1}"#,
            "",
        ] {
            assert_eq!(to_json(text), None, "{text}");
        }
    }
}
