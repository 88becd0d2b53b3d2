//! The binary CPU profile gperftools' `CPUPROFILE=` writes (and Go before 1.9, and Java's
//! profilez): machine words in the writer's size and byte order.
//!
//! - header: `0, 3, 0 (C++) or 1 (Java), sampling period in µs, 0`;
//! - samples: `count, depth, PC…` (leaf first), until the trailer `0, 1, 0`;
//! - then text: `/proc/self/maps` (C++), or `0xADDR name (file:line)` lines (Java).
//!
//! The word size and byte order are found as `go tool pprof` finds them: the first of 32-bit
//! little-endian, 32-bit big-endian, 64-bit little-endian, 64-bit big-endian whose header reads
//! right. Return addresses of callers (every frame but the leaf) are moved back by one byte onto
//! the call instruction (C++ only), and the signal handler's frames are stripped as pprof does.

use super::{Outcome, Raw, RawSample};
use crate::model::ValueType;

/// A word reader: size in bytes and byte order.
#[derive(Clone, Copy)]
struct Words {
    size: usize,
    big: bool,
}

impl Words {
    const ALL: [Words; 4] = [
        Words {
            size: 4,
            big: false,
        },
        Words { size: 4, big: true },
        Words {
            size: 8,
            big: false,
        },
        Words { size: 8, big: true },
    ];

    fn get(self, b: &[u8], i: usize) -> Option<u64> {
        let w = b.get(i * self.size..(i + 1) * self.size)?;
        let mut v = 0u64;
        if self.big {
            for &x in w {
                v = v << 8 | x as u64;
            }
        } else {
            for &x in w.iter().rev() {
                v = v << 8 | x as u64;
            }
        }
        Some(v)
    }
}

/// The header: word reader, Java or not, period in µs.
fn header(b: &[u8]) -> Option<(Words, bool, u64)> {
    for w in Words::ALL {
        let h: Option<Vec<u64>> = (0..5).map(|i| w.get(b, i)).collect();
        let Some(h) = h else { continue };
        if h[0] == 0 && h[1] == 3 && h[2] <= 1 && h[3] > 0 && h[4] == 0 {
            return Some((w, h[2] == 1, h[3]));
        }
    }
    None
}

/// True when `b` starts with a legacy CPU profile header.
pub fn sniff(b: &[u8]) -> bool {
    header(b).is_some()
}

pub fn parse(b: &[u8]) -> Outcome {
    let Some((w, java, period_us)) = header(b) else {
        return Outcome::Unrecognized;
    };
    let period = (period_us as i64).saturating_mul(1000);
    let mut raw = Raw {
        sample_types: vec![ValueType::samples(), ValueType::new("cpu", "nanoseconds")],
        period_type: Some(ValueType::new("cpu", "nanoseconds")),
        period,
        ..Default::default()
    };
    let rest = match samples(&b[5 * w.size..], w, !java, period, &mut raw) {
        Ok(rest) => rest,
        Err(e) => return Outcome::Error(e),
    };
    if !rest.is_empty() && !rest.ends_with(b"\n") {
        return Outcome::Error(
            "the memory map after the samples ends mid-line: the file is truncated".into(),
        );
    }
    let text = String::from_utf8_lossy(rest);
    if java {
        raw.java_frames = Some(super::java::frames(&text));
        return Outcome::Profile(raw);
    }
    strip_signal_frames(&mut raw.samples);
    raw.mappings = super::maps::massage(super::maps::parse(&text));
    raw.cleanup_duplicate_leaf();
    Outcome::Profile(raw)
}

