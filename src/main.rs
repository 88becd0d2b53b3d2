//! The `profdiff` binary: parse arguments, run, map errors to exit code 2.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    grow_heaps_in_large_steps();
    profdiff::mapped::install();
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
            let msg = format!("{e:#}");
            profdiff::eprintln_safe!(
                "profdiff: error: {}",
                profdiff::render::terminal::visible(&msg)
            );
            ExitCode::from(profdiff::cli::EXIT_USAGE)
        }
    }
}

/// glibc grows a heap by what each allocation needs plus 128 KB, a system call each time (an
/// `mprotect` for a thread's heap): ~950 calls for `flamegraph` of a 19k-sample perf.data,
/// ~3 ms. Steps of 16 MB take ~20 calls; they reserve address space, and pages still become
/// memory only when touched. Blocks over 128 KB were also mapped and unmapped one by one, and
/// a freed heap top returned to the kernel, so the next large vector faulted its pages in
/// again; large blocks stay in the heap below 32 MB, and the heap is not trimmed (a run of
/// profdiff is short: its peak, not its release, is what memory costs).
fn grow_heaps_in_large_steps() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter, which glibc allows at any time.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 16 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
