//! Recording: sampling a command or a running process with perf_event_open, the way
//! `perf record` does, into a [`raw::RawRecording`] that the symbolizer turns into a profile.
//!
//! - [`launch`]: the gated child (fork, wait on a pipe, exec once the events are attached).
//! - [`sampler`]: perf_event setup (one event per CPU with `inherit`), ring-buffer draining,
//!   MMAP2 / COMM / FORK / LOST tracking.
//! - [`dwarf`]: DWARF-mode samples (user regs + stack copy) spooled and unwound afterwards
//!   with [`unwind`] (shared with perf.data ingest).
//! - [`signals`]: Ctrl-C / SIGTERM forwarding through a self-pipe.
//! - [`stop`]: how a command that does not stop on the user's Ctrl-C is ended.
//!
//! [`record`] ties them together and returns the recording plus the target's exit status.

pub mod dwarf;
pub mod launch;
pub mod raw;
pub mod sampler;
pub mod signals;
pub mod stop;
pub mod unwind;

use launch::{ChildExit, ChildUsage, GatedChild};
use raw::{MappedRegion, RawRecording};
use sampler::{DrainStats, Events, Who};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// How user stacks are obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CallGraph {
    /// Frame pointers, walked by the kernel (cheap; broken where frame pointers are omitted).
    Fp,
    /// User registers + a copy of the stack, unwound with DWARF CFI (`.eh_frame`).
    Dwarf,
}

/// The sampling event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EventKind {
    /// Software CPU clock (works everywhere, also in VMs).
    CpuClock,
    /// Software task clock (time the task runs).
    TaskClock,
    /// Hardware CPU cycles (needs a PMU; often missing in VMs and containers).
    Cycles,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::CpuClock => "cpu-clock",
            EventKind::TaskClock => "task-clock",
            EventKind::Cycles => "cycles",
        }
    }
    pub fn is_time(self) -> bool {
        !matches!(self, EventKind::Cycles)
    }
}

/// Default user stack copy per DWARF sample, as samply uses.
pub const DEFAULT_STACK_SIZE: u32 = 32 * 1024;

/// What to record and how.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    pub frequency: u64,
    pub event: EventKind,
    pub call_graph: CallGraph,
    /// Bytes of user stack copied per sample in DWARF mode (multiple of 8, < 64 KiB).
    pub stack_size: u32,
    /// Do not try kernel callchains.
    pub user_only: bool,
    /// Catch SIGINT / SIGTERM / SIGHUP and forward them to the target.
    pub forward_signals: bool,
    /// Folders to find binaries in when unwinding (DWARF mode).
    pub search_paths: Vec<PathBuf>,
    /// Told of every executable mapping as the recording learns of it (e.g. to load the
    /// binary for symbolization while the command still runs).
    pub on_mapping: Option<MappingHook>,
}

/// A callback for each mapped region seen while recording; see [`RecordOptions::on_mapping`].
#[derive(Clone)]
pub struct MappingHook(pub std::sync::Arc<dyn Fn(&MappedRegion) + Send + Sync>);

impl std::fmt::Debug for MappingHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MappingHook")
    }
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            frequency: 999,
            event: EventKind::CpuClock,
            call_graph: CallGraph::Dwarf,
            stack_size: DEFAULT_STACK_SIZE,
            user_only: false,
            forward_signals: true,
            search_paths: Vec::new(),
            on_mapping: None,
        }
    }
}

/// What to sample.
#[derive(Clone, Debug)]
pub enum Target {
    /// Run this command (argv) and sample it and everything it starts.
    Command(Vec<OsString>),
    /// Attach to a running process (all its threads) until it exits, the duration passes, or
    /// a SIGINT / SIGTERM arrives.
    Pid {
        pid: i32,
        duration: Option<Duration>,
    },
}

/// Why a recording could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// perf_event_open was refused; the message says why and how to fix it.
    #[error("{0}")]
    PermissionDenied(String),
    /// The event does not exist on this machine.
    #[error("{0}")]
    Unsupported(String),
    #[error("cannot start the command: {0}")]
    Spawn(String),
    #[error("cannot attach: {0}")]
    Attach(String),
    #[error("perf_event_open failed: {0}")]
    Open(std::io::Error),
    #[error("cannot spool DWARF samples to a temp file: {0}")]
    Spool(std::io::Error),
}

