//! `nhiscope bench ingest`: generates realistic CloudTrail (one NDJSON file and gzipped S3
//! delivery files of the same events), then runs, each as its own process so peak RSS is its
//! own: `nhiscope ingest` over the NDJSON file, over the S3 files, and DuckDB's `read_json`
//! (through the Python client, with its JSON extension) over the same files, materialised into
//! a table in memory (its raw read) and, for NDJSON, into a database file (parse and persist,
//! as `ingest` does). Prints events/s, MB/s (of uncompressed JSON) and peak RSS for each.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nhiscope_scanners::logs::generate::{write_ndjson, write_s3_object};
use nhiscope_scanners::logs::input::{expand, Input};

use crate::cli::BenchIngestArgs;

const SEED: u64 = 20_261_123;
/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600;

/// One timed run.
struct Run {
    name: String,
    seconds: f64,
    peak_rss_mib: f64,
    detail: String,
}

pub fn run(args: &BenchIngestArgs, _now: i64) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.dir)?;
    let ndjson = args.dir.join(format!("cloudtrail-{}.ndjson", args.events));
    let s3 = args.dir.join(format!("s3-{}", args.events));
    let marker = s3.join(".complete");
    let started = Instant::now();
    let json_bytes = if ndjson.exists() && marker.exists() {
        std::fs::metadata(&ndjson)?.len()
    } else {
        eprintln!(
            "generating {} events into {}",
            args.events,
            args.dir.display()
        );
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&ndjson)?);
        let bytes = write_ndjson(&mut out, args.events, SEED, START)?;
        out.flush()?;
        std::fs::create_dir_all(&s3)?;
        let mut first = 0;
        while first < args.events {
            let n = args.per_file.min(args.events - first);
            let path = s3.join(format!(
                "100000000001_CloudTrail_us-east-1_{first:010}.json.gz"
            ));
            let mut gz = flate2::write::GzEncoder::new(
                BufWriter::new(std::fs::File::create(path)?),
                flate2::Compression::default(),
            );
            write_s3_object(&mut gz, first, n, SEED, START)?;
            gz.finish()?.flush()?;
            first += n;
        }
        std::fs::write(&marker, b"")?;
        eprintln!("generated in {:.1} s", started.elapsed().as_secs_f64());
        bytes
    };
    let gz_bytes: u64 = std::fs::read_dir(&s3)?
        .flatten()
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .sum();
    let exe = std::env::current_exe()?;
    let mut runs = Vec::new();
    for (name, input) in [
        ("nhiscope ingest, NDJSON", ndjson.clone()),
        ("nhiscope ingest, S3 .json.gz", s3.clone()),
    ] {
        let store = args.dir.join("bench-store.duckdb");
        let _ = std::fs::remove_file(&store);
        let _ = std::fs::remove_file(store.with_extension("duckdb.wal"));
        let mut cmd = Command::new(&exe);
        cmd.arg("--store")
            .arg(&store)
            .arg("-q")
            .arg("ingest")
            .arg(&input);
        warm_page_cache(&input)?;
        let (seconds, rss, out) = timed(cmd)?;
        runs.push(Run {
            name: name.into(),
            seconds,
            peak_rss_mib: rss,
            detail: out
                .lines()
                .find(|l| l.contains("total"))
                .unwrap_or("")
                .trim()
                .to_string(),
        });
    }
    let script = r#"
import duckdb, json, sys, time
kind, path, db = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect(db)
con.execute("SET enable_progress_bar = false")
t = time.time()
if kind == "ndjson":
    con.execute("CREATE TABLE t AS SELECT * FROM read_json(?, format = 'newline_delimited')", [path])
else:
    con.execute("CREATE TABLE t AS SELECT unnest(Records) AS r FROM read_json(?, format = 'auto', maximum_object_size = 268435456)", [path + "/*.json.gz"])
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
con.execute("CHECKPOINT")
print(json.dumps({"rows": n, "seconds": time.time() - t}))
"#;
    let has_duckdb = Command::new(&args.python)
        .args(["-c", "import duckdb"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_duckdb {
        // In memory (DuckDB's raw read, the target) and into a database file (parse and
        // persist, as `nhiscope ingest` does).
        let file = args.dir.join("bench-read-json.duckdb");
        let memory = PathBuf::from(":memory:");
        for (name, kind, input, db) in [
            ("DuckDB read_json, NDJSON", "ndjson", &ndjson, &memory),
            ("DuckDB read_json, S3 .json.gz", "s3", &s3, &memory),
            (
                "DuckDB read_json, NDJSON, to file",
                "ndjson",
                &ndjson,
                &file,
            ),
        ] {
            let _ = std::fs::remove_file(&file);
            let _ = std::fs::remove_file(file.with_extension("duckdb.wal"));
            let mut cmd = Command::new(&args.python);
            cmd.arg("-c").arg(script).arg(kind).arg(input).arg(db);
            warm_page_cache(input)?;
            let (seconds, rss, out) = timed(cmd)?;
            runs.push(Run {
                name: name.into(),
                seconds,
                peak_rss_mib: rss,
                detail: out.trim().to_string(),
            });
        }
    } else {
        eprintln!(
            "no duckdb module in {}: skipping the read_json comparison",
            args.python.display()
        );
    }
    let mb = json_bytes as f64 / 1e6;
    println!(
        "{} events, {:.1} MB of JSON ({:.1} MB gzipped in {} S3 files)",
        args.events,
        mb,
        gz_bytes as f64 / 1e6,
        args.events.div_ceil(args.per_file)
    );
    println!(
        "{:<32} {:>9} {:>12} {:>9} {:>10}  detail",
        "run", "seconds", "events/s", "MB/s", "peak RSS"
    );
    for r in &runs {
        println!(
            "{:<32} {:>9.2} {:>12.0} {:>9.1} {:>7.0} MiB  {}",
            r.name,
            r.seconds,
            args.events as f64 / r.seconds,
            mb / r.seconds,
            r.peak_rss_mib,
            r.detail
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads `path` (a file, or every file in a directory) once, so each measured run starts with
/// its input in the page cache: otherwise whichever run comes first after generation or after
/// a memory-hungry run also pays the disk (seen: 60 s instead of 46 s for the 10M NDJSON).
fn warm_page_cache(path: &Path) -> Result<()> {
    // The files `ingest` itself would read for this argument.
    let (inputs, errors) = expand(&[path.display().to_string()]);
    if let Some(e) = errors.first() {
        bail!("{e}");
    }
    for input in inputs {
        if let Input::File(file) = input {
            let mut f =
                std::fs::File::open(&file).with_context(|| format!("read {}", file.display()))?;
            std::io::copy(&mut f, &mut std::io::sink())?;
        }
    }
    Ok(())
}

/// Runs `cmd` to completion: wall seconds, peak RSS (Linux `VmHWM`, polled) and stdout.
fn timed(mut cmd: Command) -> Result<(f64, f64, String)> {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("start benchmark run")?;
    let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut peak_kib = 0.0f64;
    loop {
        if let Some(kib) = vm_hwm_kib(&status_file) {
            peak_kib = peak_kib.max(kib);
        }
        if child.try_wait()?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let seconds = started.elapsed().as_secs_f64();
    let out = child.wait_with_output()?;
    if !out.status.success() && out.status.code() != Some(2) {
        bail!(
            "benchmark run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((
        seconds,
        peak_kib / 1024.0,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

fn vm_hwm_kib(status: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(status).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
