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

/// A URL query component.
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
