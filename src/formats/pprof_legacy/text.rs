//! The legacy text profiles, read as `go tool pprof` reads them (google/pprof
//! `profile/legacy_profile.go`):
//! - heap (`heap profile: N: M [N: M] @ heap_v2/RATE`, also `heapz_v2`, `heap`, `heapprofile`),
//!   growth (`@ growthz`) and fragmentation (`@ fragmentationz`): one line per stack,
//!   `inuse_count: inuse_bytes [alloc_count: alloc_bytes] @ PC…`; sampled heaps are unsampled
//!   with `1 / (1 - exp(-size/rate))`;
//! - Go count profiles (`goroutine profile: total N`, `threadcreate profile: total N`);
//! - threads (`--- threadz 1 ---` / `--- Thread … stack: ---` blocks of PCs);
//! - contention (`--- contentionz 1 ---`, Go's `--- mutex:` / `--- contention:`), with
//!   `cycles/second`, `sampling period` and `ms since reset` attributes.
//!
//! Every format may end with a memory map after `--- Memory map: ---` or `MAPPED_LIBRARIES:`.

use super::{maps, Outcome, Raw, RawSample};
use crate::model::ValueType;
use regex::Regex;
use std::sync::OnceLock;

macro_rules! re {
    ($name:ident, $pat:expr) => {
        fn $name() -> &'static Regex {
            static RE: OnceLock<Regex> = OnceLock::new();
            RE.get_or_init(|| Regex::new($pat).expect("valid regex"))
        }
    };
}

re!(
    heap_header_re,
    r"heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] *@ *(heap[_a-z0-9]*)/?(\d*)"
);
re!(
    heap_sample_re,
    r"(-?\d+): *(-?\d+) *\[ *(\d+): *(\d+) *] @([ x0-9a-f]*)"
);
re!(
    growth_header_re,
    r"heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] @ growthz?"
);
re!(
    fragmentation_header_re,
    r"heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] @ fragmentationz?"
);
re!(count_start_re, r"\A(\S+) profile: total \d+\z");
re!(count_re, r"\A(\d+) @(( 0x[0-9a-f]+)+)\z");
re!(threadz_start_re, r"--- threadz \d+ ---");
re!(
    thread_start_re,
    r"--- Thread ([[:xdigit:]]+) \(name: (.*)/(\d+)\) stack: ---"
);
re!(contention_sample_re, r"(\d+) *(\d+) @([ x0-9a-f]*)");
re!(hex_re, r"0x[0-9a-f]+");

/// True for blank lines and `#` comments.
fn is_space_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// The hex numbers of a line.
pub fn hex_addresses(s: &str) -> Result<Vec<u64>, String> {
    hex_re()
        .find_iter(s)
        .map(|m| {
            u64::from_str_radix(&m.as_str()[2..], 16)
                .map_err(|_| format!("address {} does not fit in 64 bits", m.as_str()))
        })
        .collect()
}

/// The memory map after the sentinel line among `lines`, if any.
fn trailing_maps<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<crate::model::Mapping> {
    let mut lines = lines.skip_while(|l| !maps::is_sentinel(l));
    if lines.next().is_none() {
        return Vec::new();
    }
    let rest: Vec<&str> = lines.collect();
    maps::massage(maps::parse(&rest.join("\n")))
}

/// Move every address but the leaf (or all of them) back onto its call instruction.
fn adjust(addrs: Vec<u64>, keep_leaf: bool) -> Vec<u64> {
    addrs
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            if keep_leaf && i == 0 {
                a
            } else {
                a.wrapping_sub(1)
            }
        })
        .collect()
}

