//! callgrind / cachegrind input against `callgrind_annotate`: for every event, every
//! function's `flat` in `profdiff top` must equal its self cost in `callgrind_annotate`, and its
//! `cum` its `--inclusive=yes` cost, number for number. Files: speedscope's callgrind samples
//! (`foreign/speedscope/callgrind/`) and real `valgrind --tool=callgrind` / `--tool=cachegrind`
//! runs of a small C program (tests/workloads/callgrind.c) made here.
//!
//! callgrind_annotate names a function `file:function`; profdiff's `top`, like pprof, shows
//! functions by name, so both sides are summed by function name. Inclusive costs differ only
//! where a function calls itself (directly or through others): a stack counts a function once,
//! where callgrind_annotate adds the recursive calls again; there `cum` must be the smaller,
//! and every function outside such cycles must still match exactly.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Function name (or `file:function`) → cost per event.
type Costs = BTreeMap<String, Vec<u64>>;

fn have_valgrind() -> bool {
    if common::have("callgrind_annotate") && common::have("valgrind") {
        return true;
    }
    if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!("PROFDIFF_REQUIRE_FIXTURES=1 but valgrind is not installed");
    }
    common::skip_log::skipped(
        "valgrind not found (install valgrind for the callgrind conformance test)",
    );
    false
}

/// `callgrind_annotate`'s function table by `file:function`.
fn annotate(file: &Path, inclusive: bool, events: usize) -> Costs {
    let out = Command::new("callgrind_annotate")
        .arg("--threshold=100")
        .arg(format!(
            "--inclusive={}",
            if inclusive { "yes" } else { "no" }
        ))
        .arg(file)
        // callgrind_annotate shortens file names under its current folder, but not the
        // callee files of calls, which then get rows of their own: run it where no file is.
        .current_dir("/")
        .output()
        .expect("run callgrind_annotate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut costs = Costs::new();
    let table = text
        .split("file:function\n")
        .nth(1)
        .expect("a function table");
    for line in table.lines().skip(1).take_while(|l| !l.starts_with("---")) {
        if line.trim().is_empty() {
            continue;
        }
        let (values, name) = annotate_row(line, events);
        let entry = costs.entry(name).or_insert_with(|| vec![0; events]);
        for (a, b) in entry.iter_mut().zip(values) {
            *a += b;
        }
    }
    costs
}

/// `1,234 (5.6%)  . 7 ( 0.1%)  file:function [object]` → (costs, function).
fn annotate_row(line: &str, events: usize) -> (Vec<u64>, String) {
    let mut rest = line.trim_start();
    let mut values = Vec::new();
    for _ in 0..events {
        let end = rest.find(' ').unwrap_or(rest.len());
        let tok = &rest[..end];
        values.push(if tok == "." {
            0
        } else {
            tok.replace(',', "").parse().unwrap()
        });
        rest = rest[end..].trim_start();
        if rest.starts_with('(') {
            rest = rest[rest.find(')').unwrap() + 1..].trim_start();
        }
    }
    let name = match rest.rfind(" [") {
        Some(i) if rest.ends_with(']') => &rest[..i],
        _ => rest,
    };
    (values, name.to_string())
}

/// Per event, how much callgrind's `summary:` exceeds its `totals:` (with `--cache-sim=yes`
/// a couple of instructions at exit are in the summary and in call costs but in no function's
/// own costs; the inclusive costs of their callers then exceed what stacks can carry).
fn unplaced(file: &Path, events: usize) -> Vec<u64> {
    let text = std::fs::read_to_string(file).unwrap();
    let line = |key: &str| -> Vec<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.split_whitespace().map(|t| t.parse().unwrap()).collect())
            .unwrap_or_else(|| vec![0; events])
    };
    let (summary, totals) = (line("summary:"), line("totals:"));
    if totals.iter().all(|&t| t == 0) {
        return vec![0; events];
    }
    summary.iter().zip(&totals).map(|(s, t)| s - t).collect()
}

