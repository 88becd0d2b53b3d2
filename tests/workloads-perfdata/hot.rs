// perf.data test workload (Rust): two threads, three hot functions with known relative work.
// Built with `rustc -C opt-level=2 -g` (no frame pointers) and with
// `-C force-frame-pointers=yes` by tests/perf_data_*.rs.
use std::hint::black_box;

#[inline(never)]
fn crunch_alpha(n: u64) -> u64 {
    let mut x = 1u64;
    for i in 0..n {
        x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    x
}

#[inline(never)]
fn crunch_beta(n: u64) -> u64 {
    let mut x = 7u64;
    for i in 0..n {
        x = black_box(x ^ (x << 7).wrapping_add(x >> 3).wrapping_add(i));
    }
    x
}

#[inline(never)]
fn crunch_gamma(n: u64) -> u64 {
    let mut d = 1.0f64;
    for _ in 0..n {
        d = black_box(d * 1.0000001 + 0.5);
    }
    d as u64
}

#[inline(never)]
fn layer(n: u64) -> u64 {
    crunch_alpha(n).wrapping_add(crunch_beta(n / 2))
}

#[inline(never)]
fn top(n: u64) -> u64 {
    layer(n).wrapping_add(crunch_gamma(n / 4))
}

fn work(rounds: u64) -> u64 {
    let mut s = 0u64;
    for _ in 0..rounds {
        s = s.wrapping_add(top(black_box(2_000_000)));
    }
    s
}

fn main() {
    let rounds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let t = std::thread::spawn(move || work(rounds));
    let a = work(rounds);
    let b = t.join().unwrap();
    // stderr: stdout may be `perf record -o -`.
    eprintln!("{}", a ^ b);
}
