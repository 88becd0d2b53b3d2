//! In-process CPU profiling ("pprof elsewhere"): a Rust program or benchmark profiles itself
//! where `perf_event_open` is unavailable (macOS, locked-down containers, seccomp), and gets the
//! same [`Profile`] the rest of profdiff works with.
//!
//! The sampling is done by the [`pprof`](https://docs.rs/pprof) crate (pprof-rs): a `SIGPROF`
//! interval timer (`setitimer(ITIMER_PROF)`) interrupts whichever thread of the process is
//! running, the signal handler unwinds that thread's stack and counts it. This module starts and
//! stops that machinery ([`start`] → [`Session`]), and turns pprof-rs's [`pprof::Report`]
//! (resolved frames with inline symbols, thread names, counts, timing) into a [`Profile`]
//! ([`report_to_profile`]): sample types `samples/count` and `cpu/nanoseconds`, the thread name
//! as root frame, inline chains kept as [`Location`] lines (innermost first), demangled names
//! with file:line, metadata (tool, backend, asked and achieved frequency) and a data-quality
//! note about the limits below.
//!
//! # Limits (read before trusting the numbers)
//!
//! - **Timer-signal sampling.** `ITIMER_PROF` counts process CPU time, but the kernel checks
//!   the timer once per scheduler tick, so delivery tops out near the kernel's `HZ` per running
//!   CPU (about 250 Hz on an `HZ=250` kernel) whatever frequency is asked. The `cpu/nanoseconds`
//!   values are therefore calibrated from the process CPU clock
//!   (`CLOCK_PROCESS_CPUTIME_ID` delta / samples) rather than assumed from the asked frequency;
//!   the achieved rate is in the metadata (`achieved_hz`) and in a data-quality note.
//! - **Own process only.** It cannot profile children or other processes.
//! - **Async-signal safety.** The handler unwinds inside a signal; samples that interrupt code in
//!   the blocklisted libraries (by default libc, libgcc, pthread, vdso — unwinding from there can
//!   deadlock or crash) are dropped, not counted, so time spent in them is under-represented.
//!   A sample that arrives while the profiler's lock is held (e.g. while a report is built) is
//!   also dropped.
//! - **Unwinder limits.** pprof-rs unwinds with the platform unwinder (libgcc's `_Unwind_Backtrace`
//!   via `backtrace`); frames without unwind tables are lost, stacks deeper than
//!   [`pprof::MAX_DEPTH`] frames are cut (counted in [`DataQuality::truncated_stacks`]), and
//!   frames that cannot be symbolized are dropped by pprof-rs before we see them.
//! - **One session per process.** pprof-rs keeps one global profiler; a second [`start`] while a
//!   session runs returns [`InProcessError::Busy`].

#[cfg(feature = "criterion")]
pub mod criterion;

