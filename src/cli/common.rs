//! Helpers shared by subcommands: loading inputs, colour and progress decisions.

use crate::formats::{self, ReadOptions};
use crate::model::{ops, roots, Profile};
use anyhow::Context;
use rayon::prelude::*;
use std::io::IsTerminal;

/// Read several inputs in parallel and merge them into one profile.
pub fn load_merged(paths: &[String], opts: &ReadOptions) -> anyhow::Result<Profile> {
    let mut profiles = load_all(paths, opts)?;
    if profiles.len() == 1 {
        return Ok(profiles.pop().unwrap());
    }
    // Several runs: their thread ids differ, so thread roots without ids line them up.
    for p in &mut profiles {
        roots::normalize_thread_roots(p);
    }
    ops::merge(&profiles).context("cannot merge the inputs")
}

/// Read several inputs in parallel, keeping them apart.
pub fn load_all(paths: &[String], opts: &ReadOptions) -> anyhow::Result<Vec<Profile>> {
    if paths.is_empty() {
        anyhow::bail!("no input profiles given");
    }
    if paths.iter().filter(|p| p.as_str() == "-").count() > 1 {
        anyhow::bail!("standard input (-) can be read only once");
    }
    if let [one] = paths {
        // One input: no thread pool to start (a measurable share of a small flamegraph).
        let p = formats::read_path(one, opts)?;
        warn_quality(one, &p);
        return Ok(vec![p]);
    }
    let results: Vec<_> = paths
        .par_iter()
        .map(|p| formats::read_path(p, opts))
        .collect();
    let profiles: Vec<Profile> = results
        .into_iter()
        .map(|r| r.map_err(anyhow::Error::from))
        .collect::<anyhow::Result<_>>()?;
    for (path, p) in paths.iter().zip(&profiles) {
        warn_quality(path, p);
    }
    Ok(profiles)
}

/// Read the OLD and NEW inputs of a comparison together, every file in parallel (both sides
/// of a one-run comparison are decoded at once), keeping the sides and runs apart.
pub fn load_sides(
    old: &[String],
    new: &[String],
    opts: &ReadOptions,
) -> anyhow::Result<(Vec<Profile>, Vec<Profile>)> {
    if old.is_empty() || new.is_empty() {
        anyhow::bail!("no input profiles given");
    }
    let all: Vec<String> = old.iter().chain(new).cloned().collect();
    let mut profiles = load_all(&all, opts)?;
    let new_profiles = profiles.split_off(old.len());
    Ok((profiles, new_profiles))
}

/// Print an input's data-quality notes (binaries not found, build-id mismatches, lost samples,
/// …) as warnings on stderr: the profile is still usable, but the user should know why some
/// frames are `[unknown]`.
pub fn warn_quality(path: &str, p: &Profile) {
    for n in &p.quality.notes {
        let line = format!("{}: {n}", formats::display_path(path));
        eprintln_safe!(
            "profdiff: warning: {}",
            crate::render::terminal::visible(&line)
        );
    }
}

/// Whether to colour stdout: only on a terminal, never with `NO_COLOR` set (non-empty).
pub fn color_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// A spinner on stderr for work that may take over a second; hidden when stderr is not a TTY.
pub fn spinner(msg: impl Into<std::borrow::Cow<'static, str>>) -> indicatif::ProgressBar {
    let pb = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    pb.set_message(msg);
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

/// Input options shared by every command that reads profiles.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Input options")]
pub struct ReadArgs {
    /// Event to read where an input has several (perf script, perf.data); default: the first.
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
    /// Folder holding the recorded binaries / debug files, for perf.data moved off the
    /// recording machine (repeatable).
    #[arg(long = "symfs", visible_alias = "search-path", value_name = "DIR")]
    pub symfs: Vec<std::path::PathBuf>,
    /// perf script input: root frame `comm-PID` (stackcollapse-perf --pid).
    #[arg(long)]
    pub with_pid: bool,
    /// perf script input: root frame `comm-PID/TID` (stackcollapse-perf --tid).
    #[arg(long)]
    pub with_tid: bool,
    /// perf script input: suffix kernel frames with `_[k]` (stackcollapse-perf --kernel).
    #[arg(long)]
    pub annotate_kernel: bool,
    /// perf script input: suffix JIT frames with `_[j]` (stackcollapse-perf --jit).
    #[arg(long)]
    pub annotate_jit: bool,
    /// perf script input: both annotations (stackcollapse-perf --all).
    #[arg(long)]
    pub annotate_all: bool,
    /// perf script input: keep raw addresses of unknown frames (stackcollapse-perf --addrs).
    #[arg(long)]
    pub with_addrs: bool,
    /// perf.data input: function names from the symbol tables only, as `perf script` prints
    /// them: no inline frames, no file:line, and no DWARF to read (much faster on large
    /// binaries with debug info).
    #[arg(long)]
    pub no_inline: bool,
}

impl ReadArgs {
    pub fn to_options(&self) -> ReadOptions {
        let mut o = ReadOptions {
            event: self.event.clone(),
            symfs: self.symfs.clone(),
            debug_info: !self.no_inline,
            ..ReadOptions::default()
        };
        o.perf_script.include_pid = self.with_pid;
        o.perf_script.include_tid = self.with_tid;
        o.perf_script.annotate_kernel = self.annotate_kernel || self.annotate_all;
        o.perf_script.annotate_jit = self.annotate_jit || self.annotate_all;
        o.perf_script.include_addrs = self.with_addrs;
        o
    }
}

/// Pick the sample type to analyse (`--sample-type` by kind or index, else the default).
pub fn pick_value(
    profile: &Profile,
    which: Option<&str>,
    path_hint: &str,
) -> anyhow::Result<usize> {
    profile.value_index(which).ok_or_else(|| {
        let have: Vec<String> = profile
            .sample_types
            .iter()
            .map(|t| format!("{}/{}", t.kind, t.unit))
            .collect();
        match which {
            Some(w) => anyhow::anyhow!(
                "{path_hint}: no sample type {w:?} (the profile has: {})",
                have.join(", ")
            ),
            None => anyhow::anyhow!("{path_hint}: the profile has no sample types"),
        }
    })
}
