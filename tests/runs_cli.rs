//! Repeated runs with real recordings: `record --runs N` writes one profile per run carrying
//! its times and exit status, a folder is one side of `compare`, and `ab` records two builds
//! alternately, reports their times and finds the one function that does twice the work.

mod record_util;
use profdiff::runs::RunInfo;
use record_util::*;
use std::path::Path;
use std::process::{Command, Output};

fn profdiff(args: &[&str]) -> Output {
    Command::new(profdiff_bin()).args(args).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn record_runs_writes_one_profile_per_run_with_its_times() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_c(dir.path(), "twofuncs.c", "tf", &["-fno-omit-frame-pointer"]);
    let runs = dir.path().join("runs");
    let o = Command::new(profdiff_bin())
        .args([
            "record",
            "--call-graph",
            "fp",
            "--runs",
            "3",
            "--warmup",
            "1",
            "-o",
        ])
        .arg(&runs)
        .arg("--")
        .arg(&bin)
        .arg("20")
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(
        names_in(&runs),
        ["run-01.pb.gz", "run-02.pb.gz", "run-03.pb.gz"]
    );
    assert!(
        err.contains("run 3/3:") && err.contains("wall time:"),
        "{err}"
    );
    for f in names_in(&runs) {
        let p = profdiff::formats::read_path(runs.join(&f).to_str().unwrap(), &Default::default())
            .unwrap();
        let run = RunInfo::of_profile(&p).unwrap_or_else(|| panic!("{f}: no run metadata"));
        assert_eq!(run.exit_status, Some(0), "{f}");
        let cpu = run.cpu_total().unwrap();
        // Two functions of 20 units each: tens of ms of CPU, never more than the wall time
        // of a single-threaded program (plus rusage's tick rounding).
        assert!(cpu.as_millis() > 5, "{f}: {run:?}");
        assert!(
            cpu <= run.wall + std::time::Duration::from_millis(20),
            "{f}: {run:?}"
        );
        assert!(p.metadata["command"].ends_with("tf 20"), "{:?}", p.metadata);
        assert!(!p.samples.is_empty());
    }

    // The folder is one side of compare: identical runs are no regression.
    let r = runs.to_str().unwrap();
    let o = profdiff(&["compare", r, r, "--fail-on", "5%"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("old: 3 run(s)"), "{out}");
    // Runs that carry their times get the time table first; same runs, no difference.
    assert!(out.starts_with("wall time (mean ± σ"), "{out}");
    assert!(out.contains("new vs old: +0.0%"), "{out}");
    assert!(out.contains("no significant difference"), "{out}");

    // Earlier runs are never mixed with new ones.
    let o = Command::new(profdiff_bin())
        .args(["record", "--runs", "2", "-o"])
        .arg(&runs)
        .args(["--", "true"])
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("already holds runs"), "{err}");
}

#[test]
fn a_failing_run_stops_the_series_and_passes_its_status() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let o = Command::new(profdiff_bin())
        .args(["record", "--call-graph", "fp", "--runs", "3", "-o"])
        .arg(&runs)
        .args(["--", "sh", "-c", "exit 3"])
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(names_in(&runs), ["run-01.pb.gz"], "{err}");
    assert!(err.contains("stopped after run 1 of 3"), "{err}");
    let p = profdiff::formats::read_path(
        runs.join("run-01.pb.gz").to_str().unwrap(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(RunInfo::of_profile(&p).unwrap().exit_status, Some(3));
}

#[test]
fn folder_sides_skip_non_profiles_and_empty_folders_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new, empty) = (
        dir.path().join("old"),
        dir.path().join("new"),
        dir.path().join("empty"),
    );
    for d in [&old, &new, &empty] {
        std::fs::create_dir(d).unwrap();
    }
    for i in 1..=4 {
        std::fs::write(
            old.join(format!("run-{i}.folded")),
            "main;a 100\nmain;b 100\n",
        )
        .unwrap();
        std::fs::write(
            new.join(format!("run-{i}.folded")),
            "main;a 100\nmain;b 200\n",
        )
        .unwrap();
    }
    std::fs::write(old.join("manifest.json"), "{\"name\": \"x\"}\n").unwrap();
    std::fs::write(
        new.join("README.md"),
        "# runs of the new build\n\nprose only.\n",
    )
    .unwrap();
    let o = profdiff(&[
        "compare",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = v.to_string();
    // Four runs per side: the manifest and the README were not read as runs.
    assert!(s.contains("\"runs\":4"), "{s}");

    let o = profdiff(&["compare", empty.to_str().unwrap(), new.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(empty.to_str().unwrap()) && err.contains("no profiles in this folder"),
        "{err}"
    );
}

#[test]
fn ab_finds_the_function_that_does_twice_the_work() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let old = build_c(
        dir.path(),
        "twofuncs.c",
        "old",
        &["-fno-omit-frame-pointer"],
    );
    let new = build_c(
        dir.path(),
        "twofuncs.c",
        "new",
        &["-fno-omit-frame-pointer", "-DSCALE=2"],
    );
    let keep = dir.path().join("keep");
    let o = Command::new(profdiff_bin())
        .args([
            "ab",
            "-n",
            "3",
            "--call-graph",
            "fp",
            "--fail-on",
            "5%",
            "--keep",
        ])
        .arg(&keep)
        .arg(format!("{} 60", old.display()))
        .arg(format!("{} 60", new.display()))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let (out, err) = text(&o);
    // Runs alternate: OLD 1, NEW 1, OLD 2, ...
    let order: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("profdiff: "))
        .filter(|l| l.starts_with("OLD run") || l.starts_with("NEW run"))
        .map(|l| &l[..3])
        .collect();
    assert_eq!(order, ["OLD", "NEW", "OLD", "NEW", "OLD", "NEW"], "{err}");
    // The total grew by ~50% (scaled: 1 → 2 of 2 units): the gate trips.
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    // Times per side, then the report.
    let wall = out.find("wall time").expect(&out);
    let report = out.find("REGRESSION").expect(&out);
    assert!(wall < report, "{out}");
    // Commands run to completion are fixed work: absolute values, whatever the durations.
    assert!(
        out.contains("absolute values per run (--normalize none)"),
        "{out}"
    );
    let cpu_line = out
        .lines()
        .skip_while(|l| !l.starts_with("CPU time"))
        .find(|l| l.trim_start().starts_with("new vs old:"))
        .expect(&out);
    let pct: f64 = cpu_line
        .split_whitespace()
        .nth(3)
        .and_then(|p| p.trim_end_matches('%').parse().ok())
        .expect(cpu_line);
    assert!((25.0..80.0).contains(&pct), "CPU time change {pct}%: {out}");
    // The changed function is named first among the regressions; the unchanged one is not
    // flagged.
    let regressions: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Regressions"))
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert!(regressions[0].starts_with("scaled "), "{out}");
    assert!(
        !regressions
            .iter()
            .any(|l| l.starts_with("steady ") && !l.contains('~')),
        "{out}"
    );
    // The kept runs compare again to the same verdict.
    assert_eq!(names_in(&keep), ["new", "old"]);
    let o = profdiff(&[
        "compare",
        keep.join("old").to_str().unwrap(),
        keep.join("new").to_str().unwrap(),
        "--fail-on",
        "5%",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o).1);
}

#[test]
fn ab_stops_when_a_command_fails() {
    if !can_record() {
        return;
    }
    let o = profdiff(&["ab", "-n", "2", "--call-graph", "fp", "true", "exit 4"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the NEW command failed in run 1 (exit status 4)"),
        "{err}"
    );
}