use crate::model::{DataQuality, Function, Line, Location, Profile, ProfileBuilder, ValueType};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Libraries whose code must not be unwound from inside a signal handler (the default
/// blocklist): interrupting them and unwinding can deadlock (malloc locks, the unwinder's own
/// locks in libgcc) or crash (vdso without unwind tables).
pub const DEFAULT_BLOCKLIST: &[&str] = &["libc", "libgcc", "pthread", "vdso"];

/// Default sampling frequency in Hz: pprof-rs's and Go's customary ~100 Hz (99 avoids lockstep
/// with periodic work). Higher values are accepted but capped by the kernel tick; see the
/// module docs.
pub const DEFAULT_FREQUENCY: u32 = 99;

/// Highest frequency accepted (1 µs timer interval: `setitimer` cannot go finer).
pub const MAX_FREQUENCY: u32 = 1_000_000;

/// What to sample and how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Asked sampling frequency in Hz of process CPU time (default [`DEFAULT_FREQUENCY`]).
    pub frequency: u32,
    /// Substrings of shared-library paths whose code is never unwound from (default
    /// [`DEFAULT_BLOCKLIST`]).
    pub blocklist: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            frequency: DEFAULT_FREQUENCY,
            blocklist: DEFAULT_BLOCKLIST.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl Options {
    /// Default options with this frequency.
    pub fn with_frequency(frequency: u32) -> Self {
        Options {
            frequency,
            ..Options::default()
        }
    }
}

/// Errors of the in-process backend.
#[derive(Debug, thiserror::Error)]
pub enum InProcessError {
    /// Another in-process profiling session (ours or a direct pprof-rs user) is running.
    #[error(
        "an in-process profiling session is already running in this process (only one at a time)"
    )]
    Busy,
    /// The asked frequency cannot be turned into a timer interval.
    #[error("sampling frequency must be between 1 and {MAX_FREQUENCY} Hz, got {0}")]
    BadFrequency(u32),
    /// pprof-rs failed to install the signal handler, read its sample store, …
    #[error("in-process profiler (pprof-rs) failed: {0}")]
    Backend(#[from] pprof::Error),
    /// Writing the profile failed (the message names the file).
    #[error(transparent)]
    Write(#[from] crate::Error),
}

/// Set while a [`Session`] exists; pprof-rs's profiler is a process-wide singleton.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// A running in-process profiling session; stop it with [`Session::finish`] (or drop it to
/// discard the samples).
pub struct Session {
    guard: Option<pprof::ProfilerGuard<'static>>,
    options: Options,
    cpu_start: Option<Duration>,
}

/// Start sampling this process with `options`.
pub fn start(options: &Options) -> Result<Session, InProcessError> {
    if options.frequency == 0 || options.frequency > MAX_FREQUENCY {
        return Err(InProcessError::BadFrequency(options.frequency));
    }
    if ACTIVE
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(InProcessError::Busy);
    }
    let cpu_start = process_cpu_time();
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(options.frequency as i32)
        .blocklist(&options.blocklist)
        .build();
    match guard {
        Ok(guard) => Ok(Session {
            guard: Some(guard),
            options: options.clone(),
            cpu_start,
        }),
        Err(e) => {
            ACTIVE.store(false, Ordering::Release);
            Err(match e {
                pprof::Error::Running => InProcessError::Busy,
                e => InProcessError::Backend(e),
            })
        }
    }
}

impl Session {
    /// The options this session was started with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The profile collected so far, without stopping.
    pub fn snapshot(&self) -> Result<Profile, InProcessError> {
        let guard = self.guard.as_ref().expect("guard present until finish");
        let cpu_end = process_cpu_time();
        let report = guard.report().build()?;
        let truncated = count_truncated(guard)?;
        let cpu = match (self.cpu_start, cpu_end) {
            (Some(a), Some(b)) => b.checked_sub(a),
            _ => None,
        };
        Ok(report_to_profile(
            &report,
            &ConversionInfo {
                asked_frequency: self.options.frequency,
                process_cpu: cpu,
                truncated_stacks: truncated,
                blocklist: self.options.blocklist.clone(),
                command: Some(current_command()),
                ..ConversionInfo::default()
            },
        ))
    }

    /// Stop sampling and return the profile.
    pub fn finish(mut self) -> Result<Profile, InProcessError> {
        let profile = self.snapshot();
        // Dropping the guard stops the timer and discards pprof-rs's sample store.
        self.guard.take();
        profile
    }

    /// Stop sampling and write the profile as gzipped pprof to `path` (atomically; `-` is
    /// stdout). Returns the profile too.
    pub fn finish_to(self, path: impl AsRef<Path>) -> Result<Profile, InProcessError> {
        let profile = self.finish()?;
        write_pprof(&profile, path)?;
        Ok(profile)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.guard.take();
        ACTIVE.store(false, Ordering::Release);
    }
}

/// Write `profile` as gzipped pprof (`profile.pb.gz`) to `path`, atomically.
pub fn write_pprof(profile: &Profile, path: impl AsRef<Path>) -> Result<(), InProcessError> {
    let path = path.as_ref().to_string_lossy();
    crate::output::write_atomic(&path, |w| crate::formats::pprof::write_gz(profile, w))?;
    Ok(())
}

