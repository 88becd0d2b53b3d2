//! `profdiff record [-F 999] [-o out.pb.gz] [--svg out.svg] [--call-graph fp|dwarf]
//! [--event cpu-clock|task-clock|cycles] [--pid PID [--duration S]] [-- CMD ARGS...]`:
//! sample a command (or a running process) with perf_event, symbolize in-process, and write a
//! pprof profile (and optionally a flamegraph) the moment the command exits. The command's
//! exit status becomes profdiff's. With `--runs N -o DIR` the command is recorded N times,
//! one profile per run (see [`super::runs`]).
//!
//! Every output path is checked before the command starts, so a long recording is never lost
//! to a missing folder at the end.

use super::common::spinner;
use super::paths;
use crate::formats::{folded, pprof};
use crate::model::Profile;
use crate::output::write_atomic;
use crate::record::signals::FinishingGuard;
use crate::record::{self, CallGraph, EventKind, RecordOptions, Recording, Target};
use crate::render::flamegraph::{self, FlamegraphOptions};
use crate::symbolize::{build_profile_with, Prefetcher, Symbolizer, SymbolizerOptions};
use anyhow::Context;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutFormat {
    /// Gzipped pprof profile.proto.
    Pprof,
    /// Folded stacks (`a;b;c 12`), as inferno and FlameGraph read them.
    Folded,
}

/// How to sample: the options `record` and `ab` share.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Sampling options")]
pub struct SamplingArgs {
    /// Sampling frequency in Hz.
    #[arg(short = 'F', long, default_value_t = 999, value_name = "HZ")]
    pub frequency: u64,
    /// How user stacks are unwound: dwarf (correct without frame pointers; default) or fp
    /// (cheaper; needs binaries built with frame pointers).
    #[arg(long, value_enum, default_value = "dwarf", value_name = "MODE")]
    pub call_graph: CallGraph,
    /// Bytes of user stack copied per sample in dwarf mode.
    #[arg(long, default_value_t = record::DEFAULT_STACK_SIZE, value_name = "BYTES")]
    pub stack_size: u32,
    /// Sampling event.
    #[arg(short, long, value_enum, default_value = "cpu-clock")]
    pub event: EventKind,
    /// Record user-space stacks only (no kernel frames).
    #[arg(long)]
    pub user_only: bool,
    /// Extra folders to find binaries and debug files in.
    #[arg(long, value_name = "DIR")]
    pub search_path: Vec<PathBuf>,
    /// Function names from the symbol tables only: no inline frames, no file:line, no DWARF
    /// to read.
    #[arg(long)]
    pub no_inline: bool,
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  profdiff record -o app.pb.gz --svg app.svg -- ./app --bench\n  \
profdiff record --pid 1234 --duration 10 -o server.pb.gz\n  \
profdiff record --runs 5 --warmup 1 -o runs/ -- ./app --bench\n\n\
The command's exit status is profdiff's (128+N when it dies of signal N). Ctrl-C is passed on \
to the command and the profile is still written; a command that does not stop gets SIGTERM \
after 1 s, then SIGKILL after 2 s more; a second Ctrl-C kills it at once."
)]
pub struct Args {
    /// Output profile (`-` = stdout; default profile.pb.gz). With --runs: the folder for the
    /// run profiles.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<String>,
    /// Output format (default: folded for `.folded`/`.txt` names, else pprof).
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,
    /// Also render a flamegraph SVG here.
    #[arg(long, value_name = "SVG", conflicts_with = "runs")]
    pub svg: Option<String>,
    /// Attach to this running process (all its threads) instead of running a command.
    #[arg(short, long, conflicts_with_all = ["command", "runs"])]
    pub pid: Option<i32>,
    /// With --pid: stop after this many seconds (default: until the process exits or Ctrl-C).
    #[arg(long, requires = "pid", value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Record the command N times, one profile per run (run-01.pb.gz, ...) in the folder -o
    /// names; each carries its run's wall time, CPU time and exit status.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: Option<u32>,
    /// With --runs: run the command this many times first, unrecorded (caches, JIT, CPU
    /// frequency settle).
    #[arg(long, value_name = "K", requires = "runs", default_value_t = 0)]
    pub warmup: u32,
    /// With --runs: also save the runs as this baseline (`profdiff baseline`).
    #[arg(long, value_name = "NAME", requires = "runs")]
    pub save_baseline: Option<String>,
    /// The command to run and profile (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

/// Default output of a single recording.
const DEFAULT_OUTPUT: &str = "profile.pb.gz";

fn out_format(format: Option<OutFormat>, output: &str) -> OutFormat {
    format.unwrap_or_else(|| {
        if output.ends_with(".folded") || output.ends_with(".txt") {
            OutFormat::Folded
        } else {
            OutFormat::Pprof
        }
    })
}

fn target_of(a: &Args) -> anyhow::Result<Target> {
    Ok(match (a.pid, a.command.is_empty()) {
        (Some(pid), true) => Target::Pid {
            pid,
            duration: match a.duration {
                Some(d) if d.is_finite() && d > 0.0 => Some(Duration::from_secs_f64(d)),
                Some(d) => anyhow::bail!("--duration must be a positive number of seconds, not {d}"),
                None => None,
            },
        },
        (None, false) => Target::Command(a.command.clone()),
        (None, true) => anyhow::bail!(
            "nothing to record: give a command after `--` (profdiff record -- CMD ARGS) or --pid PID"
        ),
        (Some(_), false) => anyhow::bail!("--pid and a command cannot be used together"),
    })
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let target = target_of(&a)?;
    if let Some(n) = a.runs {
        return super::runs::record_runs(&a, n);
    }
    let output = a.output.clone().unwrap_or_else(|| DEFAULT_OUTPUT.into());
    paths::check_output_file(&output, "profile")?;
    if let Some(svg) = &a.svg {
        paths::check_output_file(svg, "flamegraph")?;
    }
    let recorder = Recorder::new(&a.sampling);
    let (profile, rec, finishing) = recorder.record(&target)?;
    {
        let _t = crate::timing::phase("write outputs");
        write_outputs(
            &output,
            out_format(a.format, &output),
            a.svg.as_deref(),
            &profile,
        )?;
    }
    drop(finishing);
    let mut paths = vec![output];
    paths.extend(a.svg.clone());
    eprintln_safe!(
        "profdiff: {}; wrote {}",
        summary_line(&rec, &profile, a.sampling.user_only),
        paths.join(", ")
    );
    for n in &rec.raw.notes {
        eprintln_safe!("profdiff: note: {n}");
    }
    Ok(ExitCode::from(exit_code(&rec)))
}

/// `N samples, N lost, 1.23 s, 0.1% unknown frames[, user-only]`.
pub fn summary_line(rec: &Recording, profile: &Profile, user_only: bool) -> String {
    format!(
        "{} samples, {} lost, {:.2} s, {:.1}% unknown frames{}",
        rec.raw.sample_count(),
        rec.raw.lost,
        rec.raw.duration_nanos as f64 / 1e9,
        profile.quality.unknown_share() * 100.0,
        match (rec.raw.kernel_allowed, user_only) {
            (true, _) => "",
            (false, true) => ", user-only",
            (false, false) => ", user-only (kernel frames not permitted)",
        },
    )
}

/// The command's exit status as profdiff's (a death by signal is said on stderr).
pub fn exit_code(rec: &Recording) -> u8 {
    let code = match rec.exit {
        Some(e) => {
            if let record::launch::ChildExit::Signal(s) = e {
                eprintln_safe!("profdiff: the command was killed by signal {s}");
            }
            e.shell_code()
        }
        None => 0,
    };
    code.clamp(0, 255) as u8
}

/// Records and symbolizes; one symbolizer serves every run, so binaries are read once.
pub struct Recorder {
    sampling: SamplingArgs,
    sym: SymbolizerOptions,
    symbolizer: Arc<Symbolizer>,
}

impl Recorder {
    pub fn new(s: &SamplingArgs) -> Self {
        let mut sym = SymbolizerOptions::live();
        sym.search_paths = s.search_path.clone();
        sym.debug_info = !s.no_inline;
        Recorder {
            sampling: s.clone(),
            symbolizer: Arc::new(Symbolizer::new(sym.clone())),
            sym,
        }
    }

