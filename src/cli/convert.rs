//! `profdiff convert IN... -o OUT [--to pprof|folded]`: rewrite a profile in another format
//! (several inputs are merged first).

use super::common::{load_merged, pick_value, ReadArgs};
use crate::formats::{folded, pprof};
use crate::output::write_atomic;
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Gzipped profile.proto, readable by `go tool pprof`.
    Pprof,
    /// Folded stacks (`a;b;c 12`).
    Folded,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input profiles (any supported format; several are merged; `-` = stdin).
    #[arg(required = true, value_name = "IN")]
    pub inputs: Vec<String>,
    /// Output file (`-` = stdout).
    #[arg(short, long, value_name = "OUT")]
    pub output: String,
    /// Output format. Default: from OUT's name (`.folded`/`.txt` → folded, otherwise pprof;
    /// folded on stdout).
    #[arg(long, value_enum)]
    pub to: Option<Target>,
    /// Sample type to write as folded stacks (kind or index); default: the profile's default.
    #[arg(long, short = 't', value_name = "TYPE")]
    pub sample_type: Option<String>,
    #[command(flatten)]
    pub read: ReadArgs,
}

fn infer_target(output: &str) -> Target {
    let lower = output.to_ascii_lowercase();
    if output == "-" || lower.ends_with(".folded") || lower.ends_with(".txt") {
        Target::Folded
    } else {
        Target::Pprof
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let target = a.to.unwrap_or_else(|| infer_target(&a.output));
    let profile = load_merged(&a.inputs, &a.read.to_options())?;
    match target {
        Target::Pprof => write_atomic(&a.output, |w| pprof::write_gz(&profile, w))?,
        Target::Folded => {
            let value = pick_value(&profile, a.sample_type.as_deref(), &a.inputs.join(", "))?;
            write_atomic(&a.output, |w| folded::write(&profile, value, w))?
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_from_name() {
        assert_eq!(infer_target("out.pb.gz"), Target::Pprof);
        assert_eq!(infer_target("x.folded"), Target::Folded);
        assert_eq!(infer_target("-"), Target::Folded);
    }
}
