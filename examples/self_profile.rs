//! A program that profiles itself with profdiff's in-process backend (no perf, no root):
//!
//! ```text
//! cargo run --release --example self_profile -- [-F HZ] [--threads N] [-o self.pb.gz]
//! profdiff top self.pb.gz
//! ```
//!
//! It runs N threads of a CPU-bound workload with two known hot functions (`parse_records`
//! about 3x `checksum`), writes the profile as gzipped pprof and prints what the timer-signal
//! backend achieved (samples, asked vs achieved rate, top functions).

use profdiff::inprocess::{self, Options};
use std::hint::black_box;
use std::process::ExitCode;

#[inline(never)]
fn parse_records(n: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for i in 0..n {
        h ^= black_box(i) & 0xff;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

#[inline(never)]
fn checksum(n: u64) -> u64 {
    let mut a = 1u64;
    let mut b = 0u64;
    for i in 0..n {
        a = (a + (black_box(i) & 0xff)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn work(units: u64) -> u64 {
    let mut acc = 0;
    for _ in 0..units {
        acc ^= parse_records(3_000_000);
        acc ^= checksum(600_000);
    }
    acc
}

fn main() -> ExitCode {
    let mut freq = 999u32;
    let mut threads = 2usize;
    let mut units = 200u64;
    let mut out = String::from("self.pb.gz");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next();
        let ok = match (a.as_str(), &v) {
            ("-F", Some(v)) => v.parse().map(|x| freq = x).is_ok(),
            ("--threads", Some(v)) => v.parse().map(|x| threads = x).is_ok(),
            ("--units", Some(v)) => v.parse().map(|x| units = x).is_ok(),
            ("-o", Some(v)) => {
                out = v.clone();
                true
            }
            _ => false,
        };
        if !ok {
            eprintln!("usage: self_profile [-F HZ] [--threads N] [--units N] [-o OUT.pb.gz]");
            return ExitCode::from(2);
        }
    }

    let session = match inprocess::start(&Options::with_frequency(freq)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("self_profile: {e}");
            return ExitCode::from(2);
        }
    };
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || black_box(work(units)))
                .expect("spawn")
        })
        .collect();
    for h in handles {
        h.join().expect("worker");
    }
    let profile = match session.finish() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("self_profile: {e}");
            return ExitCode::from(2);
        }
    };

    let total = profile.total(0);
    let md = |k: &str| profile.metadata.get(k).cloned().unwrap_or_default();
    println!(
        "samples {total}, wall {:.2} s, process CPU {:.2} s, asked {freq} Hz, achieved {} Hz of CPU time, period {} ns",
        profile.duration_nanos as f64 / 1e9,
        md("process_cpu_ns").parse::<f64>().unwrap_or(0.0) / 1e9,
        md("achieved_hz"),
        profile.period,
    );
    for f in ["parse_records", "checksum"] {
        let n: i64 = profile
            .samples
            .iter()
            .filter(|s| profile.stack_names(s).iter().any(|x| x.ends_with(f)))
            .map(|s| s.values[0])
            .sum();
        println!(
            "  {f}: {n} samples ({:.1}%)",
            100.0 * n as f64 / total.max(1) as f64
        );
    }
    match inprocess::write_pprof(&profile, &out) {
        Ok(()) => {
            println!("wrote {out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("self_profile: {e}");
            ExitCode::from(2)
        }
    }
}
