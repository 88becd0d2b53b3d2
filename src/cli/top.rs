//! `profdiff top`: the hottest functions of one or more profiles (merged), like
//! `go tool pprof -top`, as a terminal table, Markdown or JSON.

use crate::analysis::top::{top, TopOptions};
use crate::cli::common::{load_merged, pick_value, ReadArgs};
use crate::render::top as render;
use anyhow::Context;
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned columns like `go tool pprof -top`.
    Table,
    /// A Markdown table for issues and PR comments.
    Markdown,
    /// Versioned JSON (schema: docs/json-top.md).
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input profiles (any supported format; several are merged; `-` = stdin).
    #[arg(required = true, value_name = "IN")]
    pub inputs: Vec<String>,
    /// Number of functions to show (0 = all).
    #[arg(
        short = 'n',
        long = "nodecount",
        default_value_t = 20,
        value_name = "N"
    )]
    pub n: usize,
    /// Sort by cumulative value instead of flat.
    #[arg(long)]
    pub cum: bool,
    /// Count inlined code as the function it was inlined into (pprof's -noinlines); by
    /// default every inline frame is a function of its own, marked `(inline)`.
    #[arg(long)]
    pub noinlines: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Sample type to rank by, by name (e.g. `cpu`, `samples`) or index; default: the
    /// profile's default sample type (the last one if unset), as pprof does.
    #[arg(long, short = 't', value_name = "NAME")]
    pub sample_type: Option<String>,
    /// Hide functions whose cumulative value is below this fraction of the total (pprof's
    /// -nodefraction).
    #[arg(long, default_value_t = 0.005, value_name = "F")]
    pub node_fraction: f64,
    /// Show each function's source file:line after its name in the table (`go tool pprof
    /// -top` shows the name only, and so does profdiff by default).
    #[arg(long)]
    pub locations: bool,
    /// Write to this file instead of stdout (written atomically).
    #[arg(short, long, default_value = "-", value_name = "FILE")]
    pub output: String,
    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.node_fraction) {
        anyhow::bail!(
            "--node-fraction must be between 0 and 1, got {}",
            args.node_fraction
        );
    }
    let profile = load_merged(&args.inputs, &args.read.to_options())?;
    let sample_index = pick_value(
        &profile,
        args.sample_type.as_deref(),
        &args.inputs.join(", "),
    )?;
    let table = top(
        &profile,
        &TopOptions {
            sample_index,
            node_count: args.n,
            cum_sort: args.cum,
            node_fraction: args.node_fraction,
            no_inlines: args.noinlines,
            ..TopOptions::default()
        },
    );
    crate::output::write_atomic(&args.output, |w| match args.format {
        OutputFormat::Table => render::write_table(&profile, &table, args.locations, w),
        OutputFormat::Markdown => render::write_markdown(&profile, &table, w),
        OutputFormat::Json => render::write_json(&profile, &table, w),
    })
    .context("cannot write the table")?;
    Ok(ExitCode::SUCCESS)
}
