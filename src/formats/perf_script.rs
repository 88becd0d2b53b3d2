//! `perf script` text: the output of `perf script` on a `perf record -g` recording, one event
//! header line (`comm pid/tid [cpu] time: period event:`) followed by its stack, leaf first,
//! one frame per line (`addr symbol+off (dso)`), and a blank line between samples.
//!
//! Folding follows `stackcollapse-perf.pl` (and inferno's `collapse-perf`, which matches it) so
//! that profdiff's folded output equals theirs: the comm is the root frame, `+0x..` offsets are
//! dropped, argument lists are trimmed, `[unknown]` symbols fall back to the dso name, Java
//! signatures are tidied, `a->b` inline chains are expanded, partially demangled Rust symbols
//! (`..`, `$LT$`, `::h<hash>`) are fixed, and optional annotations (`_[k]`, `_[j]`, `_[i]`),
//! pid/tid columns and raw addresses are controlled by [`Options`]. Only one event is read: the
//! one asked for, else the first one seen (mixing cycles and instructions is meaningless).
//!
//! The profile gets two sample types: `samples`/`count` (one per stack) and the summed sample
//! period (`cpu`/`nanoseconds` for cpu-clock and task-clock, `<event>`/`count` otherwise),
//! which is the default type, as stackcollapse-perf weights stacks by period.
//!
//! The reader works on byte slices split with memchr and interns frames by `&str`, so it does
//! not allocate per line; memory grows with unique frames and stacks, not with samples.

use crate::error::ParseError;
use crate::formats::folded::{truncate_for_message, MAX_DEPTH};
use crate::model::{LocationId, Profile, ProfileBuilder, ValueType};
use std::borrow::Cow;

/// Annotations of the perf script reader, named after `stackcollapse-perf.pl`'s options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--pid`: put `comm-PID` in the root frame.
    pub include_pid: bool,
    /// `--tid`: put `comm-PID/TID` in the root frame.
    pub include_tid: bool,
    /// `--kernel`: suffix kernel frames with `_[k]`.
    pub annotate_kernel: bool,
    /// `--jit`: suffix JIT frames with `_[j]`.
    pub annotate_jit: bool,
    /// `--addrs`: keep raw addresses of unknown frames.
    pub include_addrs: bool,
}

/// How many warnings about odd lines are kept in the profile's quality notes.
const MAX_NOTES: usize = 5;

struct Reader<'o, 'a> {
    opts: &'o Options,
    b: ProfileBuilder,
    /// Event being read (given, or the first seen).
    event: Option<String>,
    /// Events seen that were skipped (for the error when nothing matched).
    other_events: Vec<String>,
    /// Samples of those other events.
    skipped_samples: u64,
    in_event: bool,
    skip: bool,
    /// Root frame of the current sample (`comm`, `comm-pid`, `comm-pid/tid`).
    pname: String,
    period: Option<u64>,
    /// Whether any sample read had a period field (else the events are counted).
    any_period: bool,
    /// Current stack, leaf first.
    stack: Vec<LocationId>,
    /// Per entry of `stack`: whether perf marked its line `(inlined)`, and the line's address
    /// (0 when unreadable). An inlined frame belongs to the location of the next frame when
    /// both have the same address (the inline chain, innermost first).
    inlined: Vec<(bool, u64)>,
    /// Inline chains seen (the one-line locations, innermost first) → their joined location.
    chains: rustc_hash::FxHashMap<Box<[LocationId]>, LocationId>,
    truncated_now: bool,
    truncated: u64,
    unknown_frames: u64,
    total_frames: u64,
    samples: u64,
    odd_lines: u64,
    notes: Vec<String>,
    /// Scratch buffers reused for every frame.
    chain: Vec<String>,
    /// Frames of every distinct stack line seen, leaf first, indexed by `cache`.
    resolved: Vec<LocationId>,
    /// Stack line (borrowed from the input) and whether Java tidying applied → its frames in
    /// `resolved` (start, len) and how many of them are unknown. The same addresses repeat in
    /// every sample, so most lines are one hash lookup.
    cache: rustc_hash::FxHashMap<(&'a str, bool), LineFrames>,
}

/// A stack line's frames in `Reader::resolved`: start, length, how many are unknown, and its
/// inline mark (see [`inline_mark`]).
type LineFrames = (u32, u32, u32, (bool, u64));

/// A memory-mapped input's pages are handed back to the kernel every this many bytes read.
const RELEASE_EVERY: usize = 2 << 20;

/// Inputs at least this large are read in parallel chunks.
const PARALLEL_MIN: usize = 16 << 20;

/// Parse `perf script` output. `event` picks the event to read (default: the first seen).
///
/// Large inputs are cut at blank lines (sample boundaries) into chunks read in parallel and
/// merged; the result is the same as a serial read (the event is fixed first, and any error
/// is reported by a serial read so its line number is exact).
pub fn parse(data: &[u8], opts: &Options, event: Option<&str>) -> Result<Profile, ParseError> {
    let threads = rayon::current_num_threads();
    if data.len() < PARALLEL_MIN || threads < 2 {
        return read(data, opts, event, false)?.finish();
    }
    let event = match event {
        Some(e) => e.to_string(),
        None => match read(data, opts, None, true)?.event {
            Some(e) => e,
            None => return read(data, opts, None, false)?.finish(),
        },
    };
    let nchunks = threads * 4;
    let mut bounds = vec![0usize];
    for k in 1..nchunks {
        let target = (data.len() / nchunks * k).max(*bounds.last().unwrap());
        match memchr::memmem::find(&data[target..], b"\n\n") {
            Some(i) => bounds.push(target + i + 2),
            None => break,
        }
    }
    bounds.push(data.len());
    bounds.dedup();
    use rayon::prelude::*;
    let parts: Vec<Result<Option<Profile>, ParseError>> = bounds
        .par_windows(2)
        .map(|w| {
            let r = read(&data[w[0]..w[1]], opts, Some(&event), false)?;
            if r.samples == 0 && r.odd_lines == 0 {
                return Ok(None);
            }
            r.finish().map(Some)
        })
        .collect();
    let mut profiles = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Ok(Some(p)) => profiles.push(p),
            Ok(None) => {}
            // Exact message and line number from a serial read.
            Err(_) => return read(data, opts, Some(&event), false)?.finish(),
        }
    }
    if profiles.is_empty() {
        return read(data, opts, Some(&event), false)?.finish();
    }
    let mut merged = crate::model::ops::merge(&profiles).map_err(|e| ParseError::new(e.0))?;
    merged.duration_nanos = 0;
    Ok(merged)
}

