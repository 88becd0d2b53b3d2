//! `profdiff compare`: which functions made it slower, through which call path, how sure, and
//! an exit code for CI.
//!
//! Syntax (each side one or more profiles, any formats, mixed):
//! - `profdiff compare OLD NEW` — one profile per side;
//! - `profdiff compare OLD1 OLD2 ... -- NEW1 NEW2 ...` — several runs per side (options go
//!   before `--`: everything after it is a NEW profile);
//! - `profdiff compare --old A B C --new D E F` — the same, spelled out;
//! - a side may be a folder (`compare runs-old/ runs-new/`): every profile in it is one run;
//! - `profdiff compare --baseline NAME NEW...` — OLD is a saved baseline (`profdiff baseline`).
//!
//! [`report`] is the comparison and its outputs from loaded profiles; `ab` uses it too.

use super::common::{self, ReadArgs};
use crate::analysis::diff::{self, DiffOptions, Inlines, MatchBy, NoiseFloor, Normalize};
use crate::analysis::gate::{self, Gate};
use crate::output::write_atomic;
use crate::render::compare::{html, json, svg, text};
use crate::render::flamegraph::FlamegraphOptions;
use anyhow::Context;
use std::process::ExitCode;

/// Output format of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables for a terminal (colour only on a TTY, NO_COLOR respected).
    Terminal,
    /// Markdown ready to paste into a PR comment.
    Markdown,
    /// Versioned JSON (docs/json-compare.md).
    Json,
}

/// `--normalize`: the CLI spelling of [`Normalize`] (the analysis layer does not know clap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NormalizeArg {
    None,
    Total,
    Auto,
}

impl From<NormalizeArg> for Normalize {
    fn from(a: NormalizeArg) -> Normalize {
        match a {
            NormalizeArg::None => Normalize::None,
            NormalizeArg::Total => Normalize::Total,
            NormalizeArg::Auto => Normalize::Auto,
        }
    }
}

/// `--match`: the CLI spelling of [`MatchBy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MatchArg {
    Name,
    NameFile,
}

impl From<MatchArg> for MatchBy {
    fn from(a: MatchArg) -> MatchBy {
        match a {
            MatchArg::Name => MatchBy::Name,
            MatchArg::NameFile => MatchBy::NameFile,
        }
    }
}

/// `--inlines`: the CLI spelling of [`Inlines`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InlinesArg {
    /// Inlined code counts as the function it was inlined into (the one you can edit); the
    /// inlined callees show as detail.
    Fold,
    /// Every inline frame is a function of its own, as pprof shows them.
    Keep,
}

