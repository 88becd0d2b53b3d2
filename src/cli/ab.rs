//! `profdiff ab [-n N] [--warmup K] [--keep DIR] [compare's options] 'OLD CMD' 'NEW CMD'`:
//! record two commands alternately (A B A B ...), so machine drift (CPU frequency, other load,
//! caches) hits both sides alike, print each side's wall and CPU time with their own test, and
//! then the `compare` report of the profiles, with compare's gates and exit codes. The commands
//! are shell strings, run with `sh -c` unless they are plain words.

use super::compare::{self, Format, ReportArgs};
use super::record::{Recorder, SamplingArgs};
use super::runs::{self, Run};
use crate::record::Target;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(
    mut_arg("limit", |a| a.short(None)),
    // Both commands run to completion: fixed work, so absolute values per run are compared
    // unless asked otherwise (compare's `auto` can take equal durations for fixed-time runs).
    mut_arg("normalize", |a| a.default_value("none")),
    after_help = "Examples:\n  profdiff ab -n 5 './bench-old --size 10' './bench-new --size 10'\n  \
profdiff ab -n 10 --warmup 1 --keep runs/ --fail-on 5% 'git stash; make; ./bench' './bench'\n\n\
The runs are kept with --keep DIR as DIR/old/run-NN.pb.gz and DIR/new/run-NN.pb.gz (compare \
them again with `profdiff compare DIR/old DIR/new`).\n\nExit status: 0 no gate tripped, 1 a \
--fail-on gate tripped, 2 usage or input error, or a command failed."
)]
pub struct Args {
    /// The OLD command (a shell string).
    #[arg(value_name = "OLD CMD")]
    pub old_cmd: String,
    /// The NEW command (a shell string).
    #[arg(value_name = "NEW CMD")]
    pub new_cmd: String,
    /// Recorded runs per side.
    #[arg(short = 'n', long = "runs", default_value_t = 5, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,
    /// Unrecorded warm-up runs per side first (also alternated).
    #[arg(long, default_value_t = 0, value_name = "K")]
    pub warmup: u32,
    /// Keep the profiles in DIR/old and DIR/new (default: a temporary folder, removed).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<String>,
    /// Also save OLD's runs as this baseline (`profdiff baseline`; OLD is the reference side,
    /// as in `compare`).
    #[arg(long, value_name = "NAME")]
    pub save_baseline: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

/// The argv that runs `cmd`: its words, when it is plain words that a shell would only split
/// (no quotes, variables, globs, redirections, operators or assignments) and the first names a
/// program, so that the shell's own start-up is not sampled into every run; `sh -c cmd`
/// otherwise.
fn shell(cmd: &str) -> Vec<OsString> {
    const NEEDS_SHELL: &[char] = &[
        '$', '`', '\\', '"', '\'', ';', '&', '|', '<', '>', '(', ')', '{', '}', '[', ']', '*', '?',
        '~', '#', '=', '!', '\n',
    ];
    let program = cmd.split_whitespace().next();
    if cmd.contains(NEEDS_SHELL) || !program.is_some_and(is_program) {
        return vec!["sh".into(), "-c".into(), cmd.into()];
    }
    cmd.split_whitespace().map(OsString::from).collect()
}

/// A path to an executable file, or a name found as one on `PATH` (not a shell builtin such as
/// `exit` or `cd`, which only a shell can run).
fn is_program(word: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if word.contains('/') {
        return executable(Path::new(word));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| executable(&dir.join(word))))
}

