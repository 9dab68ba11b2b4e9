//! Test harness: starts the moto wrapper (`tests/moto/server.py`) on 127.0.0.1 with a free
//! port and kills it on drop; runs the seeder; runs the `nhiscope` binary against a temp store.
//!
//! The Python interpreter comes from `NHISCOPE_TEST_PYTHON` (set by `scripts/test.sh`) or the
//! venv that script creates; a missing interpreter is a test failure, never a skip.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use nhiscope_engine::Store;
use serde_json::Value;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("NHISCOPE_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let venv = PathBuf::from(home).join(".cache/nhiscope/moto-venv/bin/python");
    assert!(
        venv.exists(),
        "no moto venv: run scripts/test.sh (it installs moto[server]) or set NHISCOPE_TEST_PYTHON"
    );
    venv
}

/// A running moto server.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let mut cmd = Command::new(python());
        cmd.arg(repo().join("tests/moto/server.py"))
            .arg("0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start moto server");
        let stdout = child.stdout.take().expect("moto stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read moto READY line");
        let port = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("moto did not start: {line:?}"))
            .to_string();
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    fn control(&self, path: &str, body: Option<Value>) -> Value {
        let mut cmd = Command::new(python());
        cmd.arg("-c").arg(
            "import sys,urllib.request;d=sys.argv[2].encode() if len(sys.argv)>2 else None;\
             r=urllib.request.Request(sys.argv[1],data=d,method='POST' if d is not None else 'GET');\
             print(urllib.request.urlopen(r).read().decode())",
        );
        cmd.arg(format!("{}{path}", self.endpoint));
        if let Some(b) = body {
            cmd.arg(b.to_string());
        }
        let out = cmd.output().expect("control call");
        assert!(
            out.status.success(),
            "control {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("control json")
    }

    /// Sets fault rules: `[{"action": "ListAccessKeys", "kind": "error500", "times": 2}, ...]`.
    pub fn faults(&self, faults: Value) {
        self.control(
            "/_nhiscope/faults",
            Some(serde_json::json!({ "faults": faults })),
        );
    }

    /// Calls per action seen by the server since the last reset.
    pub fn calls(&self) -> Value {
        self.control("/_nhiscope/calls", None)
    }

    pub fn reset_calls(&self) {
        self.control("/_nhiscope/calls/reset", Some(serde_json::json!({})));
    }

    /// Runs the seeder; returns its manifest.
    pub fn seed(&self, dir: &Path, args: &[&str]) -> Value {
        let manifest = dir.join(format!("manifest-{}.json", fastrand_suffix()));
        let out = Command::new(python())
            .arg(repo().join("tests/moto/seed.py"))
            .arg("--endpoint")
            .arg(&self.endpoint)
            .arg("--manifest")
            .arg(&manifest)
            .args(args)
            .output()
            .expect("run seeder");
        assert!(
            out.status.success(),
            "seeder failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&std::fs::read(&manifest).expect("manifest")).expect("manifest json")
    }

    /// Runs a Python snippet, in `dir`, with boto3 clients `iam` and `sts` bound to this server.
    pub fn boto(&self, dir: &Path, code: &str) {
        let prelude = format!(
            "import boto3,json\nkw=dict(endpoint_url='{}',region_name='us-east-1',aws_access_key_id='testing',aws_secret_access_key='testing')\niam=boto3.client('iam',**kw)\nsts=boto3.client('sts',**kw)\n",
            self.endpoint
        );
        let out = Command::new(python())
            .arg("-c")
            .arg(format!("{prelude}{code}"))
            .current_dir(dir)
            .output()
            .expect("boto snippet");
        assert!(
            out.status.success(),
            "boto snippet failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fastrand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `nhiscope` with a temp store and fake credentials for moto.
pub fn nhiscope(store: &Path, args: &[&str]) -> Output {
    nhiscope_with(store, args, &[])
}

/// Like [`nhiscope`], with extra environment variables (they win).
pub fn nhiscope_with(store: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nhiscope"));
    cmd.arg("--store")
        .arg(store)
        .arg("-q")
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("NHISCOPE_CONFIG")
        .current_dir(store.parent().unwrap_or(Path::new(".")));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run nhiscope")
}

/// Scans moto into `store` with fast retries; returns the process output.
pub fn scan(moto: &Moto, store: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "scan",
        "aws",
        "--endpoint-url",
        moto.endpoint.as_str(),
        "--initial-backoff-ms",
        "20",
        "--max-attempts",
        "4",
    ];
    args.extend_from_slice(extra);
    nhiscope(store, &args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Opens the store written by the binary.
pub fn open(store: &Path) -> Store {
    Store::open(store).expect("open store")
}

/// Rows of a snapshot table as JSON objects (via the engine's Arrow output).
pub fn rows(
    store: &Store,
    table: nhiscope_engine::Table,
    snapshot: nhiscope_engine::store::Snapshot,
) -> Vec<Value> {
    let batches = store.table_rows(table, snapshot).expect("table rows");
    batches_json(&batches)
}

pub fn batches_json(batches: &[arrow::array::RecordBatch]) -> Vec<Value> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::ArrayWriter::new(&mut buf);
        let refs: Vec<&arrow::array::RecordBatch> = batches.iter().collect();
        w.write_batches(&refs).expect("json");
        w.finish().expect("json");
    }
    if buf.is_empty() {
        return Vec::new();
    }
    serde_json::from_slice(&buf).expect("json rows")
}

pub fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}
