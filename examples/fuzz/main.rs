//! Mutation fuzzer for every profile reader, on the stable toolchain.
//!
//! Why not cargo-fuzz or cargo-afl: cargo-fuzz (libFuzzer) needs nightly sanitizer flags, and
//! cargo-afl needs its own install and an instrumented build of every dependency. This harness
//! is a plain example built with the project: it mutates seed files (byte flips, deletions,
//! insertions, splices, truncations, integer and size-field tweaks, plus structure-aware edits
//! of protobuf fields, perf.data headers and records, and text numbers and nesting) and feeds
//! them to `formats::detect` and `formats::parse` for each [`Format::ALL`] entry. What it
//! reports as a crash:
//!
//! - a panic that reaches the harness (any panic, even one a reader catches, is counted as
//!   "caught" and its input kept, but only escaped ones fail the run);
//! - an abort or signal (the worker process dies; the supervisor restarts it);
//! - a hang: more than 1 s of CPU time (or 10 s of wall time) on one input;
//! - an allocation over 1 GiB (the counting allocator writes the input out and exits).
//!
//! Each target runs in its own worker process (`--worker`), so an abort is recorded and the
//! run goes on. Feedback is cheap instead of coverage-guided: an input whose outcome (the
//! reader's error message with numbers blanked, or success) was not seen before joins the
//! target's corpus.
//!
//! Usage: `fuzz [SECONDS_PER_TARGET] [TARGET...]` (see `scripts/fuzz.sh`); crashing inputs go
//! to `target/fuzz-crashes/<target>/`. `PROFDIFF_FUZZ_EXECS=N` ends a target after N
//! executions (the seconds stay the limit). `PROFDIFF_FUZZ_SEED=N` fixes the random seed
//! (printed at the start of every run; the default comes from the clock): with the same seed,
//! seeds folder and execution budget, a run feeds the readers the same inputs again.

mod guard;
mod mutate;
mod seeds;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: guard::CountingAlloc = guard::CountingAlloc;

/// Exit codes of a worker that found something (besides a signal).
pub const EXIT_BIG_ALLOC: i32 = 86;
pub const EXIT_HANG: i32 = 87;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--worker") {
        let target = &args[1];
        let secs: f64 = args[2].parse().expect("seconds");
        let round: u64 = args[3].parse().expect("round");
        let max_execs: u64 = args[4].parse().expect("executions");
        let seed: u64 = args[5].parse().expect("seed");
        worker(target, secs, round, max_execs, seed);
        return;
    }
    if args.first().map(String::as_str) == Some("--repro") {
        repro(&args[1], &args[2]);
        return;
    }
    let secs: f64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(60.0);
    let seed = run_seed();
    println!("seed {seed} (replay with PROFDIFF_FUZZ_SEED={seed})");
    let only: Vec<&String> = args.iter().skip(1).collect();
    let targets: Vec<seeds::Target> = seeds::targets()
        .into_iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| **o == t.name))
        .collect();
    println!(
        "{:<24} {:>6} {:>12} {:>8} {:>9} {:>7} {:>7}",
        "target", "seeds", "executions", "seconds", "exec/s", "caught", "crashes"
    );
    let mut failed = false;
    for t in &targets {
        let r = supervise(&t.name, secs, seed);
        println!(
            "{:<24} {:>6} {:>12} {:>8.1} {:>9.0} {:>7} {:>7}",
            t.name,
            t.seeds.len(),
            r.execs,
            r.seconds,
            r.execs as f64 / r.seconds.max(1e-9),
            r.caught,
            r.crashes.len()
        );
        for c in &r.crashes {
            println!("    crash: {c}");
        }
        for (place, n) in &r.caught_at {
            println!("    caught {n}x at {place}");
        }
        failed |= !r.crashes.is_empty();
    }
    if failed {
        println!("crashing inputs are in {}", crash_root().display());
        std::process::exit(1);
    }
}

/// The run's seed: `PROFDIFF_FUZZ_SEED`, or the clock.
fn run_seed() -> u64 {
    match std::env::var("PROFDIFF_FUZZ_SEED") {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("fuzz: PROFDIFF_FUZZ_SEED must be a number, not {v:?}");
            std::process::exit(2)
        }),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 % 1_000_000_000_000),
    }
}

