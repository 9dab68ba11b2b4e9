//! `nhiscope trace SUBJECT`: prints the engine's trace as an indented tree (or JSON), each line
//! with the raw record it comes from. Exits 1 when nothing is known about the subject.

use std::process::ExitCode;

use anyhow::{bail, Result};
use nhiscope_engine::trace::trace;
use nhiscope_engine::Store;

use crate::cli::{Format, TraceArgs};
use crate::commands::runtime;
use crate::output;

pub fn run(args: &TraceArgs, store: &Store, now: i64) -> Result<ExitCode> {
    let t = runtime()?.block_on(trace(store, now, &args.subject))?;
    if t.steps.len() <= 1
        && t.steps
            .iter()
            .all(|s| s.text.contains("not in the inventory"))
    {
        bail!(
            "nothing is known about {:?}: no event or inventory entry names it (ingest logs with `nhiscope ingest`)",
            args.subject
        );
    }
    if args.output == Format::Json {
        output::json(&t)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.output == Format::Csv {
        let mut w = csv::Writer::from_writer(std::io::stdout().lock());
        w.write_record(["depth", "kind", "text", "evidence"])?;
        for s in &t.steps {
            w.write_record([
                s.depth.to_string(),
                s.kind.clone(),
                s.text.clone(),
                s.evidence.clone().unwrap_or_default(),
            ])?;
        }
        w.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("trace of {} ({:?})", t.subject, t.kind);
    for s in &t.steps {
        let pad = "  ".repeat(s.depth + 1);
        match &s.evidence {
            Some(e) => outln!("{pad}{:<10} {}  [{e}]", s.kind, s.text),
            None => outln!("{pad}{:<10} {}", s.kind, s.text),
        }
    }
    Ok(ExitCode::SUCCESS)
}
