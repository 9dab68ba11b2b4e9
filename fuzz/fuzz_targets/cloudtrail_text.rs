//! cargo-fuzz target: arbitrary bytes, as text, through the typed CloudTrail fast path
//! (`cloudtrail::parse_text`, what `ingest` runs on every record given as text). Contract: no
//! panic, and whenever the fast path takes a record, the general path (a `serde_json::Value`
//! through detection and the parser) gives the same outcome, event or rejection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nhiscope_scanners::logs::cloudtrail::parse_text;
use nhiscope_scanners::logs::normalise::{normalise, normalise_text};
use nhiscope_scanners::logs::reader::merge_row;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fast = normalise_text(text, None);
    if parse_text(text).is_some() {
        let general = serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| (None, format!("invalid JSON: {e}")))
            .and_then(|v| normalise(merge_row(v), None));
        assert_eq!(fast, general, "fast and general paths disagree");
    }
});
