//! Mutations: blind byte edits plus structure-aware ones for each kind of input (protobuf
//! varints and lengths, perf.data header fields and record headers, numbers and nesting in
//! text). The corpus grows by inputs whose outcome was not seen before.

use crate::seeds::Kind;
use std::collections::HashSet;

/// Inputs are kept below this size.
const MAX_INPUT: usize = 1 << 20;
/// The corpus stops growing here.
const MAX_CORPUS: usize = 4096;

/// xorshift64*: small, fast, good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

pub struct Corpus {
    inputs: Vec<Vec<u8>>,
    seen: HashSet<String>,
}

/// Values that break size and count arithmetic.
const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    7,
    8,
    16,
    64,
    255,
    256,
    4096,
    65535,
    65536,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
    u64::MAX - 7,
];

impl Corpus {
    pub fn new(seeds: Vec<Vec<u8>>) -> Corpus {
        let inputs = if seeds.is_empty() {
            vec![Vec::new()]
        } else {
            seeds
        };
        Corpus {
            inputs,
            seen: HashSet::new(),
        }
    }

    /// A new input: a corpus entry with one to four mutations stacked.
    pub fn next_input(&self, rng: &mut Rng, kind: Kind) -> Vec<u8> {
        let mut v = self.inputs[rng.below(self.inputs.len())].clone();
        let n = 1 + rng.below(4);
        for _ in 0..n {
            let other = &self.inputs[rng.below(self.inputs.len())];
            mutate(&mut v, other, rng, kind);
            // After each step: repeating a line of a 1 MiB input 16 times, stacked four
            // times, would otherwise build a 5 GiB input in the harness itself.
            v.truncate(MAX_INPUT);
        }
        v
    }

    /// Keep `input` if its outcome is new.
    pub fn observe(&mut self, signature: String, input: Vec<u8>) {
        if self.inputs.len() < MAX_CORPUS && self.seen.insert(signature) {
            self.inputs.push(input);
        }
    }
}

fn mutate(v: &mut Vec<u8>, other: &[u8], rng: &mut Rng, kind: Kind) {
    // Half of the mutations are structure-aware where the kind has a structure.
    if rng.chance(2) {
        let done = match kind {
            Kind::Protobuf => protobuf(v, rng),
            Kind::PerfData => perf_data(v, rng),
            Kind::Text => text(v, rng),
            Kind::Gzip => false,
        };
        if done {
            return;
        }
    }
    blind(v, other, rng);
}

fn blind(v: &mut Vec<u8>, other: &[u8], rng: &mut Rng) {
    let len = v.len();
    match rng.below(9) {
        0 if len > 0 => {
            let i = rng.below(len);
            v[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            v[i] = [0, 0xff, 0x7f, 0x80, b'0', b'\n', b'{', b'"'][rng.below(8)];
        }
        2 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(64));
            v.drain(i..i + n);
        }
        3 => {
            let i = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            v.splice(i..i, bytes);
        }
        4 if len > 0 => {
            // Duplicate a block (repeated records, fields, lines).
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(256));
            let block = v[i..i + n].to_vec();
            let at = rng.below(len + 1);
            v.splice(at..at, block);
        }
        5 if !other.is_empty() => {
            // Splice: our head, the other input's tail.
            let i = rng.below(len + 1);
            let j = rng.below(other.len());
            v.truncate(i);
            v.extend_from_slice(&other[j..]);
        }
        6 if len > 0 => v.truncate(rng.below(len)),
        7 if len >= 8 => {
            let i = rng.below(len - 7);
            put_int(v, i, rng);
        }
        _ if len >= 2 => {
            let i = rng.below(len - 1);
            let d = (rng.below(33) as i64 - 16) as i16;
            let x = u16::from_le_bytes([v[i], v[i + 1]]).wrapping_add(d as u16);
            v[i..i + 2].copy_from_slice(&x.to_le_bytes());
        }
        _ => v.push(rng.next() as u8),
    }
}

/// Overwrite an integer at `i` (width 1, 2, 4 or 8, either byte order) with an interesting
/// value, the input's length, or a small change of what is there.
fn put_int(v: &mut [u8], i: usize, rng: &mut Rng) {
    let width = [1usize, 2, 4, 8][rng.below(4)].min(v.len() - i);
    let value = match rng.below(3) {
        0 => INTERESTING[rng.below(INTERESTING.len())],
        1 => v.len() as u64 + rng.below(64) as u64,
        _ => {
            let mut b = [0u8; 8];
            b[..width].copy_from_slice(&v[i..i + width]);
            u64::from_le_bytes(b)
                .wrapping_add(rng.below(17) as u64)
                .wrapping_sub(8)
        }
    };
    let bytes = if rng.chance(4) {
        value.to_be_bytes()[8 - width..].to_vec()
    } else {
        value.to_le_bytes()[..width].to_vec()
    };
    v[i..i + width].copy_from_slice(&bytes);
}