fn events_of(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let line = text.lines().find(|l| l.starts_with("events:")).unwrap();
    line["events:".len()..]
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// Sum the `file:function` rows by function name, keeping only the files in `only` when given.
fn by_name(costs: &Costs, only: Option<&[String]>) -> Costs {
    let mut out = Costs::new();
    for (key, values) in costs {
        if only.is_some_and(|keys| !keys.contains(key)) {
            continue;
        }
        let name = key.split_once(':').map_or(key.as_str(), |(_, f)| f);
        let entry = out
            .entry(name.to_string())
            .or_insert_with(|| vec![0; values.len()]);
        for (a, b) in entry.iter_mut().zip(values) {
            *a += b;
        }
    }
    out
}

/// What a file says about its functions: the `fl=`-file:function keys of its definitions
/// (inlined pieces after `fi=` / `fe=`, which callgrind_annotate lists as functions of their
/// own, are not definitions) and the functions on a call cycle.
struct Structure {
    definitions: Vec<String>,
    recursive: Vec<String>,
}

/// Read the file's `fl=` / `fn=` / `cfn=` lines (names resolved).
fn structure(file: &Path) -> Structure {
    let text = std::fs::read_to_string(file).unwrap();
    let mut names: BTreeMap<(bool, String), String> = BTreeMap::new();
    let mut resolve = |file: bool, v: &str| -> String {
        if let Some(rest) = v.strip_prefix('(') {
            if let Some((id, name)) = rest.split_once(')') {
                if id.parse::<u64>().is_ok() {
                    let name = name.trim();
                    if name.is_empty() {
                        return names[&(file, id.to_string())].clone();
                    }
                    names.insert((file, id.to_string()), name.to_string());
                    return name.to_string();
                }
            }
        }
        v.to_string()
    };
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    let mut fl = String::new();
    let mut definitions = Vec::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("fn=") {
            current = resolve(false, v);
            definitions.push(format!("{fl}:{current}"));
        } else if let Some(v) = line.strip_prefix("cfn=") {
            let callee = resolve(false, v);
            edges.entry(current.clone()).or_default().push(callee);
        } else if let Some(v) = line.strip_prefix("fl=") {
            fl = resolve(true, v);
        } else if let Some((key, v)) = line.split_once('=') {
            if ["fi", "fe", "cfi", "cfl", "jfi"].contains(&key) {
                resolve(true, v);
            }
        }
    }
    // A function is recursive when it can reach itself.
    let reaches = |from: &str| -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let mut todo: Vec<String> = edges.get(from).cloned().unwrap_or_default();
        while let Some(f) = todo.pop() {
            if !seen.contains(&f) {
                todo.extend(edges.get(&f).cloned().unwrap_or_default());
                seen.push(f);
            }
        }
        seen
    };
    let recursive = edges
        .keys()
        .filter(|f| reaches(f).contains(f))
        .cloned()
        .collect();
    Structure {
        definitions,
        recursive,
    }
}

/// Check every event of `file`; returns (functions, exact inclusive matches, recursive ones)
/// (function × event).
fn check(file: &Path) -> (usize, usize, usize) {
    let events = events_of(file);
    let shape = structure(file);
    let recursive = &shape.recursive;
    // Self costs: every piece of a function counts. Inclusive: callgrind_annotate gives an
    // inlined piece (`fi=`) its own row whose calls are in the function's row already.
    let selfs = by_name(&annotate(file, false, events.len()), None);
    let incl = by_name(
        &annotate(file, true, events.len()),
        Some(&shape.definitions),
    );
    let slack = unplaced(file, events.len());
    let (mut exact, mut cyclic, mut short) = (0, 0, 0);
    for (e, event) in events.iter().enumerate() {
        let ours = common::pprof_top::profdiff_flat_cum(file, event);
        for (name, costs) in &selfs {
            let (flat, cum) = ours.get(name).copied().unwrap_or((0, 0));
            assert_eq!(flat, costs[e], "{}: {event} self of {name}", file.display());
            let want = incl.get(name).map_or(0, |c| c[e]);
            if recursive.contains(name) {
                assert!(
                    cum <= want,
                    "{}: {event} cum of {name}: {cum} > {want}",
                    file.display()
                );
                cyclic += 1;
            } else if cum != want {
                let gap = want.checked_sub(cum);
                assert!(
                    gap.is_some_and(|g| g <= slack[e]),
                    "{}: {event} inclusive of {name}: {cum}, callgrind_annotate {want}",
                    file.display()
                );
                short += 1;
            } else {
                exact += 1;
            }
        }
        if let Some(extra) = ours.keys().find(|n| !selfs.contains_key(*n)) {
            panic!(
                "{}: {event}: {extra} is not a function of callgrind_annotate",
                file.display()
            );
        }
    }
    if short > 0 {
        eprintln!(
            "{}: {short} inclusive costs short by at most {slack:?}",
            file.display()
        );
    }
    (selfs.len(), exact, cyclic)
}

#[test]
fn speedscope_samples_match_callgrind_annotate() {
    let Some(dir) = common::fixtures() else {
        return;
    };
    if !have_valgrind() {
        return;
    }
    let dir = dir.join("foreign/speedscope/callgrind");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in &files {
        let (n, exact, cyclic) = check(f);
        eprintln!(
            "{}: {n} functions, inclusive exact {exact}, recursive {cyclic}",
            f.display()
        );
        assert_eq!(cyclic, 0);
    }
}

