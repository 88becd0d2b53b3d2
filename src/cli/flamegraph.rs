//! `profdiff flamegraph IN... -o out.svg`: render one flamegraph from one or more profiles
//! (merged), or write their folded stacks with `--folded`.

use super::common::{load_merged, pick_value, ReadArgs};
use crate::formats::{folded, ReadOptions};
use crate::output::write_atomic;
use crate::render::flamegraph::{self, FlamegraphOptions};
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
    let t = crate::timing::phase("load");
    // Frames are drawn by name: file:line is never shown, so the line tables are not read.
    let read = ReadOptions {
        line_info: false,
        ..a.read.to_options()
    };
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
