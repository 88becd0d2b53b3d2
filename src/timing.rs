//! Phase timings for benchmarking and diagnosis: with `PROFDIFF_TIMINGS=1` in the environment,
//! each finished phase prints `profdiff: timing: PHASE N ms` to stderr. Off by default (one
//! cached environment check per phase).

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("PROFDIFF_TIMINGS").is_some_and(|v| v != "0"))
}

/// The first timing call's instant: spans also print when they started and ended relative to
/// it (`[12.0→30.5]`), to see what ran on which core at the same time.
fn origin() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

fn print(label: impl std::fmt::Display, start: Instant) {
    let t0 = origin();
    let ms = |t: Instant| t.saturating_duration_since(t0).as_secs_f64() * 1e3;
    let end = Instant::now();
    eprintln_safe!(
        "profdiff: timing: {label} {:.1} ms [{:.1}→{:.1}]",
        (end - start).as_secs_f64() * 1e3,
        ms(start),
        ms(end)
    );
}

/// A running phase; reports its duration when dropped (if timings are on).
pub struct Phase {
    name: &'static str,
    start: Instant,
}

/// Start timing a phase.
pub fn phase(name: &'static str) -> Phase {
    if enabled() {
        origin();
    }
    Phase {
        name,
        start: Instant::now(),
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if enabled() {
            print(self.name, self.start);
        }
    }
}

/// Report a span that started at `start` under a computed label (if timings are on).
pub fn report(label: impl std::fmt::Display, start: Instant) {
    if enabled() {
        print(label, start);
    }
}
