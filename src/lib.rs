//! profdiff: a profiler front-end and flamegraph analysis tool.
//!
//! The pipeline (see `DESIGN.md` of the project):
//!
//! ```text
//!  sources                      model            transforms           sinks
//!  record (perf_event, pprof) ┐                  symbolize            flamegraph (SVG)
//!  formats::* readers         ├──► Profile ────► merge / fold ──────► top, formats::* writers
//!                             ┘  Profile × Profile ─► diff ─────────► tables, diff flamegraph, HTML
//! ```
//!
//! - [`model`]: the one data model, [`model::Profile`].
//! - [`formats`]: readers and writers, detected by content.
//! - [`analysis`]: functions over the model (top, diff, statistics); they never parse or print.
//! - [`render`]: turn computed results into tables, SVG and HTML.
//! - [`record`] and [`symbolize`]: sampling a command with perf_event and turning addresses
//!   into frames.
//! - [`inprocess`]: a Rust program or benchmark profiles itself (pprof-rs timer signals)
//!   where perf_event is unavailable.
//! - [`cli`]: the thin command-line shell over all of it.

/// `eprintln!` for messages (warnings, progress, errors) that does not panic when stderr is a
/// closed pipe (`profdiff compare … 2>&1 | head`): the message is dropped instead.
#[macro_export]
macro_rules! eprintln_safe {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod analysis;
pub mod baseline;
pub mod cli;
pub mod error;
pub mod exit;
pub mod formats;
pub mod hash_index;
pub mod huge_buffer;
pub mod inprocess;
pub mod machine;
pub mod mapped;
pub mod model;
pub mod output;
pub mod record;
pub mod render;
pub mod runs;
pub mod symbolize;
pub mod timing;

pub use error::{Error, ParseError};
pub use model::{Profile, ProfileBuilder};
