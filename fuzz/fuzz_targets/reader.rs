//! cargo-fuzz target: arbitrary bytes as a whole input (NDJSON, arrays, wrapper objects,
//! truncated documents) through the streaming reader, detection and every parser.
//! Contract: no panic; every record is an event or a rejection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nhiscope_scanners::logs::normalise::parse_all;

fuzz_target!(|data: &[u8]| {
    let input: Box<dyn std::io::BufRead + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    let _ = parse_all(input, "fuzz", None);
});
