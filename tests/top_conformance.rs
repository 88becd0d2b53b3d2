//! `profdiff top` against `go tool pprof -top` on the google/pprof fixtures: for each option
//! set, the summary lines and every row (flat, flat%, sum%, cum, cum%, function with its
//! inline mark) must be identical to what go prints, in the same order.
//!
//! Comparable options: profdiff's `-n N` is pprof's `-nodecount=N`, `--node-fraction F` its
//! `-nodefraction=F` (both default to pprof's 0.005), `--cum` its `-cum`, `--sample-type T` its
//! `-sample_index=T`. go runs with `-symbolize=none` so it never tries to find the profiled
//! binaries (which would only add warnings for these fixtures).

mod common;

use profdiff::render::top::percentage;
use std::path::Path;
use std::process::Command;

fn go_top(file: &Path, args: &[&str]) -> Option<String> {
    if !common::have("go") {
        if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!("PROFDIFF_REQUIRE_FIXTURES=1 but `go` is not installed");
        }
        eprintln!(
            "notice: skipping: `go` not found (install golang-go for the pprof conformance test)"
        );
        return None;
    }
    let out = Command::new("go")
        .args(["tool", "pprof", "-symbolize=none", "-top"])
        .args(args)
        .arg(file)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run go tool pprof");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

fn profdiff(file: &Path, args: &[&str]) -> String {
    let out = Command::new(common::profdiff_bin())
        .arg("top")
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// go's rows: the five number columns and the function (with its inline mark).
fn go_rows(out: &str) -> Vec<[String; 6]> {
    out.lines()
        .skip_while(|l| !l.trim_start().starts_with("flat  flat%"))
        .skip(1)
        .map(|l| {
            let mut rest = l.trim_start();
            let mut cols: Vec<String> = Vec::new();
            for _ in 0..5 {
                let end = rest.find(' ').unwrap_or(rest.len());
                cols.push(rest[..end].to_string());
                rest = rest[end..].trim_start();
            }
            cols.push(rest.to_string());
            cols.try_into().unwrap()
        })
        .collect()
}

/// profdiff's rows, built from its JSON with pprof's percentage format.
fn our_rows(json: &str) -> Vec<[String; 6]> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["schema"], "profdiff.top");
    assert_eq!(v["schema_version"], 2);
    let total = v["total"].as_i64().unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let name = match r["inline"].as_str() {
                Some(m) => format!("{} ({m})", r["function"].as_str().unwrap()),
                None => r["function"].as_str().unwrap().to_string(),
            };
            let pct = |k: &str| {
                let x = r[k].as_f64().unwrap() / 100.0 * total as f64;
                percentage(x.round() as i64, total).trim().to_string()
            };
            [
                r["flat_display"].as_str().unwrap().to_string(),
                pct("flat_percent"),
                pct("sum_percent"),
                r["cum_display"].as_str().unwrap().to_string(),
                pct("cum_percent"),
                name,
            ]
        })
        .collect()
}

/// The lines from `Type:` up to the column header (summary, dropped, showing top).
fn summary(out: &str) -> Vec<&str> {
    out.lines()
        .skip_while(|l| !l.starts_with("Type:"))
        .take_while(|l| !l.trim_start().starts_with("flat  flat%"))
        .collect()
}

fn check(file: &Path, go_args: &[&str], our_args: &[&str]) -> usize {
    let Some(go) = go_top(file, go_args) else {
        return 0;
    };
    let table = profdiff(file, our_args);
    assert_eq!(
        summary(&table),
        summary(&go),
        "summary differs for {go_args:?} on {}",
        file.display()
    );
    let mut json_args = our_args.to_vec();
    json_args.extend(["--format", "json"]);
    let ours = our_rows(&profdiff(file, &json_args));
    let theirs = go_rows(&go);
    assert!(!theirs.is_empty());
    assert_eq!(ours.len(), theirs.len(), "row count for {go_args:?}");
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "row {i} for {go_args:?} on {}", file.display());
    }
    theirs.len()
}

const CASES: &[(&[&str], &[&str])] = &[
    (&["-nodecount=10"], &["-n", "10"]),
    (&["-nodecount=20"], &["-n", "20"]),
    (&["-nodecount=3"], &["-n", "3"]),
    (&["-nodecount=20", "-cum"], &["-n", "20", "--cum"]),
    (&[], &["-n", "0"]),
    (
        &["-nodecount=50", "-nodefraction=0"],
        &["-n", "50", "--node-fraction", "0"],
    ),
    (
        &["-nodecount=40", "-nodefraction=0", "-cum"],
        &["-n", "40", "--node-fraction", "0", "--cum"],
    ),
    (
        &["-nodecount=25", "-sample_index=samples", "-nodefraction=0"],
        &[
            "-n",
            "25",
            "--sample-type",
            "samples",
            "--node-fraction",
            "0",
        ],
    ),
];

#[test]
fn sample_cpu_matches_go() {
    let Some(dir) = common::fixtures() else {
        return;
    };
    let file = dir.join("pprof/sample.cpu.pb.gz");
    let mut rows = 0;
    for (go, ours) in CASES {
        rows += check(&file, go, ours);
    }
    eprintln!(
        "sample.cpu: {} option sets, {rows} rows identical to go",
        CASES.len()
    );
}

#[test]
fn large_cpu_matches_go() {
    let Some(dir) = common::fixtures() else {
        return;
    };
    let file = dir.join("pprof/large.cpu.pb.gz");
    let mut rows = 0;
    for (go, ours) in CASES {
        rows += check(&file, go, ours);
    }
    eprintln!(
        "large.cpu: {} option sets, {rows} rows identical to go",
        CASES.len()
    );
}

#[test]
fn large_cpu_every_node_matches_go() {
    // All ~23k functions, no dropping: exercises pprof's tie-breaking order throughout.
    let Some(dir) = common::fixtures() else {
        return;
    };
    let file = dir.join("pprof/large.cpu.pb.gz");
    let rows = check(
        &file,
        &["-nodefraction=0"],
        &["-n", "0", "--node-fraction", "0"],
    );
    eprintln!("large.cpu, every node: {rows} rows identical to go");
}