impl From<InlinesArg> for Inlines {
    fn from(a: InlinesArg) -> Inlines {
        match a {
            InlinesArg::Fold => Inlines::Fold,
            InlinesArg::Keep => Inlines::Keep,
        }
    }
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  profdiff compare old.pb.gz new.pb.gz\n  profdiff compare old-1.pb.gz old-2.pb.gz -- new-1.pb.gz new-2.pb.gz\n  profdiff compare --old a b c --new d e f --fail-on 5% --html report.html\n\nExit status: 0 no gate tripped, 1 a --fail-on gate tripped (significant regression), 2 usage or input error."
)]
pub struct Args {
    /// OLD and NEW profiles: `OLD NEW`, or `OLD... -- NEW...`; a folder stands for every
    /// profile in it (one run each).
    #[arg(value_name = "OLD")]
    pub inputs: Vec<String>,
    /// NEW profiles, after `--` (options go before `--`).
    #[arg(last = true, value_name = "NEW")]
    pub after: Vec<String>,
    /// OLD (baseline) profiles.
    #[arg(long, num_args = 1.., value_name = "FILE", conflicts_with_all = ["inputs", "after"])]
    pub old: Vec<String>,
    /// NEW profiles.
    #[arg(long, num_args = 1.., value_name = "FILE", requires = "old")]
    pub new: Vec<String>,
    /// Compare against this saved baseline (`profdiff baseline save`): every input is NEW.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["old", "new"])]
    pub baseline: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// How to compare and what to report: the options `compare` and `ab` share.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// none: absolute values per run (fixed-work benchmarks); total: shares of each run's
    /// total (fixed-duration captures); auto: total when both sides know their capture
    /// durations and these agree within 10% per run, else none. The report says which.
    #[arg(long, value_enum, default_value = "auto")]
    pub normalize: NormalizeArg,
    /// Function identity across builds: normalized name, or name + source file.
    #[arg(long = "match", value_enum, default_value = "name")]
    pub match_by: MatchArg,
    /// Inline frames (std iterators, `wrapping_add`, … compiled into their caller): fold them
    /// into the function they were inlined into, or keep each as a function (pprof's view).
    #[arg(long, value_enum, default_value = "fold")]
    pub inlines: InlinesArg,
    /// Sample type to compare (kind like `cpu`/`samples`, or index); default: the profile's.
    #[arg(long, value_name = "TYPE")]
    pub sample_type: Option<String>,
    /// Report format on stdout (or --output).
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: String,
    /// Rows per table.
    #[arg(short = 'n', long, default_value_t = 15)]
    pub limit: usize,
    /// Differential flamegraph (widths from NEW); the reverse view (widths from OLD) goes to
    /// `<name>.old.svg` unless --svg-old is given.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<String>,
    /// Reverse differential flamegraph (widths from OLD, vanished stacks visible).
    #[arg(long, value_name = "FILE")]
    pub svg_old: Option<String>,
    /// Self-contained HTML report (verdict, tables, both flamegraphs, data quality).
    #[arg(long, value_name = "FILE")]
    pub html: Option<String>,
    /// Print two-column differential folded stacks (`stack old new`, inferno diff-folded
    /// compatible) instead of the report. With --normalize total, OLD is scaled to NEW's total.
    #[arg(long)]
    pub folded: bool,
    /// With --folded: replace hex digits after `0x` by `...` (diff-folded -s).
    #[arg(long, requires = "folded")]
    pub strip_hex: bool,
    /// Exit 1 when the total per run grew by more than this and significantly. `5%` or the
    /// fraction `0.05`; a bare `5` is refused as ambiguous.
    #[arg(long, value_name = "PCT", value_parser = gate::parse_percent)]
    pub fail_on: Option<f64>,
    /// Exit 1 when one function grew by more than this share of the total (`2%` or `0.02`)
    /// and significantly (after the false-discovery-rate adjustment).
    #[arg(long, value_name = "PCT", value_parser = gate::parse_percent)]
    pub fail_on_function: Option<f64>,
    /// Run-to-run noise of one function's self value assumed where the runs cannot measure it
    /// (fewer than 4 runs per side): relative standard deviation between identical runs
    /// [default: 10% for CPU-time profiles, 25% for wall-clock samplers such as py-spy and V8,
    /// 2% for simulator instruction counts such as callgrind's].
    #[arg(long, value_name = "PCT", value_parser = gate::parse_percent)]
    pub noise_floor: Option<f64>,
    /// The same for the total [default: 15% for CPU-time profiles, 50% for wall-clock samplers
    /// such as py-spy and V8, 2% for instruction counts].
    #[arg(long, value_name = "PCT", value_parser = gate::parse_percent)]
    pub noise_floor_total: Option<f64>,
    /// Significance level.
    #[arg(long, default_value_t = 0.05, value_parser = parse_alpha)]
    pub alpha: f64,
    /// Seed of the bootstrap (reports are deterministic for a seed).
    #[arg(long, default_value_t = 0x5EED)]
    pub seed: u64,
}

/// `floor` with the floors given on the command line.
fn floor_with(floor: NoiseFloor, args: &ReportArgs) -> NoiseFloor {
    NoiseFloor {
        function_rel: args.noise_floor.unwrap_or(floor.function_rel),
        total_rel: args.noise_floor_total.unwrap_or(floor.total_rel),
        ..floor
    }
}

fn parse_alpha(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("not a number: {s:?}"))?;
    if v > 0.0 && v < 0.5 {
        Ok(v)
    } else {
        Err(format!("alpha must be in (0, 0.5), got {s}"))
    }
}

fn sides(a: &Args) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let (old, new) = given_sides(a)?;
    let expand = |side: &[String]| crate::runs::expand_inputs(side).map_err(anyhow::Error::from);
    Ok((expand(&old)?, expand(&new)?))
}

fn given_sides(a: &Args) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    if let Some(name) = &a.baseline {
        return super::baseline::sides_against(name, &a.inputs, &a.after);
    }
    if !a.old.is_empty() || !a.new.is_empty() {
        if a.old.is_empty() || a.new.is_empty() {
            anyhow::bail!("--old and --new must both be given");
        }
        return Ok((a.old.clone(), a.new.clone()));
    }
    if !a.after.is_empty() {
        // Everything after `--` is a NEW profile; an option there would be read as a file.
        if let Some(opt) = a
            .after
            .iter()
            .find(|p| p.starts_with('-') && p.len() > 1 && !std::path::Path::new(p).exists())
        {
            anyhow::bail!(
                "`{opt}` comes after `--`, where only NEW profiles go: put options before `--` (compare [OPTIONS] OLD... -- NEW...)"
            );
        }
        if a.inputs.is_empty() {
            anyhow::bail!("no OLD profiles before `--`");
        }
        return Ok((a.inputs.clone(), a.after.clone()));
    }
    match a.inputs.len() {
        2 => Ok((vec![a.inputs[0].clone()], vec![a.inputs[1].clone()])),
        0 => anyhow::bail!("no profiles given: use `compare OLD NEW` or `compare OLD... -- NEW...`"),
        n => anyhow::bail!(
            "{n} profiles given without `--`: use `compare OLD NEW`, `compare OLD... -- NEW...` or `--old ... --new ...`"
        ),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (old_paths, new_paths) = sides(&args)?;
    if old_paths
        .iter()
        .chain(&new_paths)
        .filter(|p| *p == "-")
        .count()
        > 1
    {
        anyhow::bail!("standard input (-) can be read only once");
    }
    let opts = args.read.to_options();
    let sp = common::spinner("reading profiles");
    let (old, new) = common::load_sides(&old_paths, &new_paths, &opts)?;
    sp.finish_and_clear();
    super::baseline::warn_other_machine(args.baseline.as_deref(), &old, &new);
    // Runs recorded by `record --runs` carry their times: shown before the report, as `ab` does.
    let r = &args.report;
    let times = super::runs::time_table_of_profiles(&old, &new, r.alpha, r.format)?;
    if r.format == Format::Json && !times.is_empty() {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), &times);
    }
    let result = report(&old, &new, &old_paths, &new_paths, r, &times);
    crate::exit::drop_later((old, new));
    result
}