/// Facts about the session that pprof-rs's [`pprof::Report`] does not carry.
#[derive(Clone, Debug, Default)]
pub struct ConversionInfo {
    /// The frequency asked of the timer, Hz.
    pub asked_frequency: u32,
    /// CPU time the whole process used during the session (all threads), when measurable.
    pub process_cpu: Option<Duration>,
    /// Samples whose stack hit pprof-rs's depth limit.
    pub truncated_stacks: u64,
    /// The blocklist used (for the data-quality note).
    pub blocklist: Vec<String>,
    /// The profiled program's command line, for titles.
    pub command: Option<String>,
    /// Wall-clock start of the session (taken from the report by [`report_to_profile`]).
    pub start_time: Option<SystemTime>,
    /// Wall-clock length of the session (taken from the report by [`report_to_profile`]).
    pub duration: Option<Duration>,
}

/// Turn a pprof-rs report into a [`Profile`]; see the module docs for the mapping.
pub fn report_to_profile(report: &pprof::Report, info: &ConversionInfo) -> Profile {
    let mut info = info.clone();
    info.start_time = Some(report.timing.start_time);
    info.duration = Some(report.timing.duration);
    frames_to_profile(report.data.iter().map(|(f, &c)| (f, c)), &info)
}

/// The conversion behind [`report_to_profile`], over (stack, count) pairs as pprof-rs's
/// [`pprof::Report::data`] holds them.
pub fn frames_to_profile<'a>(
    data: impl IntoIterator<Item = (&'a pprof::Frames, isize)> + Clone,
    info: &ConversionInfo,
) -> Profile {
    let mut b = ProfileBuilder::new(vec![
        ValueType::samples(),
        ValueType::new("cpu", "nanoseconds"),
    ]);
    let total_samples: u64 = data.clone().into_iter().map(|(_, c)| c.max(0) as u64).sum();
    let nominal_period = 1e9 / f64::from(info.asked_frequency.max(1));
    let cpu_nanos = info.process_cpu.map(|d| d.as_nanos() as f64);
    // Calibrated period: the process's CPU time spread over the samples taken. Timer-signal
    // delivery tops out near the kernel tick, so the asked period would undercount.
    let (period, calibrated) = match cpu_nanos {
        Some(cpu) if cpu > 0.0 && total_samples > 0 => (cpu / total_samples as f64, true),
        _ => (nominal_period, false),
    };
    let period_ns = period.round().max(1.0) as i64;

    let mut quality = DataQuality {
        truncated_stacks: info.truncated_stacks,
        ..DataQuality::default()
    };
    let mut stack = Vec::new();
    for (frames, count) in data {
        if count <= 0 {
            continue;
        }
        let count = count as i64;
        stack.clear();
        for frame in &frames.frames {
            let lines: Vec<Line> = frame
                .iter()
                .filter_map(|sym| {
                    let raw = sym.name.as_deref()?;
                    let system_name = String::from_utf8_lossy(raw).into_owned();
                    let name = demangle(&system_name);
                    let filename = sym
                        .filename
                        .as_ref()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let function = b.function(Function {
                        name,
                        system_name,
                        filename,
                        start_line: 0,
                    });
                    Some(Line {
                        function,
                        line: i64::from(sym.lineno.unwrap_or(0)),
                        column: 0,
                    })
                })
                .collect();
            quality.total_frames += count as u64;
            if lines.is_empty() {
                quality.unknown_frames += count as u64;
            }
            stack.push(b.location(Location {
                lines,
                ..Location::default()
            }));
        }
        let thread = if frames.thread_name.is_empty() {
            format!("thread-{}", frames.thread_id)
        } else {
            frames.thread_name.clone()
        };
        stack.push(b.frame(&thread));
        let cpu = count.saturating_mul(period_ns);
        b.add_sample(&stack, &[count, cpu]);
    }

    let p = b.profile_mut();
    p.period_type = Some(ValueType::new("cpu", "nanoseconds"));
    p.period = period_ns;
    p.time_nanos = info
        .start_time
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    p.duration_nanos = info.duration.map(|d| d.as_nanos() as i64).unwrap_or(0);
    crate::model::roots::mark_thread_roots(p);
    let md = &mut p.metadata;
    md.insert(
        "tool".into(),
        format!("profdiff {} in-process", env!("CARGO_PKG_VERSION")),
    );
    md.insert(
        "backend".into(),
        "pprof-rs 0.15 (SIGPROF, setitimer ITIMER_PROF)".into(),
    );
    md.insert("event".into(), "cpu-time timer signal".into());
    md.insert("frequency".into(), info.asked_frequency.to_string());
    if let Some(cmd) = &info.command {
        md.insert("command".into(), cmd.clone());
    }
    if let Some(host) = hostname() {
        md.insert("host".into(), host);
    }
    let mut note = format!(
        "in-process timer-signal sampling (SIGPROF/setitimer): delivery is capped near the \
         kernel tick rate per running CPU; samples interrupting {} are dropped; stacks are cut \
         at {} frames",
        if info.blocklist.is_empty() {
            "nothing blocklisted".to_string()
        } else {
            info.blocklist.join("/")
        },
        pprof::MAX_DEPTH
    );
    if let Some(cpu) = cpu_nanos.filter(|&c| c > 0.0) {
        let achieved = total_samples as f64 / (cpu / 1e9);
        md.insert("achieved_hz".into(), format!("{achieved:.1}"));
        md.insert("process_cpu_ns".into(), format!("{cpu:.0}"));
        note.push_str(&format!(
            "; achieved {achieved:.0} Hz of process CPU time (asked {} Hz)",
            info.asked_frequency
        ));
    }
    if calibrated {
        md.insert("period_source".into(), "process CPU clock / samples".into());
        note.push_str("; cpu values calibrated from the process CPU clock");
    } else {
        md.insert("period_source".into(), "asked frequency".into());
    }
    quality.notes.push(note);
    p.quality = quality;
    b.finish()
}

