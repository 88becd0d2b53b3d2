//! The criterion hook: `ProfdiffProfiler` driven the way criterion drives it
//! (`start_profiling` → benchmark iterations → `stop_profiling`) writes
//! `<benchmark_dir>/profile.pb.gz`; and a real `Criterion` run in `--profile-time` mode calls it.
#![cfg(feature = "criterion")]

use criterion::profiler::Profiler;
use criterion::Criterion;
use profdiff::inprocess::criterion::{ProfdiffProfiler, PROFILE_FILE};
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

/// pprof-rs's profiler is one per process: the tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn hot_share(p: &profdiff::Profile) -> (i64, i64) {
    let total = p.total(0);
    let hot: i64 = p
        .samples
        .iter()
        .filter(|s| {
            p.stack_names(s)
                .iter()
                .any(|n| n.contains("criterion_hot_loop"))
        })
        .map(|s| s.values[0])
        .sum();
    (hot, total)
}

#[test]
fn hook_as_criterion_drives_it_profiles_the_benchmark() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let bench_dir = dir.path().join("group/hot_loop/profile");
    let mut prof = ProfdiffProfiler::new(999);
    prof.start_profiling("group/hot_loop", &bench_dir);
    for _ in 0..40 {
        black_box(criterion_hot_loop(black_box(1_000_000)));
    }
    prof.stop_profiling("group/hot_loop", &bench_dir);
    let p = prof.last_profile().expect("profile kept");
    let (hot, total) = hot_share(p);
    println!("hook profile: {total} samples, criterion_hot_loop in {hot}");
    assert!(total >= 10, "too few samples: {total}");
    assert!(hot as f64 >= 0.5 * total as f64, "hot {hot} of {total}");
    assert_eq!(p.metadata["command"], "criterion bench group/hot_loop");
    match prof.last_written() {
        Some(path) => {
            assert_eq!(path, bench_dir.join(PROFILE_FILE));
            let back = profdiff::formats::read_path(
                path.to_str().unwrap(),
                &profdiff::formats::ReadOptions::default(),
            )
            .unwrap();
            assert_eq!(hot_share(&back), (hot, total));
        }
        None => writer_missing_or_fail(dir.path()),
    }
}

/// Only acceptable while the pprof writer is not merged: the hook then reports the failure on
/// stderr instead of writing. Anything else fails the test.
fn writer_missing_or_fail(dir: &std::path::Path) {
    let probe =
        profdiff::inprocess::write_pprof(&profdiff::Profile::default(), dir.join("probe.pb.gz"));
    match probe {
        Err(e) if e.to_string().contains("not implemented yet") => {
            eprintln!("notice: skipping the file check: the pprof writer is not merged yet ({e})");
        }
        _ => panic!("the profile was not written"),
    }
}

#[inline(never)]
fn criterion_hot_loop(n: u64) -> u64 {
    (0..n).fold(1u64, |a, i| a.wrapping_mul(31).wrapping_add(black_box(i)))
}

#[test]
fn criterion_profile_mode_writes_profile_per_benchmark() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut c = Criterion::default()
        .output_directory(dir.path())
        .with_profiler(ProfdiffProfiler::new(999))
        .profile_time(Some(Duration::from_secs(2)));
    c.bench_function("hot_loop", |b| {
        b.iter(|| criterion_hot_loop(black_box(200_000)))
    });
    c.final_summary();

    let path = dir.path().join("hot_loop/profile").join(PROFILE_FILE);
    if !path.exists() {
        writer_missing_or_fail(dir.path());
        return;
    }
    let p = profdiff::formats::read_path(
        path.to_str().unwrap(),
        &profdiff::formats::ReadOptions::default(),
    )
    .unwrap();
    let (hot, total) = hot_share(&p);
    println!("criterion profile: {total} samples, criterion_hot_loop in {hot}");
    assert!(total > 0);
    assert!(hot as f64 >= 0.5 * total as f64, "hot {hot} of {total}");
    assert_eq!(
        p.metadata.get("command").map(|s| s.as_str()),
        Some("criterion bench hot_loop")
    );
}

#[test]
fn hook_failure_is_reported_not_fatal() {
    let _g = serial();
    // An unwritable benchmark dir: stop_profiling reports on stderr and returns.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let mut prof = ProfdiffProfiler::new(99);
    prof.start_profiling("x", &file);
    black_box(criterion_hot_loop(1000));
    prof.stop_profiling("x", &file.join("sub"));
    assert!(prof.last_written().is_none());
    // A stop without a start is a no-op.
    prof.stop_profiling("x", dir.path());
    assert!(prof.last_written().is_none());
}
