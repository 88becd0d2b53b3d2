//! The `profdiff` binary: parse arguments, run, map errors to exit code 2.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = profdiff::cli::Cli::parse();
    // Large structures are left for the kernel to reclaim at exit (see `profdiff::exit`),
    // except by `merge`, which reads any number of inputs in bounded memory.
    if !matches!(cli.command, profdiff::cli::Command::Merge(_)) {
        profdiff::exit::keep_until_exit();
    }
    let _t = profdiff::timing::phase("main");
    match profdiff::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("profdiff: error: {e:#}");
            ExitCode::from(profdiff::cli::EXIT_USAGE)
        }
    }
}
