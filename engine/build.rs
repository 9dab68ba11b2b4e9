//! Embeds the built-in rule pack (`../rules/**/*.toml`) and its fixtures (`../rules/tests/`)
//! so an installed binary carries them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let root = manifest.join("..").join("rules");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let (mut rules, mut fixtures) = (String::new(), String::new());
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f
            .strip_prefix(&root)
            .expect("under rules/")
            .to_string_lossy()
            .replace('\\', "/");
        let line = format!(
            "    ({rel:?}, include_str!({:?})),\n",
            f.display().to_string()
        );
        if rel.starts_with("tests/") || rel.contains("/tests/") {
            fixtures.push_str(&line);
        } else {
            rules.push_str(&line);
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "/// Built-in rule files: (path under rules/, text).\npub const RULES: &[(&str, &str)] = &[\n{rules}];\n/// Built-in rule fixtures.\npub const FIXTURES: &[(&str, &str)] = &[\n{fixtures}];\n"
    );
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("out dir")).join("builtin_rules.rs");
    std::fs::write(dest, out).expect("write builtin_rules.rs");
}
