//! profdiff's sample workload: a small two-thread "ingest pipeline" whose hot functions are
//! known, used to produce the profiles in `samples/` (see `scripts/make-samples.sh`).
//!
//! Built twice: plainly ("base") and with `--cfg slow`, where `checksum_block` does 80%
//! more work — a regression injected into exactly one function, the pair `compare` must explain.
//! Each thread runs the same pipeline: generate → parse → checksum → sort → compress.
//! Stand-alone (no dependencies) so `rustc` alone builds it.

use std::hint::black_box;

/// A fast deterministic pseudo-random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Render random numbers as comma-separated text, as an input file would hold them.
#[inline(never)]
fn generate_text(rng: &mut Rng, n: usize) -> String {
    let mut s = String::with_capacity(n * 12);
    for _ in 0..n {
        let v = rng.next() % 1_000_000_007;
        s.push_str(&v.to_string());
        s.push(',');
    }
    s
}

/// Parse the text back into numbers.
#[inline(never)]
fn parse_numbers(text: &str) -> Vec<u64> {
    text.split(',')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<u64>().unwrap_or(0))
        .collect()
}

/// Mix every value through several multiply-xorshift rounds.
#[inline(never)]
fn checksum_block(values: &[u64]) -> u64 {
    #[cfg(not(slow))]
    const ROUNDS: u32 = 10;
    #[cfg(slow)]
    const ROUNDS: u32 = 18;
    let mut acc = 0xcbf2_9ce4_8422_2325u64;
    for &v in values {
        let mut x = v ^ acc;
        for _ in 0..ROUNDS {
            x = x.wrapping_mul(0x100_0000_01b3).rotate_left(17) ^ (x >> 29);
        }
        acc = acc.wrapping_add(x);
    }
    acc
}

/// Sort a copy of the values.
#[inline(never)]
fn sort_values(values: &[u64]) -> Vec<u64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v
}

/// Delta + varint encode sorted values, a toy compressor.
#[inline(never)]
fn compress(sorted: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(sorted.len() * 4);
    let mut prev = 0u64;
    for &v in sorted {
        let mut d = v - prev;
        prev = v;
        loop {
            let b = (d & 0x7f) as u8;
            d >>= 7;
            if d == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
    }
    out
}

/// One pass of the pipeline over a block of `n` records.
#[inline(never)]
fn process_block(rng: &mut Rng, n: usize) -> u64 {
    let text = generate_text(rng, n);
    let values = parse_numbers(&text);
    let sum = checksum_block(&values);
    let sorted = sort_values(&values);
    let packed = compress(&sorted);
    sum ^ packed.len() as u64
}

fn worker(seed: u64, blocks: usize) -> u64 {
    let mut rng = Rng(seed | 1);
    let mut acc = 0;
    for _ in 0..blocks {
        acc ^= process_block(&mut rng, 20_000);
    }
    acc
}

fn main() {
    let blocks: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(600);
    let handles: Vec<_> = (0..2u64)
        .map(|i| {
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || worker(0x9e37_79b9_7f4a_7c15 ^ (i << 8), blocks))
                .expect("spawn worker")
        })
        .collect();
    let total = handles
        .into_iter()
        .fold(0, |a, h| a ^ h.join().expect("worker panicked"));
    println!("{}", black_box(total));
}
