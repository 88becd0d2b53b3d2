// Rust test program for the symbolizer conformance test (rustc -C debuginfo=2 -O).
use std::collections::HashMap;

#[inline(never)]
fn word_counts(text: &str) -> HashMap<&str, usize> {
    let mut m = HashMap::new();
    for w in text.split_whitespace() {
        *m.entry(w).or_insert(0) += 1;
    }
    m
}

#[inline]
fn weight(x: u64) -> u64 {
    x.wrapping_mul(0x9e3779b97f4a7c15).rotate_left(7)
}

#[inline(never)]
fn checksum(v: &[u64]) -> u64 {
    v.iter().map(|&x| weight(x)).fold(0, |a, b| a ^ b)
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let v: Vec<u64> = (0..n as u64).collect();
    let text = "a b c a b a ".repeat(n);
    let m = word_counts(&text);
    let mut keys: Vec<_> = m.into_iter().collect();
    keys.sort();
    println!("{} {:?}", checksum(&v), keys);
}