/// Run the reader over `data`; with `stop_at_event`, stop as soon as the event is known.
fn read<'o, 'a>(
    data: &'a [u8],
    opts: &'o Options,
    event: Option<&str>,
    stop_at_event: bool,
) -> Result<Reader<'o, 'a>, ParseError> {
    let mut r = Reader {
        opts,
        b: ProfileBuilder::new(vec![
            ValueType::samples(),
            ValueType::new("events", "count"),
        ]),
        event: event.map(|e| strip_modifiers(e).to_string()),
        other_events: Vec::new(),
        skipped_samples: 0,
        in_event: false,
        skip: false,
        pname: String::new(),
        period: None,
        any_period: false,
        stack: Vec::with_capacity(128),
        inlined: Vec::with_capacity(128),
        chains: Default::default(),
        truncated_now: false,
        truncated: 0,
        unknown_frames: 0,
        total_frames: 0,
        samples: 0,
        odd_lines: 0,
        notes: Vec::new(),
        chain: Vec::new(),
        resolved: Vec::new(),
        cache: Default::default(),
    };
    let mut start = 0usize;
    let mut lineno = 0usize;
    let mut released = 0usize;
    while start < data.len() {
        if start - released >= RELEASE_EVERY {
            crate::formats::release_pages(&data[released..start]);
            released = start;
        }
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let raw = &data[start..end];
        start = end + 1;
        lineno += 1;
        if raw.first() == Some(&b'#') {
            continue;
        }
        let line: Cow<'_, str> = match std::str::from_utf8(raw) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(raw),
        };
        let line = match &line {
            Cow::Borrowed(s) => {
                let t = s.trim_end();
                if !t.is_empty() && r.in_event {
                    r.stack_line_cached(t);
                    continue;
                }
                t
            }
            Cow::Owned(s) => s.trim_end(),
        };
        if line.is_empty() {
            r.end_sample();
        } else if r.in_event {
            r.stack_line(line);
        } else {
            r.event_line(line, lineno)?;
            if stop_at_event && r.event.is_some() {
                return Ok(r);
            }
            if !r.stack.is_empty() {
                r.end_sample();
            }
        }
    }
    // A last sample without a closing blank line is kept, as inferno does (stackcollapse-perf.pl
    // drops it).
    r.end_sample();
    crate::formats::release_pages(&data[released..]);
    Ok(r)
}

