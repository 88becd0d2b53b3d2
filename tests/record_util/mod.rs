//! Helpers for `profdiff record` tests: building the C workload, checking that perf_event
//! sampling works here, reading folded output.
#![allow(dead_code)]

// Test binaries that also load tests/common load this file twice: that is intended.
#[allow(clippy::duplicate_mod)]
#[path = "../common/skip_log.rs"]
pub mod skip_log;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../common/mod.rs"]
mod common;
pub use common::{have, profdiff_bin};

fn required() -> bool {
    std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1")
}

fn skip(why: &str) -> bool {
    if required() {
        panic!("PROFDIFF_REQUIRE_FIXTURES=1 but {why}");
    }
    skip_log::skipped(why);
    false
}

/// True when gcc exists and `profdiff record` can open perf events here.
pub fn can_record() -> bool {
    if !have("gcc") {
        return skip("gcc is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("probe.folded");
    let o = Command::new(profdiff_bin())
        .args(["record", "--call-graph", "fp", "-o"])
        .arg(&out)
        .args(["--", "true"])
        .output()
        .unwrap();
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        return skip(&format!(
            "perf_event sampling is not available here: {}",
            err.trim()
        ));
    }
    true
}

/// Compile `tests/workloads/threads.c` into `dir` with extra gcc flags.
pub fn build_workload(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    build_c(dir, "threads.c", name, flags)
}

/// Compile `tests/workloads/<source>` into `dir/<name>` with extra gcc flags.
pub fn build_c(dir: &Path, source: &str, name: &str, flags: &[&str]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/workloads")
        .join(source);
    let out = dir.join(name);
    let st = Command::new("gcc")
        .args(["-O2", "-g", "-pthread"])
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "gcc failed");
    out
}

/// Folded stacks (`a;b;c N`) as (stack frames, value).
pub fn read_folded(path: &Path) -> Vec<(Vec<String>, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|l| {
            let (stack, n) = l.rsplit_once(' ')?;
            Some((
                stack.split(';').map(str::to_string).collect(),
                n.parse().ok()?,
            ))
        })
        .collect()
}

/// Total value of stacks whose frames contain `needle` as a consecutive run.
pub fn weight_of(stacks: &[(Vec<String>, f64)], needle: &[&str]) -> f64 {
    stacks
        .iter()
        .filter(|(s, _)| {
            s.windows(needle.len())
                .any(|w| w.iter().zip(needle).all(|(a, b)| a == b))
        })
        .map(|(_, v)| v)
        .sum()
}

/// Value per root frame (thread name).
pub fn by_root(stacks: &[(Vec<String>, f64)]) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for (s, v) in stacks {
        *m.entry(s[0].clone()).or_insert(0.0) += v;
    }
    m
}
