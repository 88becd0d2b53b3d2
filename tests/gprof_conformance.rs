//! gprof reports against gprof itself: a C program (with recursion and two functions calling
//! each other, a gprof cycle) and a C++ program (names with spaces and templates) are built
//! with `-pg`, run, and reported with `gprof` and `gprof -b`. In `profdiff top`, every
//! function's `flat` must equal gprof's flat-profile `self seconds` exactly, the total their
//! sum, and the `cum` of every function outside a cycle gprof's `self + children` on its
//! call-graph line (to 10 ms per caller: gprof rounds each line to 1/100 s, and profdiff adds
//! the callers' lines). Skipped with a notice when gcc, g++ or gprof is missing, unless
//! PROFDIFF_REQUIRE_FIXTURES=1.

mod common;

use common::pprof_top::profdiff_flat_cum;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const C_PROGRAM: &str = r#"
#include <stdio.h>
volatile double sink;
__attribute__((noinline)) double leaf(long n) { double s = 0; for (long i = 0; i < n; i++) { s += i * 0.5; sink = s; } return s; }
__attribute__((noinline)) double middle(long n) { return leaf(n) + leaf(n / 2); }
__attribute__((noinline)) double other(long n) { double s = 1; for (long i = 1; i < n; i++) { s *= 1.0000001; sink = s; } return s + leaf(n / 4); }
__attribute__((noinline)) long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
long pong(long n);
__attribute__((noinline)) long ping(long n) { for (volatile long i = 0; i < 20000; i++) sink += i; return n <= 0 ? 0 : pong(n - 1) + 1; }
__attribute__((noinline)) long pong(long n) { for (volatile long i = 0; i < 30000; i++) sink += i; return n <= 0 ? 0 : ping(n - 1) + 1; }
int main(void) {
    double t = 0;
    for (int r = 0; r < 60; r++) { t += middle(3000000); t += other(2000000); t += ping(20); }
    t += fib(30);
    printf("%f\n", t);
    return 0;
}
"#;

const CPP_PROGRAM: &str = r#"
#include <cstdio>
namespace work {
volatile long sink;
template <typename T> struct Box {
  __attribute__((noinline)) T spin(T n) const { T s = 0; for (T i = 0; i < n; i++) { s += i * 3; sink = s; } return s; }
};
__attribute__((noinline)) long leaf(long n, const char *tag) { long s = 0; for (long i = 0; i < n; i++) { s += i ^ tag[0]; sink = s; } return s; }
__attribute__((noinline)) long middle(long n) { return leaf(n, "a") + leaf(n / 2, "b"); }
}
int main() {
  long t = 0;
  work::Box<long> b;
  for (int r = 0; r < 25; r++) { t += work::middle(8000000); t += b.spin(12000000); }
  std::printf("%ld\n", t);
}
"#;

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Build `src` with `-pg`, run it in `dir` (writing gmon.out) and return `gprof` and
/// `gprof -b` reports, written to files.
fn reports(dir: &Path, compiler: &str, src: &str, ext: &str) -> [std::path::PathBuf; 2] {
    let source = dir.join(format!("prog.{ext}"));
    std::fs::write(&source, src).unwrap();
    let bin = dir.join("prog");
    run(Command::new(compiler)
        .args(["-O1", "-pg", "-no-pie", "-o"])
        .arg(&bin)
        .arg(&source));
    run(Command::new(&bin).current_dir(dir));
    let full = dir.join("full.txt");
    let brief = dir.join("brief.txt");
    for (path, flags) in [(&full, &[][..]), (&brief, &["-b"][..])] {
        let text = run(Command::new("gprof")
            .args(flags)
            .arg(&bin)
            .arg(dir.join("gmon.out")));
        std::fs::write(path, text).unwrap();
    }
    [full, brief]
}

/// gprof's own numbers, read from its report here: flat `self seconds` per function, and per
/// call-graph entry outside a cycle its `self + children` and number of caller lines.
struct GprofNumbers {
    flat: BTreeMap<String, f64>,
    cum: BTreeMap<String, (f64, usize)>,
}

fn gprof_numbers(report: &str) -> GprofNumbers {
    let mut flat = BTreeMap::new();
    let mut lines = report.lines();
    lines.find(|l| l.contains("time   seconds   seconds"));
    for l in lines.by_ref().take_while(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = l.split_whitespace().collect();
        let numbers = cols.iter().take_while(|c| c.parse::<f64>().is_ok()).count();
        flat.insert(cols[numbers..].join(" "), cols[2].parse().unwrap());
    }
    let mut cum = BTreeMap::new();
    let mut callers = 0;
    for l in lines.skip_while(|l| !l.starts_with("index % time")).skip(1) {
        if l.starts_with("-----") {
            callers = 0;
        } else if l.starts_with('[') {
            // `[N] %time self children [called] name [N]`
            let cols: Vec<&str> = l.split_whitespace().collect();
            let called = cols[4].chars().all(|c| c.is_ascii_digit() || c == '+');
            let name = cols[if called { 5 } else { 4 }..cols.len() - 1].join(" ");
            let in_cycle = name.contains("<cycle");
            if !in_cycle && !cols[4].contains('+') {
                let (s, c): (f64, f64) = (cols[2].parse().unwrap(), cols[3].parse().unwrap());
                cum.insert(name.to_string(), (s + c, callers.max(1)));
            }
        } else if l.trim().is_empty() {
            break;
        } else if l.trim_start().starts_with(|c: char| c.is_ascii_digit()) && l.contains('.') {
            callers += 1;
        }
    }
    GprofNumbers { flat, cum }
}

fn check(report: &Path) {
    let text = std::fs::read_to_string(report).unwrap();
    let want = gprof_numbers(&text);
    assert!(!want.flat.is_empty(), "no flat profile in {text}");
    let ours = profdiff_flat_cum(report, "cpu");
    let ns = |s: f64| (s * 1e9).round() as u64;
    for (name, &secs) in &want.flat {
        let flat = ours.get(name).map_or(0, |v| v.0);
        assert_eq!(flat, ns(secs), "{name}: flat");
    }
    let total: u64 = ours.values().map(|v| v.0).sum();
    assert_eq!(total, want.flat.values().map(|&s| ns(s)).sum::<u64>());
    for (name, &(secs, callers)) in &want.cum {
        let cum = ours.get(name).map_or(0, |v| v.1);
        let slack = 10_000_000 * callers as u64;
        assert!(
            cum.abs_diff(ns(secs)) <= slack,
            "{name}: cum {cum} vs gprof {}",
            ns(secs)
        );
    }
}

fn tools_or_skip(tools: &[&str]) -> bool {
    if let Some(t) = tools.iter().find(|t| !common::have(t)) {
        if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!("{t} missing");
        }
        common::skip_log::skipped(&format!("{t} not installed (gprof conformance)"));
        return false;
    }
    true
}

#[test]
fn c_report_matches_gprof() {
    if !tools_or_skip(&["gcc", "gprof"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for report in reports(dir.path(), "gcc", C_PROGRAM, "c") {
        check(&report);
    }
}

#[test]
fn cpp_report_matches_gprof() {
    if !tools_or_skip(&["g++", "gprof"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for report in reports(dir.path(), "g++", CPP_PROGRAM, "cc") {
        check(&report);
        let ours = profdiff_flat_cum(&report, "cpu");
        assert!(
            ours.contains_key("work::leaf(long, char const*)"),
            "{ours:?}"
        );
    }
}
