//! `profdiff merge IN... -o OUT`: aggregate many profiles (runs, hosts; any input formats) into
//! one, as users do before handing a pprof to a fleet engine (Pyroscope, Parca).
//!
//! Inputs are read and merged in parallel (rayon): each worker folds a contiguous chunk of inputs into
//! its own [`Merger`], dropping every input as soon as it is merged, and the workers' results
//! are combined pairwise (a tree reduction, keeping input order so the first input's metadata
//! wins). Peak memory is about one merged profile per worker plus the inputs in flight: it
//! grows with unique stacks, not with the number or size of the inputs.

use super::common::ReadArgs;
use super::convert::ProfileOutput;
use crate::formats;
use crate::model::ops::Merger;
use anyhow::Context;
use rayon::prelude::*;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input profiles (any supported formats, mixed; `-` = stdin once).
    #[arg(required = true, value_name = "IN")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub out: ProfileOutput,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Read and merge `paths` in parallel. Errors name the offending file.
pub fn merge_paths(
    paths: &[String],
    opts: &formats::ReadOptions,
) -> anyhow::Result<crate::model::Profile> {
    if paths.iter().filter(|p| p.as_str() == "-").count() > 1 {
        anyhow::bail!("standard input (-) can be read only once");
    }
    // Inputs are split adaptively (rayon's work stealing), so a worker slowed down by other
    // load on the machine does not hold the others up; at most four chunks per thread bound
    // the partial results alive at once (memory) and the re-merges of the reduction, which
    // cost about one input each. Any split gives the same result as merging in order.
    let chunk = paths
        .len()
        .div_ceil(4 * rayon::current_num_threads())
        .max(1);
    let merged = paths
        .par_iter()
        .enumerate()
        .with_min_len(chunk)
        .try_fold(Merger::new, |mut m, (i, path)| -> anyhow::Result<Merger> {
            formats::read_path_into(path, opts, &mut m, |p| super::common::warn_quality(path, p))
                .map_err(|e| match e {
                crate::error::Error::Merge(e) => anyhow::anyhow!(
                    "{}: cannot merge it with the other inputs (input {}): {e}",
                    formats::display_path(path),
                    i + 1
                ),
                e => e.into(),
            })?;
            Ok(m)
        })
        .try_reduce(Merger::new, |mut a, b| {
            a.absorb(b).context("cannot merge the inputs")?;
            Ok(a)
        })?;
    merged
        .finish()
        .ok_or_else(|| anyhow::anyhow!("no input profiles given"))
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let opts = a.read.to_options();
    let profile = match a.jobs {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .context("cannot start worker threads")?
            .install(|| merge_paths(&a.inputs, &opts))?,
        None => merge_paths(&a.inputs, &opts)?,
    };
    a.out.write(&profile, &a.inputs)?;
    eprintln!(
        "merged {} profiles: {} samples, {} unique stacks -> {}",
        a.inputs.len(),
        profile.total(profile.default_value_index()),
        profile.samples.len(),
        if a.out.output == "-" {
            "<stdout>"
        } else {
            a.out.output.as_str()
        }
    );
    Ok(ExitCode::SUCCESS)
}