const FALLBACK_HINT: &str = "where perf_event is unavailable, a Rust program can profile itself \
with the in-process backend (profdiff::inprocess)";

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Effective capability bits of this process.
fn cap_eff() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("CapEff:"))?;
    u64::from_str_radix(line["CapEff:".len()..].trim(), 16).ok()
}

/// Whether kernel callchains will probably be allowed (root, CAP_PERFMON / CAP_SYS_ADMIN, or
/// `kernel.perf_event_paranoid` ≤ 1) — and with them readable kernel symbol addresses. A
/// guess for planning work ahead (reading kallsyms); the recording itself finds out.
pub fn kernel_frames_likely() -> bool {
    const CAP_SYS_ADMIN: u64 = 1 << 21;
    const CAP_PERFMON: u64 = 1 << 38;
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let caps = cap_eff().is_some_and(|c| c & (CAP_SYS_ADMIN | CAP_PERFMON) != 0);
    let paranoid = read_trim("/proc/sys/kernel/perf_event_paranoid")
        .and_then(|p| p.parse::<i32>().ok())
        .unwrap_or(2);
    root || caps || paranoid <= 1
}

/// Explain a refused perf_event_open: paranoid level, capabilities, seccomp.
pub fn explain_permission(e: &std::io::Error) -> String {
    let paranoid = read_trim("/proc/sys/kernel/perf_event_paranoid");
    let seccomp = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Seccomp:"))
                .map(|l| l["Seccomp:".len()..].trim().to_string())
        });
    let caps = cap_eff().unwrap_or(0);
    let has_perfmon = caps & (1 << 38) != 0 || caps & (1 << 21) != 0;
    let mut why = Vec::new();
    match paranoid.as_deref().and_then(|p| p.parse::<i32>().ok()) {
        Some(p) if p > 2 => why.push(format!(
            "kernel.perf_event_paranoid is {p}, which forbids perf_event_open for everyone \
             without CAP_PERFMON (fix: sudo sysctl kernel.perf_event_paranoid=2)"
        )),
        Some(p) if !has_perfmon => why.push(format!(
            "kernel.perf_event_paranoid is {p} and this process lacks CAP_PERFMON \
             (fix: sudo sysctl kernel.perf_event_paranoid=1, or grant the capability: \
             sudo setcap cap_perfmon+ep $(command -v profdiff))"
        )),
        Some(_) => {}
        None => why.push(
            "this kernel has no perf_event support (/proc/sys/kernel/perf_event_paranoid missing)"
                .into(),
        ),
    }
    if seccomp.as_deref() == Some("2") {
        why.push(
            "a seccomp filter is active, as in containers whose default profile blocks \
             perf_event_open (fix: run the container with --cap-add PERFMON and a seccomp \
             profile allowing perf_event_open, e.g. docker --security-opt seccomp=unconfined)"
                .into(),
        );
    }
    if why.is_empty() {
        why.push("the kernel refused without a known reason (LSM policy?)".into());
    }
    format!(
        "perf_event_open was refused ({e}): {}; {FALLBACK_HINT}",
        why.join("; ")
    )
}

impl RecordError {
    fn from_open(e: std::io::Error, opts: &RecordOptions) -> Self {
        match e.raw_os_error() {
            Some(libc::EACCES) | Some(libc::EPERM) => {
                RecordError::PermissionDenied(explain_permission(&e))
            }
            Some(libc::ENOENT) | Some(libc::EOPNOTSUPP) | Some(libc::ENODEV) => {
                RecordError::Unsupported(format!(
                    "event '{}' is not supported on this machine ({e}){}",
                    opts.event.name(),
                    if opts.event == EventKind::Cycles {
                        "; hardware counters are often missing in VMs and containers: use \
                         --event cpu-clock"
                    } else {
                        ""
                    }
                ))
            }
            Some(libc::ENOSYS) => RecordError::Unsupported(format!(
                "perf_event_open is not available in this kernel ({e}); {FALLBACK_HINT}"
            )),
            _ => RecordError::Open(e),
        }
    }
}

