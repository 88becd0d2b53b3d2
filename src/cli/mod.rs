//! The command-line shell: one module per subcommand, each with its clap `Args` and a `run`
//! that calls into the library and returns the process exit code. Errors propagate as anyhow
//! errors; `main` prints them as one line and exits with code 2.

pub mod ab;
pub mod baseline;
pub mod common;
pub mod compare;
pub mod convert;
pub mod flamegraph;
pub mod merge;
pub mod paths;
pub mod record;
pub mod runs;
pub mod top;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit code for usage and input errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code when a compare gate finds a regression.
pub const EXIT_REGRESSION: u8 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "profdiff",
    version,
    about = "Record profiles, read any profile format, and find what got slower and where.",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Record CPU samples of a command or process into a pprof profile.
    Record(record::Args),
    /// Compare profiles: which functions got slower, through which path, how sure.
    Compare(compare::Args),
    /// Render a flamegraph SVG (or folded stacks) from one or more profiles.
    Flamegraph(flamegraph::Args),
    /// Show the hottest functions, like `pprof -top`.
    Top(top::Args),
    /// Convert a profile to pprof or folded stacks.
    Convert(convert::Args),
    /// Merge many profiles into one.
    Merge(merge::Args),
    /// Record OLD and NEW commands alternately (A B A B ...), report their times and compare.
    Ab(ab::Args),
    /// Save, list and compare against baselines (named sets of runs).
    Baseline(baseline::Args),
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Record(a) => record::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Flamegraph(a) => flamegraph::run(a),
        Command::Top(a) => top::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Ab(a) => ab::run(a),
        Command::Baseline(a) => baseline::run(a),
    }
}
