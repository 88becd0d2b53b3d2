//! Legacy pprof profiles, the formats `go tool pprof` still reads besides profile.proto:
//! gperftools' binary CPU profile (`CPUPROFILE=`, see [`cpu`]), the text heap / growth /
//! fragmentation / contention / thread / Go count profiles ([`text`]) and their Java variants
//! ([`java`]). Parsers are tried in pprof's order (CPU, heap, count, thread, contention, Java)
//! and build what google/pprof's `profile/legacy_profile.go` builds: the same sample types,
//! periods, values and addresses (moved back onto the call instruction where pprof does).
//!
//! These files hold addresses and the process's memory map, not names: every address is
//! symbolized here from the mapped binaries with profdiff's own symbolizer (`--symfs` adds
//! folders to look in), as `go tool pprof` does when it loads one. Addresses whose binary is not
//! found stay unsymbolized and show as `[binary]`, as in pprof. After symbolizing, pprof's
//! legacy "uninteresting frames" (allocator, profiler and lock internals) are pruned the way
//! its `RemoveUninteresting` does.

mod cpu;
mod java;
mod maps;
mod prune;
mod text;

use crate::error::ParseError;
use crate::model::{
    Function, Label, Line, Location, LocationId, Mapping, Profile, ProfileBuilder, ValueType,
};
use crate::symbolize::{ModuleKey, Symbolizer, SymbolizerOptions};
use rustc_hash::FxHashMap;

/// One stack as read: addresses leaf first, values, and the heap block size label.
#[derive(Clone, Debug, Default)]
struct RawSample {
    addrs: Vec<u64>,
    values: Vec<i64>,
    bytes: Option<i64>,
}

/// A Java frame from a profile's symbol section.
#[derive(Clone, Debug)]
struct JavaFrame {
    function: String,
    file: String,
    line: i64,
}

/// A legacy profile as read, before addresses become locations.
#[derive(Debug, Default)]
struct Raw {
    sample_types: Vec<ValueType>,
    period_type: Option<ValueType>,
    period: i64,
    duration_nanos: i64,
    samples: Vec<RawSample>,
    mappings: Vec<Mapping>,
    /// Java: names of the addresses (which are only ids).
    java_frames: Option<FxHashMap<u64, JavaFrame>>,
}

impl Raw {
    /// pprof's `cleanupDuplicateLocations`: the leaf may be recorded twice, once from the
    /// signal context and once (moved back by one) from the unwind; drop the second.
    fn cleanup_duplicate_leaf(&mut self) {
        for s in &mut self.samples {
            if s.addrs.len() > 1 && s.addrs[0] == s.addrs[1].wrapping_add(1) {
                s.addrs.remove(1);
            }
        }
    }
}

/// What one parser made of the bytes.
enum Outcome {
    /// Not this format: try the next parser.
    Unrecognized,
    /// This format, but broken.
    Error(String),
    Profile(Raw),
}

/// Text first lines that start a legacy profile.
const TEXT_STARTS: &[&str] = &[
    "heap profile:",
    "--- contentionz ",
    "--- mutex:",
    "--- contention:",
    "--- threadz ",
    "--- Thread ",
    "--- heapz 1 ---",
];

/// True when `data` starts like a legacy profile: the binary CPU header, or a text header of
/// a heap, contention, thread or Go count profile.
pub fn sniff(data: &[u8]) -> bool {
    if cpu::sniff(data) {
        return true;
    }
    let head = &data[..data.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    let Some(first) = text.lines().find(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    }) else {
        return false;
    };
    let first = first.trim_start();
    TEXT_STARTS.iter().any(|s| first.starts_with(s))
        || first
            .split_once(" profile: total ")
            .is_some_and(|(kind, n)| {
                !kind.contains(char::is_whitespace) && n.trim().parse::<u64>().is_ok()
            })
}

/// True when `data` starts with the binary CPU profile header (checked before any text
/// detection: the header is mostly zero bytes).
pub fn sniff_binary(data: &[u8]) -> bool {
    cpu::sniff(data)
}

/// Parse a legacy profile, symbolizing its addresses from the binaries of its memory map.
pub fn parse(data: &[u8], opts: &super::ReadOptions) -> Result<Profile, ParseError> {
    let raw = read(data)?;
    if raw.samples.is_empty() {
        return Err(ParseError::new("the profile has no samples"));
    }
    if raw.sample_types.is_empty() {
        return Err(ParseError::new("the profile names no sample types"));
    }
    if let Some(s) = raw
        .samples
        .iter()
        .find(|s| s.values.len() != raw.sample_types.len())
    {
        return Err(ParseError::new(format!(
            "a sample has {} values for {} sample types",
            s.values.len(),
            raw.sample_types.len()
        )));
    }
    let mut p = to_profile(raw, opts);
    prune::remove_uninteresting(&mut p);
    Ok(p)
}

/// Try pprof's parsers in its order.
fn read(data: &[u8]) -> Result<Raw, ParseError> {
    match cpu::parse(data) {
        Outcome::Profile(r) => return Ok(r),
        Outcome::Error(e) => return Err(ParseError::new(e)),
        Outcome::Unrecognized => {}
    }
    let text = std::str::from_utf8(data).map_err(|e| {
        ParseError::new(format!(
            "neither a binary CPU profile nor text (invalid UTF-8 at byte {})",
            e.valid_up_to()
        ))
    })?;
    if !text.ends_with('\n') {
        return Err(ParseError::new(
            "the file ends mid-line (no final newline): it is truncated",
        ));
    }
    let parsers: [fn(&str) -> Outcome; 5] = [
        text::parse_heap,
        text::parse_go_count,
        text::parse_thread,
        text::parse_contention,
        java::parse,
    ];
    for parse in parsers {
        match parse(text) {
            Outcome::Profile(r) => return Ok(r),
            Outcome::Error(e) => return Err(ParseError::new(e)),
            Outcome::Unrecognized => {}
        }
    }
    Err(ParseError::new(
        "starts like a legacy pprof profile but no legacy parser recognizes its header",
    ))
}

