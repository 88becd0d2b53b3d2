//! `compare` on real recordings of identical code and of an injected change: two
//! `profdiff record` runs of the same fixed-work C program (tests/workloads/fixedwork.c), one
//! run per side, give no regression verdict and trip no gate under `--fail-on 5%
//! --fail-on-function 2%`; a 2x regression of one function is named first and flagged with
//! no other function flagged; a pure speed-up of another function trips nothing.

mod record_util;
use record_util::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn build(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workloads/fixedwork.c");
    let out = dir.join("fixedwork");
    let st = Command::new("gcc")
        .args(["-O2", "-fno-omit-frame-pointer"])
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "gcc failed");
    out
}

fn record(bin: &Path, out: &Path, variant: Option<&str>) {
    let o = Command::new(profdiff_bin())
        .args(["record", "--call-graph", "fp", "-o"])
        .arg(out)
        .arg("--")
        .arg(bin)
        .arg("40")
        .args(variant)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn compare(old: &Path, new: &Path) -> (Option<i32>, serde_json::Value) {
    let o = Command::new(profdiff_bin())
        .args([
            "compare",
            "--format",
            "json",
            "--fail-on",
            "5%",
            "--fail-on-function",
            "2%",
        ])
        .arg(old)
        .arg(new)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), v)
}

fn flagged(v: &serde_json::Value, table: &str) -> Vec<String> {
    v[table]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["significance"]["significant"] == true)
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn identical_runs_pass_and_an_injected_regression_is_named() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build(dir.path());
    let run = |name: &str, variant: Option<&str>| {
        let p = dir.path().join(name);
        record(&bin, &p, variant);
        p
    };
    let (a, b) = (run("a.pb.gz", None), run("b.pb.gz", None));
    let slow = run("slow.pb.gz", Some("slow"));
    let fast = run("fast.pb.gz", Some("fast"));

    // Identical code: no verdict of change, no gate, and the report says why it is careful.
    let (code, v) = compare(&a, &b);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(
        v["normalize"], "none",
        "fixed-work runs compare absolute values"
    );
    assert!(v["normalize_reason"]
        .as_str()
        .unwrap()
        .contains("fixed work"));
    let status = v["verdict"]["status"].as_str().unwrap();
    assert!(status != "regression" && status != "shift", "{v:#}");
    assert!(flagged(&v, "regressions").is_empty(), "{v:#}");
    assert_eq!(v["noise"]["measured"], false);
    assert!(v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("noise is not measured")));

    // parse_rows does twice the work: first, flagged, alone, and the gate trips.
    let (code, v) = compare(&a, &slow);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["regressions"][0]["name"], "parse_rows", "{v:#}");
    assert_eq!(flagged(&v, "regressions"), ["parse_rows"], "{v:#}");

    // hash_rows does half the work: unchanged functions do not grow, nothing trips.
    let (code, v) = compare(&a, &fast);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(flagged(&v, "regressions").is_empty(), "{v:#}");
    assert!(
        flagged(&v, "improvements").contains(&"hash_rows".to_string()),
        "{v:#}"
    );
}