pub fn parse_heap(text: &str) -> Outcome {
    let mut lines = text.lines();
    let Some(first) = lines.next() else {
        return Outcome::Unrecognized;
    };
    let mut raw = Raw {
        period_type: Some(ValueType::new("space", "bytes")),
        ..Default::default()
    };
    let (mut sampling_v2, mut has_alloc) = (false, false);
    let in_use = header_in_use(first);
    if let Some(h) = heap_header_re().captures(first) {
        let period: i64 = h[6].parse().unwrap_or(0);
        has_alloc = (h[3] != h[1] && &h[3] != "0") || (h[4] != h[2] && &h[4] != "0");
        match &h[5] {
            "heapz_v2" | "heap_v2" => (sampling_v2, raw.period) = (true, period),
            "heapprofile" => raw.period = 1,
            "heap" => (sampling_v2, raw.period) = (true, period / 2),
            _ => return Outcome::Unrecognized,
        }
    } else if growth_header_re().is_match(first) || fragmentation_header_re().is_match(first) {
        raw.period = 1;
    } else {
        return Outcome::Unrecognized;
    }
    raw.sample_types = if has_alloc {
        vec![
            ValueType::new("alloc_objects", "count"),
            ValueType::new("alloc_space", "bytes"),
            ValueType::new("inuse_objects", "count"),
            ValueType::new("inuse_space", "bytes"),
        ]
    } else {
        vec![
            ValueType::new("objects", "count"),
            ValueType::new("space", "bytes"),
        ]
    };
    let mut rest = lines.clone();
    let mut sum = (0i64, 0i64);
    for (n, line) in lines.enumerate() {
        rest.next();
        let line = line.trim();
        if is_space_or_comment(line) {
            continue;
        }
        if maps::is_sentinel(line) {
            break;
        }
        match heap_sample(line, raw.period, sampling_v2, has_alloc) {
            Ok((s, (count, bytes))) => {
                raw.samples.push(s);
                sum = (sum.0.saturating_add(count), sum.1.saturating_add(bytes));
            }
            Err(e) => return Outcome::Error(format!("line {}: {e}", n + 2)),
        }
    }
    if let Some(want) = in_use.filter(|&w| w != sum) {
        return Outcome::Error(format!(
            "the header says {} objects and {} bytes in use but the samples add up to {} and {}: the file is truncated or corrupt",
            want.0, want.1, sum.0, sum.1
        ));
    }
    raw.mappings = maps::massage(maps::parse(&rest.collect::<Vec<_>>().join("\n")));
    Outcome::Profile(raw)
}

/// The in-use totals of a heap header (`heap profile: COUNT: BYTES [...]`).
fn header_in_use(first: &str) -> Option<(i64, i64)> {
    let c = [
        heap_header_re(),
        growth_header_re(),
        fragmentation_header_re(),
    ]
    .iter()
    .find_map(|re| re.captures(first))?;
    Some((c[1].parse().ok()?, c[2].parse().ok()?))
}

/// One sample line, with its in-use count and bytes as written (before unsampling).
fn heap_sample(
    line: &str,
    rate: i64,
    v2: bool,
    with_alloc: bool,
) -> Result<(RawSample, (i64, i64)), String> {
    let c = heap_sample_re().captures(line).ok_or_else(|| {
        format!("expected `count: bytes [count: bytes] @ addresses`, got {line:?}")
    })?;
    let mut values = Vec::new();
    let mut block = 0i64;
    let mut add = |count: &str, size: &str, what: &str| -> Result<(), String> {
        let mut count: i64 = count.parse().map_err(|_| format!("bad count {count:?}"))?;
        let mut size: i64 = size.parse().map_err(|_| format!("bad size {size:?}"))?;
        if count == 0 && size != 0 {
            return Err(format!("{what} count was 0 but {what} bytes was {size}"));
        }
        if count != 0 {
            block = size / count;
            if v2 {
                (count, size) = scale_heap_sample(count, size, rate);
            }
        }
        values.extend([count, size]);
        Ok(())
    };
    if with_alloc {
        add(&c[3], &c[4], "allocation")?;
    }
    add(&c[1], &c[2], "inuse")?;
    let written = (c[1].parse().unwrap_or(0), c[2].parse().unwrap_or(0));
    let addrs = adjust(hex_addresses(&c[5])?, false);
    let sample = RawSample {
        addrs,
        values,
        bytes: Some(block),
    };
    Ok((sample, written))
}

