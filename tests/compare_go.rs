//! Acceptance on real profiles: the Go sample workload (samples/go/main.go) recorded with
//! runtime/pprof, 3 runs per side, one side with one function (`main.checksumBlock`) slowed.
//! The injected function must rank first, the hot path must lead to it, and two sets of runs
//! of identical code must not trip `--fail-on 5%`.
//!
//! Skips with a notice when `go` is missing, or when this build cannot read pprof yet (unless
//! PROFDIFF_REQUIRE_FIXTURES=1).

mod common;

use std::process::Command;

fn require() -> bool {
    std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1")
}

#[test]
fn go_sample_pair() {
    if !common::have("go") {
        assert!(!require(), "go is required (PROFDIFF_REQUIRE_FIXTURES=1)");
        common::skip_log::skipped("`go` not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("samples");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-go-samples.sh");
    let st = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .args(["4", "1.5s"])
        .env("GOCACHE", dir.path().join("gocache"))
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let f = |n: &str| out.join(n).to_string_lossy().into_owned();
    let probe = Command::new(common::profdiff_bin())
        .args(["top", &f("base-1.pb.gz")])
        .output()
        .unwrap();
    if !probe.status.success() {
        let err = String::from_utf8_lossy(&probe.stderr);
        assert!(!require(), "cannot read the Go profile: {err}");
        common::skip_log::skipped(&format!("this build cannot read pprof yet: {}", err.trim()));
        return;
    }
    let compare = |old: &[&str], new: &[&str], extra: &[&str]| {
        let mut args = vec!["compare".to_string(), "--format".into(), "json".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push("--old".into());
        args.extend(old.iter().map(|n| f(n)));
        args.push("--new".into());
        args.extend(new.iter().map(|n| f(n)));
        let o = Command::new(common::profdiff_bin())
            .args(&args)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
        (o.status.code(), v)
    };
    let base = [
        "base-1.pb.gz",
        "base-2.pb.gz",
        "base-3.pb.gz",
        "base-4.pb.gz",
    ];
    let slow = [
        "slow-1.pb.gz",
        "slow-2.pb.gz",
        "slow-3.pb.gz",
        "slow-4.pb.gz",
    ];
    // Runs last a fixed time, but a runtime/pprof profile cannot say so (auto would compare
    // absolute values): shares are asked for, and checksumBlock's share grows.
    let (_, v) = compare(&base, &slow, &["--normalize", "total"]);
    assert_eq!(v["regressions"][0]["name"], "main.checksumBlock", "{v:#}");
    let path = v["hot_paths"][0].as_array().unwrap();
    assert_eq!(path.last().unwrap()["name"], "main.checksumBlock", "{v:#}");
    assert!(path.iter().any(|f| f["name"] == "main.processBatch"));
    assert_eq!(
        v["regressions"][0]["significance"]["significant"], true,
        "{v:#}"
    );
    // Identical code: base runs 1-2 against 3-4.
    let (code, v) = compare(&base[..2], &base[2..], &["--fail-on", "5%"]);
    assert_eq!(code, Some(0), "{v:#}");
}
