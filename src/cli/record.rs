//! `profdiff record [-F 999] [-o out.pb.gz] [--svg out.svg] [--call-graph fp|dwarf]
//! [--event cpu-clock|task-clock|cycles] [--pid PID [--duration S]] [-- CMD ARGS...]`:
//! sample a command (or a running process) with perf_event, symbolize in-process, and write a
//! pprof profile (and optionally a flamegraph) the moment the command exits. The command's
//! exit status becomes profdiff's.

use super::common::spinner;
use crate::formats::{folded, pprof};
use crate::model::Profile;
use crate::output::write_atomic;
use crate::record::{self, CallGraph, EventKind, RecordOptions, Target};
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

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  profdiff record -o app.pb.gz --svg app.svg -- ./app --bench\n  \
profdiff record --pid 1234 --duration 10 -o server.pb.gz\n\n\
The command's exit status is profdiff's (128+N when it dies of signal N). Ctrl-C is forwarded \
to the command; the profile is still written."
)]
pub struct Args {
    /// Sampling frequency in Hz.
    #[arg(short = 'F', long, default_value_t = 999, value_name = "HZ")]
    pub frequency: u64,
    /// Output profile (`-` = stdout).
    #[arg(short, long, default_value = "profile.pb.gz", value_name = "OUT")]
    pub output: String,
    /// Output format (default: folded for `.folded`/`.txt` names, else pprof).
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,
    /// Also render a flamegraph SVG here.
    #[arg(long, value_name = "SVG")]
    pub svg: Option<String>,
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
    /// Attach to this running process (all its threads) instead of running a command.
    #[arg(short, long, conflicts_with = "command")]
    pub pid: Option<i32>,
    /// With --pid: stop after this many seconds (default: until the process exits or Ctrl-C).
    #[arg(long, requires = "pid", value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Extra folders to find binaries and debug files in.
    #[arg(long, value_name = "DIR")]
    pub search_path: Vec<PathBuf>,
    /// Function names from the symbol tables only: no inline frames, no file:line, no DWARF
    /// to read.
    #[arg(long)]
    pub no_inline: bool,
    /// The command to run and profile (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

fn out_format(a: &Args) -> OutFormat {
    a.format.unwrap_or_else(|| {
        if a.output.ends_with(".folded") || a.output.ends_with(".txt") {
            OutFormat::Folded
        } else {
            OutFormat::Pprof
        }
    })
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.frequency == 0 {
        anyhow::bail!("--frequency must be at least 1 Hz");
    }
    let target = match (a.pid, a.command.is_empty()) {
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
    };
    // Binaries and kernel symbols are loaded while the command runs (at low priority, see
    // symbolize::prefetch), so little is left to do once it exits.
    let mut sym = SymbolizerOptions::live();
    sym.search_paths = a.search_path.clone();
    sym.debug_info = !a.no_inline;
    let symbolizer = Arc::new(Symbolizer::new(sym.clone()));
    let prefetch = Prefetcher::start(
        symbolizer.clone(),
        !a.user_only && record::kernel_frames_likely(),
    );
    let pf = prefetch.clone();
    let opts = RecordOptions {
        on_mapping: Some(record::MappingHook(Arc::new(move |r| {
            pf.want(&r.path, r.build_id.as_deref())
        }))),
        frequency: a.frequency,
        event: a.event,
        call_graph: a.call_graph,
        stack_size: a.stack_size,
        user_only: a.user_only,
        forward_signals: true,
        search_paths: a.search_path.clone(),
    };
    let rec = record::record(&target, &opts);
    prefetch.finish();
    let rec = rec?;
    let t_post = crate::timing::phase("post-exit total");

    let pb = spinner("symbolizing");
    let pb2 = pb.clone();
    if !rec.raw.kernel_allowed {
        // No kernel frames recorded: do not pay for reading /proc/kallsyms.
        sym.kallsyms = None;
    }
    sym.progress = Some(Arc::new(move |done, total, module: &str| {
        pb2.set_message(format!("symbolizing {done}/{total} {module}"));
    }));
    let mut profile = build_profile_with(&symbolizer, &rec.raw, &sym);
    pb.finish_and_clear();
    for n in &rec.raw.notes {
        if !profile.quality.notes.contains(n) {
            profile.quality.notes.push(n.clone());
        }
    }
    {
        let _t = crate::timing::phase("write outputs");
        write_outputs(&a, &profile)?;
    }
    drop(t_post);

    let mut paths = vec![a.output.clone()];
    paths.extend(a.svg.clone());
    let samples = rec.raw.sample_count();
    eprintln!(
        "profdiff: {} samples, {} lost, {:.2} s, {:.1}% unknown frames{}; wrote {}",
        samples,
        rec.raw.lost,
        rec.raw.duration_nanos as f64 / 1e9,
        profile.quality.unknown_share() * 100.0,
        match (rec.raw.kernel_allowed, a.user_only) {
            (true, _) => "",
            (false, true) => ", user-only",
            (false, false) => ", user-only (kernel frames not permitted)",
        },
        paths.join(", ")
    );
    for n in &rec.raw.notes {
        eprintln!("profdiff: note: {n}");
    }
    let code = match rec.exit {
        Some(e) => {
            if let record::launch::ChildExit::Signal(s) = e {
                eprintln!("profdiff: the command was killed by signal {s}");
            }
            e.shell_code()
        }
        None => 0,
    };
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

fn write_outputs(a: &Args, profile: &Profile) -> anyhow::Result<()> {
    let value = profile
        .value_index(Some("cpu"))
        .or_else(|| profile.value_index(None))
        .unwrap_or(0);
    match out_format(a) {
        OutFormat::Pprof => write_atomic(&a.output, |w| pprof::write_gz(profile, w)),
        OutFormat::Folded => write_atomic(&a.output, |w| folded::write(profile, value, w)),
    }
    .with_context(|| format!("cannot write the profile to {}", a.output))?;
    if let Some(svg) = &a.svg {
        if profile.samples.is_empty() {
            eprintln!("profdiff: warning: no samples, so no flamegraph written to {svg}");
        } else {
            write_atomic(svg, |w| {
                flamegraph::write_svg(profile, value, &FlamegraphOptions::default(), w)
            })
            .with_context(|| format!("cannot write the flamegraph to {svg}"))?;
        }
    }
    Ok(())
}