/// Locations for the addresses (symbolized where the binary is found), then the samples.
fn to_profile(raw: Raw, opts: &super::ReadOptions) -> Profile {
    let mut b = ProfileBuilder::new(raw.sample_types.clone());
    {
        let p = b.profile_mut();
        p.period_type = raw.period_type.clone();
        p.period = raw.period;
        p.duration_nanos = raw.duration_nanos;
    }
    // Distinct addresses in first-seen order, as pprof numbers its locations.
    let mut index: FxHashMap<u64, usize> = FxHashMap::default();
    let mut addrs: Vec<u64> = Vec::new();
    for s in &raw.samples {
        for &a in &s.addrs {
            index.entry(a).or_insert_with(|| {
                addrs.push(a);
                addrs.len() - 1
            });
        }
    }
    let java = raw.java_frames.as_ref();
    let unnamed: Vec<u64> = addrs
        .iter()
        .map(|a| {
            if java.is_some_and(|j| j.contains_key(a)) {
                0
            } else {
                *a
            }
        })
        .collect();
    let (mut maps, of) = maps::assign(raw.mappings, &unnamed);
    let frames = symbolize(&mut maps, &unnamed, &of, opts, &mut b);
    let map_ids: Vec<_> = maps.iter().map(|m| b.mapping_ref(m)).collect();
    let locs: Vec<LocationId> = addrs
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let lines = match java.and_then(|j| j.get(&a)) {
                Some(f) => vec![java_line(&mut b, f)],
                None => frames[i].clone(),
            };
            let address = unnamed[i];
            b.location(Location {
                mapping: of[i].map(|m| map_ids[m as usize]),
                address,
                lines,
                is_folded: false,
            })
        })
        .collect();
    let mut stack = Vec::new();
    for s in &raw.samples {
        stack.clear();
        stack.extend(s.addrs.iter().map(|a| locs[index[a]]));
        let labels = s
            .bytes
            .map(|n| Label {
                key: "bytes".into(),
                str: None,
                num: Some(n),
                num_unit: None,
            })
            .into_iter()
            .collect();
        b.add_labeled_sample(stack.clone(), s.values.clone(), labels);
    }
    b.finish()
}

fn java_line(b: &mut ProfileBuilder, f: &JavaFrame) -> Line {
    let function = b.function(Function {
        name: f.function.clone(),
        system_name: f.function.clone(),
        filename: f.file.clone(),
        start_line: 0,
    });
    Line {
        function,
        line: f.line,
        column: 0,
    }
}

/// The frames of each address (innermost first; empty when unknown), from the binaries of
/// their mappings. Mappings whose binary is found are marked as symbolized; the others are
/// noted in the profile's data quality.
fn symbolize(
    maps: &mut [Mapping],
    addrs: &[u64],
    of: &[Option<u32>],
    opts: &super::ReadOptions,
    b: &mut ProfileBuilder,
) -> Vec<Vec<Line>> {
    let sym = Symbolizer::new(SymbolizerOptions {
        search_paths: opts.symfs.clone(),
        thread_root_frames: false,
        perf_map_dir: None,
        debug_info: opts.debug_info,
        line_info: opts.line_info,
        ..Default::default()
    });
    let mut out: Vec<Vec<Line>> = vec![Vec::new(); addrs.len()];
    let mut by_map: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
    for (i, m) in of.iter().enumerate() {
        if let Some(m) = m {
            by_map.entry(*m).or_default().push(i);
        }
    }
    let mut missing = Vec::new();
    let mut ids: Vec<u32> = by_map.keys().copied().collect();
    ids.sort_unstable();
    for m in ids {
        let map = &mut maps[m as usize];
        if !crate::symbolize::is_symbolizable(&map.file) {
            continue;
        }
        let key = ModuleKey {
            path: map.file.clone(),
            build_id: hex_build_id(&map.build_id),
        };
        let module = match sym.module(&key) {
            Ok(module) => module,
            Err(_) => {
                missing.push(map.file.clone());
                continue;
            }
        };
        let which = &by_map[&m];
        let offsets: Vec<u64> = which
            .iter()
            .map(|&i| addrs[i].wrapping_sub(map.start).wrapping_add(map.offset))
            .collect();
        let found = module.symbolize_offsets(&offsets);
        map.has_functions = module.has_functions();
        map.has_filenames = module.has_lines();
        map.has_line_numbers = module.has_lines();
        map.has_inline_frames = module.has_lines();
        for (&i, frames) in which.iter().zip(found) {
            out[i] = frames
                .into_iter()
                .map(|f| Line {
                    function: b.function(Function {
                        name: f.function,
                        system_name: f.system_name,
                        filename: f.file.unwrap_or_default(),
                        start_line: 0,
                    }),
                    line: f.line as i64,
                    column: f.column as i64,
                })
                .collect();
        }
    }
    if !missing.is_empty() {
        b.profile_mut().quality.notes.push(format!(
            "binaries not found (their addresses stay unsymbolized; --symfs adds folders): {}",
            missing.join(", ")
        ));
    }
    out
}

fn hex_build_id(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests;