impl<'a> Reader<'_, 'a> {
    fn note(&mut self, msg: String) {
        self.odd_lines += 1;
        if self.notes.len() < MAX_NOTES {
            self.notes.push(msg);
        }
    }

    /// Split an event header into (comm, pid, tid, byte offset after the pid/tid word): the
    /// comm is everything before the first all-digit word (`pid` or `pid/tid`), so comms with
    /// spaces (`V8 WorkerThread 24636/25607`) work. Without a slash the number is the tid and
    /// the pid is `?`, as in stackcollapse-perf.
    fn event_parts(line: &str) -> Option<(&str, &str, &str, usize)> {
        let bytes = line.as_bytes();
        let mut word_start = 0usize;
        let mut all_digits = false;
        let mut last_space = false;
        let mut slash = None;
        for (i, &c) in bytes.iter().enumerate() {
            match c {
                b' ' => {
                    if all_digits && !last_space {
                        let (pid, tid) = match slash {
                            Some(s) => (&line[word_start..s], &line[s + 1..i]),
                            None => ("?", &line[word_start..i]),
                        };
                        let comm = line[..word_start.saturating_sub(1)].trim();
                        return Some((comm, pid, tid, i + 1));
                    }
                    word_start = i + 1;
                    all_digits = true;
                }
                b'/' => {
                    if all_digits {
                        slash = Some(i);
                    }
                }
                b'0'..=b'9' => {}
                _ => {
                    all_digits = false;
                    slash = None;
                }
            }
            last_space = c == b' ';
        }
        None
    }

    fn event_line(&mut self, line: &str, lineno: usize) -> Result<(), ParseError> {
        self.in_event = true;
        let Some((comm, pid, tid, end)) = Self::event_parts(line) else {
            self.note(format!(
                "line {lineno}: unrecognized event line {:?}",
                truncate_for_message(line)
            ));
            self.in_event = false;
            return Ok(());
        };
        // Side-band records (`perf script --show-mmap-events`, `--show-task-events`, ...):
        // one line each, no stack, no blank line after.
        if line[end..].contains(" PERF_RECORD_") {
            self.in_event = false;
            return Ok(());
        }
        let fields = header_fields(&line[end..]);
        self.period = None;
        if let Some(period) = fields.period {
            match period.parse::<u64>() {
                Ok(p) => self.period = Some(p),
                Err(_) if period.parse::<f64>().is_ok() => {
                    return Err(ParseError::new(format!(
                        "line {lineno}: invalid sample period {:?} (must be a non-negative integer)",
                        truncate_for_message(period)
                    )));
                }
                Err(_) => {}
            }
        }
        if let Some(ev) = fields.event {
            match &self.event {
                Some(want) if want != ev => {
                    if !self.other_events.iter().any(|e| e == ev) && self.other_events.len() < 16 {
                        self.other_events.push(ev.to_string());
                    }
                    self.skipped_samples += 1;
                    self.skip = true;
                    return Ok(());
                }
                Some(_) => {}
                None => self.event = Some(ev.to_string()),
            }
        }
        // A stack on the header line itself (`perf script -F ...,ip,sym` without -g); a
        // tracepoint's payload (`prev_comm=... ==> next_comm=...`) is not one.
        let tracepoint = fields.event.is_some_and(|e| e.contains(':'));
        let single = fields
            .trailer
            .filter(|t| !tracepoint || Self::stack_parts(t).is_some());
        self.pname.clear();
        for c in comm.chars() {
            self.pname.push(if c == ' ' { '_' } else { c });
        }
        if self.opts.include_tid {
            self.pname.push('-');
            self.pname.push_str(pid);
            self.pname.push('/');
            self.pname.push_str(tid);
        } else if self.opts.include_pid {
            self.pname.push('-');
            self.pname.push_str(pid);
        }
        if let Some(s) = single {
            self.stack_line(s);
            self.in_event = false;
        }
        Ok(())
    }

    /// Split a stack line into (pc, symbol, dso).
    fn stack_parts(line: &str) -> Option<(&str, &str, &str)> {
        let line = line.trim_start();
        let (pc, rest) = line.split_once(' ')?;
        let (func, module) = rest.rsplit_once(' ')?;
        let module = module.strip_prefix('(')?.strip_suffix(')')?;
        let func = match func.trim() {
            "" => " ",
            s => s,
        };
        Some((pc.trim_end(), func, module))
    }

    /// A stack line borrowed from the input: resolved once per distinct line.
    fn stack_line_cached(&mut self, line: &'a str) {
        if self.skip {
            return;
        }
        // stackcollapse-perf and inferno tidy Java names when the root frame starts with `java`
        // (so also with `--pid` / `--tid`: `java-4321/4322`).
        let java = self.pname.starts_with("java");
        let key = (line, java);
        let (start, len, unknown, inlined) = match self.cache.get(&key) {
            Some(&v) => v,
            None => {
                let start = self.resolved.len();
                let Some(unknown) = self.resolve(line, java) else {
                    return;
                };
                let v = (
                    start as u32,
                    (self.resolved.len() - start) as u32,
                    unknown,
                    inline_mark(line),
                );
                self.cache.insert(key, v);
                v
            }
        };
        self.push_frames(start as usize, len as usize, unknown, inlined);
    }

    fn stack_line(&mut self, line: &str) {
        if self.skip {
            return;
        }
        let java = self.pname.starts_with("java");
        let start = self.resolved.len();
        if let Some(unknown) = self.resolve(line, java) {
            let len = self.resolved.len() - start;
            self.push_frames(start, len, unknown, inline_mark(line));
            // Not cached: drop the frames again so `resolved` only grows with the cache.
            self.resolved.truncate(start);
        }
    }

    fn push_frames(&mut self, start: usize, len: usize, unknown: u32, inlined: (bool, u64)) {
        self.unknown_frames += unknown as u64;
        self.total_frames += len as u64;
        for i in start..start + len {
            if self.stack.len() >= MAX_DEPTH {
                self.truncated_now = true;
                break;
            }
            self.stack.push(self.resolved[i]);
            self.inlined.push(inlined);
        }
    }

    /// Join each run of `(inlined)` frames with the frame they were inlined into, into one
    /// location whose lines are the chain innermost first (the model's inline frames), so
    /// analyses can tell the function a user can open from the std code inlined into it.
    /// Frame names, and so folded output, stay the same.
    fn join_inline_chains(&mut self) {
        if !self.inlined.iter().any(|&(i, _)| i) {
            return;
        }
        let mut out = 0;
        let mut i = 0;
        while i < self.stack.len() {
            let mut end = i;
            // Only a chain at the frame's own address: perf also marks frames `(inlined)`
            // whose real frame it could not resolve (the next line is then another place).
            while end + 1 < self.stack.len()
                && self.inlined[end].0
                && self.inlined[end].1 != 0
                && self.inlined[end].1 == self.inlined[end + 1].1
            {
                end += 1;
            }
            self.stack[out] = if end == i {
                self.stack[i]
            } else {
                self.chain_location(i, end + 1)
            };
            out += 1;
            i = end + 1;
        }
        self.stack.truncate(out);
    }

    /// The location joining `stack[from..to]` (one-line locations, innermost first).
    fn chain_location(&mut self, from: usize, to: usize) -> LocationId {
        let chain = &self.stack[from..to];
        if let Some(&l) = self.chains.get(chain) {
            return l;
        }
        let profile = self.b.profile();
        let lines = chain
            .iter()
            .flat_map(|&l| profile.locations[l as usize].lines.iter().copied())
            .collect();
        let key: Box<[LocationId]> = chain.into();
        let l = self.b.location(crate::model::Location {
            lines,
            ..Default::default()
        });
        self.chains.insert(key, l);
        l
    }

    /// Turn one stack line into frames appended (leaf first) to `resolved`; returns how many
    /// are unknown, or `None` (and a note) for a line that is not a frame.
    fn resolve(&mut self, line: &str, java: bool) -> Option<u32> {
        let Some((pc, mut rawfunc, module)) = Self::stack_parts(line) else {
            if is_srcline(line) {
                return Some(0);
            }
            // `perf script -F ...,ip,sym` without `dso`: stackcollapse-perf and inferno need
            // the `(dso)` too.
            let no_dso = line.starts_with(['\t', ' '])
                && !line.trim_end().ends_with(')')
                && line
                    .split_whitespace()
                    .next()
                    .is_some_and(|w| w.bytes().all(|b| b.is_ascii_hexdigit()));
            self.note(format!(
                "unrecognized stack line {:?}{}",
                truncate_for_message(line),
                if no_dso {
                    " (a frame without its `(dso)`: add `dso` to perf script -F)"
                } else {
                    ""
                }
            ));
            return None;
        };
        if let Some(off) = rawfunc.rfind("+0x") {
            if rawfunc[off + 3..].bytes().all(|c| c.is_ascii_hexdigit()) {
                rawfunc = &rawfunc[..off];
            }
        }
        if rawfunc.starts_with('(') {
            return Some(0);
        }
        // stackcollapse-perf drops quotes (JIT names like `RegExp:[&<>\"\']`); done before
        // Rust symbols are decoded, whose lifetimes (`$u27$a`) keep their quote.
        let unquoted: Cow<'_, str> = if rawfunc.contains(['"', '\'']) {
            Cow::Owned(rawfunc.replace(['"', '\''], ""))
        } else {
            Cow::Borrowed(rawfunc)
        };
        let rawfunc = fix_rust_symbol(&unquoted);
        let kernel = is_kernel(module);
        let jit = (module.starts_with("/tmp/perf-") && module.ends_with(".map"))
            || (module.contains("/jitted-") && module.ends_with(".so"));
        let mut n = 0usize;
        let mut unknowns = 0u32;
        for part in rawfunc.split("->") {
            if self.chain.len() <= n {
                self.chain.push(String::new());
            }
            let mut func = std::mem::take(&mut self.chain[n]);
            func.clear();
            let unknown = module_fallback(&mut func, module, part, pc, self.opts.include_addrs);
            tidy_generic(&mut func);
            if java && func.starts_with('L') && func.contains('/') {
                func.remove(0);
            }
            if n > 0 {
                if !func.contains("_[i]") {
                    func.push_str("_[i]");
                }
            } else if self.opts.annotate_kernel && kernel {
                func.push_str("_[k]");
            } else if self.opts.annotate_jit && jit && !func.contains("_[j]") {
                func.push_str("_[j]");
            }
            unknowns += unknown as u32;
            self.chain[n] = func;
            n += 1;
        }
        // The chain is written caller first; the stack is kept leaf first.
        for i in (0..n).rev() {
            let loc = self.b.frame(&self.chain[i]);
            self.resolved.push(loc);
        }
        Some(unknowns)
    }

    fn end_sample(&mut self) {
        self.join_inline_chains();
        self.inlined.clear();
        if !self.stack.is_empty() {
            let root = self.b.frame(&self.pname);
            self.stack.push(root);
            self.any_period |= self.period.is_some();
            let period = self.period.unwrap_or(1).min(i64::MAX as u64) as i64;
            self.b.add_sample(&self.stack, &[1, period]);
            self.samples += 1;
            if self.truncated_now {
                self.truncated += 1;
            }
        }
        self.stack.clear();
        self.truncated_now = false;
        self.in_event = false;
        self.skip = false;
        self.period = None;
    }

    fn finish(mut self) -> Result<Profile, ParseError> {
        if self.samples == 0 {
            return Err(match (&self.event, self.other_events.is_empty()) {
                (Some(e), false) => ParseError::new(format!(
                    "no samples of event {e:?} (events present: {})",
                    self.other_events.join(", ")
                )),
                _ if self.odd_lines > 0 => ParseError::new(format!(
                    "no samples found; {} unrecognized lines, first: {}",
                    self.odd_lines, self.notes[0]
                )),
                _ => ParseError::new("no samples found"),
            });
        }
        // A file of which almost nothing was recognized is not perf script, whatever the
        // few lines that happened to look like it (macOS `sample` text, logs).
        if self.odd_lines > self.samples + self.total_frames {
            return Err(ParseError::new(format!(
                "does not look like perf script: {} of its lines are unrecognized (first: {})",
                self.odd_lines, self.notes[0]
            )));
        }
        let event = self.event.clone().unwrap_or_default();
        // Without a period field (`perf script -F` without `period`) each sample is one
        // event: counted as such, never taken for a nanosecond of cpu-clock.
        let period_type = match event.as_str() {
            "cpu-clock" | "task-clock" if self.any_period => ValueType::new("cpu", "nanoseconds"),
            "" => ValueType::new("events", "count"),
            e => ValueType::new(e, "count"),
        };
        let odd = self.odd_lines;
        let notes = std::mem::take(&mut self.notes);
        let p = self.b.profile_mut();
        p.sample_types[1] = period_type.clone();
        p.default_sample_type = Some(1);
        p.period_type = Some(period_type);
        p.quality.truncated_stacks = self.truncated;
        p.quality.unknown_frames = self.unknown_frames;
        p.quality.total_frames = self.total_frames;
        if odd > 0 {
            p.quality
                .notes
                .push(format!("{odd} unrecognized perf script lines skipped"));
            p.quality.notes.extend(notes);
        }
        // Tracepoints are recorded with a period of 1: perf script prints none for them.
        if !self.any_period && !event.is_empty() && !event.contains(':') {
            p.quality.notes.push(format!(
                "no sample periods in this perf script output: each '{event}' sample counts 1, \
                 where perf report weighs it by its period (add `-F +period` to perf script)"
            ));
        }
        if self.skipped_samples > 0 {
            p.quality.notes.push(format!(
                "read event '{event}' only; {} samples of other events ({}) skipped (choose with --event)",
                self.skipped_samples,
                self.other_events.join(", ")
            ));
        }
        if !event.is_empty() {
            p.metadata.insert("event".into(), event);
        }
        p.metadata.insert("tool".into(), "perf script".into());
        // Every stack sits under its `comm` (or `comm-PID/TID`).
        crate::model::roots::mark_thread_roots(p);
        Ok(self.b.finish())
    }
}

