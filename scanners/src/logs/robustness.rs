//! Mutation testing of the reader and every parser, run with the unit tests (cargo-fuzz needs a
//! separate nightly build of the whole dependency tree, DuckDB included; `fuzz/` holds those
//! targets). Seeds are the hand-written fixtures of every format; each round mutates either the
//! JSON tree (a value replaced by one of another type, a key dropped, a string cut) or the raw
//! bytes (flipped, inserted, deleted, truncated), then reads and normalises the result. The
//! contract: no panic, and every record ends as an event with its required fields or as a
//! rejection with a reason.

use serde_json::{json, Value};

/// The seed documents: every fixture of `tests/fixtures/logs`.
pub const SEEDS: &[&str] = &[
    include_str!("../../../tests/fixtures/logs/cloudtrail_s3.json"),
    include_str!("../../../tests/fixtures/logs/cloudtrail.ndjson"),
    include_str!("../../../tests/fixtures/logs/cloudtrail_lookup.json"),
    include_str!("../../../tests/fixtures/logs/entra_signins_graph.json"),
    include_str!("../../../tests/fixtures/logs/entra_diagnostic.json"),
    include_str!("../../../tests/fixtures/logs/gcp_audit.ndjson"),
    include_str!("../../../tests/fixtures/logs/github_audit.ndjson"),
    include_str!("../../../tests/fixtures/logs/k8s_audit.ndjson"),
    include_str!("../../../tests/fixtures/logs/apigw_access.ndjson"),
    include_str!("../../../tests/fixtures/logs/envoy_access.ndjson"),
];

/// Replaces one randomly chosen node of `v` by a value of another type, drops a key, or cuts a
/// string.
pub fn mutate_tree(v: &mut Value, rng: &mut fastrand::Rng) {
    let replacements = [
        json!(null),
        json!(0),
        json!(-1.5e300),
        json!(18446744073709551615u64),
        json!(""),
        json!("x"),
        json!("2026-13-45T99:99:99Z"),
        json!(true),
        json!([]),
        json!({}),
        json!([{"a": 1}]),
        json!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"),
        json!("999.999.999.999:99999"),
        json!("[::1"),
    ];
    let mut node = v;
    loop {
        let children = match node {
            Value::Object(o) => o.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        if children == 0 || rng.u8(..4) == 0 {
            break;
        }
        let pick = rng.usize(..children);
        node = match node {
            Value::Object(o) => {
                if rng.u8(..8) == 0 {
                    let key = o.keys().nth(pick).cloned().unwrap_or_default();
                    o.remove(&key);
                    return;
                }
                match o.values_mut().nth(pick) {
                    Some(x) => x,
                    None => return,
                }
            }
            Value::Array(a) => &mut a[pick],
            _ => return,
        };
    }
    match node {
        Value::String(s) if rng.bool() => {
            let cut = rng.usize(..=s.len());
            let cut = (0..=cut)
                .rev()
                .find(|i| s.is_char_boundary(*i))
                .unwrap_or(0);
            s.truncate(cut);
        }
        _ => *node = replacements[rng.usize(..replacements.len())].clone(),
    }
}

/// Flips, inserts, deletes bytes or truncates.
pub fn mutate_bytes(b: &mut Vec<u8>, rng: &mut fastrand::Rng) {
    if b.is_empty() {
        b.push(b'{');
        return;
    }
    for _ in 0..rng.usize(1..4) {
        let i = rng.usize(..b.len());
        match rng.u8(..4) {
            0 => b[i] ^= 1 << rng.u8(..8),
            1 => b.insert(i, *b"{}[],:\"\\\n0e".get(rng.usize(..11)).unwrap_or(&b'x')),
            2 => {
                b.remove(i);
            }
            _ => b.truncate(i),
        }
        if b.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::normalise::{normalise, parse_all};
    use crate::logs::reader::{read_records, RecordAt, RecordSink};
    use crate::logs::Format;

    fn check(bytes: Vec<u8>) -> usize {
        let (events, rejected) =
            parse_all(Box::new(std::io::Cursor::new(bytes)), "m", None).expect("in-memory read");
        for e in &events {
            assert!(!e.event_id.is_empty() && !e.action.is_empty() && !e.source_format.is_empty());
            assert!(["success", "failure", "unknown"].contains(&e.outcome.as_str()));
        }
        for (_, reason) in &rejected {
            assert!(!reason.is_empty());
        }
        events.len() + rejected.len()
    }

    #[test]
    fn mutated_records_never_panic_and_always_get_an_outcome() {
        // A longer campaign: NHISCOPE_MUTATION_ROUNDS=200000 (and NHISCOPE_MUTATION_SEED).
        let rounds: usize = std::env::var("NHISCOPE_MUTATION_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(3000);
        let seed: u64 = std::env::var("NHISCOPE_MUTATION_SEED")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(5);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut outcomes = 0;
        for round in 0..rounds {
            let seed = SEEDS[round % SEEDS.len()];
            let mut bytes = if round % 2 == 0 {
                // Tree mutation of every record of the seed, re-serialised as NDJSON.
                let mut records = Vec::new();
                struct Keep<'a>(&'a mut Vec<Value>);
                impl RecordSink for Keep<'_> {
                    fn record(&mut self, _: RecordAt, r: Value) {
                        self.0.push(r);
                    }
                    fn malformed(&mut self, _: u64, _: String) {}
                }
                read_records(
                    Box::new(std::io::Cursor::new(seed.as_bytes().to_vec())),
                    &mut Keep(&mut records),
                )
                .expect("seed");
                let mut out = Vec::new();
                for mut r in records {
                    for _ in 0..rng.usize(1..4) {
                        mutate_tree(&mut r, &mut rng);
                    }
                    out.extend(r.to_string().into_bytes());
                    out.push(b'\n');
                }
                out
            } else {
                seed.as_bytes().to_vec()
            };
            if round % 2 == 1 {
                mutate_bytes(&mut bytes, &mut rng);
            }
            outcomes += check(bytes);
        }
        assert!(outcomes > rounds, "{outcomes}");
    }

    #[test]
    fn every_parser_survives_every_seed_record_forced() {
        // Forcing a format on records of another format must reject, not panic.
        let mut records = Vec::new();
        for seed in SEEDS {
            let (events, _) = parse_all(
                Box::new(std::io::Cursor::new(seed.as_bytes().to_vec())),
                "s",
                None,
            )
            .expect("seed");
            assert!(!events.is_empty());
            records.push(seed);
        }
        for f in Format::ALL {
            for seed in &records {
                for line in seed.lines() {
                    if let Ok(v) = serde_json::from_str::<Value>(line) {
                        let _ = normalise(v, Some(f));
                    }
                }
            }
        }
    }
}
