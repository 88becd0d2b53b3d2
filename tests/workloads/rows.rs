// Attribution test workload (Rust, release build): a small report generator whose hot
// functions are built from inlined std iterator and formatting code. Built twice by
// tests/compare_attribution.rs: as is, and with `--cfg slow`, where only `render_rows` does
// about twice its work. Argument: rounds (default 40).
use std::fmt::Write;
use std::hint::black_box;

struct Row {
    id: u64,
    name: String,
    price: u32,
    qty: u32,
}

#[inline(never)]
fn make_rows(n: usize, seed: u64) -> Vec<Row> {
    let mut x = seed;
    (0..n)
        .map(|i| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            Row {
                id: i as u64,
                name: format!("item-{:x}", x >> 40),
                price: (x >> 20) as u32 % 10_000,
                qty: (x >> 8) as u32 % 50,
            }
        })
        .collect()
}

/// The function the slow build changes: every row is rendered twice as often.
#[inline(never)]
fn render_rows(rows: &[Row], out: &mut String) -> usize {
    let passes = if cfg!(slow) { 2 } else { 1 };
    let mut width = 0;
    for _ in 0..passes {
        out.clear();
        for r in rows.iter().filter(|r| r.qty > 0) {
            // Inlined std iterator code: the self time a profiler sees in `render_rows`.
            let total: u64 = (0..u64::from(r.qty) * 40)
                .map(|q| u64::from(r.price).wrapping_mul(q).wrapping_add(q >> 3))
                .fold(0u64, |a, b| a.wrapping_add(b));
            let vowels = r.name.bytes().filter(|b| b"aeiou".contains(b)).count();
            if r.id % 8 == 0 {
                let _ = writeln!(out, "{:>6} {:<12} {:>8} {:>10} {}", r.id, r.name, r.qty, total, vowels);
            }
            width = width.max(black_box(total) as usize % 97 + vowels);
        }
    }
    black_box(width)
}

#[inline(never)]
fn sort_keys(rows: &mut [Row]) {
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    rows.sort_by_key(|r| r.price);
}

#[inline(never)]
fn checksum(text: &str) -> u64 {
    text.bytes()
        .fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

fn main() {
    let rounds: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    let mut out = String::new();
    let mut acc = 0u64;
    for round in 0..rounds {
        let mut rows = make_rows(20_000, round);
        sort_keys(&mut rows);
        render_rows(&rows, &mut out);
        acc ^= checksum(&out);
    }
    println!("{acc}");
}