fn workload(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workloads/callgrind.c");
    let bin = dir.join("callgrind-work");
    let st = Command::new("gcc")
        .args(["-O1", "-g", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    bin
}

fn valgrind(dir: &Path, bin: &Path, out: &str, args: &[&str]) -> PathBuf {
    let file = dir.join(out);
    let tool_out = if args[0].ends_with("cachegrind") {
        format!("--cachegrind-out-file={}", file.display())
    } else {
        format!("--callgrind-out-file={}", file.display())
    };
    // The environment's size moves the stack, which changes a few instruction counts in
    // ld.so's string functions: the same environment makes runs identical.
    let st = Command::new("valgrind")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(args)
        .arg(tool_out)
        .arg(bin)
        .arg("2")
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    file
}

#[test]
fn real_recordings_match_callgrind_annotate() {
    if !have_valgrind() || !common::have("gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = workload(dir.path());
    let runs = [
        ("callgrind.out", &["--tool=callgrind"][..]),
        (
            "callgrind-cache.out",
            &["--tool=callgrind", "--cache-sim=yes", "--branch-sim=yes"][..],
        ),
        (
            "callgrind-instr.out",
            &[
                "--tool=callgrind",
                "--dump-instr=yes",
                "--collect-jumps=yes",
            ][..],
        ),
        ("cachegrind.out", &["--tool=cachegrind"][..]),
    ];
    for (name, args) in runs {
        let file = valgrind(dir.path(), &bin, name, args);
        let (n, exact, cyclic) = check(&file);
        eprintln!("{name}: {n} functions, inclusive exact {exact}, recursive {cyclic}");
        assert!(exact > 0);
    }
}

#[test]
fn two_runs_of_the_same_binary_compare_equal() {
    if !have_valgrind() || !common::have("gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = workload(dir.path());
    let a = valgrind(dir.path(), &bin, "a.out", &["--tool=callgrind"]);
    let b = valgrind(dir.path(), &bin, "b.out", &["--tool=callgrind"]);
    let out = Command::new(common::profdiff_bin())
        .args(["compare", "--format", "json"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["total"]["old"], v["total"]["new"], "{text}");
    assert_eq!(v["total"]["delta"], 0.0, "{text}");
    assert_eq!(v["verdict"]["status"], "no-significant-change", "{text}");
    assert!(v["regressions"].as_array().unwrap().is_empty(), "{text}");
    assert!(v["improvements"].as_array().unwrap().is_empty(), "{text}");
}

#[test]
fn truncated_recordings_are_refused() {
    if !have_valgrind() || !common::have("gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = workload(dir.path());
    let mut refused = 0;
    for (name, tool) in [
        ("cg.out", "--tool=callgrind"),
        ("cache.out", "--tool=cachegrind"),
    ] {
        let file = valgrind(dir.path(), &bin, name, &[tool]);
        let data = std::fs::read(&file).unwrap();
        for percent in [1, 10, 35, 60, 90, 99] {
            let cut = dir.path().join("cut.out");
            std::fs::write(&cut, &data[..data.len() * percent / 100]).unwrap();
            let out = Command::new(common::profdiff_bin())
                .arg("top")
                .arg(&cut)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{name} cut at {percent}%: {err}"
            );
            assert!(err.contains("cut.out"), "{err}");
            refused += 1;
        }
    }
    eprintln!("{refused} truncated recordings refused");
}

/// A run dumped in parts into one file (`--combine-dumps=yes --dump-every-bb=N`) adds up to
/// the same self costs as the run dumped once.
#[test]
fn parts_of_one_run_add_up_to_the_whole_run() {
    if !have_valgrind() || !common::have("gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = workload(dir.path());
    let whole = valgrind(dir.path(), &bin, "whole.out", &["--tool=callgrind"]);
    let parts = valgrind(
        dir.path(),
        &bin,
        "parts.out",
        &[
            "--tool=callgrind",
            "--combine-dumps=yes",
            "--dump-every-bb=20000",
        ],
    );
    let text = std::fs::read_to_string(&parts).unwrap();
    let count = text.lines().filter(|l| l.starts_with("part:")).count();
    assert!(count > 1, "expected several parts, got {count}");
    let flat = |f: &Path| -> Vec<(String, u64)> {
        common::pprof_top::profdiff_flat_cum(f, "Ir")
            .into_iter()
            .map(|(n, (flat, _))| (n, flat))
            .collect()
    };
    assert_eq!(flat(&parts), flat(&whole));
    eprintln!("{count} parts add up to the whole run");
}
