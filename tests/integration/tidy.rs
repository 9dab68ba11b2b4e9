//! House rules checked inside `cargo test`: every Rust file opens with a `//!` doc comment;
//! no `todo!`, `unimplemented!` or ignored tests.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = entry.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if p.is_dir() {
            rust_files(&p, out);
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_rust_file_has_a_module_doc_and_no_stubs() {
    let root = crate::harness::repo();
    let mut files = Vec::new();
    for dir in ["src", "engine", "scanners", "reports", "tests", "web"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20);
    let mut problems = Vec::new();
    let stub_macros = [
        concat!("todo", "!("),
        concat!("unimplemented", "!("),
        concat!("#[", "ignore"),
    ];
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        if !text.starts_with("//!") {
            problems.push(format!("{}: no //! doc at the top", f.display()));
        }
        for m in stub_macros {
            if text.contains(m) {
                problems.push(format!("{}: contains {m}", f.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
