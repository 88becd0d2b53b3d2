//! Phase timings for benchmarking and diagnosis: with `PROFDIFF_TIMINGS=1` in the environment,
//! each finished phase prints `profdiff: timing: PHASE N ms` to stderr. Off by default (one
//! cached environment check per phase).

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("PROFDIFF_TIMINGS").is_some_and(|v| v != "0"))
}

/// A running phase; reports its duration when dropped (if timings are on).
pub struct Phase {
    name: &'static str,
    start: Instant,
}

/// Start timing a phase.
pub fn phase(name: &'static str) -> Phase {
    Phase {
        name,
        start: Instant::now(),
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if enabled() {
            eprintln!(
                "profdiff: timing: {} {:.1} ms",
                self.name,
                self.start.elapsed().as_secs_f64() * 1e3
            );
        }
    }
}

/// Report a span that started at `start` under a computed label (if timings are on).
pub fn report(label: impl std::fmt::Display, start: Instant) {
    if enabled() {
        eprintln!(
            "profdiff: timing: {label} {:.1} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}
