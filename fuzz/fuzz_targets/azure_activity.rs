//! cargo-fuzz target: arbitrary bytes, as JSON, through the `azure_activity` parser (forced, so
//! records of any shape reach it). Contract: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nhiscope_scanners::logs::normalise::normalise;
use nhiscope_scanners::logs::Format;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = normalise(v, Some(Format::AzureActivity));
    }
});