/// Compare loaded profiles and write the report, flamegraphs and HTML `args` ask for;
/// `preamble` goes before a terminal or Markdown report (e.g. `ab`'s timing table). Returns
/// compare's exit code.
pub fn report(
    old: &[crate::model::Profile],
    new: &[crate::model::Profile],
    old_paths: &[String],
    new_paths: &[String],
    args: &ReportArgs,
    preamble: &[u8],
) -> anyhow::Result<ExitCode> {
    if args.folded {
        fn pick<'p>(
            ps: &'p [crate::model::Profile],
            paths: &[String],
            st: Option<&str>,
        ) -> anyhow::Result<Vec<(&'p crate::model::Profile, usize)>> {
            ps.iter()
                .zip(paths)
                .map(|(p, path)| common::pick_value(p, st, path).map(|v| (p, v)))
                .collect()
        }
        let o = pick(old, old_paths, args.sample_type.as_deref())?;
        let n = pick(new, new_paths, args.sample_type.as_deref())?;
        let lines = diff::diff_folded(
            &o,
            &n,
            args.normalize == NormalizeArg::Total,
            args.strip_hex,
        );
        write_atomic(&args.output, |w| {
            for (s, a, b) in &lines {
                writeln!(w, "{s} {a} {b}")?;
            }
            Ok(())
        })?;
        return Ok(ExitCode::SUCCESS);
    }

    let dopts = DiffOptions {
        normalize: args.normalize.into(),
        match_by: args.match_by.into(),
        inlines: args.inlines.into(),
        sample_type: args.sample_type.clone(),
        alpha: args.alpha,
        seed: args.seed,
        noise: floor_with(NoiseFloor::default(), args),
        wall_noise: floor_with(NoiseFloor::wall_clock(), args),
        count_noise: floor_with(NoiseFloor::instruction_counts(), args),
        target_total_change: args
            .fail_on
            .unwrap_or(DiffOptions::default().target_total_change),
        ..DiffOptions::default()
    };
    let d = diff::diff(old, new, &dopts).context("cannot compare")?;
    let g = Gate {
        fail_on: args.fail_on,
        fail_on_function: args.fail_on_function,
    };
    let verdict = gate::evaluate(&d, &g);

    let fg = FlamegraphOptions::default();
    let render = |reverse: bool| -> anyhow::Result<Vec<u8>> {
        let mut v = Vec::new();
        svg::write_diff_svg(&d, reverse, &fg, &mut v)?;
        Ok(v)
    };
    if let Some(path) = &args.svg {
        let fwd = render(false)?;
        write_atomic(path, |w| w.write_all(&fwd))?;
        let rev_path = args
            .svg_old
            .clone()
            .unwrap_or_else(|| match path.strip_suffix(".svg") {
                Some(stem) => format!("{stem}.old.svg"),
                None => format!("{path}.old.svg"),
            });
        if rev_path != "-" || path != "-" {
            let rev = render(true)?;
            write_atomic(&rev_path, |w| w.write_all(&rev))?;
        }
    } else if let Some(path) = &args.svg_old {
        let rev = render(true)?;
        write_atomic(path, |w| w.write_all(&rev))?;
    }
    if let Some(path) = &args.html {
        let fwd = render(false)?;
        let rev = render(true)?;
        write_atomic(path, |w| {
            html::write_html(&d, &verdict, args.limit, &fwd, &rev, w)
        })?;
    }
    let color = args.output == "-" && common::color_stdout();
    write_atomic(&args.output, |w| {
        if args.format != Format::Json {
            w.write_all(preamble)?;
        }
        match args.format {
            Format::Terminal => text::write_terminal(&d, &verdict, args.limit, color, w),
            Format::Markdown => text::write_markdown(&d, &verdict, args.limit, w),
            Format::Json => json::write_json(&d, &verdict, w),
        }
    })?;
    if verdict.gate_tripped {
        eprintln_safe!("profdiff: {}", verdict.message);
        return Ok(ExitCode::from(super::EXIT_REGRESSION));
    }
    Ok(ExitCode::SUCCESS)
}
