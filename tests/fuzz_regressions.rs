//! Inputs the fuzzer (`scripts/fuzz.sh`) found crashing a reader, kept as regression tests:
//! `tests/data/fuzz-regressions/<target>/<file>`, where `<target>` is the fuzz target (a
//! format's name as the fuzzer spells it, `+variant` optional). Each must give exit 2 with one
//! line naming the file, or a profile; never a signal, an abort or a panic. The fuzzer reads
//! this folder as seeds too.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn regressions() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out.sort();
    out
}

#[test]
fn fuzz_finds_are_clean_errors() {
    let files = regressions();
    assert!(!files.is_empty());
    for f in &files {
        let out = Command::new(common::profdiff_bin())
            .arg("top")
            .arg(f)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {}
            Some(2) => {
                assert_eq!(err.trim().lines().count(), 1, "{}: {err}", f.display());
                assert!(
                    err.contains(&*f.to_string_lossy()),
                    "{}: {err}",
                    f.display()
                );
            }
            _ => panic!("{}: {:?}: {err}", f.display(), out.status),
        }
    }
}

/// The library's reader on the same bytes: an error, not a panic (the perf.data reader would
/// turn a panic of its parser into an error, so the message is checked too).
#[test]
fn fuzz_finds_fail_the_checks_before_the_parser() {
    use profdiff::formats;
    for f in regressions() {
        let data = std::fs::read(&f).unwrap();
        let Some(format) = formats::detect(&data) else {
            continue;
        };
        match formats::parse(&data, format, &Default::default()) {
            Ok(_) => {}
            Err(e) => assert!(
                !e.0.contains("parser failed"),
                "{}: the parser itself failed: {e}",
                f.display()
            ),
        }
    }
}