/// The folders the two series go to: `--keep DIR`'s `old` and `new`, or a temporary folder.
fn folders(keep: Option<&str>) -> anyhow::Result<(PathBuf, PathBuf, Option<tempfile::TempDir>)> {
    let (root, tmp) = match keep {
        Some(dir) => {
            let p = Path::new(dir);
            if !p.is_dir() {
                super::paths::prepare_runs_folder(dir, |_| false)?;
            }
            (p.to_path_buf(), None)
        }
        None => {
            let t = tempfile::Builder::new().prefix("profdiff-ab-").tempdir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let side = |name: &str| -> anyhow::Result<PathBuf> {
        let d = root.join(name);
        super::paths::prepare_runs_folder(&d.to_string_lossy(), runs::is_run_file)
    };
    Ok((side("old")?, side("new")?, tmp))
}

/// Record the two commands alternately; a failed or interrupted run ends it with an error.
fn record_alternately(
    a: &Args,
    old_dir: &Path,
    new_dir: &Path,
) -> anyhow::Result<(Vec<Run>, Vec<Run>)> {
    let recorder = Recorder::new(&a.sampling);
    let sides = [
        ("OLD", Target::Command(shell(&a.old_cmd)), old_dir),
        ("NEW", Target::Command(shell(&a.new_cmd)), new_dir),
    ];
    for _ in 0..a.warmup {
        for (label, target, _) in &sides {
            if let Target::Command(argv) = target {
                runs::warm_up(argv, 1, &format!("{label} "))?;
            }
        }
    }
    let (mut old, mut new) = (Vec::new(), Vec::new());
    for i in 1..=a.runs {
        for (label, target, dir) in &sides {
            let run =
                runs::record_run(&recorder, target, &dir.join(runs::run_file_name(i, a.runs)))?;
            eprintln_safe!("profdiff: {label} run {i}/{}: {}", a.runs, run.describe());
            if run.interrupted {
                anyhow::bail!("interrupted during {label} run {i}: no comparison");
            }
            if run.exit_code != 0 {
                anyhow::bail!(
                    "the {label} command failed in run {i} (exit status {}): no comparison",
                    run.exit_code
                );
            }
            if *label == "OLD" {
                old.push(run)
            } else {
                new.push(run)
            }
        }
    }
    Ok((old, new))
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if let Some(name) = &a.save_baseline {
        crate::baseline::check_name(name)?;
    }
    let r = &a.report;
    super::paths::check_output_file(&r.output, "report")?;
    for f in [&r.svg, &r.svg_old, &r.html].into_iter().flatten() {
        super::paths::check_output_file(f, "report")?;
    }
    let (old_dir, new_dir, _tmp) = folders(a.keep.as_deref())?;
    let (old_runs, new_runs) = record_alternately(&a, &old_dir, &new_dir)?;

    let info = |rs: &[Run]| -> Vec<_> { rs.iter().map(|r| r.info).collect() };
    let table = runs::time_table(
        &info(&old_runs),
        &info(&new_runs),
        a.report.alpha,
        a.report.format,
        true,
    )?;
    let preamble = if a.report.format == Format::Json {
        // JSON on stdout stays one document: the times go to stderr.
        let _ = std::io::Write::write_all(&mut std::io::stderr(), &table);
        Vec::new()
    } else {
        table
    };
    let paths = |rs: &[Run]| -> Vec<String> {
        rs.iter()
            .map(|r| r.path.to_string_lossy().into_owned())
            .collect()
    };
    let (old_paths, new_paths) = (paths(&old_runs), paths(&new_runs));
    let (old, new) = super::common::load_sides(&old_paths, &new_paths, &Default::default())?;
    if let Some(name) = &a.save_baseline {
        runs::save_series_baseline(name, &old_runs, &old, a.old_cmd.clone())?;
    }
    compare::report(&old, &new, &old_paths, &new_paths, &a.report, &preamble)
}

#[cfg(test)]
mod tests {
    use super::shell;

    #[test]
    fn plain_words_run_without_a_shell() {
        assert_eq!(shell("sleep  0.5"), ["sleep", "0.5"]);
        assert_eq!(shell("/bin/sleep 1"), ["/bin/sleep", "1"]);
        for cmd in [
            "sleep 1 > out",
            "A=1 sleep 1",
            "sleep $N",
            "sleep '1'",
            "ls *.txt",
            "cd d && ./b",
            "exit 4",
            "./no-such-program 1",
            "  ",
        ] {
            assert_eq!(shell(cmd), ["sh", "-c", cmd], "{cmd}");
        }
    }
}