/// What an event header says after the pid: `[cpu] time: period event: trailer`, each part
/// optional.
#[derive(Debug, PartialEq)]
struct HeaderFields<'a> {
    period: Option<&'a str>,
    /// The event name without perf's modifiers (`cycles:u` → `cycles`); tracepoints keep their
    /// subsystem (`sched:sched_switch`).
    event: Option<&'a str>,
    /// What follows the event: a one-line stack (`-F ip,sym`), a tracepoint's payload.
    trailer: Option<&'a str>,
}

/// Split the header after the pid into its fields. A field ends at a `:` followed by a blank
/// or the end of the line, so colons inside event names (`sched:sched_switch`, `cycles:u`)
/// stay in the name. perf pads the period and the event with several spaces when a recording
/// has several events (`250000   cpu-clock:`).
fn header_fields(rest: &str) -> HeaderFields<'_> {
    let ends = rest.match_indices(':').map(|(i, _)| i).filter(|&i| {
        rest[i + 1..]
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace())
    });
    let mut ends = ends.peekable();
    let mut start = 0;
    // The first field is the time (`[001] 123.456`), unless there is none.
    if let Some(&first) = ends.peek() {
        let is_time = rest[..first].split_whitespace().last().is_some_and(|w| {
            w.split_once('.').is_some_and(|(a, b)| {
                !a.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
            })
        });
        if is_time {
            start = first + 1;
            ends.next();
        }
    }
    let Some(event_end) = ends.next() else {
        return HeaderFields {
            period: None,
            event: None,
            trailer: None,
        };
    };
    let mut words = rest[start..event_end].split_whitespace().rev();
    let event = words.next().map(strip_modifiers);
    let period = words.next();
    let trailer = rest[event_end + 1..].trim();
    HeaderFields {
        period,
        event,
        trailer: (!trailer.is_empty()).then_some(trailer),
    }
}

