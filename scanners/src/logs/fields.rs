//! Field access shared by the parsers: typed lookups on `serde_json::Value` paths, the
//! leniencies the wild needs (IPs with leading zeros, numbers written as strings, ms or s
//! epochs, case-insensitive Azure keys), redaction of anything that looks like a token, a
//! stable digest for records that carry no id, and building records back from flat columns
//! ([`insert_path`]).

use nhiscope_engine::time::{self, Micros};
use serde_json::{Map, Value};

/// The value at `path` (`.`-separated keys), if any.
pub fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for key in path.split('.') {
        cur = cur.as_object()?.get(key)?;
    }
    Some(cur)
}

/// Like [`at`], but keys match case-insensitively (Azure diagnostic exports spell
/// `callerIpAddress` as `calleripaddress` in some pipelines).
pub fn at_ci<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for key in path.split('.') {
        let obj = cur.as_object()?;
        cur = match obj.get(key) {
            Some(x) => x,
            None => obj
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, x)| x)?,
        };
    }
    Some(cur)
}

/// Text at `path`: strings as they are, numbers and booleans spelled out; empty strings and
/// nulls are `None`.
pub fn text(v: &Value, path: &str) -> Option<String> {
    as_text(at(v, path)?)
}

/// [`text`] with case-insensitive keys.
pub fn text_ci(v: &Value, path: &str) -> Option<String> {
    as_text(at_ci(v, path)?)
}

/// The first of `paths` that has text.
pub fn first(v: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| text(v, p))
}

/// The first of `paths` that has text, keys case-insensitive.
pub fn first_ci(v: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| text_ci(v, p))
}

/// A scalar as text (`None` for null, empty strings, objects and arrays).
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A boolean written as `true`/`"true"`/`"True"`.
pub fn flag(v: &Value, path: &str) -> Option<bool> {
    match at_ci(v, path)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A timestamp: text in any spelling [`time::parse`] accepts (plus the CLF form
/// `10/Feb/2026:12:00:00 +0000`), or a number of epoch milliseconds (or seconds, when it is
/// too small to be milliseconds of this century).
pub fn timestamp(v: &Value) -> Option<Micros> {
    match v {
        Value::Number(n) => {
            let x = n.as_f64()?;
            // Below 1e11 it cannot be ms since 1973: take it as seconds.
            let micros = if x.abs() < 1e11 { x * 1e6 } else { x * 1e3 };
            Some(micros as Micros)
        }
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<f64>() {
                return timestamp(&Value::from(n));
            }
            time::parse(s).or_else(|| {
                chrono::DateTime::parse_from_str(s, "%d/%b/%Y:%H:%M:%S %z")
                    .ok()
                    .map(|t| t.timestamp_micros())
            })
        }
        _ => None,
    }
}

/// The first of `paths` holding a timestamp.
pub fn first_time(v: &Value, paths: &[&str]) -> Option<Micros> {
    paths.iter().find_map(|p| at(v, p).and_then(timestamp))
}

/// An IP address as logged, tidied: dotted quads lose leading zeros (`211.9.016.253` →
/// `211.9.16.253`), IPv4 `host:port` loses the port, `[v6]:port` its brackets and port.
/// Anything else (a service name such as `ec2.amazonaws.com`) is kept as it is.
pub fn ip(raw: &str) -> String {
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix('[') {
        if let Some((host, _)) = rest.split_once(']') {
            return host.to_string();
        }
    }
    let host = match raw.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|c| c.is_ascii_digit()) => h,
        _ => raw,
    };
    let is_octet = |p: &str| !p.is_empty() && p.len() <= 3 && p.bytes().all(|c| c.is_ascii_digit());
    if host.split('.').count() == 4 && host.split('.').all(is_octet) {
        // Most addresses are already tidy: copy them as they are.
        if host.split('.').all(|p| p.len() == 1 || !p.starts_with('0')) {
            return host.to_string();
        }
        let mut out = String::with_capacity(host.len());
        for (i, p) in host.split('.').enumerate() {
            if i > 0 {
                out.push('.');
            }
            let n: u16 = p.parse().unwrap_or_default();
            out.push_str(&n.to_string());
        }
        return out;
    }
    host.to_string()
}

/// Query parameters whose values are secrets.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "code",
    "secret",
    "client_secret",
    "password",
    "pwd",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-security-token",
    "x-goog-signature",
    "apikey",
    "api_key",
    "key",
];

/// Redacts what looks like a secret in free text we keep (paths, user agents): values of
/// secret-named query parameters and JWT-shaped words (`eyJ...`).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (base, query) = match text.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (text, None),
    };
    out.push_str(&redact_words(base));
    if let Some(q) = query {
        out.push('?');
        let parts: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s)) => {
                    format!("{k}=REDACTED")
                }
                _ => redact_words(kv),
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out
}

