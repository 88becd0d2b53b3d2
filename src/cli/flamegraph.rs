//! `profdiff flamegraph IN... -o out.svg`: render one flamegraph from one or more profiles
//! (merged), or write their folded stacks with `--folded`.

use super::common::{load_merged, pick_value, warn_quality, ReadArgs};
use crate::formats::{self, folded, ReadOptions};
use crate::model::{LocationId, Profile};
use crate::output::write_atomic;
use crate::render::flamegraph::{self, FlamegraphOptions, StackTree};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input profiles (any supported format; several are merged; `-` = stdin).
    #[arg(required = true, value_name = "IN")]
    pub inputs: Vec<String>,
    /// Output file (`-` = stdout).
    #[arg(short, long, default_value = "-", value_name = "OUT")]
    pub output: String,
    /// Title of the graph.
    #[arg(long)]
    pub title: Option<String>,
    /// Subtitle (default: command, duration and sample count of the profile).
    #[arg(long)]
    pub subtitle: Option<String>,
    /// Draw an icicle graph (roots at the top).
    #[arg(long)]
    pub icicle: bool,
    /// Omit frames narrower than this many pixels.
    #[arg(long, default_value_t = 0.1, value_name = "PIXELS")]
    pub minwidth: f64,
    /// Colour palette (hot, mem, io, red, green, blue, aqua, yellow, purple, orange, wakeup,
    /// java, js, perl, python, rust).
    #[arg(long, default_value = "hot")]
    pub palette: String,
    /// Image width in pixels.
    #[arg(long)]
    pub width: Option<usize>,
    /// Sample type to draw (kind such as `cpu` or `samples`, or an index); default: the
    /// profile's default.
    #[arg(long, short = 't', value_name = "TYPE")]
    pub sample_type: Option<String>,
    /// Write folded stacks instead of an SVG.
    #[arg(long)]
    pub folded: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let opts = FlamegraphOptions {
        title: a.title,
        subtitle: a.subtitle,
        icicle: a.icicle,
        min_width: a.minwidth,
        palette: a.palette,
        width: a.width,
    };
    flamegraph::validate(&opts).map_err(anyhow::Error::msg)?;
    // Frames are drawn by name: file:line is never shown, so the line tables are not read.
    let read = ReadOptions {
        line_info: false,
        ..a.read.to_options()
    };
    if let ([input], false) = (&a.inputs[..], a.folded) {
        if let Some(profile) = differential_folded(input, &read)? {
            return draw_differential(input, &profile, &a.output, &opts);
        }
        return draw_one(input, &read, a.sample_type.as_deref(), &a.output, &opts);
    }
    let t = crate::timing::phase("load");
    let profile = load_merged(&a.inputs, &read)?;
    drop(t);
    let value = pick_value(&profile, a.sample_type.as_deref(), &a.inputs.join(", "))?;
    if a.folded {
        write_atomic(&a.output, |w| folded::write(&profile, value, w))?;
    } else {
        let _t = crate::timing::phase("render + write svg");
        write_atomic(&a.output, |w| {
            flamegraph::write_svg(&profile, value, &opts, w)
        })?;
    }
    crate::exit::drop_later(profile);
    Ok(ExitCode::SUCCESS)
}

/// A two-count folded file (`stack BEFORE AFTER`, inferno's `diff-folded` output), read;
/// `None` for anything else (stdin is never peeked at: it cannot be read twice).
fn differential_folded(input: &str, read: &ReadOptions) -> anyhow::Result<Option<Profile>> {
    if input == "-" {
        return Ok(None);
    }
    let data = formats::load(input, read)?;
    let is_diff = formats::detect(&data) == Some(formats::Format::Folded)
        && std::str::from_utf8(&data).is_ok_and(folded::is_differential);
    if !is_diff {
        return Ok(None);
    }
    Ok(Some(formats::read_path(input, read)?))
}

/// A differential file drawn as inferno-flamegraph draws it: widths from the second count,
/// red where it grew, blue where it shrank.
fn draw_differential(
    input: &str,
    p: &Profile,
    output: &str,
    opts: &FlamegraphOptions,
) -> anyhow::Result<ExitCode> {
    warn_quality(input, p);
    let mut counts: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for (stack, v) in folded::fold(p, 0) {
        counts.entry(stack).or_default().0 = v;
    }
    for (stack, v) in folded::fold(p, 1) {
        counts.entry(stack).or_default().1 = v;
    }
    let lines: Vec<String> = counts
        .iter()
        .map(|(stack, (before, after))| format!("{stack} {before} {after}"))
        .collect();
    write_atomic(output, |w| {
        flamegraph::write_svg_from_folded(
            lines.iter().map(String::as_str),
            opts,
            "samples",
            false,
            w,
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// One input drawn as an SVG: its stacks go into the call tree as they are read, so a
/// perf.data recording's samples are never stored as a profile (see
/// [`formats::read_path_visiting`]).
fn draw_one(
    input: &str,
    read: &ReadOptions,
    which: Option<&str>,
    output: &str,
    opts: &FlamegraphOptions,
) -> anyhow::Result<ExitCode> {
    let t = crate::timing::phase("load");
    let mut tree = StackTree::new();
    // Per sample type, the total of the samples (for the subtitle).
    let mut totals: Vec<i64> = Vec::new();
    // The sample type drawn, picked from the sample types when the first stack arrives.
    let mut value: Option<anyhow::Result<usize>> = None;
    let mut visit = |p: &Profile, stack: &[LocationId], values: &[i64]| {
        let v = value.get_or_insert_with(|| pick_value(p, which, input));
        if totals.len() < values.len() {
            totals.resize(values.len(), 0);
        }
        for (t, x) in totals.iter_mut().zip(values) {
            *t = t.saturating_add(*x);
        }
        if let Ok(v) = v {
            tree.add(p, stack, values.get(*v).copied().unwrap_or(0));
        }
    };
    let profile = formats::read_path_visiting(input, read, Some(&mut visit))?;
    warn_quality(input, &profile);
    drop(t);
    let value = match value {
        Some(v) => v?,
        None => pick_value(&profile, which, input)?,
    };
    let describe = profile.describe_with_totals(|i| totals.get(i).copied().unwrap_or(0));
    let _t = crate::timing::phase("render + write svg");
    write_atomic(output, |w| {
        flamegraph::write_svg_tree(tree, &profile, value, &describe, opts, w)
    })?;
    crate::exit::drop_later(profile);
    Ok(ExitCode::SUCCESS)
}
