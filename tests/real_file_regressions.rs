//! Issue 14's bugs found on real files, each checked through the CLI on the file (or a
//! file of the same shape) where it showed, against the reference's numbers: inferno,
//! flamegraph.pl, speedscope's reading, or counts taken from the file itself.

mod common;

use std::path::Path;
use std::process::Output;

fn profdiff(args: &[&str]) -> Output {
    std::process::Command::new(common::profdiff_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn folded(path: &Path) -> Vec<String> {
    let out = profdiff(&[
        "convert",
        path.to_str().unwrap(),
        "--to",
        "folded",
        "-o",
        "-",
    ]);
    stdout(&out).lines().map(str::to_string).collect()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// Bug 1: py-spy `--format raw` writes samples without frames as ` 7`. flamegraph.pl counts
/// them in its total (inferno-flamegraph reads the file but skips such lines with a
/// warning); profdiff keeps them, so the total is the file's sum of counts.
#[test]
fn pyspy_raw_frameless_lines_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let text = b"process 12:\"python x.py\";<module> (x.py:9);work (x.py:3) 30\n 7\nprocess 12:\"python x.py\";<module> (x.py:9) 3\n";
    let f = write(dir.path(), "raw.txt", text);
    let top = stdout(&profdiff(&["top", f.to_str().unwrap()]));
    assert!(top.contains("of 40 total"), "{top}");
}

/// Bug 2: an evented speedscope file with `"unit": "none"` read as 0.
#[test]
fn evented_unit_none_fixture() {
    let Some(fx) = common::fixtures() else { return };
    let f = fx.join("foreign/speedscope/speedscope/evented-unit-none.speedscope.json");
    // Frames a, b open 0..14; c open 0..2 and 6..9; d open 2..6 (hand-computed from the
    // events, as speedscope draws them).
    assert_eq!(
        folded(&f),
        vec![
            "simple.txt;a;b 5",
            "simple.txt;a;b;c 5",
            "simple.txt;a;b;d 4"
        ]
    );
}

/// Bug 3: macOS `sample` text was taken for perf script; DTrace stacks folded differently.
/// (Full conformance in tests/collapse_conformance.rs.)
#[test]
fn sample_and_dtrace_are_their_own_formats() {
    let Some(fx) = common::fixtures() else { return };
    let out = profdiff(&[
        "top",
        fx.join("collapse/sample/sample.txt").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("perf script"), "{err}");
    stdout(&out);
    let out = profdiff(&[
        "top",
        fx.join("collapse/dtrace/example-dtrace-stacks.txt")
            .to_str()
            .unwrap(),
    ]);
    stdout(&out);
}

/// Bug 4: perf script without a period field: one event per sample, not 1 ns.
#[test]
fn perf_script_without_period_counts_events() {
    let Some(fx) = common::fixtures() else { return };
    let f = fx.join("perf-script/flamegraph-pl/perf-funcab-cmd-01.txt");
    let text = std::fs::read_to_string(&f).unwrap();
    let events = text
        .lines()
        .filter(|l| l.trim_end().ends_with("cpu-clock:"))
        .count();
    let top = stdout(&profdiff(&["top", f.to_str().unwrap()]));
    assert!(top.starts_with("Type: cpu-clock\n"), "{top}");
    assert!(
        top.contains(&format!("of {events} total")),
        "{events}: {top}"
    );
    assert!(!top.contains("ns"), "{top}");
}

/// Bug 5: two-count (differential) folded files in top and convert.
#[test]
fn differential_folded_in_top_and_convert() {
    let Some(fx) = common::fixtures() else { return };
    let f = fx.join("diff-folded/results/default.txt");
    let text = std::fs::read_to_string(&f).unwrap();
    let (mut before, mut after) = (0i64, 0i64);
    for l in text.lines().filter(|l| !l.is_empty()) {
        let mut w = l.rsplitn(3, ' ');
        after += w.next().unwrap().parse::<i64>().unwrap();
        before += w.next().unwrap().parse::<i64>().unwrap();
    }
    let top = stdout(&profdiff(&["top", f.to_str().unwrap()]));
    assert!(top.contains(&format!("of {after} total")), "{top}");
    let top = stdout(&profdiff(&["top", f.to_str().unwrap(), "-t", "before"]));
    assert!(top.contains(&format!("of {before} total")), "{top}");
    // No count glued onto a leaf name.
    for l in folded(&f) {
        let stack = l.rsplit_once(' ').unwrap().0;
        assert!(!stack.ends_with(|c: char| c.is_ascii_digit()), "{l}");
    }
}

/// Bug 7: `--minwidth` in pixels: the same frames as flamegraph.pl and inferno-flamegraph.
#[test]
fn flamegraph_frame_count_equals_inferno() {
    let Some(fx) = common::fixtures() else { return };
    let f = fx.join("perf-script/inferno/results/example-perf-stacks-collapsed.txt");
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("a.svg");
    stdout(&profdiff(&[
        "flamegraph",
        f.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
    ]));
    let frames = |svg: &str| svg.matches("<title>").count();
    let ours = frames(&std::fs::read_to_string(&svg).unwrap());
    // Counted with flamegraph.pl and inferno-flamegraph 0.12 on this file: 1,139 (profdiff
    // drew 622 when it read --minwidth as a percentage).
    assert_eq!(ours, 1139);
    if common::have("inferno-flamegraph") {
        let out = std::process::Command::new("inferno-flamegraph")
            .arg(&f)
            .output()
            .unwrap();
        assert_eq!(ours, frames(&String::from_utf8_lossy(&out.stdout)));
    } else {
        common::skip_log::skipped("inferno-flamegraph not installed (cargo install inferno)");
    }
}

/// Bug 8: valid files that were rejected.
#[test]
fn odd_but_valid_inputs_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bracket.folded",
        b"[unknown];main;f 3\n{closure};g 2\n",
    );
    let top = stdout(&profdiff(&["top", f.to_str().unwrap()]));
    assert!(top.contains("of 5 total"), "{top}");
    let Some(fx) = common::fixtures() else { return };
    let sc = fx.join("foreign/speedscope/stackcollapse");
    let want = vec!["a;b 5", "a;b;c 5", "a;b;d 4"];
    for name in [
        "simple-crlf.txt",
        "simple-utf16-le.txt",
        "simple-with-invalids.txt",
    ] {
        assert_eq!(folded(&sc.join(name)), want, "{name}");
    }
    let out = profdiff(&["top", sc.join("simple-with-invalids.txt").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipped 2 line(s)") && err.contains("first: line 2"),
        "{err}"
    );
    // Old-style V8 .cpuprofile: sample counts per node are the file's hitCounts (14 and 14,
    // one sample of the anonymous top-level function).
    let node = fx.join("foreign/speedscope/node/node10-example.cpuprofile");
    let out = profdiff(&["top", node.to_str().unwrap(), "-t", "samples"]);
    assert!(stdout(&out).contains("of 29 total"));
}

/// Bug 9: errors say what the file looks like instead of blaming a guessed reader.
#[test]
fn unreadable_files_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let heap = write(
        dir.path(),
        "x.heap",
        b"heap profile:    1:  9216 [     1:  9216] @ heapz_v2/524288\n     1:     9216 [     1:     9216] @ 0xc635c8 0x42ecc3\n",
    );
    let out = profdiff(&["top", heap.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    // Read by the legacy pprof reader, or refused as what it is, never as perf script.
    assert!(
        out.status.success() || (err.contains("legacy pprof") && !err.contains("perf script")),
        "{err}"
    );
    let Some(fx) = common::fixtures() else { return };
    for f in ["Chrome/chrome69-simple.json", "trace-event/simple.json"] {
        let out = profdiff(&[
            "top",
            fx.join("foreign/speedscope").join(f).to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        // Either read (once a Chrome trace reader exists) or named as a Chrome trace.
        assert!(
            out.status.success()
                || (err.contains("Chrome trace") && !err.contains("invalid speedscope")),
            "{f}: {err}"
        );
    }
}