/// Unsample a heap sample taken with a Poisson process of mean `rate` bytes: each sample of
/// average size S appeared with probability `1 - exp(-S/rate)`.
pub fn scale_heap_sample(count: i64, size: i64, rate: i64) -> (i64, i64) {
    if count == 0 || size == 0 {
        return (0, 0);
    }
    if rate <= 1 {
        return (count, size);
    }
    let avg = size as f64 / count as f64;
    let scale = 1.0 / (1.0 - (-avg / rate as f64).exp());
    ((count as f64 * scale) as i64, (size as f64 * scale) as i64)
}

pub fn parse_go_count(text: &str) -> Outcome {
    let mut lines = text.lines().skip_while(|l| is_space_or_comment(l));
    let Some(first) = lines.next() else {
        return Outcome::Unrecognized;
    };
    let Some(h) = count_start_re().captures(first) else {
        return Outcome::Unrecognized;
    };
    let kind = h[1].to_string();
    let total: Option<i64> = first.rsplit(' ').next().and_then(|t| t.parse().ok());
    let mut raw = Raw {
        sample_types: vec![ValueType::new(kind.clone(), "count")],
        period_type: Some(ValueType::new(kind, "count")),
        period: 1,
        ..Default::default()
    };
    let mut rest: Vec<&str> = Vec::new();
    let mut in_samples = true;
    for line in lines {
        if !in_samples {
            rest.push(line);
            continue;
        }
        if is_space_or_comment(line) {
            continue;
        }
        if line.starts_with("---") {
            in_samples = false;
            rest.push(line);
            continue;
        }
        let Some(c) = count_re().captures(line) else {
            return Outcome::Error(format!("expected `COUNT @ 0x… 0x…`, got {line:?}"));
        };
        let Ok(n) = c[1].parse::<i64>() else {
            return Outcome::Error(format!("bad count in {line:?}"));
        };
        let addrs = match hex_addresses(&c[2]) {
            Ok(a) => adjust(a, false),
            Err(e) => return Outcome::Error(e),
        };
        raw.samples.push(RawSample {
            addrs,
            values: vec![n],
            bytes: None,
        });
    }
    let sum: i64 = raw.samples.iter().map(|s| s.values[0]).sum();
    if total.is_some_and(|t| t != sum) {
        return Outcome::Error(format!(
            "the header says a total of {} but the samples add up to {sum}: the file is truncated or corrupt",
            total.unwrap_or(0)
        ));
    }
    raw.mappings = trailing_maps(rest.into_iter());
    Outcome::Profile(raw)
}

pub fn parse_thread(text: &str) -> Outcome {
    let all: Vec<&str> = text.lines().collect();
    let mut i = all
        .iter()
        .position(|l| !is_space_or_comment(l))
        .unwrap_or(all.len());
    let Some(first) = all.get(i) else {
        return Outcome::Unrecognized;
    };
    if threadz_start_re().is_match(first) {
        i += 1;
        while i < all.len() && !maps::is_sentinel(all[i]) && !all[i].starts_with('-') {
            i += 1;
        }
    } else if !thread_start_re().is_match(first) {
        return Outcome::Unrecognized;
    }
    let mut raw = Raw {
        sample_types: vec![ValueType::new("thread", "count")],
        period_type: Some(ValueType::new("thread", "count")),
        period: 1,
        ..Default::default()
    };
    loop {
        let Some(&line) = all.get(i) else {
            // pprof refuses this too: a thread dump ends with its memory map.
            return Outcome::Error(
                "the threads end without the memory map that follows them: the file is truncated"
                    .into(),
            );
        };
        if maps::is_sentinel(line) || line.starts_with("---- no stack trace for") {
            break;
        }
        if !thread_start_re().is_match(line) {
            return Outcome::Error(format!("expected `--- Thread …`, got {line:?}"));
        }
        i += 1;
        let (addrs, same) = match thread_stack(&all, &mut i) {
            Ok(v) => v,
            Err(e) => return Outcome::Error(e),
        };
        if same || addrs.is_empty() {
            if let Some(last) = raw.samples.last_mut() {
                last.values[0] += 1;
            }
            continue;
        }
        raw.samples.push(RawSample {
            addrs: adjust(addrs, true),
            values: vec![1],
            bytes: None,
        });
    }
    raw.mappings = trailing_maps(all[i.min(all.len())..].iter().copied());
    raw.cleanup_duplicate_leaf();
    Outcome::Profile(raw)
}

