//! Renders Arrow batches and serialisable values as a table, JSON or CSV on stdout.

use std::io::Write;

use anyhow::Result;
use arrow::array::RecordBatch;
use serde::Serialize;

use crate::cli::Format;

/// `println!` that returns an error instead of panicking when stdout is closed (`| head`).
macro_rules! outln {
    () => { { use std::io::Write; writeln!(std::io::stdout().lock())?; } };
    ($($arg:tt)*) => { { use std::io::Write; writeln!(std::io::stdout().lock(), $($arg)*)?; } };
}

/// Writes `batches` in `format`.
pub fn batches(format: Format, batches: &[RecordBatch]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Table => {
            if batches.iter().all(|b| b.num_rows() == 0) {
                writeln!(out, "(no rows)")?;
            } else {
                writeln!(
                    out,
                    "{}",
                    arrow::util::pretty::pretty_format_batches(batches)?
                )?;
            }
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::ArrayWriter::new(&mut out);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            w.write_batches(&refs)?;
            w.finish()?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Writes a serialisable value as pretty JSON.
pub fn json<T: Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
