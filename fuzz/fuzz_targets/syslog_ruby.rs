//! cargo-fuzz target: arbitrary bytes as a syslog line (header, then its message) and as a
//! Ruby hash (GitHub Enterprise Server's audit entries).
//! Contract: no panic; a hash read as JSON is valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nhiscope_scanners::logs::{ruby_hash, syslog};

fuzz_target!(|data: &[u8]| {
    let message = syslog::message(data).unwrap_or(data);
    if let Ok(text) = std::str::from_utf8(message) {
        if let Some(json) = ruby_hash::to_json(text) {
            assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
        }
    }
});
