//! `profdiff convert IN... -o OUT [--to pprof|folded]`: rewrite a profile in another format
//! (several inputs are merged first).

use super::common::{load_merged, pick_value, ReadArgs};
use crate::formats::{folded, pprof};
use crate::model::Profile;
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
    #[command(flatten)]
    pub out: ProfileOutput,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Where and how a command writes a whole profile (`convert`, `merge`).
#[derive(clap::Args, Debug)]
pub struct ProfileOutput {
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
}

impl ProfileOutput {
    /// Write `profile` as asked; `inputs` only names the profile in error messages.
    pub fn write(&self, profile: &Profile, inputs: &[String]) -> anyhow::Result<()> {
        let target = self.to.unwrap_or_else(|| infer_target(&self.output));
        write_profile(
            profile,
            &self.output,
            target,
            self.sample_type.as_deref(),
            inputs,
        )
    }
}

/// The output format implied by OUT's name: `.folded`/`.txt` (and stdout) → folded, else pprof.
pub fn infer_target(output: &str) -> Target {
    let lower = output.to_ascii_lowercase();
    if output == "-" || lower.ends_with(".folded") || lower.ends_with(".txt") {
        Target::Folded
    } else {
        Target::Pprof
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let profile = load_merged(&a.inputs, &a.read.to_options())?;
    a.out.write(&profile, &a.inputs)?;
    Ok(ExitCode::SUCCESS)
}

/// Write `profile` to `output` (atomically; `-` = stdout) as pprof or folded stacks.
/// `inputs` only names the profile in error messages.
fn write_profile(
    profile: &Profile,
    output: &str,
    target: Target,
    sample_type: Option<&str>,
    inputs: &[String],
) -> anyhow::Result<()> {
    match target {
        Target::Pprof => write_atomic(output, |w| pprof::write_gz(profile, w))?,
        Target::Folded => {
            let value = pick_value(profile, sample_type, &inputs.join(", "))?;
            write_atomic(output, |w| folded::write(profile, value, w))?
        }
    }
    Ok(())
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