/// Read samples up to the trailer; returns the bytes after it (the text part). Without the
/// trailer the file was cut short (pprof reads on; a partial profile would give wrong numbers).
fn samples<'a>(
    b: &'a [u8],
    w: Words,
    adjust: bool,
    period: i64,
    raw: &mut Raw,
) -> Result<&'a [u8], String> {
    let mut at = 0usize; // in words
    let words = b.len() / w.size;
    while at < words {
        let (Some(count), Some(depth)) = (w.get(b, at), w.get(b, at + 1)) else {
            return Err(format!(
                "truncated sample at byte {} of the samples",
                at * w.size
            ));
        };
        at += 2;
        if depth > (words - at.min(words)) as u64 {
            return Err(format!(
                "sample at byte {} claims {depth} frames but the file ends first",
                (at - 2) * w.size
            ));
        }
        let depth = depth as usize;
        let addrs: Vec<u64> = (0..depth).filter_map(|i| w.get(b, at + i)).collect();
        at += depth;
        if count == 0 && depth == 1 && addrs[0] == 0 {
            return Ok(&b[at * w.size..]);
        }
        let addrs = addrs
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                if adjust && i > 0 {
                    a.wrapping_sub(1)
                } else {
                    a
                }
            })
            .collect();
        let count = count as i64;
        raw.samples.push(RawSample {
            addrs,
            values: vec![count, count.saturating_mul(period)],
            bytes: None,
        });
    }
    Err(format!(
        "the samples end without the end-of-data trailer after {} samples: the file is truncated",
        raw.samples.len()
    ))
}

/// When nearly every sample (all but one in 32) has the same second frame, it is the signal
/// handler's frame, not the program's: remove it, up to twice (pprof's rule).
fn strip_signal_frames(samples: &mut [RawSample]) {
    let margin = samples.len() / 32;
    for _ in 0..2 {
        let mut counts: rustc_hash::FxHashMap<u64, usize> = Default::default();
        for s in samples.iter() {
            if s.addrs.len() > 1 {
                *counts.entry(s.addrs[1]).or_insert(0) += 1;
            }
        }
        let Some(&frame) = counts
            .iter()
            .filter(|&(_, &n)| n >= samples.len() - margin)
            .map(|(a, _)| a)
            .min()
        else {
            continue;
        };
        for s in samples.iter_mut() {
            if s.addrs.len() > 1 && s.addrs[1] == frame {
                s.addrs.remove(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words64(ws: &[u64]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn reads_header_samples_and_maps() {
        let mut b = words64(&[
            0, 3, 0, 10000, 0, 5, 2, 0x401000, 0x402001, 1, 2, 0x401000, 0x403001, 0, 1, 0,
        ]);
        b.extend_from_slice(b"00400000-00500000 r-xp 00000000 08:02 1 /bin/prog\n");
        let Outcome::Profile(raw) = parse(&b) else {
            panic!("not read")
        };
        assert_eq!(raw.period, 10_000_000);
        assert_eq!(raw.samples.len(), 2);
        assert_eq!(raw.samples[0].addrs, vec![0x401000, 0x402000]);
        assert_eq!(raw.samples[0].values, vec![5, 50_000_000]);
        assert_eq!(raw.mappings[0].file, "/bin/prog");
    }

    #[test]
    fn a_second_frame_shared_by_all_samples_is_the_signal_handler() {
        let b = words64(&[
            0, 3, 0, 10000, 0, 5, 2, 0x401000, 0x402001, 1, 2, 0x405000, 0x402001, 0, 1, 0,
        ]);
        let Outcome::Profile(raw) = parse(&b) else {
            panic!("not read")
        };
        assert_eq!(raw.samples[0].addrs, vec![0x401000]);
        assert_eq!(raw.samples[1].addrs, vec![0x405000]);
    }

    #[test]
    fn big_endian_32_bit() {
        let b: Vec<u8> = [0u32, 3, 0, 100, 0, 1, 1, 0x1234, 0, 1, 0]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect();
        let Outcome::Profile(raw) = parse(&b) else {
            panic!("not read")
        };
        assert_eq!(raw.samples[0].addrs, vec![0x1234]);
        assert_eq!(raw.period, 100_000);
    }

    #[test]
    fn missing_trailer_is_an_error() {
        let b = words64(&[0, 3, 0, 10000, 0, 5, 1, 0x401000]);
        assert!(matches!(parse(&b), Outcome::Error(e) if e.contains("truncated")));
    }

    #[test]
    fn truncated_sample_is_an_error() {
        let b = words64(&[0, 3, 0, 10000, 0, 5, 9, 0x401000]);
        assert!(matches!(parse(&b), Outcome::Error(e) if e.contains("claims 9 frames")));
    }
}
