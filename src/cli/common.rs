//! Helpers shared by subcommands: loading inputs, colour and progress decisions.

use crate::formats::{self, ReadOptions};
use crate::model::{ops, Profile};
use anyhow::Context;
use rayon::prelude::*;
use std::io::IsTerminal;

/// Read several inputs in parallel and merge them into one profile.
pub fn load_merged(paths: &[String], opts: &ReadOptions) -> anyhow::Result<Profile> {
    let mut profiles = load_all(paths, opts)?;
    if profiles.len() == 1 {
        return Ok(profiles.pop().unwrap());
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
    let results: Vec<_> = paths
        .par_iter()
        .map(|p| formats::read_path(p, opts))
        .collect();
    results
        .into_iter()
        .map(|r| r.map_err(anyhow::Error::from))
        .collect()
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
