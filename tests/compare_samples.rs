//! Acceptance on the project's own recorded samples (samples/base-N.pb.gz: the bundled Rust
//! workload; samples/slow-N.pb.gz: the same with only `checksum_block` doing more work, see
//! scripts/make-samples.sh): the injected function ranks first, the hot path ends in it, the
//! function gate trips, and profiles of identical code pass `--fail-on 5%`.

mod common;

use std::path::Path;
use std::process::Command;

fn run(args: &[String]) -> (Option<i32>, serde_json::Value) {
    let o = Command::new(common::profdiff_bin())
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), v)
}

#[test]
fn recorded_sample_pair() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let f = |n: &str| dir.join(n).to_string_lossy().into_owned();
    if !dir.join("base-1.pb.gz").exists() {
        assert!(
            std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() != Ok("1"),
            "samples/ missing"
        );
        common::skip_log::skipped("samples/base-1.pb.gz not found");
        return;
    }
    let mut args: Vec<String> = [
        "compare",
        "--format",
        "json",
        "--fail-on-function",
        "2%",
        "--old",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(["base-1.pb.gz", "base-2.pb.gz", "base-3.pb.gz"].map(f));
    args.push("--new".into());
    args.extend(["slow-1.pb.gz", "slow-2.pb.gz", "slow-3.pb.gz"].map(f));
    let (code, v) = run(&args);
    assert_eq!(v["regressions"][0]["name"], "main::checksum_block", "{v:#}");
    assert_eq!(v["regressions"][0]["significance"]["significant"], true);
    let path = v["hot_paths"][0].as_array().unwrap();
    assert_eq!(path.last().unwrap()["name"], "main::checksum_block");
    assert_eq!(code, Some(1), "the function gate trips");

    // Identical code: base 1-2 against base 3.
    let mut args: Vec<String> = ["compare", "--format", "json", "--fail-on", "5%", "--old"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(["base-1.pb.gz", "base-2.pb.gz"].map(f));
    args.push("--new".into());
    args.push(f("base-3.pb.gz"));
    let (code, v) = run(&args);
    assert_eq!(code, Some(0), "{}", v["verdict"]);
    assert_eq!(v["verdict"]["status"], "no-significant-change");
}