/// `cycles:u` → `cycles`, `cpu-clock:ppp` → `cpu-clock`; `sched:sched_switch` stays.
fn strip_modifiers(event: &str) -> &str {
    match event.rsplit_once(':') {
        Some((base, m)) if !m.is_empty() && m.bytes().all(|c| b"ukhIGHpPSDWe".contains(&c)) => base,
        _ => event,
    }
}

/// True for a line that looks like a `perf script` event header (`comm pid[/tid] [cpu]
/// time: ... event:`): a comm, an all-digit pid word, then a `:` (an event name, or the time).
pub fn sniff_event_header(line: &str) -> bool {
    !line.starts_with([' ', '\t'])
        && Reader::event_parts(line).is_some_and(|(_, _, _, end)| line[end..].contains(':'))
}

/// [`sniff_event_header`] with a `seconds.fraction:` time after the pid, as `perf script`
/// prints by default: a strong sign on its own.
pub fn sniff_timed_event_header(line: &str) -> bool {
    let is_time = |w: &str| {
        w.strip_suffix(':')
            .and_then(|t| t.split_once('.'))
            .is_some_and(|(s, f)| {
                !s.is_empty()
                    && !f.is_empty()
                    && (s.bytes().chain(f.bytes())).all(|b| b.is_ascii_digit())
            })
    };
    // perf right-aligns short comms, so a timed header may start with spaces.
    Reader::event_parts(line)
        .is_some_and(|(_, _, _, end)| line[end..].split_whitespace().any(is_time))
}