/// Display name of a raw symbol: Rust (legacy and v0, hash suffix dropped) or C++ demangled,
/// otherwise unchanged.
pub fn demangle(raw: &str) -> String {
    if let Ok(d) = rustc_demangle::try_demangle(raw) {
        return format!("{d:#}");
    }
    if raw.starts_with("_Z") {
        if let Ok(sym) = cpp_demangle::Symbol::new(raw.as_bytes()) {
            if let Ok(s) = sym.demangle(&cpp_demangle::DemangleOptions::default()) {
                return s;
            }
        }
    }
    raw.to_string()
}

/// Samples in pprof-rs's store whose raw stack reached its depth limit.
fn count_truncated(guard: &pprof::ProfilerGuard<'static>) -> Result<u64, InProcessError> {
    let unresolved = guard.report().build_unresolved()?;
    Ok(unresolved
        .data
        .iter()
        .filter(|(f, _)| f.frames.len() >= pprof::MAX_DEPTH)
        .map(|(_, &c)| c.max(0) as u64)
        .sum())
}

/// CPU time used so far by all threads of this process.
fn process_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

fn current_command() -> String {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success
    // (we also bound the search by the buffer length).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    let s = String::from_utf8_lossy(&buf[..end]).into_owned();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn sym(name: &str, file: &str, line: u32) -> pprof::Symbol {
        pprof::Symbol {
            name: Some(name.as_bytes().to_vec()),
            addr: None,
            lineno: Some(line),
            filename: Some(PathBuf::from(file)),
        }
    }

    fn report(entries: Vec<(Vec<Vec<pprof::Symbol>>, &str, isize)>) -> Vec<(pprof::Frames, isize)> {
        let mut data = Vec::new();
        for (i, (frames, thread, count)) in entries.into_iter().enumerate() {
            data.push((
                pprof::Frames {
                    frames,
                    thread_name: thread.to_string(),
                    thread_id: 100 + i as u64,
                    sample_timestamp: UNIX_EPOCH,
                },
                count,
            ));
        }
        data
    }

    fn convert(r: &[(pprof::Frames, isize)], info: &ConversionInfo) -> Profile {
        frames_to_profile(r.iter().map(|(f, c)| (f, *c)), info)
    }

    #[test]
    fn converts_frames_threads_inline_chains_and_values() {
        // Rust legacy mangling of `app::hot` with a hash, and an inline chain: `inner` inlined
        // into `outer` at the same address.
        let hot = "_ZN3app3hot17h0123456789abcdefE";
        let r = report(vec![
            (
                vec![
                    vec![sym(hot, "src/app.rs", 10)],
                    vec![sym("main", "src/main.rs", 3)],
                ],
                "worker",
                30,
            ),
            (
                vec![
                    vec![sym("inner", "src/a.rs", 5), sym("outer", "src/a.rs", 20)],
                    vec![sym("main", "src/main.rs", 3)],
                ],
                "",
                10,
            ),
            (
                vec![vec![pprof::Symbol {
                    name: None,
                    addr: None,
                    lineno: None,
                    filename: None,
                }]],
                "worker",
                5,
            ),
        ]);
        let info = ConversionInfo {
            asked_frequency: 999,
            process_cpu: Some(Duration::from_millis(180)), // 45 samples → 4 ms each
            truncated_stacks: 2,
            blocklist: vec!["libc".into()],
            command: Some("bench --x".into()),
            start_time: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            duration: Some(Duration::from_millis(1500)),
        };
        let p = convert(&r, &info);
        p.validate().unwrap();
        assert_eq!(p.sample_types[0], ValueType::samples());
        assert_eq!(p.sample_types[1], ValueType::new("cpu", "nanoseconds"));
        assert_eq!(p.total(0), 45);
        assert_eq!(p.period, 4_000_000);
        assert_eq!(p.total(1), 45 * 4_000_000);
        assert_eq!(p.duration_nanos, 1_500_000_000);
        assert_eq!(p.time_nanos, 1_700_000_000 * 1_000_000_000);
        assert_eq!(p.metadata["frequency"], "999");
        assert_eq!(p.metadata["achieved_hz"], "250.0");
        assert_eq!(p.metadata["command"], "bench --x");
        assert_eq!(p.quality.truncated_stacks, 2);
        assert_eq!(p.quality.total_frames, 30 * 2 + 10 * 2 + 5);
        assert_eq!(p.quality.unknown_frames, 5);
        assert!(
            p.quality.notes[0].contains("250 Hz"),
            "{:?}",
            p.quality.notes
        );

        let mut stacks: Vec<(String, i64)> = p
            .samples
            .iter()
            .map(|s| (p.stack_names(s).join(";"), s.values[0]))
            .collect();
        stacks.sort();
        assert_eq!(
            stacks,
            vec![
                ("thread-101;main;outer;inner".to_string(), 10),
                ("worker;[unknown]".to_string(), 5),
                ("worker;main;app::hot".to_string(), 30),
            ]
        );
        // The inline chain is one location with two lines, innermost first, with file:line.
        let loc = p
            .locations
            .iter()
            .find(|l| l.lines.len() == 2)
            .expect("inline location");
        assert_eq!(p.function_name(loc.lines[0].function), "inner");
        assert_eq!(loc.lines[0].line, 5);
        assert_eq!(p.function_name(loc.lines[1].function), "outer");
        assert_eq!(loc.lines[1].line, 20);
        let f = p.functions.iter().find(|f| f.name == "app::hot").unwrap();
        assert_eq!(f.system_name, hot);
        assert_eq!(f.filename, "src/app.rs");
    }

    #[test]
    fn without_cpu_clock_the_asked_period_is_used() {
        let r = report(vec![(vec![vec![sym("f", "f.c", 1)]], "t", 4)]);
        let p = convert(
            &r,
            &ConversionInfo {
                asked_frequency: 100,
                ..ConversionInfo::default()
            },
        );
        assert_eq!(p.period, 10_000_000);
        assert_eq!(p.total(1), 40_000_000);
        assert_eq!(p.metadata["period_source"], "asked frequency");
        assert!(!p.metadata.contains_key("achieved_hz"));
    }

    #[test]
    fn demangles_rust_and_cpp() {
        assert_eq!(demangle("_ZN3foo3bar17h0123456789abcdefE"), "foo::bar");
        assert_eq!(demangle("_ZN5boost6detail4workEv"), "boost::detail::work()");
        assert_eq!(demangle("main"), "main");
        assert_eq!(demangle("_Zgarbage"), "_Zgarbage");
    }

    #[test]
    fn bad_frequency_is_a_typed_error() {
        assert!(matches!(
            start(&Options::with_frequency(0)),
            Err(InProcessError::BadFrequency(0))
        ));
    }
}
