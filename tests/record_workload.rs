//! `profdiff record` on the bundled two-thread C workload (tests/workloads/threads.c): the
//! hot functions appear with the shares the workload is built to have (hot_a ≈ 3 × hot_b in
//! CPU time), under their true call chains, and both threads are present. Built with frame
//! pointers (fp mode) and without (dwarf mode).

mod record_util;
use record_util::*;
use std::process::Command;

fn record(bin: &std::path::Path, mode: &str, out: &std::path::Path) {
    let o = Command::new(profdiff_bin())
        .args(["record", "--call-graph", mode, "-o"])
        .arg(out)
        .arg("--")
        .arg(bin)
        .arg("60")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("samples"), "summary line missing: {err}");
}

fn check_shares(stacks: &[(Vec<String>, f64)], chain_a: &[&str], chain_b: &[&str]) {
    let total: f64 = stacks.iter().map(|(_, v)| v).sum();
    let a = weight_of(stacks, chain_a);
    let b = weight_of(stacks, chain_b);
    assert!(total > 0.0);
    // The two hot functions are nearly all of the profile.
    assert!(
        (a + b) / total > 0.8,
        "hot functions only {:.2} of total",
        (a + b) / total
    );
    // hot_a : hot_b is 3 : 1 by construction; wide tolerance.
    let share_a = a / (a + b);
    assert!(
        (0.62..=0.86).contains(&share_a),
        "hot_a share of hot work {share_a:.3}, expected about 0.75"
    );
    // Both threads present, by their names.
    let roots = by_root(stacks);
    assert!(
        roots.get("worker-a").copied().unwrap_or(0.0) > 0.0,
        "{roots:?}"
    );
    assert!(
        roots.get("worker-b").copied().unwrap_or(0.0) > 0.0,
        "{roots:?}"
    );
    // Each thread carries its own hot function only.
    assert_eq!(weight_of(&only_root(stacks, "worker-a"), &["hot_b"]), 0.0);
    assert_eq!(weight_of(&only_root(stacks, "worker-b"), &["hot_a"]), 0.0);
}

fn only_root(stacks: &[(Vec<String>, f64)], root: &str) -> Vec<(Vec<String>, f64)> {
    stacks
        .iter()
        .filter(|(s, _)| s[0] == root)
        .cloned()
        .collect()
}

#[test]
fn fp_mode_with_frame_pointers() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_workload(dir.path(), "threads-fp", &["-fno-omit-frame-pointer"]);
    let out = dir.path().join("fp.folded");
    record(&bin, "fp", &out);
    let stacks = read_folded(&out);
    check_shares(
        &stacks,
        &["thread_a", "level_a", "hot_a"],
        &["thread_b", "level_b", "hot_b"],
    );
}

#[test]
fn dwarf_mode_without_frame_pointers() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_workload(dir.path(), "threads-nofp", &["-fomit-frame-pointer"]);
    let out = dir.path().join("dwarf.folded");
    record(&bin, "dwarf", &out);
    let stacks = read_folded(&out);
    // Full chains through start_thread although neither the workload nor libc keeps frame
    // pointers.
    check_shares(
        &stacks,
        &["start_thread", "thread_a", "level_a", "hot_a"],
        &["start_thread", "thread_b", "level_b", "hot_b"],
    );
}

#[test]
fn fp_mode_without_frame_pointers_still_finds_the_hot_leaves() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_workload(dir.path(), "threads-nofp", &["-fomit-frame-pointer"]);
    let out = dir.path().join("fpnofp.folded");
    record(&bin, "fp", &out);
    let stacks = read_folded(&out);
    // Callers are lost (that is why dwarf is the default), but leaves and shares hold.
    check_shares(&stacks, &["hot_a"], &["hot_b"]);
}

/// The recorded pprof opens in `go tool pprof -top`, whose flat% shows the 3 : 1 split.
#[test]
fn go_tool_pprof_reads_the_recorded_profile() {
    if !can_record() {
        return;
    }
    if !have("go") {
        if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!("PROFDIFF_REQUIRE_FIXTURES=1 but go is not installed");
        }
        record_util::skip_log::skipped("go is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_workload(dir.path(), "threads-nofp", &["-fomit-frame-pointer"]);
    let out = dir.path().join("rec.pb.gz");
    record(&bin, "dwarf", &out);
    let o = Command::new("go")
        .args(["tool", "pprof", "-top", "-nodecount=20"])
        .arg(&out)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("Type: cpu"), "{text}");
    let flat_pct = |f: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().last() == Some(f))
            .unwrap_or_else(|| panic!("{f} missing in:\n{text}"));
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .trim_end_matches('%')
            .parse()
            .unwrap()
    };
    let (a, b) = (flat_pct("hot_a"), flat_pct("hot_b"));
    assert!(a + b > 80.0, "{text}");
    let share = a / (a + b);
    assert!(
        (0.62..=0.86).contains(&share),
        "hot_a share {share:.3}\n{text}"
    );
    // The call chains made it into the pprof: level_a's cum covers hot_a.
    assert!(text.lines().any(|l| l.ends_with(" level_a")), "{text}");
}