/// True for a line that looks like a `perf script` stack line (`\t addr symbol (dso)`;
/// old perf versions did not indent them, but the address is then hex).
pub fn sniff_stack_line(line: &str) -> bool {
    let indented = line.starts_with([' ', '\t']);
    Reader::stack_parts(line)
        .is_some_and(|(pc, _, _)| indented || pc.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The source line `perf script -F +srcline` prints under a frame (`  app.c:12`, or
/// `  dso[addr]` without debug information): indented by spaces, one word.
fn is_srcline(line: &str) -> bool {
    let word = line.trim();
    line.starts_with("  ")
        && !word.is_empty()
        && !word.contains(char::is_whitespace)
        && (word.ends_with(']')
            || word
                .rsplit_once(':')
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
}

/// perf's mark of a frame inlined into the next one (`(inlined)` in place of the dso), and
/// the line's address.
fn inline_mark(line: &str) -> (bool, u64) {
    let line = line.trim();
    let pc = line
        .split_once(' ')
        .and_then(|(pc, _)| u64::from_str_radix(pc, 16).ok())
        .unwrap_or(0);
    (line.ends_with(" (inlined)"), pc)
}

/// Kernel dso: `[kernel.kallsyms]`, `[module]`, `*.ko`, `vmlinux[-version]`; not `[unknown]`.
fn is_kernel(module: &str) -> bool {
    if module == "[unknown]" {
        return false;
    }
    if module.starts_with('[') || module.ends_with(".ko") {
        return true;
    }
    match module.rfind("vmlinux") {
        Some(i) => module[i..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')),
        None => false,
    }
}

/// Write the frame name into `out`; an `[unknown]` symbol becomes `[dso]` (or `[dso <pc>]`
/// with addresses). Returns true when nothing at all is known about the frame.
fn module_fallback(out: &mut String, module: &str, func: &str, pc: &str, addrs: bool) -> bool {
    if func != "[unknown]" {
        out.push_str(func);
        return false;
    }
    let name = if module == "[unknown]" {
        if !addrs {
            out.push_str(func);
            return true;
        }
        "unknown"
    } else {
        module.rsplit('/').next().unwrap_or(module)
    };
    out.push('[');
    out.push_str(name);
    if addrs {
        out.push_str(" <");
        out.push_str(pc);
        out.push_str(">]");
    } else {
        out.push(']');
    }
    module == "[unknown]"
}

/// `;` → `:`, and drop an argument list: the first `(` outside `<>{}[]()` nesting, unless it
/// is a Go method receiver (`pkg.(*T).m`) or `(anonymous namespace)`.
fn tidy_generic(func: &mut String) {
    if func.contains(';') {
        *func = func.replace(';', ":");
    }
    let mut depth = 0i32;
    let mut after_dot = None;
    let mut cut = None;
    for (i, c) in func.char_indices() {
        match c {
            '<' | '{' | '[' => depth += 1,
            '>' | '}' | ']' | ')' => depth -= 1,
            '(' => {
                if depth == 0
                    && after_dot != Some(i)
                    && !func[i..].starts_with("(anonymous namespace)")
                {
                    cut = Some(i);
                    break;
                }
                depth += 1;
            }
            '.' => after_dot = Some(i + 1),
            _ => {}
        }
    }
    if let Some(i) = cut {
        func.truncate(i);
    }
}

/// Symbols perf printed with the legacy Rust mangling only half decoded
/// (`core..fmt..Write$u20$for$u20$T::write::h0123456789abcdef`): decode `..` and `$XX$`
/// escapes and drop the hash. Anything else is returned unchanged.
pub fn fix_rust_symbol(sym: &str) -> Cow<'_, str> {
    const HASH: usize = 17; // "h" + 16 hex digits
    if sym.len() < HASH || !sym.is_char_boundary(sym.len() - HASH) {
        return Cow::Borrowed(sym);
    }
    let hash = &sym[sym.len() - HASH..];
    if !(hash.starts_with('h') && hash[1..].bytes().all(|b| b.is_ascii_hexdigit())) {
        return Cow::Borrowed(sym);
    }
    let mut rest = &sym[..sym.len() - HASH];
    rest = rest.strip_suffix("::").unwrap_or(rest);
    if rest.starts_with("_$") {
        rest = &rest[1..];
    }
    const ESCAPES: &[(&str, &str)] = &[
        ("$SP$", "@"),
        ("$BP$", "*"),
        ("$RF$", "&"),
        ("$LT$", "<"),
        ("$GT$", ">"),
        ("$LP$", "("),
        ("$RP$", ")"),
        ("$C$", ","),
        ("$u7e$", "~"),
        ("$u20$", " "),
        ("$u27$", "'"),
        ("$u3d$", "="),
        ("$u5b$", "["),
        ("$u5d$", "]"),
        ("$u7b$", "{"),
        ("$u7d$", "}"),
        ("$u3b$", ";"),
        ("$u2b$", "+"),
        ("$u21$", "!"),
        ("$u22$", "\""),
    ];
    let mut out = String::with_capacity(rest.len());
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("..") {
            out.push_str("::");
            rest = r;
        } else if rest.starts_with('$') {
            match ESCAPES.iter().find(|(pat, _)| rest.starts_with(pat)) {
                Some((pat, rep)) => {
                    out.push_str(rep);
                    rest = &rest[pat.len()..];
                }
                None => {
                    out.push_str(rest);
                    break;
                }
            }
        } else {
            let first = rest.chars().next().map_or(1, char::len_utf8);
            let next = rest[first..]
                .find(['.', '$'])
                .map_or(rest.len(), |i| i + first);
            out.push_str(&rest[..next]);
            rest = &rest[next..];
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_keep_colons_in_event_names() {
        let f = |period, event, trailer| HeaderFields {
            period,
            event,
            trailer,
        };
        // Multi-event recordings pad the period and the name.
        assert_eq!(
            header_fields("39301.055486:     250000   cpu-clock: "),
            f(Some("250000"), Some("cpu-clock"), None)
        );
        assert_eq!(
            header_fields(
                "[001] 39325.966496: sched:sched_switch: prev_comm=mt prev_pid=1 ==> next_comm=x"
            ),
            f(
                None,
                Some("sched:sched_switch"),
                Some("prev_comm=mt prev_pid=1 ==> next_comm=x")
            )
        );
        // A syscall tracepoint's payload has `: ` in it.
        assert_eq!(
            header_fields("1.5: syscalls:sys_enter_read: fd: 0x00000003, count: 0x2000").event,
            Some("syscalls:sys_enter_read")
        );
        assert_eq!(
            header_fields("1.0: 250000 cpu-clock:ppp: ").event,
            Some("cpu-clock")
        );
        assert_eq!(
            header_fields("1.0: 10 cycles:u:  ffffffff81 read+0x3 (/lib/x.so)"),
            f(
                Some("10"),
                Some("cycles"),
                Some("ffffffff81 read+0x3 (/lib/x.so)")
            )
        );
        // No time field.
        assert_eq!(header_fields("cpu-clock:").event, Some("cpu-clock"));
    }

    #[test]
    fn frames_without_dso_say_what_is_missing() {
        let t =
            "mt 1 1.5:          2 page-faults: \n\tffffffff8177d51a elf_load\n\t    1149 main\n\n";
        let e = parse(t.as_bytes(), &Options::default(), None).unwrap_err();
        assert!(e.0.contains("add `dso` to perf script -F"), "{e}");
    }

    /// `perf script -F +srcline` puts each frame's source line under it.
    #[test]
    fn srcline_lines_are_not_frames() {
        let t = "mt 1 1.5:          2 page-faults: \n\tffffffff8177d51a elf_load+0x28a ([kernel.kallsyms])\n  [kernel.kallsyms][ffffffff8177d51a]\n\t    1149 main+0x10 (/tmp/mt)\n  mt.c:12\n\n";
        let p = parse(t.as_bytes(), &Options::default(), None).unwrap();
        assert!(p.quality.notes.is_empty(), "{:?}", p.quality.notes);
        assert_eq!(fold(&p, 1), vec![("mt;main;elf_load".to_string(), 2)]);
        assert!(!is_srcline("\t    1149 main+0x10 (/tmp/mt)"));
    }

    /// `perf script --show-task-events --show-mmap-events`: the side-band lines, with no blank
    /// line after them, are neither samples nor the start of one.
    #[test]
    fn side_band_record_lines_are_skipped() {
        let t = "perf-exec     0     0.000000: PERF_RECORD_COMM: perf-exec:12546/12546\n\
mt 12546 39301.055290:          3 page-faults: \n\tffffffff8177d51a elf_load+0x1a ([kernel.kallsyms])\n\n\
mt 12546 39301.055300: PERF_RECORD_MMAP2 12546/12546: [0x7f00(0x1000) @ 0 08:01 5 0]: r-xp /lib/x.so\n\
mt 12546 39301.055390:          5 page-faults: \n\t    7f10 memset+0x10 (/lib/x.so)\n\n";
        let p = parse(t.as_bytes(), &Options::default(), None).unwrap();
        assert!(p.quality.notes.is_empty(), "{:?}", p.quality.notes);
        assert_eq!(p.total(1), 8);
        assert_eq!(p.total(0), 2);
    }

    /// A tracepoint recording (`perf record -e sched:sched_switch -g`) is read: the payload on
    /// the header is not a stack line, each sample counts one.
    #[test]
    fn tracepoint_samples_are_read() {
        let t = "mt 12662 [001] 39325.966496: sched:sched_switch: prev_comm=mt prev_pid=12662 prev_prio=120 prev_state=R ==> next_comm=python3 next_pid=12006 next_prio=130\n\tffffffff82248208 __schedule+0x628 ([kernel.kallsyms])\n\t            11aa spin_a+0x31 (/tmp/mt)\n\n\
mt 12664 [000] 39325.969895: sched:sched_switch: prev_comm=mt prev_pid=12664 prev_prio=120 prev_state=R ==> next_comm=opt cgu.13 next_pid=12659 next_prio=130\n\tffffffff82248208 __schedule+0x628 ([kernel.kallsyms])\n\t            120e spin_b+0x36 (/tmp/mt)\n\n";
        let p = parse(t.as_bytes(), &Options::default(), None).unwrap();
        assert!(p.quality.notes.is_empty(), "{:?}", p.quality.notes);
        assert_eq!(
            p.sample_types[1],
            ValueType::new("sched:sched_switch", "count")
        );
        assert_eq!(p.total(1), 2);
        assert_eq!(p.metadata["event"], "sched:sched_switch");
    }
    use crate::formats::folded::fold;

    /// Fuzz find (macos-sample target): a multi-byte character after an escape was sliced
    /// in its middle.
    #[test]
    fn rust_symbol_with_multibyte_characters() {
        assert_eq!(
            fix_rust_symbol("a..\u{fffd}b$u20$\u{e9}..c::h0123456789abcdef"),
            "a::\u{fffd}b \u{e9}::c"
        );
        assert_eq!(
            fix_rust_symbol("\u{fffd}\u{fffd}::h0123456789abcdef"),
            "\u{fffd}\u{fffd}"
        );
    }

    fn folded(text: &str, opts: &Options, event: Option<&str>) -> Vec<(String, i64)> {
        let p = parse(text.as_bytes(), opts, event).unwrap();
        p.validate().unwrap();
        fold(&p, p.default_value_index())
    }

    const TWO_EVENTS: &str = "\
dd 29776 [001] 666709.771979:   10101010 cpu-clock: \n\
\t          414b3b fsnotify+0x1b (/lib/modules/4.1.0-virtual/build/vmlinux)\n\
\t    7f1c31dd3ca0 __read_nocancel (/lib/x86_64-linux-gnu/libc-2.19.so)\n\
\t          400a1b [unknown] (/bin/dd)\n\
\n\
dd 29776/29777 [001] 666709.781979:   3 cycles: \n\
\t          400a1b main (/bin/dd)\n\
\n\
V8 WorkerThread 24636/25607 [000] 94564.109216: 10101010 cpu-clock:\n\
\t    7f1c31dd3ca0 std::vector<int>::push_back(int const&) (/usr/bin/node)\n\
\t    13a80b608e0a LazyCompile:~foo;bar (/tmp/perf-24636.map)\n\
\t    0 [unknown] ([unknown])\n\
";

    #[test]
    fn folds_like_stackcollapse_perf() {
        let got = folded(TWO_EVENTS, &Options::default(), None);
        assert_eq!(
            got,
            vec![
                (
                    "V8_WorkerThread;[unknown];LazyCompile:~foo:bar;std::vector<int>::push_back"
                        .to_string(),
                    10101010
                ),
                ("dd;[dd];__read_nocancel;fsnotify".to_string(), 10101010),
            ]
        );
        let got = folded(TWO_EVENTS, &Options::default(), Some("cycles"));
        assert_eq!(got, vec![("dd;main".to_string(), 3)]);
    }

    #[test]
    fn annotations_pid_tid_addrs() {
        let o = Options {
            include_tid: true,
            annotate_kernel: true,
            annotate_jit: true,
            include_addrs: true,
            ..Default::default()
        };
        let got = folded(TWO_EVENTS, &o, None);
        assert_eq!(got[0].0, "V8_WorkerThread-24636/25607;[unknown <0>];LazyCompile:~foo:bar_[j];std::vector<int>::push_back");
        assert_eq!(
            got[1].0,
            "dd-?/29776;[dd <400a1b>];__read_nocancel;fsnotify_[k]"
        );
    }

    /// Issue 14 bug 4: without a period field each sample is one cpu-clock event, not 1 ns.
    #[test]
    fn samples_without_period_count_events() {
        let t = "iperf 27409/28744 [000] 441995.133575: cpu-clock: \n\
\t          59fef5 copy_user (/vmlinux)\n\n\
iperf 27409/28744 [000] 441995.143575: cpu-clock: \n\
\t          59fef5 copy_user (/vmlinux)\n\n";
        let p = parse(t.as_bytes(), &Options::default(), None).unwrap();
        assert_eq!(p.sample_types[1], ValueType::new("cpu-clock", "count"));
        assert_eq!(p.total(1), 2);
        assert!(
            p.quality.notes[0].contains("-F +period"),
            "{:?}",
            p.quality.notes
        );
    }

    /// Issue 14 bug 6: Java's `L` class prefix goes also with `--pid` / `--tid`, as in
    /// stackcollapse-perf.pl (since 2017) and inferno.
    #[test]
    fn java_tidying_with_pid_and_tid() {
        let t = "java 4321/4322 [000] 1.0: 1 cycles: \n\
\t    7f00 Lio/netty/Loop;.run()V (/tmp/perf-4321.map)\n\n";
        for (o, root) in [
            (Options::default(), "java"),
            (
                Options {
                    include_pid: true,
                    ..Default::default()
                },
                "java-4321",
            ),
            (
                Options {
                    include_tid: true,
                    ..Default::default()
                },
                "java-4321/4322",
            ),
        ] {
            let got = folded(t, &o, None);
            assert_eq!(got, vec![(format!("{root};io/netty/Loop:.run"), 1)]);
        }
    }

    #[test]
    fn sample_types_and_event() {
        let p = parse(TWO_EVENTS.as_bytes(), &Options::default(), None).unwrap();
        assert_eq!(p.sample_types[0], ValueType::samples());
        assert_eq!(p.sample_types[1], ValueType::new("cpu", "nanoseconds"));
        assert_eq!(p.total(0), 2);
        assert_eq!(p.total(1), 2 * 10101010);
        assert_eq!(p.metadata["event"], "cpu-clock");
        assert_eq!(p.quality.unknown_frames, 1);
        let e = parse(
            TWO_EVENTS.as_bytes(),
            &Options::default(),
            Some("instructions"),
        )
        .unwrap_err();
        assert!(e.0.contains("no samples of event \"instructions\""), "{e}");
        assert!(e.0.contains("cpu-clock") && e.0.contains("cycles"), "{e}");
    }

    #[test]
    fn inline_chains_and_rust_symbols() {
        let t = "app 1 1.0: 1 cpu-clock:\n\
                 \t 10 outer->inner+0x4 (/bin/app)\n\
                 \t 20 core..fmt..write::h0123456789abcdef (/bin/app)\n\n";
        let got = folded(t, &Options::default(), None);
        assert_eq!(
            got,
            vec![("app;core::fmt::write;outer;inner_[i]".to_string(), 1)]
        );
        assert_eq!(
            fix_rust_symbol(
                "_$LT$F$u20$as$u20$alloc..boxed..FnBox$LT$A$GT$$GT$::call_box::h8612a2a83552fc2d"
            ),
            "<F as alloc::boxed::FnBox<A>>::call_box"
        );
        assert_eq!(fix_rust_symbol("_ZN4test1a2bcE"), "_ZN4test1a2bcE");
    }

    #[test]
    fn inlined_frames_join_the_function_they_were_inlined_into() {
        // perf script (with DWARF inline info) writes each inlined frame on its own line,
        // `(inlined)` in place of the dso, at the address of the real frame below it.
        let t = "app 1 1.0: 1 cpu-clock:\n\
                 \t 153de core::ptr::copy+0x33e (inlined)\n\
                 \t 153de app::partition+0x33e (inlined)\n\
                 \t 153de app::quicksort+0x33e (/bin/app)\n\
                 \t 14e3a app::quicksort+0x30a (/bin/app)\n\
                 \t 17844 main+0x64 (/bin/app)\n\n";
        let p = parse(t.as_bytes(), &Options::default(), None).unwrap();
        p.validate().unwrap();
        let s = &p.samples[0];
        // Leaf location: the chain innermost first; recursion stays two frames; root `app`.
        assert_eq!(s.locations.len(), 4);
        let leaf: Vec<String> = p
            .location_frames(s.locations[0])
            .map(|c| c.into_owned())
            .collect();
        assert_eq!(
            leaf,
            ["core::ptr::copy", "app::partition", "app::quicksort"]
        );
        // An `(inlined)` frame at another address than the next one (perf could not resolve
        // its real frame) stays a frame of its own.
        let t = "app 1 1.0: 1 cpu-clock:\n\
                 \t 7f1bc _IO_new_file_write (inlined)\n\
                 \t 8f699 std::ostream::put (/lib/libstdc++.so)\n\n";
        let other = parse(t.as_bytes(), &Options::default(), None).unwrap();
        assert_eq!(other.samples[0].locations.len(), 3);
        // Frame names, and so folded stacks, are the same as stackcollapse-perf's.
        assert_eq!(
            fold(&p, p.default_value_index()),
            vec![(
                "app;main;app::quicksort;app::quicksort;app::partition;core::ptr::copy".to_string(),
                1
            )]
        );
    }

    #[test]
    fn go_and_cpp_names_are_tidied() {
        let mut s = "go/build.(*importReader).readByte".to_string();
        tidy_generic(&mut s);
        assert_eq!(s, "go/build.(*importReader).readByte");
        let mut s = "(anonymous namespace)::myBar()".to_string();
        tidy_generic(&mut s);
        assert_eq!(s, "(anonymous namespace)::myBar");
        let mut s = "std::function<void (int, int)>::operator()(int, int)".to_string();
        tidy_generic(&mut s);
        assert_eq!(s, "std::function<void (int, int)>::operator");
    }

    // ---- bad input ----

    #[test]
    fn empty_and_wrong_format_are_errors() {
        let o = Options::default();
        assert!(parse(b"", &o, None).unwrap_err().0.contains("no samples"));
        assert!(parse(b"\n\n# only comments\n", &o, None).is_err());
        let e = parse(b"hello world: this is prose\nmore: prose\n", &o, None).unwrap_err();
        assert!(e.0.contains("no samples"), "{e}");
    }

    #[test]
    fn truncated_input_keeps_complete_samples() {
        let cut = &TWO_EVENTS[..TWO_EVENTS.find("__read_nocancel").unwrap() + 5];
        let p = parse(cut.as_bytes(), &Options::default(), None).unwrap();
        // The last, cut line is not a frame: the sample keeps what was complete.
        assert_eq!(fold(&p, 1), vec![("dd;fsnotify".to_string(), 10101010)]);
        assert_eq!(p.quality.notes.len(), 2);
    }

    #[test]
    fn invalid_utf8_in_names_is_replaced() {
        let t = b"app 1 1.0: 1 cpu-clock:\n\t 10 bad\xff\xfename (/bin/app)\n\n";
        let p = parse(t, &Options::default(), None).unwrap();
        assert_eq!(
            fold(&p, 1),
            vec![("app;bad\u{fffd}\u{fffd}name".to_string(), 1)]
        );
    }

    #[test]
    fn negative_or_nan_periods_are_errors() {
        for bad in ["-5", "NaN", "1.5", "inf"] {
            let t = format!("app 1 1.0: {bad} cpu-clock:\n\t 10 f (/bin/app)\n\n");
            let e = parse(t.as_bytes(), &Options::default(), None).unwrap_err();
            assert!(e.0.contains("invalid sample period"), "{bad}: {e}");
            assert!(e.0.starts_with("line 1:"), "{e}");
        }
    }

    #[test]
    fn deep_stacks_are_truncated() {
        let mut t = String::from("app 1 1.0: 1 cpu-clock:\n");
        for _ in 0..100_000 {
            t.push_str("\t 10 f (/bin/app)\n");
        }
        t.push('\n');
        let p = parse(t.as_bytes(), &Options::default(), None).unwrap();
        assert_eq!(p.quality.truncated_stacks, 1);
        assert_eq!(p.samples[0].locations.len(), MAX_DEPTH + 1);
    }

    #[test]
    fn huge_lines_are_bounded_in_messages() {
        let mut t = String::from("app 1 1.0: 1 cpu-clock:\n\t");
        t.push_str(&"x".repeat(4 << 20));
        t.push_str("\n\n");
        let e = parse(t.as_bytes(), &Options::default(), None).unwrap_err();
        assert!(e.0.len() < 400, "{}", e.0.len());
    }
}
