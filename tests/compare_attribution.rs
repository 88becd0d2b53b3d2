//! Attribution a user can act on, on real recordings made inside the test:
//! - a Rust release build whose changed function (`render_rows`) is built from inlined std
//!   iterator code (tests/workloads/rows.rs, built as is and with `--cfg slow`): `compare`
//!   names `render_rows` first, flags no std inline frame, and its first hot path reaches
//!   user code within a few printed lines;
//! - a C program built as `old/bench` and `new/bench-2` (tests/workloads/bench.c, the new one
//!   with `-DSLOW_SORT`): the executable names (root frames) do not decide identity, so there
//!   are no `[new]`/`gone` junk rows, hot paths have old values, and the differential
//!   flamegraph does not paint the unchanged `hash_block` as grown;
//! - three py-spy recordings of one Python program: their `Thread <tid> "…"` roots line up,
//!   so `flamegraph` draws one tower.
//!
//! Each test skips with a notice when its tools (rustc, gcc, perf_event access, py-spy) are
//! missing, unless PROFDIFF_REQUIRE_FIXTURES=1.

mod record_util;
use record_util::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The tests record real timings: run one at a time, so that one test's recordings do not
/// load the machine another is measuring (a busy machine moves the rest of a run, and one run
/// per side then cannot call a 2x change).
fn one_recording_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static RECORDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    RECORDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn skip(why: &str) {
    assert!(
        std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() != Ok("1"),
        "PROFDIFF_REQUIRE_FIXTURES=1 but {why}"
    );
    eprintln!("notice: skipping: {why}");
}

fn workload(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/workloads")
        .join(name)
}

fn run_ok(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// `profdiff record --call-graph dwarf -o OUT -- BIN ARG`.
fn record(bin: &Path, arg: &str, out: &Path) {
    run_ok(
        Command::new(profdiff_bin())
            .args(["record", "--call-graph", "dwarf", "-o"])
            .arg(out)
            .arg("--")
            .arg(bin)
            .arg(arg),
    );
}

/// `profdiff compare ARGS...` (exit 0 or 1) → stdout.
fn compare(args: &[&str]) -> String {
    let o = Command::new(profdiff_bin())
        .arg("compare")
        .args(args)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn rows(v: &Value) -> impl Iterator<Item = &Value> {
    ["regressions", "improvements"]
        .into_iter()
        .flat_map(move |k| v[k].as_array().unwrap().iter())
}

fn significant(row: &Value) -> bool {
    row["significance"]["significant"] == true
}

#[test]
fn rust_inlined_std_code_is_attributed_to_the_changed_function() {
    let _one = one_recording_at_a_time();
    if !have("rustc") {
        return skip("rustc is not installed");
    }
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let build = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        run_ok(
            Command::new("rustc")
                .args([
                    "-C",
                    "opt-level=3",
                    "-C",
                    "debuginfo=2",
                    "--edition",
                    "2021",
                ])
                .args(extra)
                .arg(workload("rows.rs"))
                .arg("-o")
                .arg(&out),
        );
        out
    };
    let base = build("rows", &[]);
    let slow = build("rows-slow", &["--cfg", "slow"]);
    let (old, new) = (dir.path().join("old.pb.gz"), dir.path().join("new.pb.gz"));
    record(&base, "120", &old);
    record(&slow, "120", &new);
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());

    let v: Value = serde_json::from_str(&compare(&["--format", "json", old, new])).unwrap();
    let first = &v["regressions"][0];
    assert_eq!(first["name"], "rows::render_rows", "{v:#}");
    assert!(significant(first), "{first:#}");
    // The std code inlined into it is detail of that row, not rows of its own.
    let inlined: Vec<&str> = first["inlined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        inlined.iter().any(|n| n.contains("wrapping_")),
        "{inlined:?}"
    );
    for row in rows(&v).filter(|r| significant(r)) {
        let name = row["name"].as_str().unwrap();
        assert!(
            !inlined.contains(&name)
                && !name.contains("wrapping_")
                && !name.contains("core::iter")
                && !name.contains("{{closure}}"),
            "std inline frame flagged: {name}"
        );
    }

    // The first hot path reaches user code within a few printed lines.
    let text = compare(&[old, new]);
    let hot: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "#1")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    let first_user = hot.iter().position(|l| l.contains("rows::"));
    assert!(first_user.is_some_and(|i| i <= 2), "{text}");
    assert!(
        hot[0].contains("frames passing the whole change down"),
        "{text}"
    );

    // `--inlines keep` is pprof's view: the inlined std frames are functions again.
    let keep: Value = serde_json::from_str(&compare(&[
        "--format",
        "json",
        "--inlines",
        "keep",
        old,
        new,
    ]))
    .unwrap();
    assert!(
        rows(&keep).any(|r| r["name"].as_str().unwrap().contains("wrapping_")),
        "{keep:#}"
    );
}