/// The PCs of one thread's stack, up to the next `---` line; true when it is marked "same as
/// previous thread".
fn thread_stack(all: &[&str], i: &mut usize) -> Result<(Vec<u64>, bool), String> {
    let mut addrs = Vec::new();
    let mut same = false;
    while *i < all.len() {
        let line = all[*i].trim();
        if line.starts_with("---") {
            break;
        }
        *i += 1;
        if line.is_empty() {
            continue;
        }
        if line.contains("same as previous thread") {
            same = true;
            continue;
        }
        addrs.extend(hex_addresses(line)?);
    }
    Ok((addrs, same))
}

pub fn parse_contention(text: &str) -> Outcome {
    let mut lines = text.lines();
    let Some(first) = lines.next() else {
        return Outcome::Unrecognized;
    };
    if !["--- contentionz ", "--- mutex:", "--- contention:"]
        .iter()
        .any(|p| first.starts_with(p))
    {
        return Outcome::Unrecognized;
    }
    let mut raw = Raw {
        sample_types: vec![
            ValueType::new("contentions", "count"),
            ValueType::new("delay", "nanoseconds"),
        ],
        period_type: Some(ValueType::new("contentions", "count")),
        period: 1,
        ..Default::default()
    };
    let mut cpu_hz = 0i64;
    let mut pending: Option<&str> = None;
    for line in lines.by_ref() {
        let t = line.trim();
        if is_space_or_comment(t) {
            continue;
        }
        let attr = t.split_once('=').filter(|_| !t.starts_with("---"));
        let Some((key, val)) = attr else {
            pending = Some(line);
            break;
        };
        let val = val.trim();
        let num = || parse_go_int(val);
        match key.trim() {
            "cycles/second" => match num() {
                Some(v) => cpu_hz = v,
                None => return Outcome::Unrecognized,
            },
            "sampling period" => match num() {
                Some(v) => raw.period = v,
                None => return Outcome::Unrecognized,
            },
            "ms since reset" => match num() {
                Some(v) => raw.duration_nanos = v.saturating_mul(1_000_000),
                None => return Outcome::Unrecognized,
            },
            "discarded samples" => {}
            _ => return Outcome::Unrecognized,
        }
    }
    let mut rest: Vec<&str> = Vec::new();
    let mut done = false;
    for line in pending.into_iter().chain(lines) {
        let t = line.trim();
        if done || t.starts_with("---") {
            done = true;
            rest.push(line);
            continue;
        }
        if is_space_or_comment(t) {
            continue;
        }
        match contention_sample(t, raw.period, cpu_hz) {
            Some(Ok(s)) => raw.samples.push(s),
            Some(Err(e)) => return Outcome::Error(e),
            None => return Outcome::Unrecognized,
        }
    }
    raw.mappings = trailing_maps(rest.into_iter());
    Outcome::Profile(raw)
}

fn contention_sample(line: &str, period: i64, cpu_hz: i64) -> Option<Result<RawSample, String>> {
    let c = contention_sample_re().captures(line)?;
    let (Ok(mut delay), Ok(mut count)) = (c[1].parse::<i64>(), c[2].parse::<i64>()) else {
        return Some(Err(format!("malformed sample {line:?}")));
    };
    if period > 0 {
        if cpu_hz > 0 {
            let ghz = cpu_hz as f64 / 1e9;
            delay = (delay as f64 * period as f64 / ghz) as i64;
        }
        count = count.saturating_mul(period);
    }
    Some(hex_addresses(&c[3]).map(|a| RawSample {
        addrs: adjust(a, false),
        values: vec![count, delay],
        bytes: None,
    }))
}

/// Go's `strconv.ParseInt(s, 0, 64)`: decimal, `0x` hex, `0` octal.
pub fn parse_go_int(s: &str) -> Option<i64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    if s.len() > 1 && s.starts_with('0') {
        return i64::from_str_radix(&s[1..], 8).ok();
    }
    s.parse().ok()
}
