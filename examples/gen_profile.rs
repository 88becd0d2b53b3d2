//! Generate a large synthetic pprof CPU profile for benchmarks, through profdiff's own model
//! and pprof writer: `--stacks` unique stacks (shared prefixes, depth 12-32, from a pool of
//! 5000 Rust-style functions whose `::h<hash>` suffix differs per `--build`, as between two
//! builds), `--samples` samples in all, 10 ms period. `--slow NAME:FACTOR` multiplies the
//! samples of stacks whose leaf is function NAME (e.g. `f42:3`).
//!
//!   cargo run --release --example gen_profile -- --stacks 100000 --samples 1000000 \
//!       --seed 1 --build 1 -o old.pb.gz

use profdiff::analysis::stats::SplitMix64;
use profdiff::model::{Function, Line, Location, Mapping, ProfileBuilder, ValueType};

fn main() {
    let mut stacks = 100_000usize;
    let mut samples = 1_000_000u64;
    let mut seed = 1u64;
    let mut build = 1u64;
    let mut out = String::from("profile.pb.gz");
    let mut slow: Option<(String, u64)> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut v = || args.next().expect("missing value");
        match a.as_str() {
            "--stacks" => stacks = v().parse().unwrap(),
            "--samples" => samples = v().parse().unwrap(),
            "--seed" => seed = v().parse().unwrap(),
            "--build" => build = v().parse().unwrap(),
            "-o" => out = v(),
            "--slow" => {
                let s = v();
                let (n, f) = s.split_once(':').expect("--slow NAME:FACTOR");
                slow = Some((n.to_string(), f.parse().unwrap()));
            }
            _ => panic!("unknown argument {a}"),
        }
    }
    const POOL: usize = 5000;
    let hash = |x: u64| SplitMix64(x).next_u64();
    let mut b = ProfileBuilder::new(vec![
        ValueType::new("samples", "count"),
        ValueType::new("cpu", "nanoseconds"),
    ]);
    let m = b.mapping(Mapping {
        start: 0x400000,
        limit: 0x400000 + (POOL as u64 + 1) * 0x100,
        file: "/usr/local/bin/app".into(),
        build_id: format!("{:016x}", hash(build)),
        has_functions: true,
        ..Default::default()
    });
    let mut locs = Vec::with_capacity(POOL + 1);
    for i in 0..=POOL {
        let name = if i == 0 {
            "app::main".to_string()
        } else {
            format!("app::mod{}::f{i}", i % 37)
        };
        let f = b.function(Function {
            name: format!("{name}::h{:016x}", hash(build * 1_000_003 + i as u64)),
            system_name: String::new(),
            filename: format!("src/mod{}.rs", i % 37),
            start_line: 10,
        });
        // Addresses move between builds, as they do.
        let address = 0x400000 + i as u64 * 0x100 + (build % 7) * 8;
        locs.push(b.location(Location {
            mapping: Some(m),
            address,
            lines: vec![Line {
                function: f,
                line: 12,
                column: 0,
            }],
            is_folded: false,
        }));
    }
    let slow_idx = slow
        .as_ref()
        .map(|(n, _)| n.trim_start_matches('f').parse::<usize>().unwrap());
    let mut rng = SplitMix64(seed);
    let mean = (samples / stacks as u64).max(1);
    let mut left = samples;
    let mut stack = Vec::with_capacity(40);
    for i in 0..stacks as u64 {
        let depth = 12 + (hash(i ^ 0xABCD) % 21) as usize;
        stack.clear();
        stack.push(locs[0]);
        for k in 1..depth {
            let prefix = i >> 17usize.saturating_sub(k);
            let fi = 1 + (hash(prefix * 64 + k as u64) % POOL as u64) as usize;
            stack.push(locs[fi]);
        }
        // Make the leaf the injected function for a share of stacks.
        if let Some(si) = slow_idx {
            if i % 50 == 0 {
                *stack.last_mut().unwrap() = locs[si];
            }
        }
        let mut n = if i + 1 == stacks as u64 {
            left
        } else {
            (1 + rng.next_u64() % (2 * mean - 1)).min(left)
        };
        left -= n;
        if let (Some(si), Some((_, f))) = (slow_idx, &slow) {
            if *stack.last().unwrap() == locs[si] {
                n *= f;
            }
        }
        if n == 0 {
            continue;
        }
        stack.reverse(); // leaf first
        b.add_sample(&stack, &[n as i64, n as i64 * 10_000_000]);
    }
    let p = b.profile_mut();
    p.period_type = Some(ValueType::new("cpu", "nanoseconds"));
    p.period = 10_000_000;
    p.duration_nanos = 10_000_000_000;
    p.default_sample_type = Some(1);
    let profile = b.finish();
    let f = std::fs::File::create(&out).expect("create output");
    let mut w = std::io::BufWriter::new(f);
    profdiff::formats::pprof::write_gz(&profile, &mut w).expect("write");
    eprintln!(
        "{out}: {} unique stacks, {} samples",
        profile.samples.len(),
        profile.total(0)
    );
}
