//! The `profdiff` binary: parse arguments, run, map errors to exit code 2.

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator. A one-shot command builds hundreds of thousands of
/// small objects (DWARF indexes, symbolized frames, call trees) on several threads and tens of
/// MB of buffers, and glibc hands each thread's heap out a page fault at a time (~9,300 faults
/// for `flamegraph` of a 19k-sample perf.data, ~4 µs each in a VM) and a system call per
/// 128 KB of growth. mimalloc commits its arenas up front, on huge pages where the kernel
/// allows (~1,000 faults): `flamegraph` of perf.data 10–15% faster, `merge` of 100 folded
/// profiles 1.4–2.3x; peak RSS is higher (BENCHMARKS.md). The library leaves the choice to
/// its users.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
