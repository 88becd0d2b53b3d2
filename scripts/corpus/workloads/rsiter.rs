//! rsiter: fixed-work Rust release program whose hot functions are chains of std iterator
//! adapters (inlined into them), plus formatting and sorting from std.
//! Variants (compile time): `--cfg regress`: `checksum_rows` does 2x its work;
//! `--cfg speedup`: `sort_records` sorts half as many records.
use std::fmt::Write;
use std::hint::black_box;

#[cfg(regress)]
const CHECKSUM_PASSES: u64 = 2;
#[cfg(not(regress))]
const CHECKSUM_PASSES: u64 = 1;
#[cfg(speedup)]
const SORT_DIV: usize = 2;
#[cfg(not(speedup))]
const SORT_DIV: usize = 1;

#[inline(never)]
fn checksum_rows(rows: &[u64], seed: u64) -> u64 {
    (0..CHECKSUM_PASSES)
        .map(|pass| {
            rows.iter()
                .zip(rows.iter().skip(1))
                .map(|(a, b)| a.wrapping_mul(*b).wrapping_add(pass ^ seed))
                .fold(0u64, |h, x| h.rotate_left(5) ^ x)
        })
        .fold(0, u64::wrapping_add)
}

#[inline(never)]
fn render_rows(rows: &[u64], out: &mut String) -> usize {
    out.clear();
    for (i, r) in rows.iter().enumerate().step_by(6) {
        let _ = writeln!(out, "{i:>6} | {r:016x} | {:.3}", *r as f64 / 1e12);
    }
    out.len()
}

#[inline(never)]
fn window_sums(rows: &[u64]) -> u64 {
    rows.windows(8)
        .map(|w| w.iter().copied().map(|x| x >> 7).sum::<u64>())
        .filter(|s| s % 3 != 0)
        .max()
        .unwrap_or(0)
}

#[inline(never)]
fn sort_records(rows: &[u64]) -> u64 {
    let mut v: Vec<(u32, u64)> = rows[..rows.len() / SORT_DIV]
        .iter()
        .map(|&r| ((r >> 40) as u32, r))
        .collect();
    v.sort_unstable();
    v.dedup_by_key(|p| p.0);
    v.len() as u64
}

#[inline(never)]
fn parse_fields(text: &str) -> u64 {
    text.lines()
        .flat_map(|l| l.split('|').nth(1))
        .filter_map(|f| u64::from_str_radix(f.trim(), 16).ok())
        .fold(0, |a, b| a ^ b)
}

fn make_rows(n: usize, seed: u64) -> Vec<u64> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
        .collect()
}

fn main() {
    let scale: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let rounds = (150.0 * scale) as u64;
    let mut out = String::new();
    let mut acc = 0u64;
    for round in 0..rounds {
        let rows = make_rows(100_000, round + 1);
        for k in 0..18 {
            acc ^= checksum_rows(black_box(&rows), round * 18 + k);
        }
        acc ^= render_rows(black_box(&rows), &mut out) as u64;
        acc ^= parse_fields(black_box(&out));
        acc ^= window_sums(black_box(&rows));
        acc ^= sort_records(black_box(&rows));
    }
    println!("rsiter {acc}");
}
