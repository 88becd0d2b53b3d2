//! Symbolization: addresses to functions, files and lines, in-process (issue 4, item 3), and
//! the step that turns a [`RawRecording`](crate::record::raw::RawRecording) into a
//! [`Profile`](crate::model::Profile).
//!
//! - [`elf`]: one ELF file mapped and parsed once (build id, PT_LOAD, symbols, DWARF sections).
//! - [`symbolizer`]: finding binaries and debug files, the module cache, parallel lookups.
//! - [`dwarf`]: the DWARF index: address → inline frames, file and line, shared by threads.
//! - [`demangle`]: Rust and C++ names.
//! - [`kallsyms`]: kernel symbols.
//! - [`perfmap`]: JIT symbols from `/tmp/perf-PID.map`.
//! - [`prefetch`]: loading binaries and kernel symbols while a recorded command runs or a
//!   perf.data file is read.
//! - [`section_cache`]: inflated debug sections kept on disk between runs.
//! - [`profile`]: [`build_profile`], used by `record` and perf.data ingest.

pub mod demangle;
pub mod dwarf;
pub mod elf;
pub mod kallsyms;
pub mod perfmap;
pub mod prefetch;
pub mod profile;
pub mod section_cache;
pub mod symbolizer;

pub use kallsyms::Kallsyms;
pub use prefetch::Prefetcher;
pub use profile::{build_profile, build_profile_visiting, build_profile_with, StackVisitor};
pub use symbolizer::{Frame, Module, ModuleKey, Symbolizer, Unavailable};

use std::path::PathBuf;
use std::sync::Arc;

/// Paths that can be symbolized: files and the vdso, not anonymous memory, heap, stack or JIT
/// regions without a map.
pub(crate) fn is_symbolizable(path: &str) -> bool {
    path == "[vdso]" || (path.starts_with('/') && !path.starts_with("//anon"))
}

/// Progress report: (modules done, modules total, module being worked on).
pub type ProgressFn = Arc<dyn Fn(usize, usize, &str) + Send + Sync>;

/// Where and how to symbolize.
#[derive(Clone)]
pub struct SymbolizerOptions {
    /// Extra folders to look for binaries and debug files in (`--symfs`, `--search-path`):
    /// DIR + recorded path, DIR + basename, DIR/.build-id/xx/rest[.debug].
    pub search_paths: Vec<PathBuf>,
    /// A kallsyms file to use for kernel addresses (`/proc/kallsyms` when recording live, the
    /// recorded copy for perf.data). None: kernel frames stay `[kernel.kallsyms]` + address.
    pub kallsyms: Option<PathBuf>,
    /// Put the thread name (comm) as the root frame of every stack, like perf's folded output.
    /// Default: true.
    pub thread_root_frames: bool,
    /// Called as modules finish symbolizing (library code never prints).
    pub progress: Option<ProgressFn>,
    /// Folder holding JIT maps `perf-PID.map` for frames in anonymous memory (default
    /// `/tmp`, where JITs write them; None disables).
    pub perf_map_dir: Option<PathBuf>,
    /// Read DWARF for inline frames and file:line (default). False: function names from the
    /// symbol tables only, as `perf script` prints them — much less work on large binaries.
    pub debug_info: bool,
    /// With `debug_info`: also read file:line from the line tables (default). False: names
    /// and inline frames only; DWARF-named frames carry no file:line.
    pub line_info: bool,
    /// Folder keeping inflated compressed debug sections between runs (default:
    /// [`section_cache::dir`], from the environment); None: inflate every time.
    pub section_cache: Option<PathBuf>,
}

impl Default for SymbolizerOptions {
    fn default() -> Self {
        SymbolizerOptions {
            search_paths: Vec::new(),
            kallsyms: None,
            thread_root_frames: true,
            progress: None,
            perf_map_dir: Some(PathBuf::from("/tmp")),
            debug_info: true,
            line_info: true,
            section_cache: section_cache::dir(),
        }
    }
}

impl SymbolizerOptions {
    /// Options for a recording made on this machine just now: kernel symbols from
    /// `/proc/kallsyms`.
    pub fn live() -> Self {
        SymbolizerOptions {
            kallsyms: Some(PathBuf::from("/proc/kallsyms")),
            ..Default::default()
        }
    }
}

impl std::fmt::Debug for SymbolizerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymbolizerOptions")
            .field("search_paths", &self.search_paths)
            .field("kallsyms", &self.kallsyms)
            .field("thread_root_frames", &self.thread_root_frames)
            .field("progress", &self.progress.is_some())
            .field("perf_map_dir", &self.perf_map_dir)
            .field("debug_info", &self.debug_info)
            .field("line_info", &self.line_info)
            .finish()
    }
}
