//! `profdiff merge IN... -o OUT`: aggregate many profiles (runs, hosts; any input formats) into
//! one, as users do before handing a pprof to a fleet engine (Pyroscope, Parca).
//!
//! Inputs are read and merged in parallel (rayon): each worker thread takes the next input
//! from a shared counter and adds it to its own [`Merger`] (folded text straight into it,
//! other formats as a profile that is dropped right after), and [`Merger::combine`] joins the
//! workers' results into exactly what merging the inputs one by one in order gives (the
//! first input's metadata wins). Peak memory is about one merged profile per worker plus
//! one input in flight per worker: it grows with unique stacks, not with the number or size
//! of the inputs.

use super::common::ReadArgs;
use super::convert::ProfileOutput;
use crate::formats;
use crate::model::ops::Merger;
use anyhow::Context;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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
    // One merger per worker thread; each worker takes the next input from a shared counter,
    // so a worker slowed down (by other load on the machine, by a big input) never holds the
    // others up, and there are only as many partial results to combine as threads.
    // `Merger::combine` orders the result as one merger adding the inputs in order would.
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Result<Merger, (usize, anyhow::Error)>> = rayon::broadcast(|_| {
        let mut m = Merger::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= paths.len() || failed.load(Ordering::Relaxed) {
                return Ok(m);
            }
            let path = &paths[i];
            m.skip_to(i);
            if let Err(e) = formats::read_path_into(path, opts, &mut m, |p| {
                super::common::warn_quality(path, p)
            }) {
                failed.store(true, Ordering::Relaxed);
                let e = match e {
                    crate::error::Error::Merge(e) => anyhow::anyhow!(
                        "{}: cannot merge it with the other inputs (input {}): {e}",
                        formats::display_path(path),
                        i + 1
                    ),
                    e => e.into(),
                };
                return Err((i, e));
            }
        }
    });
    let mut mergers = Vec::with_capacity(results.len());
    let mut first_error: Option<(usize, anyhow::Error)> = None;
    for r in results {
        match r {
            Ok(m) => mergers.push(m),
            Err((i, e)) => {
                if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_error = Some((i, e));
                }
            }
        }
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    let mut merged = Merger::combine(mergers)
        .context("cannot merge the inputs")?
        .ok_or_else(|| anyhow::anyhow!("no input profiles given"))?;
    // Several runs: their thread ids differ, so thread roots without ids line them up (and
    // stacks that became equal are summed).
    if paths.len() > 1 && crate::model::roots::normalize_thread_roots(&mut merged) {
        merged = crate::model::ops::merge(std::slice::from_ref(&merged))
            .context("cannot merge the inputs")?;
    }
    Ok(merged)
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
    eprintln_safe!(
        "merged {} profiles: {}, {} unique stacks -> {}",
        a.inputs.len(),
        describe_total(&profile),
        profile.samples.len(),
        if a.out.output == "-" {
            "<stdout>"
        } else {
            a.out.output.as_str()
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// The merged total in its own unit (`4.747 s cpu`, `1234 samples`, `10485760 bytes
/// alloc_space`), with the sample count when the profile has one besides.
fn describe_total(p: &crate::model::Profile) -> String {
    let Some(t) = p.sample_types.get(p.default_value_index()) else {
        return "no sample types".into();
    };
    let total = p.total(p.default_value_index());
    let main = match crate::model::unit_nanos(&t.unit) {
        Some(ns) => format!("{:.3} s {}", total as f64 * ns / 1e9, t.kind),
        None if t.unit == "count" => format!("{total} {}", t.kind),
        None => format!("{total} {} {}", t.unit, t.kind),
    };
    let samples = p
        .sample_types
        .iter()
        .position(|s| s.kind == "samples" && s.unit == "count")
        .filter(|&i| i != p.default_value_index());
    match samples {
        Some(i) => format!("{main} in {} samples", p.total(i)),
        None => main,
    }
}
