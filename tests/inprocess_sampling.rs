//! The in-process backend on a real workload: a CPU-bound hot function in a named spawned thread
//! must dominate the profile, thread names must be root frames, and the written pprof must read
//! back through `formats::read_path`. No timing asserts: the work is a fixed amount, only shares
//! (with wide tolerances) and presence are checked.
//!
//! pprof-rs's profiler is one per process, so the tests here take turns through `SERIAL`.

mod common;

use profdiff::inprocess::{self, InProcessError, Options};
use profdiff::Profile;
use std::hint::black_box;
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The known hot function: integer hashing, nothing the optimizer can remove.
#[inline(never)]
fn inprocess_hot_spin(rounds: u64) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..rounds {
        x ^= black_box(i);
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9).rotate_left(17);
    }
    x
}

/// The same work in a different function, for the lighter thread.
#[inline(never)]
fn inprocess_cold_spin(rounds: u64) -> u64 {
    let mut x = 0x94d0_49bb_1331_11ebu64;
    for i in 0..rounds {
        x ^= black_box(i);
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9).rotate_left(17);
    }
    x
}

/// Work units sized for roughly a second of CPU in all (debug or release builds); the test does
/// not depend on how long it takes, only on the 4:1 ratio of work. In release, 40M rounds were
/// ~0.05 s: only ~70 samples at the ~250 Hz timer cap, and the 0.8 share then strayed past
/// the bounds now and then.
const COLD_ROUNDS: u64 = if cfg!(debug_assertions) {
    40_000_000
} else {
    250_000_000
};

/// The two threads run one after the other. Run side by side on two cores, the process's CPU
/// time runs at twice the rate the ~250 Hz timer signal can follow, so the overlap (the cold
/// thread's whole life) is undersampled and its share strays: 28–115 cold samples for ~430
/// hot in six runs, a 0.79–0.94 hot share against the work's 0.8, past the bound now and
/// then. One at a time, each thread is sampled at the same rate.
fn run_workload() {
    let hot = std::thread::Builder::new()
        .name("hot-worker".into())
        .spawn(|| black_box(inprocess_hot_spin(4 * COLD_ROUNDS)))
        .unwrap();
    hot.join().unwrap();
    let cold = std::thread::Builder::new()
        .name("cold-worker".into())
        .spawn(|| black_box(inprocess_cold_spin(COLD_ROUNDS)))
        .unwrap();
    cold.join().unwrap();
}

/// Samples (first value) whose stack is rooted at `thread` and/or contains a frame with `func`.
fn samples_where(p: &Profile, thread: Option<&str>, func: Option<&str>) -> i64 {
    p.samples
        .iter()
        .filter(|s| {
            let names = p.stack_names(s);
            thread.is_none_or(|t| names.first().map(|n| n.as_ref()) == Some(t))
                && func.is_none_or(|f| names.iter().any(|n| n.contains(f)))
        })
        .map(|s| s.values[0])
        .sum()
}

#[test]
fn hot_function_in_spawned_thread_dominates() {
    let _g = serial();
    let session = inprocess::start(&Options::with_frequency(999)).unwrap();
    run_workload();
    let p = session.finish().unwrap();
    p.validate().unwrap();

    let total = p.total(0);
    let hot = samples_where(&p, None, Some("inprocess_hot_spin"));
    let cold = samples_where(&p, None, Some("inprocess_cold_spin"));
    let hot_thread = samples_where(&p, Some("hot-worker"), None);
    let cold_thread = samples_where(&p, Some("cold-worker"), None);
    println!(
        "samples {total}: hot_spin {hot}, cold_spin {cold}, hot-worker {hot_thread}, \
         cold-worker {cold_thread}; achieved {} Hz (asked 999); duration {:.2} s",
        p.metadata.get("achieved_hz").map_or("?", |s| s.as_str()),
        p.duration_nanos as f64 / 1e9
    );
    assert!(total >= 20, "too few samples to judge: {total}");
    // The hot thread does 4x the work of the cold one: expected share 0.8 of the two.
    let share = hot as f64 / (hot + cold).max(1) as f64;
    assert!(
        (0.6..=0.95).contains(&share),
        "hot_spin share {share:.2} (hot {hot}, cold {cold})"
    );
    // And it dominates the whole profile (the test harness's own threads barely run).
    assert!(
        hot as f64 >= 0.5 * total as f64,
        "hot {hot} of {total} samples"
    );
    // Thread names are the root frames, and the hot function lives under its thread.
    assert!(hot_thread > 0 && cold_thread > 0, "thread roots missing");
    let hot_in_hot_thread = samples_where(&p, Some("hot-worker"), Some("inprocess_hot_spin"));
    assert!(hot_in_hot_thread as f64 >= 0.9 * hot as f64);

    // file:line of the hot function points at this file.
    let f = p
        .functions
        .iter()
        .find(|f| f.name.ends_with("inprocess_hot_spin"))
        .expect("hot function symbolized");
    assert!(f.filename.ends_with("inprocess_sampling.rs"), "{f:?}");
    assert!(p.locations.iter().any(|l| l
        .lines
        .iter()
        .any(|ln| p.function_name(ln.function).ends_with("inprocess_hot_spin") && ln.line > 0)));

    // Values and metadata.
    assert_eq!(p.sample_types[1].kind, "cpu");
    assert_eq!(p.sample_types[1].unit, "nanoseconds");
    assert!(p.period > 0);
    assert_eq!(p.total(1) / total, p.period, "cpu = samples × period");
    assert_eq!(p.metadata["frequency"], "999");
    assert!(p.metadata["backend"].contains("pprof-rs"));
    assert!(p.duration_nanos > 0 && p.time_nanos > 0);
    assert!(p.quality.notes.iter().any(|n| n.contains("timer-signal")));
}

#[test]
fn one_session_at_a_time_and_restartable() {
    let _g = serial();
    let s = inprocess::start(&Options::default()).unwrap();
    assert!(matches!(
        inprocess::start(&Options::default()),
        Err(InProcessError::Busy)
    ));
    drop(s);
    // After the first session ended a new one starts and sees only its own samples.
    let s = inprocess::start(&Options::default()).unwrap();
    let p = s.finish().unwrap();
    assert_eq!(
        samples_where(&p, None, Some("inprocess_hot_spin")),
        0,
        "samples of an earlier session leaked into a later one"
    );
}

#[test]
fn written_profile_reads_back() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("self.pb.gz");
    let session = inprocess::start(&Options::with_frequency(999)).unwrap();
    black_box(inprocess_hot_spin(2 * COLD_ROUNDS));
    let written = match session.finish_to(&path) {
        Ok(p) => p,
        Err(InProcessError::Write(e)) if e.to_string().contains("not implemented yet") => {
            eprintln!("notice: skipping read-back: the pprof writer is not merged yet ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let back = profdiff::formats::read_path(
        path.to_str().unwrap(),
        &profdiff::formats::ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(back.total(0), written.total(0));
    assert_eq!(back.total(1), written.total(1));
    assert_eq!(back.period, written.period);
    let hot_back = samples_where(&back, None, Some("inprocess_hot_spin"));
    assert_eq!(
        hot_back,
        samples_where(&written, None, Some("inprocess_hot_spin"))
    );
    assert!(hot_back > 0);
    // A failed write leaves no file behind.
    let bad = dir.path().join("missing-dir/x.pb.gz");
    let s = inprocess::start(&Options::default()).unwrap();
    assert!(s.finish_to(&bad).is_err());
    assert!(!bad.exists());
}
