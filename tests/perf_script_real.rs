//! A real `perf record -g` + `perf script` of a small C program (built here with frame
//! pointers) must fold exactly as `inferno-collapse-perf` folds it, for the default options
//! and for `--all`/`--pid`. Skipped with a notice when perf, gcc or inferno-collapse-perf is
//! missing or perf_event_open is refused, unless PROFDIFF_REQUIRE_FIXTURES=1.

mod common;

use profdiff::formats::{self, folded, ReadOptions};
use std::process::Command;

const PROG: &str = r#"
#include <stdio.h>
__attribute__((noinline)) static double leaf(long n) { double s = 0; for (long i = 0; i < n; i++) s += i * 0.5; return s; }
__attribute__((noinline)) static double middle(long n) { return leaf(n) + leaf(n / 2); }
__attribute__((noinline)) static double other(long n) { double s = 1; for (long i = 1; i < n; i++) s *= 1.0000001; return s; }
int main(void) { double t = 0; for (int r = 0; r < 30; r++) { t += middle(3000000); t += other(2000000); } printf("%f\n", t); return 0; }
"#;

fn skip(why: &str) {
    if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!("{why}");
    }
    common::skip_log::skipped(why);
}

#[test]
fn real_perf_script_folds_like_inferno() {
    for tool in ["perf", "gcc", "inferno-collapse-perf"] {
        if !common::have(tool) {
            return skip(&format!("{tool} not installed"));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("prog.c");
    let bin = dir.path().join("prog");
    std::fs::write(&src, PROG).unwrap();
    let st = Command::new("gcc")
        .args(["-O0", "-g", "-fno-omit-frame-pointer", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let data = dir.path().join("perf.data");
    let rec = Command::new("perf")
        .args(["record", "-e", "cpu-clock", "-F", "999", "-g", "-q", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .output()
        .unwrap();
    if !rec.status.success() {
        return skip(&format!(
            "perf record failed: {}",
            String::from_utf8_lossy(&rec.stderr)
        ));
    }
    let script = Command::new("perf")
        .args(["script", "-i"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(script.status.success());
    let text = dir.path().join("perf.txt");
    std::fs::write(&text, &script.stdout).unwrap();

    for (inferno_args, opt) in [
        (vec![], "default"),
        (vec!["--all"], "all"),
        (vec!["--pid"], "pid"),
    ] {
        let out = Command::new("inferno-collapse-perf")
            .args(&inferno_args)
            .arg(&text)
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut want: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        want.sort();
        let mut opts = ReadOptions::default();
        match opt {
            "all" => {
                opts.perf_script.annotate_kernel = true;
                opts.perf_script.annotate_jit = true;
            }
            "pid" => opts.perf_script.include_pid = true,
            _ => {}
        }
        let p = formats::read_path(text.to_str().unwrap(), &opts).unwrap();
        let mut got: Vec<String> = folded::fold(&p, p.default_value_index())
            .into_iter()
            .map(|(s, v)| format!("{s} {v}"))
            .collect();
        got.sort();
        assert_eq!(got, want, "--{opt}");
        assert!(
            got.iter().any(|l| l.contains("main;middle;leaf")),
            "--{opt}: {got:?}"
        );
        eprintln!(
            "real perf script --{opt}: {} folded lines equal inferno's",
            got.len()
        );
    }
}

/// Per event of a recording, what `perf report --stdio` says: (event, `Event count`) in the
/// order perf lists them.
fn perf_report_event_counts(data: &std::path::Path) -> Vec<(String, i64)> {
    let out = Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "--sort",
            "sym",
            "-g",
            "none",
            "-i",
        ])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut events = Vec::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# Samples: ") {
            current = rest.split('\'').nth(1).map(str::to_string);
        } else if let Some(n) = line.strip_prefix("# Event count (approx.): ") {
            events.push((current.take().unwrap(), n.trim().parse().unwrap()));
        }
    }
    events
}

/// Records `PROG` with `perf record <args> -g` and returns the perf.data path and its
/// `perf script` text path, or None (skipped) when perf refuses.
fn record_events(
    dir: &std::path::Path,
    args: &[&str],
) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let src = dir.join("prog.c");
    let bin = dir.join("prog");
    std::fs::write(&src, PROG).unwrap();
    let st = Command::new("gcc")
        .args(["-O0", "-g", "-fno-omit-frame-pointer", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let data = dir.join("perf.data");
    let rec = Command::new("perf")
        .arg("record")
        .args(args)
        .args(["-g", "-q", "-o"])
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .output()
        .unwrap();
    if !rec.status.success() {
        skip(&format!(
            "perf record {args:?} failed: {}",
            String::from_utf8_lossy(&rec.stderr)
        ));
        return None;
    }
    let script = Command::new("perf")
        .args(["script", "-i"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(script.status.success());
    let text = dir.join("perf.txt");
    std::fs::write(&text, &script.stdout).unwrap();
    Some((data, text))
}

/// Several events, count events and tracepoints: each event is read on its own, with perf
/// report's event count as its total (periods summed: nanoseconds for cpu-clock, faults for
/// page-faults, one per sample for a tracepoint), from perf.data and from its `perf script`
/// text alike (perf pads periods of multi-event recordings and tracepoint names have a `:`).
#[test]
fn every_event_totals_like_perf_report() {
    for tool in ["perf", "gcc"] {
        if !common::have(tool) {
            return skip(&format!("{tool} not installed"));
        }
    }
    for (args, kinds) in [
        (
            &["-e", "cpu-clock,page-faults"][..],
            &["cpu", "page-faults"][..],
        ),
        (
            &["-e", "sched:sched_switch"][..],
            &["sched:sched_switch"][..],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let Some((data, text)) = record_events(dir.path(), args) else {
            continue;
        };
        let want = perf_report_event_counts(&data);
        assert_eq!(want.len(), kinds.len(), "{want:?}");
        // The same samples with side-band record lines between them.
        let side_band = dir.path().join("side-band.txt");
        let out = Command::new("perf")
            .args(["script", "--show-task-events", "--show-mmap-events", "-i"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(out.status.success());
        std::fs::write(&side_band, &out.stdout).unwrap();
        for ((event, count), kind) in want.iter().zip(kinds) {
            for file in [&data, &text, &side_band] {
                let opts = ReadOptions {
                    event: Some(event.clone()),
                    ..Default::default()
                };
                let p = formats::read_path(file.to_str().unwrap(), &opts).unwrap();
                let i = p.default_value_index();
                assert_eq!(&p.sample_types[i].kind, kind, "{file:?} {event}");
                assert_eq!(p.total(i), *count, "{file:?} {event}");
            }
            eprintln!("{event}: total {count} as perf report, from perf.data and perf script");
        }
    }
}

/// An event group sampled through its leader (`{cpu-clock,page-faults}:S`) stores the other
/// event's counts as counter reads in the leader's samples: the perf.data is refused with a
/// line saying so (its records were misparsed as corrupt before), and the `perf script` text
/// of it, where perf spells out each event's samples, is read per event with the periods
/// perf script prints.
#[test]
fn sampled_event_groups_are_refused_from_perf_data_and_read_from_perf_script() {
    for tool in ["perf", "gcc"] {
        if !common::have(tool) {
            return skip(&format!("{tool} not installed"));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((data, text)) = record_events(dir.path(), &["-e", "{cpu-clock,page-faults}:S"]) else {
        return;
    };
    let err = formats::read_path(data.to_str().unwrap(), &ReadOptions::default()).unwrap_err();
    assert!(format!("{err:#}").contains("PERF_SAMPLE_READ"), "{err:#}");
    let script = std::fs::read_to_string(&text).unwrap();
    for event in ["cpu-clock", "page-faults"] {
        let want: i64 = script
            .lines()
            .filter(|l| !l.starts_with(char::is_whitespace))
            .filter_map(|l| {
                let mut w = l.split_whitespace().rev();
                (w.next() == Some(&format!("{event}:")))
                    .then(|| w.next().unwrap().parse::<i64>().unwrap())
            })
            .sum();
        let opts = ReadOptions {
            event: Some(event.into()),
            ..Default::default()
        };
        let p = formats::read_path(text.to_str().unwrap(), &opts).unwrap();
        assert_eq!(p.total(p.default_value_index()), want, "{event}");
        assert!(want > 0, "{event}");
    }
}
