//! `profdiff baseline save NAME PROFILES...|DIR` and `profdiff baseline list`: keep runs to
//! compare later work against (`compare --baseline NAME NEW...`); see [`crate::baseline`].

use super::common::{self, ReadArgs};
use crate::baseline::{self, Baseline, MachineId};
use crate::model::Profile;
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Baselines are stored in $PROFDIFF_BASELINE_DIR, else .profdiff/baselines/ at the \
git root (else in the current folder), one folder per name holding the profiles and a \
manifest.json.\n\nExamples:\n  profdiff record --runs 5 -o runs/ --save-baseline main -- ./bench\n  \
profdiff baseline save main runs/\n  profdiff baseline list\n  profdiff compare --baseline main new-runs/"
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Save profiles (files, or folders of runs) as baseline NAME, replacing one of that name.
    Save {
        /// Baseline name (letters, digits, '.', '_', '-').
        name: String,
        /// Profiles or folders of runs.
        #[arg(required = true, value_name = "PROFILE|DIR")]
        inputs: Vec<String>,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// List saved baselines.
    List,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    match a.action {
        Action::Save { name, inputs, read } => {
            let files = crate::runs::expand_inputs(&inputs)?;
            if files.iter().any(|f| f == "-") {
                anyhow::bail!("a baseline is saved from files, not standard input");
            }
            // Read every input: only profiles become a baseline, and they say where they
            // were recorded.
            let profiles = common::load_all(&files, &read.to_options())?;
            let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
            let dir = save(&name, &profiles, &files, None)?;
            eprintln_safe!(
                "profdiff: saved baseline {name} ({} run{}) in {}",
                files.len(),
                if files.len() == 1 { "" } else { "s" },
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Action::List => {
            let store = baseline::store();
            let all = baseline::list(&store)?;
            if all.is_empty() {
                eprintln_safe!("profdiff: no baselines in {}", store.display());
                return Ok(ExitCode::SUCCESS);
            }
            print!("{}", list_table(&all));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Save `files` (already read as `profiles`) as baseline `name` in the store.
pub fn save(
    name: &str,
    profiles: &[Profile],
    files: &[PathBuf],
    command: Option<String>,
) -> anyhow::Result<PathBuf> {
    baseline::check_name(name)?;
    let manifest = baseline::manifest_for(name, profiles, command);
    let store = baseline::store();
    baseline::save(&store, manifest, files).with_context(|| format!("cannot save baseline {name}"))
}

/// One line per baseline: name, runs, date, git, host, command.
fn list_table(all: &[Baseline]) -> String {
    let rows: Vec<[String; 6]> = all
        .iter()
        .map(|b| {
            let m = &b.manifest;
            let git = m.git.as_ref().map_or_else(
                || "-".to_string(),
                |g| {
                    let short = &g.commit[..g.commit.len().min(10)];
                    format!(
                        "{short} {}{}",
                        g.branch,
                        if g.dirty { " (dirty)" } else { "" }
                    )
                },
            );
            [
                m.name.clone(),
                m.runs.len().to_string(),
                m.date.clone(),
                git,
                m.host.clone(),
                m.command.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = ["NAME", "RUNS", "DATE", "GIT", "HOST", "COMMAND"];
    let mut width = header.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(width).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&header.map(String::from));
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

/// `compare --baseline NAME NEW...`: the baseline's profiles are OLD, every input is NEW.
pub fn sides_against(
    name: &str,
    inputs: &[String],
    after: &[String],
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let b = baseline::open(&baseline::store(), name)?;
    let new: Vec<String> = inputs.iter().chain(after).cloned().collect();
    if new.is_empty() {
        anyhow::bail!("--baseline {name}: give the NEW profiles (files or folders of runs)");
    }
    let old = b
        .profiles()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    Ok((old, new))
}

/// Warn when OLD and NEW come from different hosts or CPU models: the baseline's manifest (or
/// OLD's metadata) against NEW's metadata (or, for a baseline, this machine when NEW does not
/// say).
pub fn warn_other_machine(baseline: Option<&str>, old: &[Profile], new: &[Profile]) {
    let old_id = match baseline {
        Some(name) => baseline::open(&baseline::store(), name)
            .ok()
            .map(|b| MachineId {
                host: b.manifest.host,
                cpu_model: b.manifest.cpu_model,
            }),
        None => MachineId::of_profiles(old),
    };
    let new_id = match (MachineId::of_profiles(new), baseline) {
        (Some(id), _) => Some(id),
        (None, Some(_)) => Some(MachineId::here()),
        (None, None) => None,
    };
    if let Some(w) = old_id
        .zip(new_id)
        .and_then(|(o, n)| baseline::machine_warning(&o, &n))
    {
        eprintln_safe!("profdiff: warning: {w}");
    }
}
