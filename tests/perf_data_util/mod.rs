//! Helpers for the perf.data acceptance tests: build the bundled workloads, record them with
//! the real `perf record`, and read `perf script` / `perf report` output as independent truth.
//! Tests skip (with a notice) when perf or perf_event is unavailable, unless
//! PROFDIFF_REQUIRE_FIXTURES=1.
#![allow(dead_code)]

// Test binaries that also load tests/common load this file twice: that is intended.
#[allow(clippy::duplicate_mod)]
#[path = "../common/skip_log.rs"]
pub mod skip_log;

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn require() -> bool {
    std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1")
}

fn skip(why: &str) -> bool {
    if require() {
        panic!("PROFDIFF_REQUIRE_FIXTURES=1 but {why}");
    }
    skip_log::skipped(why);
    false
}

/// True when `perf record` works here (perf installed, perf_event permitted).
pub fn perf_usable() -> bool {
    let ok = Command::new("sh")
        .arg("-c")
        .arg("command -v perf >/dev/null && command -v gcc >/dev/null")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        return skip("perf or gcc not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("probe.data");
    let st = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock", "-o"])
        .arg(&out)
        .args(["--", "true"])
        .output();
    match st {
        Ok(o) if o.status.success() => true,
        Ok(o) => skip(&format!(
            "perf record does not work here: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => skip(&format!("perf record cannot run: {e}")),
    }
}

pub fn workload_src(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/workloads-perfdata")
        .join(name)
}

/// Compile the C workload into `dir/name` with extra flags.
pub fn build_c(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let st = Command::new("gcc")
        .args(["-O2", "-g", "-pthread"])
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(workload_src("hot.c"))
        .status()
        .expect("gcc runs");
    assert!(st.success(), "gcc failed");
    out
}

/// `perf record -F 999 <mode args> -o data -- cmd args`; with `pipe`, `-o -` into `data`.
pub fn perf_record_to(data: &Path, mode: &[&str], cmd: &Path, args: &[&str], pipe: bool) {
    let mut c = Command::new("perf");
    c.args(["record", "-q", "-e", "cpu-clock", "-F", "999"])
        .args(mode)
        .arg("-o");
    if pipe {
        c.arg("-").stdout(std::fs::File::create(data).unwrap());
    } else {
        c.arg(data);
    }
    c.arg("--")
        .arg(cmd)
        .args(args)
        .stderr(std::process::Stdio::piped());
    let o = c.output().expect("perf record runs");
    assert!(
        o.status.success(),
        "perf record failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

pub fn perf_record(data: &Path, mode: &[&str], cmd: &Path, args: &[&str]) {
    perf_record_to(data, mode, cmd, args, false)
}

/// Run perf with args, return stdout.
pub fn perf(args: &[&str]) -> String {
    let o = Command::new("perf").args(args).output().expect("perf runs");
    assert!(
        o.status.success(),
        "perf {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Compile the Rust workload into `dir/name` (release-like, debug info) with extra flags.
pub fn build_rust(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let st = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["-C", "opt-level=2", "-g", "--edition", "2021"])
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(workload_src("hot.rs"))
        .status()
        .expect("rustc runs");
    assert!(st.success(), "rustc failed");
    out
}

/// Self shares per symbol (percent) from `perf report --stdio --no-children --sort sym`.
pub fn perf_report_self(data: &Path, extra: &[&str]) -> Vec<(String, f64)> {
    let mut args = vec![
        "report",
        "--stdio",
        "--no-children",
        "--sort",
        "sym",
        "-g",
        "none",
        "--percent-limit",
        "0",
        "-i",
        data.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = perf(&args);
    let mut v = Vec::new();
    for l in out.lines() {
        let l = l.trim();
        if l.starts_with('#') || l.is_empty() {
            continue;
        }
        let Some((pct, rest)) = l.split_once('%') else {
            continue;
        };
        let Ok(pct) = pct.trim().parse::<f64>() else {
            continue;
        };
        // `[.] name` or `[k] name`
        let name = rest.trim();
        let name = name.get(4..).unwrap_or("").trim().to_string();
        v.push((name, pct));
    }
    v
}

/// Strip a Rust legacy hash suffix (`::h0123456789abcdef`).
pub fn strip_hash(name: &str) -> &str {
    if let Some(i) = name.rfind("::h") {
        let h = &name[i + 3..];
        if h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()) {
            return &name[..i];
        }
    }
    name
}