fn read_varint(d: &[u8]) -> Option<(u64, usize)> {
    let mut x = 0u64;
    for (i, &b) in d.iter().enumerate().take(10) {
        x |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Some((x, i + 1));
        }
    }
    None
}

fn write_varint(mut x: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (x & 0x7f) as u8;
        x >>= 7;
        if x == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// Protobuf fields (offset, header length, body range) found by walking `d` from `start`,
/// descending into length-delimited fields that parse as messages.
fn protobuf_fields(d: &[u8], out: &mut Vec<(usize, usize, usize, usize)>, depth: usize) {
    let mut i = 0;
    while i < d.len() && out.len() < 20_000 {
        let Some((tag, n)) = read_varint(&d[i..]) else {
            return;
        };
        let start = i;
        i += n;
        match tag & 7 {
            0 => match read_varint(&d[i..]) {
                Some((_, m)) => {
                    out.push((start, n, i, i + m));
                    i += m;
                }
                None => return,
            },
            2 => {
                let Some((len, m)) = read_varint(&d[i..]) else {
                    return;
                };
                let body = i + m;
                if len > (d.len() - body) as u64 {
                    return;
                }
                let end = body + len as usize;
                out.push((start, n, i, end));
                if depth < 3 {
                    let before = out.len();
                    let mut inner = Vec::new();
                    protobuf_fields(&d[body..end], &mut inner, depth + 1);
                    out.extend(
                        inner
                            .into_iter()
                            .map(|(a, b, c, e)| (a + body, b, c + body, e + body)),
                    );
                    let _ = before;
                }
                i = end;
            }
            1 => i += 8,
            5 => i += 4,
            _ => return,
        }
    }
}

/// Change one protobuf field: its varint value or length, a duplicate, a removal.
fn protobuf(v: &mut Vec<u8>, rng: &mut Rng) -> bool {
    let mut fields = Vec::new();
    protobuf_fields(v, &mut fields, 0);
    if fields.is_empty() {
        return false;
    }
    let (start, _tag_len, value_at, end) = fields[rng.below(fields.len())];
    match rng.below(4) {
        0 => {
            // A new varint value (or length prefix) where the old one was.
            let Some((_, n)) = read_varint(&v[value_at..]) else {
                return false;
            };
            let x = match rng.below(3) {
                0 => INTERESTING[rng.below(INTERESTING.len())],
                1 => rng.next() >> rng.below(64),
                _ => read_varint(&v[value_at..]).map_or(0, |(x, _)| {
                    x.wrapping_add(rng.below(5) as u64).wrapping_sub(2)
                }),
            };
            v.splice(value_at..value_at + n, write_varint(x));
        }
        1 => {
            let field = v[start..end].to_vec();
            let times = 1 + rng.below(8);
            for _ in 0..times {
                v.splice(end..end, field.iter().copied());
            }
        }
        2 => {
            v.drain(start..end);
        }
        _ => {
            // Another tag for the same bytes (wrong field number or wire type).
            let tag = (rng.below(20) as u64) << 3 | rng.below(6) as u64;
            let Some((_, n)) = read_varint(&v[start..]) else {
                return false;
            };
            v.splice(start..start + n, write_varint(tag));
        }
    }
    true
}

/// Change a perf.data header field or a record header (size, type, misc).
fn perf_data(v: &mut [u8], rng: &mut Rng) -> bool {
    if v.len() < 104 || !v.starts_with(b"PERFILE2") {
        return false;
    }
    let pipe = u64::from_le_bytes(v[8..16].try_into().expect("8 bytes")) == 16;
    if !pipe && rng.chance(3) {
        // The file header: size, attr_size, attrs, data, event_types, feature bits.
        let slot = 1 + rng.below(12);
        let at = 8 * slot;
        put_field(v, at, rng);
        return true;
    }
    // Record headers, walked from the data section (or just after a pipe header).
    let (mut i, end) = if pipe {
        (16usize, v.len())
    } else {
        let off = u64::from_le_bytes(v[40..48].try_into().expect("8 bytes")) as usize;
        let size = u64::from_le_bytes(v[48..56].try_into().expect("8 bytes")) as usize;
        (off.min(v.len()), off.saturating_add(size).min(v.len()))
    };
    let mut headers = Vec::new();
    while i + 8 <= end && headers.len() < 4096 {
        headers.push(i);
        let size = u16::from_le_bytes([v[i + 6], v[i + 7]]) as usize;
        if size < 8 {
            break;
        }
        i += size;
    }
    if headers.is_empty() {
        return false;
    }
    let h = headers[rng.below(headers.len())];
    match rng.below(4) {
        0 => {
            let size = [0u16, 1, 7, 8, 9, 16, 0x7fff, 0xffff][rng.below(8)];
            v[h + 6..h + 8].copy_from_slice(&size.to_le_bytes());
        }
        1 => {
            let ty = [
                1u32, 2, 3, 4, 9, 10, 67, 68, 69, 70, 73, 78, 79, 81, 83, 0xffff,
            ][rng.below(16)];
            v[h..h + 4].copy_from_slice(&ty.to_le_bytes());
        }
        2 => {
            let misc = rng.next() as u16;
            v[h + 4..h + 6].copy_from_slice(&misc.to_le_bytes());
        }
        _ => {
            // A field inside the record body (counts such as callchain nr, sizes of stacks).
            let size = u16::from_le_bytes([v[h + 6], v[h + 7]]) as usize;
            if size > 16 && h + size <= v.len() {
                let at = h + 8 + rng.below(size - 16) / 8 * 8;
                put_field(v, at, rng);
            }
        }
    }
    true
}

fn put_field(v: &mut [u8], at: usize, rng: &mut Rng) {
    if at + 8 <= v.len() {
        let x = match rng.below(3) {
            0 => INTERESTING[rng.below(INTERESTING.len())],
            1 => v.len() as u64 - rng.below(v.len().min(256)) as u64,
            _ => u64::from_le_bytes(v[at..at + 8].try_into().expect("8 bytes"))
                .wrapping_add(rng.below(65) as u64)
                .wrapping_sub(32),
        };
        v[at..at + 8].copy_from_slice(&x.to_le_bytes());
    }
}

/// Text: replace a number, repeat a line, nest brackets, add a long name.
fn text(v: &mut Vec<u8>, rng: &mut Rng) -> bool {
    match rng.below(5) {
        0 => {
            let digits: Vec<usize> = v
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_digit())
                .map(|(i, _)| i)
                .collect();
            if digits.is_empty() {
                return false;
            }
            let mut i = digits[rng.below(digits.len())];
            let mut j = i;
            while i > 0 && v[i - 1].is_ascii_digit() {
                i -= 1;
            }
            while j < v.len() && v[j].is_ascii_digit() {
                j += 1;
            }
            let n = [
                "0",
                "-1",
                "4294967296",
                "18446744073709551615",
                "99999999999999999999999",
                "1e308",
                "NaN",
                "-9223372036854775808",
                "0.5",
            ][rng.below(9)];
            v.splice(i..j, n.bytes());
        }
        1 => {
            let lines: Vec<usize> = std::iter::once(0)
                .chain(
                    v.iter()
                        .enumerate()
                        .filter(|(_, &b)| b == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .collect();
            let a = lines[rng.below(lines.len())];
            let b = v[a..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(v.len(), |p| a + p + 1);
            let line = v[a..b].to_vec();
            for _ in 0..1 + rng.below(16) {
                v.splice(b..b, line.iter().copied());
            }
        }
        2 => {
            let depth = 1 + rng.below(2000);
            let at = rng.below(v.len() + 1);
            let (open, close) =
                [("[", "]"), ("{\"a\":", "}"), ("{\"children\":[", "]}")][rng.below(3)];
            let mut ins = open.repeat(depth);
            if rng.chance(2) {
                ins.push_str(&close.repeat(depth));
            }
            v.splice(at..at, ins.bytes());
        }
        3 => {
            let at = rng.below(v.len() + 1);
            let name = "x".repeat(1 + rng.below(100_000));
            v.splice(at..at, name.bytes());
        }
        _ => {
            let at = rng.below(v.len() + 1);
            let s = [
                ";",
                ";;",
                "\t",
                " ",
                "\r\n",
                "\0",
                "\"",
                "\\u0000",
                "-",
                ":",
                "\u{1b}[31m",
            ][rng.below(11)];
            v.splice(at..at, s.bytes());
        }
    }
    true
}
