//! Shared helpers for integration tests.
#![allow(dead_code)]

pub mod pprof_top;

use std::path::PathBuf;

pub mod skip_log;

/// The conformance fixtures folder (`../shared/fixtures` beside the project, or
/// `PROFDIFF_FIXTURES`). `None` (with a printed notice) when absent, unless
/// `PROFDIFF_REQUIRE_FIXTURES=1`, where absence fails the test.
pub fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("PROFDIFF_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!(
            "PROFDIFF_REQUIRE_FIXTURES=1 but the fixtures folder {} is missing",
            dir.display()
        );
    }
    skip_log::skipped(&format!(
        "conformance fixtures not found at {} (set PROFDIFF_FIXTURES)",
        dir.display()
    ));
    None
}

/// Path of the built `profdiff` binary.
pub fn profdiff_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_profdiff"))
}

/// True when a command is on PATH.
pub fn have(cmd: &str) -> bool {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd} >/dev/null 2>&1"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
