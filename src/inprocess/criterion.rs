//! `cargo bench` integration: a criterion [`Profiler`] that profiles each benchmark in-process
//! and writes `<benchmark_dir>/profile.pb.gz`, readable by every profdiff command (and
//! `go tool pprof`). Behind the `criterion` cargo feature.
//!
//! ```no_run
//! use criterion::{criterion_group, criterion_main, Criterion};
//! use profdiff::inprocess::criterion::ProfdiffProfiler;
//!
//! fn bench(c: &mut Criterion) {
//!     c.bench_function("parse", |b| b.iter(|| std::hint::black_box(2 + 2)));
//! }
//! criterion_group! {
//!     name = benches;
//!     config = Criterion::default().with_profiler(ProfdiffProfiler::new(99));
//!     targets = bench
//! }
//! criterion_main!(benches);
//! ```
//!
//! Then `cargo bench --bench NAME -- --profile-time 10` leaves
//! `target/criterion/<group>/<bench>/profile/profile.pb.gz`.

use super::{start, write_pprof, Options, Session};
use crate::model::Profile;
use criterion::profiler::Profiler;
use std::path::{Path, PathBuf};

/// File name written into each benchmark's profile directory.
pub const PROFILE_FILE: &str = "profile.pb.gz";

/// Criterion profiler hook backed by [`crate::inprocess`].
///
/// Criterion's trait cannot return errors, so a failure (another session running, an
/// unwritable directory) is reported as one line on stderr and the benchmark goes on.
pub struct ProfdiffProfiler {
    options: Options,
    session: Option<Session>,
    last_written: Option<PathBuf>,
    last_profile: Option<Profile>,
}

impl ProfdiffProfiler {
    /// Profile at `frequency` Hz with the default blocklist.
    pub fn new(frequency: u32) -> Self {
        Self::with_options(Options::with_frequency(frequency))
    }

    pub fn with_options(options: Options) -> Self {
        ProfdiffProfiler {
            options,
            session: None,
            last_written: None,
            last_profile: None,
        }
    }

    /// Path of the last profile written by [`Profiler::stop_profiling`].
    pub fn last_written(&self) -> Option<&Path> {
        self.last_written.as_deref()
    }

    /// The profile of the last benchmark profiled (kept even when writing it failed).
    pub fn last_profile(&self) -> Option<&Profile> {
        self.last_profile.as_ref()
    }
}

impl Profiler for ProfdiffProfiler {
    fn start_profiling(&mut self, benchmark_id: &str, _benchmark_dir: &Path) {
        // A session left over from a start without stop is discarded first.
        self.session.take();
        match start(&self.options) {
            Ok(s) => self.session = Some(s),
            Err(e) => eprintln_safe!("profdiff: not profiling benchmark {benchmark_id}: {e}"),
        }
    }

    fn stop_profiling(&mut self, benchmark_id: &str, benchmark_dir: &Path) {
        let Some(session) = self.session.take() else {
            return;
        };
        self.last_written = None;
        self.last_profile = None;
        let result = (|| {
            let mut profile = session.finish()?;
            profile
                .metadata
                .insert("command".into(), format!("criterion bench {benchmark_id}"));
            let profile = self.last_profile.insert(profile);
            std::fs::create_dir_all(benchmark_dir)
                .map_err(|e| crate::Error::io(benchmark_dir.display(), e))?;
            let path = benchmark_dir.join(PROFILE_FILE);
            write_pprof(profile, &path)?;
            Ok::<_, super::InProcessError>(path)
        })();
        match result {
            Ok(path) => self.last_written = Some(path),
            Err(e) => {
                eprintln_safe!("profdiff: profile of benchmark {benchmark_id} not written: {e}")
            }
        }
    }
}