#[test]
fn renamed_binary_lines_up() {
    let _one = one_recording_at_a_time();
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let build = |rel: &str, extra: &[&str]| {
        let out = dir.path().join(rel);
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        run_ok(
            Command::new("gcc")
                .args(["-O2", "-g"])
                .args(extra)
                .arg(workload("bench.c"))
                .arg("-o")
                .arg(&out),
        );
        out
    };
    let base = build("old/bench", &[]);
    let slow = build("new/bench-2", &["-DSLOW_SORT"]);
    let (old, new) = (dir.path().join("old.pb.gz"), dir.path().join("new.pb.gz"));
    record(&base, "12", &old);
    record(&slow, "12", &new);
    let svg = dir.path().join("diff.svg");
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());

    let v: Value = serde_json::from_str(&compare(&[
        "--format",
        "json",
        "--svg",
        svg.to_str().unwrap(),
        old,
        new,
    ]))
    .unwrap();
    for row in rows(&v) {
        let name = row["name"].as_str().unwrap();
        assert!(
            !["bench", "bench-2", "[old]", "[new]"].contains(&name),
            "junk row {name}"
        );
    }
    // The hot path runs through the same frames on both sides, from the root down to the
    // changed function. Deeper frames (qsort's recursion, its memcpy) are sampled by chance
    // and may be empty on one side of one run.
    let path = v["hot_paths"][0].as_array().unwrap();
    let changed = path.iter().position(|f| f["name"] == "sort_ints");
    let changed = changed.unwrap_or_else(|| panic!("sort_ints not on {path:#?}"));
    for f in &path[..=changed] {
        assert!(f["old"].as_f64().unwrap() > 0.0, "{f:#}");
    }
    // hash_block did the same work: the flamegraph shows it in one place, without the
    // +11% of the total it had when all of NEW's tree counted as new.
    let svg = std::fs::read_to_string(&svg).unwrap();
    let titles: Vec<&str> = svg
        .split("<title>")
        .skip(1)
        .filter(|t| t.starts_with("hash_block "))
        .map(|t| &t[..t.find("</title>").unwrap()])
        .collect();
    assert!(!titles.is_empty(), "hash_block missing from the flamegraph");
    for t in titles {
        let delta: f64 = t
            .rsplit("; ")
            .next()
            .and_then(|d| d.strip_suffix("%)"))
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("no delta in {t}"));
        assert!(delta.abs() < 5.0, "hash_block painted as changed: {t}");
    }
}

const PY_SCRIPT: &str = r#"
def hot_loop(n):
    s = 0
    for i in range(n):
        s += i * i
    return s
for _ in range(12):
    hot_loop(100000)
"#;

#[test]
fn pyspy_runs_draw_one_tower() {
    let _one = one_recording_at_a_time();
    if !(have("py-spy") && have("python3")) {
        return skip("py-spy or python3 not installed (pip install py-spy)");
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.py");
    std::fs::write(&script, PY_SCRIPT).unwrap();
    let mut runs = Vec::new();
    // py-spy reads a thread's name only now and then (`Thread 28294 ""` otherwise), and an
    // unnamed thread is not known to be MainThread. This test is about the ids, so it records
    // until three runs agree on the name, whichever it is.
    let unnamed = |path: &std::path::Path| {
        let json = std::fs::read_to_string(path).unwrap_or_default();
        json.contains(r#"\"\""#)
    };
    let mut by_name: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for attempt in 0..12 {
        let out = dir.path().join(format!("run-{attempt}.json"));
        let o = Command::new("py-spy")
            .args(["record", "--format", "speedscope", "-r", "200", "-o"])
            .arg(&out)
            .args(["--", "python3"])
            .arg(&script)
            .output()
            .unwrap();
        if !o.status.success() {
            let msg = String::from_utf8_lossy(&o.stderr);
            if msg.contains("ermission") {
                return skip(&format!("py-spy may not ptrace here: {msg}"));
            }
            panic!("py-spy failed: {msg}");
        }
        let group = &mut by_name[usize::from(unnamed(&out))];
        group.push(out.to_str().unwrap().to_string());
        if group.len() == 3 {
            runs = std::mem::take(group);
            break;
        }
    }
    assert_eq!(
        runs.len(),
        3,
        "12 py-spy runs, no 3 with the same thread name"
    );
    // Every run's root carries its own thread id.
    let roots_of = |folded: &str| -> std::collections::BTreeSet<String> {
        folded
            .lines()
            .filter_map(|l| l.rsplit_once(' '))
            .filter_map(|(stack, _)| stack.split(';').next())
            .map(str::to_string)
            .collect()
    };
    let mut per_run = std::collections::BTreeSet::new();
    for r in &runs {
        let f = run_ok(Command::new(profdiff_bin()).args(["flamegraph", "--folded", r]));
        per_run.extend(roots_of(&f));
    }
    assert_eq!(per_run.len(), 3, "{per_run:?}");
    // Together they are one program: one root, without ids.
    let f = run_ok(
        Command::new(profdiff_bin())
            .args(["flamegraph", "--folded"])
            .args(&runs),
    );
    let roots = roots_of(&f);
    assert_eq!(roots.len(), 1, "{roots:?}");
    assert!(
        !roots
            .iter()
            .next()
            .unwrap()
            .chars()
            .any(|c| c.is_ascii_digit()),
        "{roots:?}"
    );
    // compare lines them up as well: no thread rows, and hot_loop is on both sides.
    let v: Value = serde_json::from_str(&compare(&[
        "--format", "json", &runs[0], "--", &runs[1], &runs[2],
    ]))
    .unwrap();
    for row in rows(&v) {
        let name = row["name"].as_str().unwrap();
        assert!(!name.starts_with("Thread "), "thread row {name}");
        if name == "hot_loop" {
            assert_eq!(row["presence"], "both", "{row:#}");
        }
    }
}
