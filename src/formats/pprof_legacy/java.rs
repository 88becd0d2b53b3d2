//! Java's legacy profiles (google/pprof `profile/legacy_java_profile.go`): `--- heapz 1 ---` and
//! `--- contentionz 1 ---` text with `format = java` attributes, `VALUE COUNT @ ADDR…` samples,
//! and, like Java CPU profiles, a symbol section of `0xADDR name (file:line)` lines that names
//! every address. Addresses are only ids here: frames are named by the symbol section.

use super::text::{hex_addresses, parse_go_int, scale_heap_sample};
use super::{JavaFrame, Outcome, Raw, RawSample};
use crate::model::ValueType;
use regex::Regex;
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

macro_rules! re {
    ($name:ident, $pat:expr) => {
        fn $name() -> &'static Regex {
            static RE: OnceLock<Regex> = OnceLock::new();
            RE.get_or_init(|| Regex::new($pat).expect("valid regex"))
        }
    };
}

re!(attribute_re, r"([\w ]+)=([\w ]+)");
re!(sample_re, r" *(\d+) +(\d+) +@ +([ x0-9a-f]*)");
re!(location_re, r"^\s*0x([[:xdigit:]]+)\s+(.*)\s*$");
re!(file_line_re, r"^(.*)\s+\((.+):(-?[[:digit:]]+)\)$");
re!(path_re, r"^(.*)\s+\((.*)\)$");

/// The symbol section: address → frame.
pub fn frames(text: &str) -> FxHashMap<u64, JavaFrame> {
    let mut out = FxHashMap::default();
    for line in text.lines() {
        let line = line.trim();
        let Some(c) = location_re().captures(line) else {
            continue;
        };
        let Ok(addr) = u64::from_str_radix(&c[1], 16) else {
            continue;
        };
        let what = &c[2];
        let frame = if let Some(f) = file_line_re().captures(what) {
            let n: i64 = f[3].parse().unwrap_or(0);
            JavaFrame {
                function: f[1].to_string(),
                file: f[2].to_string(),
                line: n.max(0),
            }
        } else if let Some(f) = path_re().captures(what) {
            let base = f[2].rsplit('/').next().unwrap_or(&f[2]).to_string();
            JavaFrame {
                function: f[1].to_string(),
                file: base,
                line: 0,
            }
        } else if what.contains("generated stub/JIT") {
            JavaFrame {
                function: "STUB".into(),
                file: String::new(),
                line: 0,
            }
        } else {
            JavaFrame {
                function: what.to_string(),
                file: String::new(),
                line: 0,
            }
        };
        out.insert(addr, frame);
    }
    out
}

pub fn parse(text: &str) -> Outcome {
    let Some((first, body)) = text.split_once('\n') else {
        return Outcome::Unrecognized;
    };
    let kind = match first.trim() {
        "--- heapz 1 ---" => "heap",
        "--- contentionz 1 ---" => "contention",
        _ => return Outcome::Unrecognized,
    };
    let mut raw = Raw::default();
    let mut lines = body.lines().peekable();
    while let Some(line) = lines.peek() {
        let t = line.trim();
        if !t.is_empty() {
            let Some(a) = attribute_re().captures(t) else {
                break;
            };
            match attribute(kind, a[1].trim(), a[2].trim(), &mut raw) {
                Ok(()) => {}
                Err(Some(e)) => return Outcome::Error(e),
                Err(None) => return Outcome::Unrecognized,
            }
        }
        lines.next();
    }
    while let Some(line) = lines.peek() {
        let t = line.trim();
        if !t.is_empty() {
            let Some(c) = sample_re().captures(t) else {
                break;
            };
            match sample(kind, &c, &raw) {
                Ok(s) => raw.samples.push(s),
                Err(e) => return Outcome::Error(e),
            }
        }
        lines.next();
    }
    let rest: Vec<&str> = lines.collect();
    raw.java_frames = Some(frames(&rest.join("\n")));
    Outcome::Profile(raw)
}

/// Apply one `key = value` header line; `Err(None)`: not a Java profile of this kind.
fn attribute(kind: &str, key: &str, value: &str, raw: &mut Raw) -> Result<(), Option<String>> {
    let bad = || Some(format!("bad attribute `{key} = {value}`"));
    match (kind, key) {
        (_, "format") if value != "java" => return Err(None),
        (_, "format") => {}
        ("heap", "resolution") => {
            raw.sample_types = vec![
                ValueType::new("inuse_objects", "count"),
                ValueType::new("inuse_space", value),
            ]
        }
        ("contention", "resolution") => {
            raw.sample_types = vec![
                ValueType::new("contentions", "count"),
                ValueType::new("delay", value),
            ]
        }
        ("contention", "sampling period") => {
            raw.period_type = Some(ValueType::new("contentions", "count"));
            raw.period = parse_go_int(value).ok_or_else(bad)?;
        }
        ("contention", "ms since reset") => {
            let ms = parse_go_int(value).ok_or_else(bad)?;
            raw.duration_nanos = ms.saturating_mul(1_000_000);
        }
        _ => return Err(None),
    }
    Ok(())
}

fn sample(kind: &str, c: &regex::Captures<'_>, raw: &Raw) -> Result<RawSample, String> {
    let addrs = hex_addresses(&c[3])?;
    let (Some(mut v0), Some(mut v1)) = (parse_go_int(&c[2]), parse_go_int(&c[1])) else {
        return Err(format!("bad sample values {:?} {:?}", &c[1], &c[2]));
    };
    let mut bytes = None;
    if kind == "heap" {
        const JAVA_HEAPZ_SAMPLING_RATE: i64 = 524288;
        if v0 == 0 {
            return Err(format!("sample with 0 objects and {v1} bytes"));
        }
        bytes = Some(v1 / v0);
        (v0, v1) = scale_heap_sample(v0, v1, JAVA_HEAPZ_SAMPLING_RATE);
    } else if raw.period != 0 {
        v0 = v0.saturating_mul(raw.period);
        v1 = v1.saturating_mul(raw.period);
    }
    Ok(RawSample {
        addrs,
        values: vec![v0, v1],
        bytes,
    })
}