/// The random stream of one worker: the run's seed, the target's name and the worker's round
/// (a restarted worker must not replay the inputs of the one that died).
fn worker_seed(seed: u64, target: &str, round: u64) -> u64 {
    let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
    for b in target.bytes().chain(round.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Where crashing inputs are written (`target/fuzz-crashes`).
pub fn crash_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-crashes")
}

#[derive(Default)]
struct RunResult {
    execs: u64,
    seconds: f64,
    caught: u64,
    caught_at: Vec<(String, u64)>,
    crashes: Vec<String>,
}

/// Run one target's workers for `secs` seconds in all, restarting a worker that dies; stop
/// early after `PROFDIFF_FUZZ_EXECS` executions when that is set.
fn supervise(target: &str, secs: f64, seed: u64) -> RunResult {
    let start = Instant::now();
    let max_execs: u64 = std::env::var("PROFDIFF_FUZZ_EXECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX);
    let mut r = RunResult::default();
    let mut round = 0u64;
    while start.elapsed().as_secs_f64() < secs && r.execs < max_execs {
        let left = secs - start.elapsed().as_secs_f64();
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .args([
                "--worker",
                target,
                &format!("{left:.3}"),
                &round.to_string(),
                &(max_execs - r.execs).to_string(),
                &worker_seed(seed, target, round).to_string(),
            ])
            .env("PROFDIFF_CACHE_DIR", "off")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a worker");
        let out = BufReader::new(child.stdout.take().expect("piped"));
        let (mut execs, mut caught) = (0, 0);
        for line in out.lines().map_while(Result::ok) {
            let mut w = line.split_whitespace();
            match w.next() {
                Some("progress") => {
                    execs = w.next().and_then(|v| v.parse().ok()).unwrap_or(execs);
                    caught = w.next().and_then(|v| v.parse().ok()).unwrap_or(caught);
                }
                Some("crash") => r.crashes.push(w.collect::<Vec<_>>().join(" ")),
                Some("caught-at") => {
                    if let (Some(place), Some(n)) = (w.next(), w.next()) {
                        let n: u64 = n.parse().unwrap_or(0);
                        match r.caught_at.iter_mut().find(|(p, _)| p == place) {
                            Some(e) => e.1 += n,
                            None => r.caught_at.push((place.to_string(), n)),
                        }
                    }
                }
                _ => {}
            }
        }
        let status = child.wait().expect("worker status");
        r.execs += execs;
        r.caught += caught;
        if !status.success() {
            let what = match status.code() {
                Some(EXIT_BIG_ALLOC) => "allocation over 1 GiB".to_string(),
                Some(EXIT_HANG) => "hang (over 1 s on one input)".to_string(),
                Some(c) => format!("worker exited with {c}"),
                None => format!("worker killed by a signal ({status})"),
            };
            r.crashes.push(format!(
                "{what}; input: {}",
                guard::current_input_path(target, round).display()
            ));
        }
        round += 1;
        if round > 1000 {
            break;
        }
    }
    r.seconds = start.elapsed().as_secs_f64();
    r
}

/// One worker: fuzz `target` for `secs` seconds, printing `progress EXECS CAUGHT` lines and a
/// `crash ...` line for each escaped panic.
fn worker(name: &str, secs: f64, round: u64, max_execs: u64, seed: u64) {
    let target = seeds::targets()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"));
    guard::install(name, round);
    let mut corpus = mutate::Corpus::new(target.seeds.clone());
    let mut rng = mutate::Rng::new(seed);
    let opts = profdiff::formats::ReadOptions {
        max_decompressed: Some(64 << 20),
        ..Default::default()
    };
    let start = Instant::now();
    let mut last_report = Instant::now();
    let (mut execs, mut crashes) = (0u64, std::collections::HashSet::new());
    while start.elapsed().as_secs_f64() < secs && execs < max_execs {
        let input = corpus.next_input(&mut rng, target.kind);
        guard::begin(&input);
        let outcome = std::panic::catch_unwind(|| run_one(&input, &target, &opts));
        guard::end();
        execs += 1;
        match outcome {
            Ok(signature) => corpus.observe(signature, input),
            Err(payload) => {
                let msg = guard::panic_message(payload.as_ref());
                if crashes.insert(msg.clone()) {
                    let path = guard::save_crash(name, "panic", &input);
                    println!("crash panic: {msg}; input: {}", path.display());
                }
            }
        }
        if last_report.elapsed() >= Duration::from_millis(500) {
            println!("progress {execs} {}", guard::caught_panics());
            last_report = Instant::now();
        }
    }
    println!("progress {execs} {}", guard::caught_panics());
    for (place, n) in guard::caught_places() {
        println!("caught-at {place} {n}");
    }
}

/// Run one saved input of a target, printing its outcome (or the oversized allocation's
/// backtrace): `fuzz --repro TARGET FILE`.
fn repro(name: &str, file: &str) {
    let target = seeds::targets()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"));
    let input = std::fs::read(file).expect("readable input");
    guard::install(name, 999_999);
    guard::REPRO.store(true, std::sync::atomic::Ordering::SeqCst);
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{info}\n{}", std::backtrace::Backtrace::force_capture())
    }));
    guard::begin(&input);
    let outcome = std::panic::catch_unwind(|| run_one(&input, &target, &Default::default()));
    guard::end();
    println!("{outcome:?}");
}

/// Feed one input to detection and the target's reader; the outcome's signature (error text
/// with digits blanked, or "ok") is the corpus feedback.
fn run_one(input: &[u8], target: &seeds::Target, opts: &profdiff::formats::ReadOptions) -> String {
    use profdiff::formats;
    let inflated;
    let data: &[u8] = if target.gzip {
        match formats::gunzip(input, opts.max_decompressed) {
            Ok(v) => {
                inflated = v;
                &inflated
            }
            Err(e) => return signature(&e.0),
        }
    } else {
        input
    };
    let _ = formats::detect(data);
    // perf.data: symbolization opens the binaries the recording names, which makes a run a
    // hundred times slower; most runs read the records only, one in 16 goes all the way.
    if target.format == formats::Format::PerfData && FULL.fetch_add(1, Relaxed) % 16 != 0 {
        return match formats::perf_data::read_raw(data, opts) {
            Ok(r) => format!("raw {}", r.lost.min(1) + u64::from(r.notes.is_empty())),
            Err(e) => signature(&e.0),
        };
    }
    match formats::parse(data, target.format, opts) {
        Ok(p) => {
            let samples = p.samples.len().min(4);
            format!("ok {samples}")
        }
        Err(e) => signature(&e.0),
    }
}

static FULL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn signature(msg: &str) -> String {
    msg.chars()
        .take(60)
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}
