//! Symbolization: addresses to functions, files and lines, in-process (see issue 4).
//!
//! Contract used by `record` and perf.data ingest (being implemented):
//! [`build_profile`] turns a [`RawRecording`] into a symbolized [`Profile`].

use crate::model::Profile;
use crate::record::raw::RawRecording;
use std::path::PathBuf;

/// Where and how to symbolize.
#[derive(Clone, Debug, Default)]
pub struct SymbolizerOptions {
    /// Extra folders to look for binaries and debug files in (`--symfs`, `--search-path`).
    pub search_paths: Vec<PathBuf>,
    /// A kallsyms file to use for kernel addresses (default: `/proc/kallsyms` when recording
    /// live, none for perf.data).
    pub kallsyms: Option<PathBuf>,
}

/// Symbolize a recording into a profile (placeholder: being implemented).
pub fn build_profile(_rec: &RawRecording, _opts: &SymbolizerOptions) -> Profile {
    Profile::default()
}
