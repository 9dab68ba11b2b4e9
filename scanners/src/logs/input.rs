//! What `nhiscope ingest` reads: files, directories (recursively, in name order; hidden entries
//! and CloudTrail digest and Insights files skipped), glob patterns and `-` for stdin. Gzip is
//! recognised by its magic bytes, whatever the file is called; concatenated gzip members are
//! read through. UTF-16 text (a byte order mark first) is transcoded to UTF-8.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

/// One input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// How reports and `raw_ref` name it.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "-".into(),
            Input::File(p) => p.display().to_string(),
        }
    }

    /// Its size on disk (compressed size for `.gz`), when known.
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
        }
    }

    /// Opens it for reading, decompressing gzip. Every byte taken from the file or stdin
    /// (before decompression) is counted in each of `counters` (the input's own count and the
    /// run's, for progress).
    pub fn open(&self, counters: &[Arc<AtomicU64>]) -> io::Result<Box<dyn BufRead + Send>> {
        let raw: Box<dyn Read + Send> = match self {
            Input::Stdin => Box::new(io::stdin()),
            Input::File(p) => Box::new(File::open(p)?),
        };
        let mut counted = BufReader::with_capacity(
            256 * 1024,
            Counted {
                inner: raw,
                counters: counters.to_vec(),
            },
        );
        let gz = counted.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let mut bytes: Box<dyn BufRead + Send> = if gz {
            Box::new(BufReader::with_capacity(
                256 * 1024,
                MultiGzDecoder::new(counted),
            ))
        } else {
            Box::new(counted)
        };
        let head = bytes.fill_buf()?;
        if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
            return Ok(Box::new(BufReader::with_capacity(
                256 * 1024,
                utf16_to_utf8(bytes),
            )));
        }
        Ok(bytes)
    }
}

/// Text that starts with a UTF-16 byte order mark (what Windows PowerShell's `Out-File` and
/// `>` write, e.g. `Get-MgAuditLogSignIn | ConvertTo-Json > signins.json`), transcoded to
/// UTF-8 as it is read. UTF-8 inputs are not touched (no copy).
fn utf16_to_utf8(input: Box<dyn BufRead + Send>) -> impl Read + Send {
    encoding_rs_io::DecodeReaderBytesBuilder::new()
        .bom_sniffing(true)
        .strip_bom(true)
        .build(input)
}

struct Counted<R> {
    inner: R,
    counters: Vec<Arc<AtomicU64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for c in &self.counters {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Expands command-line arguments into inputs. Arguments that name nothing come back as
/// errors (one message each); the rest is still returned.
pub fn expand(args: &[String]) -> (Vec<Input>, Vec<String>) {
    let (mut inputs, mut errors) = (Vec::new(), Vec::new());
    for arg in args {
        if arg == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let path = Path::new(arg);
        if path.is_dir() {
            walk(path, &mut inputs, &mut errors);
        } else if path.is_file() {
            inputs.push(Input::File(path.to_path_buf()));
        } else if arg.contains(['*', '?', '[']) {
            match glob::glob(arg) {
                Err(e) => errors.push(format!("{arg}: bad glob pattern: {e}")),
                Ok(paths) => {
                    let before = inputs.len();
                    for p in paths {
                        match p {
                            Ok(p) if p.is_dir() => walk(&p, &mut inputs, &mut errors),
                            Ok(p) => inputs.push(Input::File(p)),
                            Err(e) => errors.push(format!("{arg}: {e}")),
                        }
                    }
                    if inputs.len() == before {
                        errors.push(format!("{arg}: no file matches"));
                    }
                }
            }
        } else {
            errors.push(format!("{arg}: no such file or directory"));
        }
    }
    (inputs, errors)
}

/// CloudTrail digest files (`<account>_CloudTrail-Digest_<region>_...json.gz`: a trail's log
/// files and their hashes; one per region and hour when log file validation is on, CIS AWS 3.2)
/// and Insights files (`_CloudTrail-Insight_`: API call rate anomalies, not calls) sit next to
/// the logs in a trail's bucket; a walk over a synced bucket leaves them out rather than
/// quarantining each. Named explicitly, one is read (and its records reported as not events).
fn is_cloudtrail_digest_or_insight(file_name: &str) -> bool {
    file_name.contains("_CloudTrail-Digest_") || file_name.contains("_CloudTrail-Insight_")
}

fn walk(dir: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
        Err(e) => {
            errors.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with('.') || is_cloudtrail_digest_or_insight(name) {
            continue;
        }
        if p.is_dir() {
            walk(&p, inputs, errors);
        } else {
            inputs.push(Input::File(p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn utf16_text_is_read_as_utf8_and_utf8_untouched() {
        let dir = tempfile::tempdir().expect("tmp");
        let text = "[{\"UserPrincipalName\": \"jörg@example.com\", \"AppId\": \"a1\"}]\r\n";
        let read = |bytes: Vec<u8>, gz: bool| {
            let path = dir.path().join("x");
            let bytes = if gz {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                enc.write_all(&bytes).expect("gz");
                enc.finish().expect("finish")
            } else {
                bytes
            };
            std::fs::write(&path, bytes).expect("write");
            let mut out = String::new();
            Input::File(path)
                .open(&[])
                .expect("open")
                .read_to_string(&mut out)
                .expect("utf-8");
            out
        };
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(read(le, false), text);
        assert_eq!(read(be, true), text);
        assert_eq!(read(text.as_bytes().to_vec(), false), text);
    }

    #[test]
    fn directories_globs_and_gzip() {
        let dir = tempfile::tempdir().expect("tmp");
        let plain = dir.path().join("a.json");
        std::fs::write(&plain, b"{\"x\":1}\n").expect("write");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).expect("mkdir");
        let gz = sub.join("b.log");
        let mut enc = flate2::write::GzEncoder::new(
            File::create(&gz).expect("create"),
            flate2::Compression::fast(),
        );
        enc.write_all(b"{\"y\":2}\n").expect("gz");
        enc.finish().expect("finish");
        std::fs::write(dir.path().join(".hidden"), b"x").expect("write");
        let digest = "111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20260502T110000Z.json";
        std::fs::write(sub.join(digest), b"{\"logFiles\":[]}").expect("write");
        let insight = "111122223333_CloudTrail-Insight_us-east-1_20260502T1000Z_x.json.gz";
        std::fs::write(sub.join(insight), b"{\"Records\":[]}").expect("write");

        let (inputs, errors) = expand(&[dir.path().display().to_string()]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            inputs,
            vec![Input::File(plain.clone()), Input::File(gz.clone())]
        );

        let pattern = format!("{}/*.json", dir.path().display());
        let (inputs, _) = expand(&[pattern, "/nonexistent/x".into()]);
        assert_eq!(inputs, vec![Input::File(plain)]);

        let counter = Arc::new(AtomicU64::new(0));
        let mut text = String::new();
        Input::File(gz)
            .open(std::slice::from_ref(&counter))
            .expect("open")
            .read_to_string(&mut text)
            .expect("read");
        assert_eq!(text, "{\"y\":2}\n");
        assert!(counter.load(Ordering::Relaxed) > 0);
        let (_, errors) = expand(&["/nonexistent/x".into()]);
        assert_eq!(
            errors,
            vec!["/nonexistent/x: no such file or directory".to_string()]
        );
    }
}
