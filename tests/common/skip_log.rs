//! Skipped conformance checks, recorded so that `tests/zz_conformance_summary.rs` (the last
//! test target `cargo test` runs, without the test harness, so its output is always shown)
//! can list them at the end of the run: notices printed by passing tests are hidden unless
//! `--nocapture` is given.
//!
//! Each line of `$CARGO_TARGET_TMPDIR/conformance-skips.log` is `PPID<TAB>TEST<TAB>REASON`;
//! the test binaries of one `cargo test` share cargo as their parent, which is how the
//! summary tells this run's lines from older ones.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

/// The log file.
pub fn log_path() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conformance-skips.log")
}

/// Print `notice: skipping: {why}` (visible with `--nocapture`) and record it.
pub fn skipped(why: &str) {
    eprintln!("notice: skipping: {why}");
    let test = std::env::args()
        .next()
        .map(|a| {
            let stem = std::path::Path::new(&a)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            // Test binaries are named `NAME-HASH`.
            match stem.rsplit_once('-') {
                Some((name, _)) => name.to_string(),
                None => stem,
            }
        })
        .unwrap_or_default();
    let line = format!(
        "{}\t{test}\t{}\n",
        std::os::unix::process::parent_id(),
        why.replace(['\n', '\t'], " ")
    );
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path())
    {
        // One write per line: appends from parallel tests do not interleave.
        let _ = f.write_all(line.as_bytes());
    }
}
