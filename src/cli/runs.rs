//! `profdiff record --runs N [--warmup K] -o DIR -- CMD...`: the command recorded N times, one
//! pprof profile per run in DIR (`run-01.pb.gz`, ...), each carrying its run's wall time, CPU
//! time and exit status ([`crate::runs::RunInfo`]). Warm-up runs are executed unrecorded. The
//! series stops at the first run that fails or is interrupted (its profile is kept). Also the
//! pieces `ab` runs its two series with.

use super::compare::Format;
use super::paths;
use super::record::{exit_code, Args, OutFormat, Recorder};
use crate::model::Profile;
use crate::record::Target;
use crate::render::runs::{self as render, TimeRow};
use crate::runs::{compare_times, RunInfo, Summary};
use anyhow::Context;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The file name of run `i` (1-based) of `n`: `run-01.pb.gz`, zero-padded to sort by name.
pub fn run_file_name(i: u32, n: u32) -> String {
    let width = n.to_string().len().max(2);
    format!("run-{i:0width$}.pb.gz")
}

/// Whether a file name is one a series of runs writes (earlier runs that must not be mixed
/// with new ones).
pub fn is_run_file(name: &str) -> bool {
    name.starts_with("run-") && name.ends_with(".pb.gz")
}

/// Run `argv` `k` times unrecorded, its output passed through; a failing run is an error.
pub fn warm_up(argv: &[OsString], k: u32, label: &str) -> anyhow::Result<()> {
    let Some((program, args)) = argv.split_first() else {
        return Ok(());
    };
    for i in 1..=k {
        let st = std::process::Command::new(program)
            .args(args)
            .status()
            .with_context(|| format!("cannot start {label}warm-up run {i}"))?;
        if !st.success() {
            anyhow::bail!("{label}warm-up run {i} of {k} failed ({st}): nothing recorded");
        }
    }
    Ok(())
}

/// One recorded run, written.
pub struct Run {
    pub path: PathBuf,
    pub info: RunInfo,
    pub samples: u64,
    /// The command's exit status as profdiff's.
    pub exit_code: u8,
    /// The user asked to stop.
    pub interrupted: bool,
}

impl Run {
    /// A run after which a series should not go on.
    pub fn stops_series(&self) -> bool {
        self.exit_code != 0 || self.interrupted
    }

    /// `1.234 s wall, 1.200 s CPU, 1234 samples`.
    pub fn describe(&self) -> String {
        let cpu = self
            .info
            .cpu_total()
            .map_or_else(String::new, |c| format!(", {:.3} s CPU", c.as_secs_f64()));
        format!(
            "{:.3} s wall{cpu}, {} samples",
            self.info.wall.as_secs_f64(),
            self.samples
        )
    }
}

/// Record `target` once into `path` (pprof).
pub fn record_run(recorder: &Recorder, target: &Target, path: &Path) -> anyhow::Result<Run> {
    let (profile, rec, finishing) = recorder.record(target)?;
    let out = path.to_string_lossy();
    super::record::write_outputs(&out, OutFormat::Pprof, None, &profile)?;
    let interrupted_while_writing = finishing.interrupted();
    drop(finishing);
    for n in &rec.raw.notes {
        eprintln_safe!("profdiff: note: {}: {n}", path.display());
    }
    Ok(Run {
        path: path.to_path_buf(),
        info: RunInfo {
            wall: rec.wall,
            cpu: rec.usage.map(|u| (u.user, u.sys)),
            exit_status: rec.exit.map(|e| e.shell_code()),
        },
        samples: rec.raw.sample_count(),
        exit_code: exit_code(&rec),
        interrupted: rec.interrupted || interrupted_while_writing,
    })
}

/// Wall and CPU seconds per run.
pub fn times(runs: &[RunInfo]) -> (Vec<f64>, Vec<f64>) {
    let wall = runs.iter().map(|r| r.wall.as_secs_f64()).collect();
    let cpu = runs
        .iter()
        .filter_map(|r| r.cpu_total())
        .map(|c| c.as_secs_f64())
        .collect();
    (wall, cpu)
}

/// The time table of two sides' runs (wall and CPU time, each side and new against old) in
/// the report's format (terminal text for JSON, which prints it elsewhere).
pub fn time_table(
    old: &[RunInfo],
    new: &[RunInfo],
    alpha: f64,
    format: Format,
    alternated: bool,
) -> std::io::Result<Vec<u8>> {
    let (ow, oc) = times(old);
    let (nw, nc) = times(new);
    let mut rows = Vec::new();
    rows.extend(compare_times(&ow, &nw, alpha).map(|cmp| TimeRow {
        what: "wall time",
        cmp,
    }));
    rows.extend(compare_times(&oc, &nc, alpha).map(|cmp| TimeRow {
        what: "CPU time (user+sys)",
        cmp,
    }));
    let mut out = Vec::new();
    match format {
        Format::Markdown => render::write_markdown(&rows, &mut out)?,
        _ => render::write_terminal(&rows, alternated, &mut out)?,
    }
    Ok(out)
}