fn redact_words(text: &str) -> String {
    if !text.contains("eyJ") {
        return text.to_string();
    }
    text.split(' ')
        .map(|w| {
            if w.contains("eyJ") && w.matches('.').count() >= 2 {
                "REDACTED_JWT"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A stable id for a record that has none: `h:` and 16 hex digits of FNV-1a over its JSON.
pub fn digest(v: &Value) -> String {
    let text = v.to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("h:{h:016x}")
}

/// Builds an `attributes` JSON object from the pairs that have a value: keys sorted, the last
/// of a repeated key kept (as a `serde_json::Map` would), written straight to text.
pub fn attributes(pairs: &[(&str, Option<Value>)]) -> Option<String> {
    let mut kept: Vec<(&str, &Value)> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().filter(|v| !v.is_null()).map(|v| (*k, v)))
        .collect();
    if kept.is_empty() {
        return None;
    }
    // Stable sort, then keep the last of each run of equal keys.
    kept.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::with_capacity(128);
    out.push(b'{');
    for (i, (k, v)) in kept.iter().enumerate() {
        if kept.get(i + 1).is_some_and(|next| next.0 == *k) {
            continue;
        }
        if out.len() > 1 {
            out.push(b',');
        }
        // Writing JSON into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, k);
        out.push(b':');
        let _ = serde_json::to_writer(&mut out, v);
    }
    out.push(b'}');
    String::from_utf8(out).ok()
}

/// Inserts `value` at the `.`-path `path` of `out` (empty parts skipped), creating objects on
/// the way; gives it back when the place is taken or a value that is not an object is in the
/// way.
pub fn insert_path(out: &mut Map<String, Value>, path: &str, value: Value) -> Result<(), Value> {
    let mut parts = path.split('.').filter(|p| !p.is_empty()).peekable();
    let mut cur = out;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            if cur.contains_key(part) {
                return Err(value);
            }
            cur.insert(part.to_string(), value);
            return Ok(());
        }
        let next = cur
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(inner) = next else {
            return Err(value);
        };
        cur = inner;
    }
    Err(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ips_are_tidied_and_service_names_kept() {
        assert_eq!(ip("211.9.016.253"), "211.9.16.253");
        assert_eq!(ip("010.000.0.7"), "10.0.0.7");
        assert_eq!(ip("10.0.0.1"), "10.0.0.1");
        assert_eq!(ip("1.2.3"), "1.2.3");
        assert_eq!(ip("1.2.3.4.5"), "1.2.3.4.5");
        assert_eq!(ip("10.0.0.1:4431"), "10.0.0.1");
        assert_eq!(ip("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(ip("2001:db8::1"), "2001:db8::1");
        assert_eq!(ip("ec2.amazonaws.com"), "ec2.amazonaws.com");
        assert_eq!(ip("AWS Internal"), "AWS Internal");
    }

    #[test]
    fn timestamps_in_ms_s_text_and_clf() {
        let want = time::parse("2021-05-18T02:31:58.553Z").expect("t");
        assert_eq!(timestamp(&json!(1621305118553_i64)), Some(want));
        assert_eq!(timestamp(&json!("1621305118553")), Some(want));
        assert_eq!(
            timestamp(&json!(1621305118)),
            time::parse("2021-05-18T02:31:58Z")
        );
        assert_eq!(
            timestamp(&json!("18/May/2021:02:31:58 +0000")),
            time::parse("2021-05-18T02:31:58Z")
        );
        assert_eq!(timestamp(&json!("yesterday")), None);
    }

    #[test]
    fn secrets_in_paths_and_words_are_redacted() {
        assert_eq!(
            redact("/cb?code=abc&state=1&access_token=xyz"),
            "/cb?code=REDACTED&state=1&access_token=REDACTED"
        );
        assert_eq!(
            redact("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"),
            "Bearer REDACTED_JWT"
        );
        assert_eq!(redact("aws-cli/2.13.5"), "aws-cli/2.13.5");
    }

    #[test]
    fn attributes_are_written_as_a_sorted_json_object() {
        let pairs = [
            ("b", Some(json!("x\"y"))),
            ("a", Some(json!(1.5))),
            ("n", Some(Value::Null)),
            ("none", None),
            ("a", Some(json!({"k": [true, "eyJ"]}))),
            ("c", Some(json!(false))),
        ];
        let map: serde_json::Map<String, Value> = pairs
            .iter()
            .filter_map(|(k, v)| {
                v.clone()
                    .filter(|v| !v.is_null())
                    .map(|v| (k.to_string(), v))
            })
            .collect();
        assert_eq!(attributes(&pairs), Some(Value::Object(map).to_string()));
        assert_eq!(attributes(&[("n", Some(Value::Null)), ("x", None)]), None);
    }

    #[test]
    fn lookups_are_lenient() {
        let v = json!({"a": {"B": 5, "c": ""}, "CallerIpAddress": "1.2.3.4"});
        assert_eq!(text(&v, "a.B"), Some("5".into()));
        assert_eq!(text(&v, "a.c"), None);
        assert_eq!(text_ci(&v, "calleripaddress"), Some("1.2.3.4".into()));
        assert_eq!(text_ci(&v, "A.b"), Some("5".into()));
        assert_eq!(digest(&v), digest(&v.clone()));
    }
}
