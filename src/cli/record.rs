//! Placeholder: being implemented.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input profiles.
    pub inputs: Vec<String>,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not implemented yet")
}
