//! `profdiff compare` end to end: the diff-folded conformance fixtures, the CI gate's exit
//! codes, the report formats and the output files (SVG valid XML, HTML self-contained).

mod common;

use std::path::Path;
use std::process::Command;

fn profdiff(args: &[&str]) -> std::process::Output {
    Command::new(common::profdiff_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run profdiff")
}

fn lines_set(s: &str) -> std::collections::BTreeSet<String> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn diff_folded_conformance() {
    let Some(fx) = common::fixtures() else { return };
    let d = fx.join("diff-folded");
    let p = |n: &str| d.join(n).to_string_lossy().into_owned();
    // (before file, extra options, expected result) as inferno's diff-folded produces them.
    let cases: &[(&str, &[&str], &str)] = &[
        ("before.txt", &[], "default.txt"),
        ("before.txt", &["--normalize", "total"], "normalize.txt"),
        ("before.txt", &["--strip-hex"], "strip_hex.txt"),
        ("before_fractionals.txt", &[], "fractionals.txt"),
    ];
    let mut matched = 0;
    for (before, opts, expected) in cases {
        let mut args = vec![
            "compare".to_string(),
            p(before),
            p("after.txt"),
            "--folded".into(),
        ];
        args.extend(opts.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = profdiff(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = std::fs::read_to_string(d.join("results").join(expected)).unwrap();
        assert_eq!(
            lines_set(&String::from_utf8(out.stdout).unwrap()),
            lines_set(&want),
            "{expected}"
        );
        matched += 1;
    }
    eprintln!("diff-folded conformance: {matched}/{} matched", cases.len());
    // A line without a count is skipped with one warning naming it, as inferno-diff-folded
    // does ("Unable to parse line"); the rest is compared (issue 14: skip a few bad lines,
    // refuse only a mostly invalid file).
    let out = profdiff(&["compare", &p("bad_before.txt"), &p("after.txt"), "--folded"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad_before.txt")
            && err.contains("skipped 1 line(s)")
            && err.contains("line 3"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    if common::have("inferno-diff-folded") {
        let inferno = std::process::Command::new("inferno-diff-folded")
            .args([p("bad_before.txt"), p("after.txt")])
            .output()
            .unwrap();
        assert_eq!(
            lines_set(&String::from_utf8(out.stdout).unwrap()),
            lines_set(&String::from_utf8(inferno.stdout).unwrap()),
            "bad_before.txt vs inferno-diff-folded"
        );
    } else {
        common::skip_log::skipped("inferno-diff-folded not installed (cargo install inferno)");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// `main;work;{hot,cold}` with the given counts.
fn run_text(hot: u32, cold: u32, other: u32) -> String {
    format!("main;work;hot {hot}\nmain;work;cold {cold}\nmain;other {other}\n")
}

#[test]
fn gate_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Identical code, run-to-run jitter only (4 runs per side).
    let olds: Vec<String> = [
        (1000, 500, 300),
        (1010, 490, 305),
        (995, 505, 298),
        (1003, 497, 301),
    ]
    .iter()
    .enumerate()
    .map(|(i, c)| write(d, &format!("o{i}.folded"), &run_text(c.0, c.1, c.2)))
    .collect();
    let same: Vec<String> = [
        (1004, 496, 302),
        (998, 503, 299),
        (1007, 499, 297),
        (992, 501, 304),
    ]
    .iter()
    .enumerate()
    .map(|(i, c)| write(d, &format!("s{i}.folded"), &run_text(c.0, c.1, c.2)))
    .collect();
    // `hot` doubled: +1000 of 1800 = +55 %.
    let slow: Vec<String> = [
        (2000, 500, 300),
        (2020, 495, 302),
        (1990, 503, 299),
        (2008, 498, 301),
    ]
    .iter()
    .enumerate()
    .map(|(i, c)| write(d, &format!("n{i}.folded"), &run_text(c.0, c.1, c.2)))
    .collect();
    let call = |new: &[String], extra: &[&str]| {
        // Options first: everything after `--` is a NEW profile.
        let mut a: Vec<&str> = vec!["compare"];
        a.extend_from_slice(extra);
        a.extend(olds.iter().map(String::as_str));
        a.push("--");
        a.extend(new.iter().map(String::as_str));
        profdiff(&a)
    };
    let out = call(&same, &["--fail-on", "5%", "--fail-on-function", "2%"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("NO SIGNIFICANT CHANGE"), "{text}");

    let out = call(&slow, &["--fail-on", "5%"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("gate tripped") && text.contains("total grew"),
        "{text}"
    );
    // `hot` is ranked first and explains the regression; the hot path ends in it.
    let reg = text.split("Regressions").nth(1).unwrap();
    let first = reg.lines().nth(2).unwrap();
    assert!(first.starts_with("hot "), "{text}");
    let hp = text.split("Hot paths").nth(1).unwrap();
    let path1: Vec<&str> = hp.split("#2").next().unwrap().lines().skip(2).collect();
    assert!(
        path1.last().unwrap().trim_start().starts_with("hot "),
        "{hp}"
    );

    // Below the thresholds: no trip.
    let out = call(&slow, &["--fail-on", "80%"]);
    assert_eq!(out.status.code(), Some(0));
    let out = call(&slow, &["--fail-on-function", "30%"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "hot grew by 55% of the old total"
    );
    // Usage errors exit 2.
    assert_eq!(call(&slow, &["--fail-on", "abc"]).status.code(), Some(2));
    assert_eq!(profdiff(&["compare", &olds[0]]).status.code(), Some(2));
    let missing = d.join("missing.pb.gz").to_string_lossy().into_owned();
    let out = profdiff(&["compare", &olds[0], &missing]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn single_run_sampling_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = write(d, "a.folded", &run_text(1000, 500, 300));
    let b = write(d, "b.folded", &run_text(1030, 480, 310));
    let c = write(d, "c.folded", &run_text(1600, 500, 300));
    // Wiggles within sampling and run-to-run noise: not significant.
    let out = profdiff(&[
        "compare",
        &a,
        &b,
        "--fail-on",
        "1%",
        "--fail-on-function",
        "1%",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // +600 samples in `hot` (×1.6): far beyond sampling noise and the 15 % run-to-run floor.
    let out = profdiff(&[
        "compare",
        &a,
        &c,
        "--fail-on-function",
        "5%",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["normalize"], "none");
    assert_eq!(v["regressions"][0]["name"], "hot");
    assert_eq!(v["regressions"][0]["significance"]["test"], "noise-floor");
    assert_eq!(v["noise"]["measured"], false);
    assert_eq!(v["regressions"][0]["significance"]["significant"], true);
    assert_eq!(v["verdict"]["gate_tripped"], true);
    assert_eq!(v["hot_paths"][0][2]["name"], "hot");
}

#[test]
fn svg_html_and_markdown_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = write(d, "a.folded", "main;a 50\nmain;gone 20\n");
    let b = write(d, "b.folded", "main;a 80\nmain;fresh<&> 10\n");
    let svg = d.join("diff.svg").to_string_lossy().into_owned();
    let html = d.join("report.html").to_string_lossy().into_owned();
    let out = profdiff(&[
        "compare", &a, &b, "--svg", &svg, "--html", &html, "--format", "markdown",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("### profdiff: "), "{md}");
    assert!(md.contains("| function | old | new |"), "{md}");
    let fwd = std::fs::read_to_string(&svg).unwrap();
    let rev = std::fs::read_to_string(d.join("diff.old.svg")).unwrap();
    for s in [&fwd, &rev] {
        assert!(s.starts_with("<?xml") && s.trim_end().ends_with("</svg>"));
    }
    // Hostile names are escaped; the new stack is drawn only where widths come from NEW.
    assert!(fwd.contains("fresh&lt;&amp;&gt;"), "{fwd}");
    assert!(!rev.contains("fresh&lt;"));
    // The vanished stack is visible only in the reverse (widths from OLD) view.
    assert!(
        !fwd.contains("gone (") && rev.contains("gone ("),
        "reverse view shows vanished"
    );
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert_eq!(h.matches("data:image/svg+xml;base64,").count(), 2);
    assert!(
        !h.contains("http://") || !h.contains("src=\"http"),
        "no external assets"
    );
    assert!(!h.contains("<script src"), "no external scripts");
    // No temp files left behind.
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn thresholds_and_option_placement_are_unambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = write(d, "a.folded", "main;a 500\nmain;b 500\n");
    let b = write(d, "b.folded", "main;a 500\nmain;b 520\n");
    // `5%` and the fraction `0.05` mean the same; a bare `5` is refused, naming both spellings.
    for ok in ["5%", "0.05"] {
        assert_eq!(
            profdiff(&["compare", &a, &b, "--fail-on", ok])
                .status
                .code(),
            Some(0)
        );
    }
    let out = profdiff(&["compare", &a, &b, "--fail-on", "5"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ambiguous") && err.contains("5%") && err.contains("0.05"),
        "{err}"
    );
    // An option after `--` is not taken for a NEW file.
    let out = profdiff(&["compare", &a, "--", &b, "--svg", "x.svg"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`--svg` comes after `--`") && err.contains("before"),
        "{err}"
    );
}

/// The noise floor follows what the profiles measure: V8's `.cpuprofile` is a wall-clock
/// sampler (metadata `clock = wall`), folded stacks do not say and get the CPU-time floor;
/// `--noise-floor-total` overrides both.
#[test]
fn wall_clock_profiles_get_the_wall_clock_floor() {
    let Some(fx) = common::fixtures() else { return };
    let v8 = fx.join("foreign/speedscope/node/node10-example.cpuprofile");
    let v8 = v8.to_str().unwrap();
    let noise = |args: &[&str]| -> serde_json::Value {
        let o = profdiff(&[&["compare", "--format", "json"], args].concat());
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["noise"].clone()
    };
    let n = noise(&[v8, v8]);
    assert_eq!(n["clock"], "wall");
    assert_eq!(n["floor"]["total_rel"], 0.5);
    assert_eq!(n["floor"]["function_rel"], 0.25);
    let n = noise(&["--noise-floor-total", "20%", v8, v8]);
    assert_eq!(n["floor"]["total_rel"], 0.2);
    assert_eq!(n["floor"]["function_rel"], 0.25);

    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.folded", &run_text(100, 50, 30));
    let n = noise(&[&a, &a]);
    assert_eq!(n["clock"], "cpu");
    assert_eq!(n["floor"]["total_rel"], 0.15);
    assert_eq!(n["floor"]["function_rel"], 0.1);
}