/// The result of a recording.
pub struct Recording {
    pub raw: RawRecording,
    /// How the command ended (None for `--pid`).
    pub exit: Option<ChildExit>,
    /// CPU time the command (and the children it waited for) used (None for `--pid`).
    pub usage: Option<ChildUsage>,
    /// Wall time from the command's start (or the attach) to its end (or the detach).
    pub wall: Duration,
    pub stats: DrainStats,
    /// Signals received from the user (SIGINT, …) during the recording.
    pub interrupted: bool,
}

/// Read `/proc/PID/maps` into regions (file-backed executable mappings only matter, but all
/// are kept so special mappings like `[vdso]` resolve).
pub fn read_proc_maps(pid: i32) -> std::io::Result<Vec<MappedRegion>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps"))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        let (Some(range), Some(perms), Some(off)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let (_dev, _ino) = (f.next(), f.next());
        let path: String = f.collect::<Vec<_>>().join(" ");
        if !perms.contains('x') {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end), Ok(file_offset)) = (
            u64::from_str_radix(a, 16),
            u64::from_str_radix(b, 16),
            u64::from_str_radix(off, 16),
        ) else {
            continue;
        };
        out.push(MappedRegion {
            start,
            end,
            file_offset,
            path: if path.is_empty() {
                "//anon".into()
            } else {
                path
            },
            build_id: None,
        });
    }
    Ok(out)
}

/// Below this many samples a recording says how little it saw and why.
const MIN_USEFUL_SAMPLES: u64 = 10;

/// The note for a recording with almost no samples: how long the target ran against the
/// sampling period, and what to do about it.
fn few_samples_note(samples: u64, ran: Duration, frequency: u64, command: bool) -> String {
    let who = if command {
        "the command ran"
    } else {
        "the process was recorded"
    };
    let ms = ran.as_secs_f64() * 1e3;
    let ran = if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    };
    let hint = format!(
        "one sample per {:.1} ms of CPU at -F {frequency}: run it longer, raise -F, or record \
         several runs (--runs N)",
        1e3 / frequency.max(1) as f64
    );
    if samples == 0 {
        format!("0 samples: {who} for {ran}, ending before the first sample ({hint})")
    } else {
        format!("only {samples} samples: {who} for {ran} ({hint})")
    }
}

/// The kernel's highest sampling frequency (`kernel.perf_event_max_sample_rate`), which it
/// lowers by itself when sampling takes too long.
pub fn max_sample_rate() -> Option<u64> {
    read_trim("/proc/sys/kernel/perf_event_max_sample_rate")?
        .parse()
        .ok()
}

/// A frequency the kernel will refuse is an error before anything runs.
fn check_frequency(frequency: u64) -> Result<(), RecordError> {
    if frequency == 0 {
        return Err(RecordError::Unsupported(
            "-F must be at least 1 Hz".to_string(),
        ));
    }
    match max_sample_rate() {
        Some(max) if frequency > max => Err(RecordError::Unsupported(format!(
            "-F {frequency} Hz is above the kernel's maximum sampling frequency, {max} Hz \
             (/proc/sys/kernel/perf_event_max_sample_rate): use -F {max} or less"
        ))),
        _ => Ok(()),
    }
}

/// A `--pid` that names no running process is an error before anything is opened.
fn check_pid(pid: i32) -> Result<(), RecordError> {
    if pid <= 0 {
        return Err(RecordError::Attach(format!(
            "--pid {pid}: not a process id (must be a positive number)"
        )));
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
    if !alive || !std::path::Path::new(&format!("/proc/{pid}")).exists() {
        return Err(RecordError::Attach(format!("no such process: {pid}")));
    }
    Ok(())
}

/// A process's command line (`/proc/PID/cmdline`, arguments joined by spaces).
pub fn proc_cmdline(pid: i32) -> Option<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = bytes
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    (!args.is_empty()).then(|| args.join(" "))
}

