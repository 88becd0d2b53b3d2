//! Repeated runs of one command, the unit every benchmarking guide asks for: several
//! recordings per side so run-to-run noise can be measured instead of guessed.
//!
//! - [`info`]: a run's wall time, CPU time and exit status, carried in the profile's metadata
//!   (pprof comments, so they survive a pprof round trip).
//! - [`folder`]: a folder of runs as one side of a comparison.
//! - [`timing`]: per-side wall / CPU time summaries and their own significance test, as
//!   hyperfine and benchstat report them.

pub mod folder;
pub mod info;
pub mod timing;

pub use folder::{expand_inputs, profiles_in_folder};
pub use info::RunInfo;
pub use timing::{compare_times, Summary, TimeComparison};
