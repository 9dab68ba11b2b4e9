//! Formatting helpers the templates call: times, ages, optional values.

use nhiscope_engine::time::{self, Micros, DAY};

/// RFC 3339 seconds, or a dash.
pub fn time(t: &Option<Micros>) -> String {
    t.map(time::format).unwrap_or_else(|| "—".into())
}

/// The date part of a time, or a dash.
pub fn date(t: &Option<Micros>) -> String {
    t.map(|t| time::format(t)[..10].to_string())
        .unwrap_or_else(|| "—".into())
}

/// Whole days from `t` to `now` ("412 d"), or "never" when there is no time.
pub fn age(now: Micros, t: &Option<Micros>) -> String {
    match t {
        Some(t) => format!("{} d", (now - t).max(0) / DAY),
        None => "never".into(),
    }
}

/// An optional string, or a dash.
pub fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "—".into())
}

/// Everything but RFC 3986's unreserved characters is encoded.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A URL path segment or query component.
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}