/// Record `target` with `opts`.
pub fn record(target: &Target, opts: &RecordOptions) -> Result<Recording, RecordError> {
    if opts.call_graph == CallGraph::Dwarf && (opts.stack_size % 8 != 0 || opts.stack_size >= 65528)
    {
        return Err(RecordError::Unsupported(format!(
            "stack size {} must be a multiple of 8 below 65528",
            opts.stack_size
        )));
    }
    check_frequency(opts.frequency)?;
    if let Target::Pid { pid, .. } = target {
        check_pid(*pid)?;
    }
    let mut raw = RawRecording {
        event: opts.event.name().to_string(),
        period_is_time: opts.event.is_time(),
        frequency: Some(opts.frequency),
        ..Default::default()
    };
    let mut child = None;
    let who = match target {
        Target::Command(argv) => {
            let c = GatedChild::spawn(argv)?;
            let pid = c.pid;
            child = Some(c);
            Who::Child(pid)
        }
        Target::Pid { pid, .. } => {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
                .map_err(|e| RecordError::Attach(format!("process {pid}: {e}")))?;
            let mut tids: Vec<i32> = tasks
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect();
            tids.sort_unstable();
            let p = raw.process(*pid as u32);
            p.comm = read_trim(&format!("/proc/{pid}/comm")).unwrap_or_default();
            for r in read_proc_maps(*pid)
                .map_err(|e| RecordError::Attach(format!("process {pid}: {e}")))?
            {
                if let Some(h) = &opts.on_mapping {
                    (h.0)(&r);
                }
                p.insert(r);
            }
            for &t in &tids {
                if let Some(c) = read_trim(&format!("/proc/{pid}/task/{t}/comm")) {
                    raw.threads.insert(t as u32, c);
                }
            }
            Who::Threads(tids)
        }
    };
    // On error, dropping `child` (never released) makes it exit without running the command.
    let mut events = Events::open(&who, opts)?;
    if !events.kernel {
        raw.notes.push(if opts.user_only {
            "kernel frames not recorded: --user-only".into()
        } else {
            "kernel frames not recorded: not permitted (user-space stacks only)".into()
        });
    }
    raw.kernel_allowed = events.kernel;
    let mut spool = if opts.call_graph == CallGraph::Dwarf {
        Some(dwarf::DwarfSpool::new().map_err(RecordError::Spool)?)
    } else {
        None
    };
    let sigs = if opts.forward_signals {
        signals::SignalPipe::install().ok()
    } else {
        None
    };
    let start_wall = SystemTime::now();
    let start = Instant::now();
    if let Some(c) = child.as_mut() {
        c.release()?;
    }
    let mut stats = DrainStats::default();
    let mut escalation = stop::Escalation::default();
    let mut exit = None;
    let mut usage = None;
    let mut wall = None;
    let deadline = match target {
        Target::Pid {
            duration: Some(d), ..
        } => Some(start + *d),
        _ => None,
    };
    let mut hung_up = vec![false; events.buffers.len()];
    loop {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        for (i, b) in events.buffers.iter().enumerate() {
            if !hung_up[i] {
                fds.push(libc::pollfd {
                    fd: std::os::unix::io::AsRawFd::as_raw_fd(b),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
        }
        if let Some(s) = &sigs {
            fds.push(libc::pollfd {
                fd: s.fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        unsafe {
            libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 100);
        }
        // Ring fds hang up when their task is gone; stop polling those (still drained).
        let mut k = 0;
        for (i, h) in hung_up.iter_mut().enumerate() {
            if !*h {
                if fds[k].revents & libc::POLLHUP != 0 {
                    let _ = i;
                    *h = true;
                }
                k += 1;
            }
        }
        events.drain(&mut raw, &mut spool, &mut stats)?;
        if let Some(s) = &sigs {
            for sig in s.take() {
                if sig == libc::SIGCHLD {
                    continue;
                }
                if let (Some(c), Some(send)) =
                    (&child, escalation.on_user_signal(sig, Instant::now()))
                {
                    c.signal(send);
                }
            }
        }
        match (&child, target) {
            (Some(c), _) => {
                if let Some((e, u)) = c.try_wait() {
                    wall = Some(start.elapsed());
                    exit = Some(e);
                    usage = Some(u);
                    break;
                }
                if let Some(send) = escalation.due(Instant::now()) {
                    if opts.forward_signals {
                        // The user is waiting for the recording to end: say why it does not.
                        eprintln_safe!(
                            "profdiff: the command is still running: sending {}",
                            if send == libc::SIGKILL {
                                "SIGKILL"
                            } else {
                                "SIGTERM"
                            }
                        );
                    }
                    c.signal(send);
                }
            }
            (None, Target::Pid { pid, .. }) => {
                if escalation.stopping() || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                if unsafe { libc::kill(*pid, 0) } != 0
                    && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
                {
                    break;
                }
            }
            _ => break,
        }
    }
    let duration = wall.unwrap_or_else(|| start.elapsed());
    events.drain(&mut raw, &mut spool, &mut stats)?;
    events.finish(&mut raw);
    drop(events);
    drop(sigs);
    raw.start_time_nanos = start_wall
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    raw.duration_nanos = duration.as_nanos() as i64;
    if let Some(spool) = spool {
        let _t = crate::timing::phase("dwarf unwind");
        spool
            .unwind_into(&mut raw, &opts.search_paths)
            .map_err(RecordError::Spool)?;
    }
    if stats.throttles > 0 {
        raw.notes.push(format!(
            "the kernel throttled sampling {} times (frequency too high for \
             kernel.perf_cpu_time_max_percent)",
            stats.throttles
        ));
    }
    // A command runs to completion (fixed work); an attached process is captured for a
    // window (fixed duration): `compare --normalize auto` reads this.
    let capture = match target {
        Target::Command(_) => "fixed-work",
        Target::Pid { .. } => "fixed-duration",
    };
    let command = match target {
        Target::Command(argv) => argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" "),
        Target::Pid { pid, .. } => proc_cmdline(*pid).unwrap_or_else(|| format!("--pid {pid}")),
    };
    if raw.sample_count() < MIN_USEFUL_SAMPLES {
        raw.notes.push(few_samples_note(
            raw.sample_count(),
            duration,
            opts.frequency,
            child.is_some(),
        ));
    }
    let meta = [
        ("command", command),
        ("event", opts.event.name().to_string()),
        ("frequency", opts.frequency.to_string()),
        (
            "call_graph",
            match opts.call_graph {
                CallGraph::Fp => "fp".to_string(),
                CallGraph::Dwarf => format!("dwarf,{}", opts.stack_size),
            },
        ),
        ("capture", capture.to_string()),
        ("tool", format!("profdiff {}", env!("CARGO_PKG_VERSION"))),
    ];
    raw.metadata
        .extend(meta.into_iter().map(|(k, v)| (k.to_string(), v)));
    raw.metadata.extend(crate::machine::metadata());
    let run = crate::runs::RunInfo {
        wall: duration,
        cpu: usage.map(|u| (u.user, u.sys)),
        exit_status: exit.map(|e| e.shell_code()),
    };
    raw.metadata.extend(run.to_metadata());
    if let Target::Pid { pid, .. } = target {
        raw.metadata.push(("pid".into(), pid.to_string()));
    }
    Ok(Recording {
        raw,
        exit,
        usage,
        wall: duration,
        stats,
        interrupted: escalation.stopping(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_maps_of_self_contain_this_test_binary() {
        let maps = read_proc_maps(std::process::id() as i32).unwrap();
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_string_lossy();
        let here = proc_maps_of_self_contain_this_test_binary as *const () as u64;
        let r = maps
            .iter()
            .find(|r| r.start <= here && here < r.end)
            .expect("no executable mapping holds this function");
        assert_eq!(r.path, exe);
    }

    #[test]
    fn permission_explanation_names_a_fix_and_the_fallback() {
        let msg = explain_permission(&std::io::Error::from_raw_os_error(libc::EACCES));
        assert!(msg.contains("perf_event_open was refused"), "{msg}");
        assert!(msg.contains("profdiff::inprocess"), "{msg}");
    }

    #[test]
    fn own_command_line_is_read_from_proc() {
        let me = proc_cmdline(std::process::id() as i32).unwrap();
        let exe = std::env::args().next().unwrap();
        assert!(me.starts_with(&exe), "{me} vs {exe}");
    }

    #[test]
    fn few_samples_note_says_how_long_it_ran() {
        let n = few_samples_note(0, Duration::from_millis(3), 999, true);
        assert!(
            n.starts_with("0 samples: the command ran for 3.0 ms"),
            "{n}"
        );
        let n = few_samples_note(4, Duration::from_millis(40), 999, false);
        assert!(
            n.starts_with("only 4 samples: the process was recorded for 40 ms"),
            "{n}"
        );
    }

    #[test]
    fn bad_stack_size_is_rejected_before_anything_runs() {
        let opts = RecordOptions {
            stack_size: 100,
            ..Default::default()
        };
        let e = record(&Target::Command(vec!["true".into()]), &opts)
            .err()
            .unwrap();
        assert!(e.to_string().contains("multiple of 8"), "{e}");
    }
}