/// The time table of loaded profiles, when every one of them carries its run's times and each
/// side has at least two runs (`compare` of folders recorded with `record --runs`); else empty.
pub fn time_table_of_profiles(
    old: &[Profile],
    new: &[Profile],
    alpha: f64,
    format: Format,
) -> std::io::Result<Vec<u8>> {
    let infos =
        |ps: &[Profile]| -> Option<Vec<RunInfo>> { ps.iter().map(RunInfo::of_profile).collect() };
    match (infos(old), infos(new)) {
        (Some(o), Some(n)) if o.len() >= 2 && n.len() >= 2 => {
            time_table(&o, &n, alpha, format, false)
        }
        _ => Ok(Vec::new()),
    }
}

/// The series' wall and CPU time, as hyperfine prints them.
fn print_summary(runs: &[Run]) {
    let infos: Vec<RunInfo> = runs.iter().map(|r| r.info).collect();
    let (wall, cpu) = times(&infos);
    let line = |what: &str, v: &[f64]| {
        if let Some(s) = Summary::of(v) {
            eprintln_safe!(
                "profdiff: {what}: {:.3} s ± {:.3} s (mean ± σ), {:.3} s … {:.3} s (min … max), {} runs",
                s.mean, s.sd, s.min, s.max, s.runs
            );
        }
    };
    line("wall time", &wall);
    line("CPU time (user+sys)", &cpu);
}

pub fn record_runs(a: &Args, n: u32) -> anyhow::Result<ExitCode> {
    let dir = match a.output.as_deref() {
        None | Some("-") => {
            anyhow::bail!("--runs needs -o DIR: the folder for the run profiles")
        }
        Some(d) => d,
    };
    if a.format == Some(OutFormat::Folded) {
        anyhow::bail!(
            "--runs writes pprof profiles (they carry each run's times); drop --format folded"
        );
    }
    let target = Target::Command(a.command.clone());
    if let Some(name) = &a.save_baseline {
        crate::baseline::check_name(name)?;
    }
    let dir = paths::prepare_runs_folder(dir, is_run_file)?;
    let recorder = Recorder::new(&a.sampling);
    warm_up(&a.command, a.warmup, "")?;
    let mut runs = Vec::new();
    for i in 1..=n {
        let run = record_run(&recorder, &target, &dir.join(run_file_name(i, n)))?;
        eprintln_safe!("profdiff: run {i}/{n}: {}", run.describe());
        let stop = run.stops_series();
        runs.push(run);
        if stop && i < n {
            eprintln_safe!(
                "profdiff: stopped after run {i} of {n} ({}); its profile and the earlier ones are in {}",
                if runs[runs.len() - 1].interrupted { "interrupted" } else { "the command failed" },
                dir.display()
            );
            break;
        }
    }
    print_summary(&runs);
    let last = runs.last().map_or(0, |r| r.exit_code);
    eprintln_safe!(
        "profdiff: wrote {} profiles to {}",
        runs.len(),
        dir.display()
    );
    if let Some(name) = &a.save_baseline {
        if last != 0 || runs.len() < n as usize {
            eprintln_safe!(
                "profdiff: warning: baseline {name} not saved: the series did not complete"
            );
        } else {
            let command = a
                .command
                .iter()
                .map(|c| c.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ");
            let files: Vec<String> = runs
                .iter()
                .map(|r| r.path.to_string_lossy().into_owned())
                .collect();
            let profiles = super::common::load_all(&files, &Default::default())?;
            save_series_baseline(name, &runs, &profiles, command)?;
        }
    }
    Ok(ExitCode::from(last))
}

/// Save finished runs as a baseline; `profiles` are the runs read back (the manifest takes its
/// host, CPU and kernel from them).
pub fn save_series_baseline(
    name: &str,
    runs: &[Run],
    profiles: &[Profile],
    command: String,
) -> anyhow::Result<()> {
    let paths: Vec<PathBuf> = runs.iter().map(|r| r.path.clone()).collect();
    let dir = super::baseline::save(name, profiles, &paths, Some(command))?;
    eprintln_safe!("profdiff: saved baseline {name} in {}", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_files_sort_by_name() {
        assert_eq!(run_file_name(3, 5), "run-03.pb.gz");
        assert_eq!(run_file_name(7, 120), "run-007.pb.gz");
        assert!(is_run_file("run-03.pb.gz") && !is_run_file("manifest.json"));
    }
}
