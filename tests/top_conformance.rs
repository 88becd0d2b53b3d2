//! `profdiff top` against `go tool pprof -top` on the google/pprof fixtures: for each option
//! set, the summary lines and every row (flat, flat%, sum%, cum, cum%, function with its
//! inline mark) must be identical to what go prints, in the same order.
//!
//! Comparable options: profdiff's `-n N` is pprof's `-nodecount=N`, `--node-fraction F` its
//! `-nodefraction=F` (both default to pprof's 0.005), `--cum` its `-cum`, `--sample-type T` its
//! `-sample_index=T`, `--noinlines` its `-noinlines`. go runs with `-symbolize=none` so it never tries to find the profiled
//! binaries (which would only add warnings for these fixtures).

mod common;

use common::pprof_top::check;

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
        &["-nodecount=20", "-noinlines"],
        &["-n", "20", "--noinlines"],
    ),
    (
        &["-nodecount=60", "-nodefraction=0", "-noinlines"],
        &["-n", "60", "--node-fraction", "0", "--noinlines"],
    ),
    (
        &["-nodecount=30", "-noinlines", "-cum"],
        &["-n", "30", "--noinlines", "--cum"],
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