    /// Record `target` and turn the recording into a profile. Until the returned guard is
    /// dropped (once the profile is written), one Ctrl-C does not kill profdiff and lose the
    /// recording.
    pub fn record(&self, target: &Target) -> anyhow::Result<(Profile, Recording, FinishingGuard)> {
        let s = &self.sampling;
        // Binaries and kernel symbols are loaded while the command runs (at low priority,
        // see symbolize::prefetch), so little is left to do once it exits.
        let prefetch = Prefetcher::start(
            self.symbolizer.clone(),
            !s.user_only && record::kernel_frames_likely(),
        );
        let pf = prefetch.clone();
        let opts = RecordOptions {
            on_mapping: Some(record::MappingHook(Arc::new(move |r| {
                pf.want(&r.path, r.build_id.as_deref())
            }))),
            frequency: s.frequency,
            event: s.event,
            call_graph: s.call_graph,
            stack_size: s.stack_size,
            user_only: s.user_only,
            forward_signals: true,
            search_paths: s.search_path.clone(),
        };
        let rec = record::record(target, &opts);
        prefetch.finish();
        let rec = rec?;
        let guard = FinishingGuard::install();
        let _t = crate::timing::phase("post-exit total");
        let pb = spinner("symbolizing");
        let pb2 = pb.clone();
        let mut sym = self.sym.clone();
        if !rec.raw.kernel_allowed {
            // No kernel frames recorded: do not pay for reading /proc/kallsyms.
            sym.kallsyms = None;
        }
        sym.progress = Some(Arc::new(move |done, total, module: &str| {
            pb2.set_message(format!("symbolizing {done}/{total} {module}"));
        }));
        let mut profile = build_profile_with(&self.symbolizer, &rec.raw, &sym);
        pb.finish_and_clear();
        for n in &rec.raw.notes {
            if !profile.quality.notes.contains(n) {
                profile.quality.notes.push(n.clone());
            }
        }
        Ok((profile, rec, guard))
    }
}

/// Write the profile (in `format`) and, if asked, its flamegraph.
pub fn write_outputs(
    output: &str,
    format: OutFormat,
    svg: Option<&str>,
    profile: &Profile,
) -> anyhow::Result<()> {
    let value = profile
        .value_index(Some("cpu"))
        .or_else(|| profile.value_index(None))
        .unwrap_or(0);
    match format {
        OutFormat::Pprof => write_atomic(output, |w| pprof::write_gz(profile, w)),
        OutFormat::Folded => write_atomic(output, |w| folded::write(profile, value, w)),
    }
    .with_context(|| format!("cannot write the profile to {output}"))?;
    if let Some(svg) = svg {
        if profile.samples.is_empty() {
            eprintln_safe!("profdiff: warning: no samples, so no flamegraph written to {svg}");
        } else {
            write_atomic(svg, |w| {
                flamegraph::write_svg(profile, value, &FlamegraphOptions::default(), w)
            })
            .with_context(|| format!("cannot write the flamegraph to {svg}"))?;
        }
    }
    Ok(())
}
