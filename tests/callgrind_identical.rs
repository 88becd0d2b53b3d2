//! Instruction counts are deterministic only for a deterministic program. Two callgrind runs
//! of one Python script with different hash seeds (`PYTHONHASHSEED`, which Python randomizes
//! per run by default) execute different instruction counts; `compare` must not call that a
//! change, while twice the work is called.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = r#"
import sys

def fill(n):
    d = {}
    for i in range(n):
        d[str(i)] = i
    return d

def checksum(d, rounds):
    h = 0
    for _ in range(rounds):
        for k in d:
            h = (h * 31 + hash(k)) & 0xFFFFFFFF
    return h

d = fill(20000)
print(checksum(d, 8 if sys.argv[1] == "slow" else 4))
"#;

/// The real interpreter (not a version manager's shell shim, which valgrind would not follow).
fn python() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
}

fn tools() -> Option<PathBuf> {
    let py = python();
    if common::have("valgrind") && py.is_some() {
        return py;
    }
    if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!("PROFDIFF_REQUIRE_FIXTURES=1 but valgrind or python3 is missing");
    }
    common::skip_log::skipped("valgrind or python3 not found (callgrind identical-runs test)");
    None
}

fn record(py: &Path, dir: &Path, name: &str, seed: &str, mode: &str) -> PathBuf {
    let script = dir.join("work.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = dir.join(format!("{name}.callgrind"));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(py)
        .arg(&script)
        .arg(mode)
        .env("PYTHONHASHSEED", seed)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run valgrind");
    assert!(status.success());
    out
}

fn compare(old: &Path, new: &Path) -> (i32, String) {
    let out = Command::new(common::profdiff_bin())
        .args(["compare", "--fail-on", "5%", "--fail-on-function", "2%"])
        .args(["--format", "json"])
        .arg(old)
        .arg(new)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn total(doc: &serde_json::Value) -> f64 {
    doc["total"]["old"].as_f64().unwrap()
}

#[test]
fn hash_seeds_are_not_a_change_and_twice_the_work_is() {
    let Some(py) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = record(&py, dir.path(), "seed1", "1", "base");
    let b = record(&py, dir.path(), "seed2", "2", "base");
    let slow = record(&py, dir.path(), "slow", "1", "slow");

    let (code, json) = compare(&a, &b);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    // The seeds really change the counts (else this test would prove nothing) ...
    assert_ne!(doc["total"]["old"], doc["total"]["new"], "{json}");
    // ... and that is not a change of the program.
    assert_eq!(code, 0, "{json}");
    assert_eq!(doc["verdict"]["status"], "no-significant-change", "{json}");
    for table in ["regressions", "improvements"] {
        for row in doc[table].as_array().unwrap() {
            assert_ne!(row["significance"]["significant"], true, "{row}");
            assert_eq!(row["significance"]["test"], "exact");
        }
    }

    // Twice the checksum rounds: the interpreter's own functions (callgrind sees C, not
    // Python, frames) grow by far more than the seeds move them.
    let (code, json) = compare(&a, &slow);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(total(&doc) > 0.0);
    assert_eq!(doc["verdict"]["status"], "regression", "{json}");
    assert_eq!(doc["regressions"][0]["significance"]["significant"], true);
    assert_eq!(code, 1, "{json}");
}
