//! Time as data: timestamps are UTC microseconds since the Unix epoch (`i64`), stored as
//! DuckDB `TIMESTAMP` (naive, always UTC). `now` is always passed in, never read here.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;

/// UTC microseconds since the Unix epoch.
pub type Micros = i64;

/// Microseconds in one day.
pub const DAY: Micros = 86_400_000_000;

/// Converts a chrono UTC time to micros.
pub fn from_datetime(t: DateTime<Utc>) -> Micros {
    t.timestamp_micros()
}

/// Converts micros to a chrono UTC time (saturating at the representable range).
pub fn to_datetime(t: Micros) -> DateTime<Utc> {
    Utc.timestamp_micros(t)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Formats micros as RFC 3339 with second precision (`2026-01-02T03:04:05Z`).
pub fn format(t: Micros) -> String {
    to_datetime(t).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses the timestamp spellings found in cloud APIs and exports: RFC 3339
/// (`2024-01-02T03:04:05Z`, `+00:00` offsets, fractional seconds), the space-separated form
/// used by some exports (`2019-12-18 19:10:08+00:00`), BigQuery's JSON exports
/// (`2019-12-18 19:10:08.123456 UTC`), a bare date-time without zone (taken as UTC) and a bare
/// date. Returns `None` for anything else.
pub fn parse(text: &str) -> Option<Micros> {
    let text = text.trim();
    // .NET's JSON dates (Windows PowerShell's `ConvertTo-Json`): `/Date(1714636800000)/`.
    if let Some(inner) = text
        .strip_prefix("/Date(")
        .and_then(|t| t.strip_suffix(")/"))
    {
        // Milliseconds, maybe negative, maybe followed by an offset (`+0000`) that does not
        // change the instant.
        let end = inner
            .char_indices()
            .skip(1)
            .find(|(_, c)| matches!(c, '+' | '-'))
            .map_or(inner.len(), |(i, _)| i);
        return inner[..end].parse::<i64>().ok().map(|ms| ms * 1000);
    }
    let text = text.strip_suffix(" UTC").unwrap_or(text);
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_micros());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, fmt) {
            return Some(t.timestamp_micros());
        }
    }
    // The last: Azure portal CSV exports (`12/18/2019, 7:10:08.000 PM`, UTC columns).
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%m/%d/%Y, %I:%M:%S%.f %p",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_micros());
    }
    None
}

/// Deserialises an optional timestamp written as micros or as text [`parse`] accepts (rule
/// fixtures and hand-written inputs use dates).
pub fn de_opt_micros<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Micros>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Micros(i64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Micros(m)) => Ok(Some(m)),
        Some(Raw::Text(t)) => parse(&t)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("not a timestamp: {t:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spellings_found_in_the_wild() {
        let want = parse("2019-12-18T19:10:08Z").expect("rfc3339");
        assert_eq!(parse("2019-12-18 19:10:08+00:00"), Some(want));
        assert_eq!(parse("2019-12-18T19:10:08+00:00"), Some(want));
        assert_eq!(parse("2019-12-18T19:10:08"), Some(want));
        assert_eq!(parse("2019-12-18T19:10:08.000Z"), Some(want));
        assert_eq!(parse("2019-12-18 19:10:08 UTC"), Some(want));
        assert_eq!(parse("2019-12-18 19:10:08.5 UTC"), Some(want + 500_000));
        assert_eq!(parse("12/18/2019, 7:10:08.000 PM"), Some(want));
        assert_eq!(parse("12/18/2019, 7:10:08 PM"), Some(want));
        assert_eq!(parse("/Date(1576696208000)/"), Some(want));
        assert_eq!(parse("/Date(1576696208000+0000)/"), Some(want));
        assert_eq!(parse("/Date(-1000)/"), Some(-1_000_000));
        assert_eq!(parse("/Date()/"), None);
        assert_eq!(format(want), "2019-12-18T19:10:08Z");
        assert_eq!(parse("N/A"), None);
        assert_eq!(parse(""), None);
    }
}
