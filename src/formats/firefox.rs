//! Firefox Profiler JSON: the **processed** format (what profiler.firefox.com saves, and what
//! samply writes, `--save-only` and `samply import`) and the **Gecko** format (what Firefox
//! itself emits, also inside Firefox DevTools' performance-panel exports, under `profile`).
//!
//! Both describe per thread a stack table (prefix stack, frame), a frame table and a sample
//! list; they differ in layout:
//! - processed: tables as struct-of-arrays (`{"length", "prefix": [...], "frame": [...]}`),
//!   frames → `funcTable` → names in `stringArray` (per thread before version 56, then
//!   `shared.stringArray`); since version 60 the tables live in `shared`, since 66 stacks give
//!   a `prefixOffset`; native frames carry a lib-relative `address` and reach their library
//!   through `funcTable.resource` → `resourceTable.lib` (version 70: `frameTable.lib`);
//!   samples may carry a `weight` (`weightType` `samples`, `tracing-ms` or `bytes`);
//! - Gecko: tables as `{"schema": {column: index}, "data": [[row], ...]}`, frame names (or
//!   absolute hex addresses) in the thread's `stringTable`, libraries with their load
//!   address range, child processes nested under `processes`.
//!
//! Unsymbolicated frames (samply's output: function names are hex addresses, with a `libs`
//! table giving each library's path and build id) are symbolized here with profdiff's own
//! symbolizer, as the Firefox Profiler does when it loads such a profile: an ELF library's
//! relative address is relative to its first `PT_LOAD` segment, `--symfs` folders are
//! searched, and the build id must match. What cannot be resolved stays an unknown frame
//! `[lib+0xaddress]`. Kernel addresses (relative to `_text`) are named from `/proc/kallsyms`
//! when the profile's kernel build id is the running kernel's.
//!
//! Every thread's stacks get a root frame naming the thread (samply names every main thread
//! `GeckoMain`: there the process name is used).

use crate::error::ParseError;
use crate::formats::folded::MAX_DEPTH;
use crate::formats::ReadOptions;
use crate::model::{
    Function, Line, Location, LocationId, Mapping, Profile, ProfileBuilder, ValueType,
};
use crate::symbolize::{Frame, ModuleKey, Symbolizer, SymbolizerOptions, Unavailable};
use rustc_hash::FxHashMap;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// True when the start of a JSON text looks like a Firefox Profiler or DevTools profile.
pub fn sniff(text: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let Some(body) = t.strip_prefix('{') else {
        return false;
    };
    let processed = t.contains("\"preprocessedProfileVersion\"");
    let gecko = t.contains("\"meta\"")
        && (t.contains("\"stackwalk\"") || t.contains("\"startTime\""))
        && t.contains("\"threads\"");
    // Both formats begin with `meta` (holding the sampling `interval`); the threads may come
    // after the detection window, behind long library and marker-schema lists.
    let first_key = body.trim_start();
    let meta_first = first_key.starts_with("\"meta\"") && t.contains("\"interval\"");
    // DevTools exports begin with their own fields (often a long marker list) before the
    // embedded profile: recognized by their `systemHost` or their leading fields.
    let devtools = t.contains("\"systemHost\"")
        || (first_key.starts_with("\"label\"")
            && t.contains("\"duration\"")
            && t.contains("\"markers\""));
    processed || gecko || meta_first || devtools
}

/// Parse a Firefox Profiler / Gecko / DevTools profile, symbolizing native frames.
pub fn parse(data: &[u8], opts: &ReadOptions) -> Result<Profile, ParseError> {
    let root: Value = serde_json::from_slice(data)
        .map_err(|e| ParseError::new(format!("not a valid Firefox profile JSON file: {e}")))?;
    // DevTools exports wrap a Gecko profile.
    let profile = match root.get("profile") {
        Some(p) if p.get("threads").is_some() => p,
        _ => &root,
    };
    if !profile.get("threads").is_some_and(Value::is_array) {
        return Err(ParseError::new(
            "not a Firefox profile: no \"threads\" list (a Firefox DevTools export without an embedded profile?)",
        ));
    }
    let mut reader = Reader::default();
    reader.read_profile(profile, 0)?;
    if reader.threads.iter().all(|t| t.samples.is_empty()) {
        return Err(ParseError::new("the profile's threads hold no samples"));
    }
    let symbols = symbolize(&reader, opts);
    reader.build(&symbols)
}

/// A library: path, debug name, build id and (Gecko) load range.
#[derive(Default)]
struct Lib {
    path: String,
    build_id: Option<Vec<u8>>,
    /// Breakpad debug id: for ELF, the build id's first 16 bytes with the GUID fields swapped.
    breakpad_prefix: Option<Vec<u8>>,
    start: u64,
    end: u64,
    offset: u64,
}

/// A frame: a name (with file and line when known), or a native address in a library.
#[derive(Clone)]
enum FrameData {
    Named {
        name: String,
        file: String,
        line: i64,
    },
    Native {
        lib: usize,
        address: u64,
    },
}

/// One thread, normalized.
struct Thread {
    root: String,
    /// (prefix stack, frame) per stack.
    stacks: Vec<(Option<usize>, usize)>,
    frames: Vec<FrameData>,
    /// Weight per stack.
    samples: FxHashMap<usize, f64>,
    /// Time span of the samples in ms.
    span: f64,
}

/// A table in either layout: struct-of-arrays (processed) or schema + rows (Gecko).
enum Table<'a> {
    Columns(&'a Map<String, Value>),
    Rows {
        schema: &'a Map<String, Value>,
        data: &'a [Value],
    },
}

impl<'a> Table<'a> {
    fn of(v: Option<&'a Value>, what: &str) -> Result<Table<'a>, ParseError> {
        let o = v
            .and_then(Value::as_object)
            .ok_or_else(|| ParseError::new(format!("the profile has no {what}")))?;
        match (o.get("schema").and_then(Value::as_object), o.get("data")) {
            (Some(schema), Some(Value::Array(data))) => Ok(Table::Rows { schema, data }),
            _ => {
                // `length` is trusted only as far as the columns hold rows: rows past every
                // column would be all nulls, and a huge `length` would size the tables read.
                let longest = o
                    .values()
                    .filter_map(Value::as_array)
                    .map(Vec::len)
                    .max()
                    .unwrap_or(0);
                match o.get("length").and_then(Value::as_u64) {
                    Some(n) if n > longest as u64 => Err(ParseError::new(format!(
                        "the {what} declares {n} rows, but its longest column has {longest}"
                    ))),
                    _ => Ok(Table::Columns(o)),
                }
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Table::Rows { data, .. } => data.len(),
            Table::Columns(o) => {
                let longest = || o.values().filter_map(Value::as_array).map(Vec::len).max();
                match o.get("length").and_then(Value::as_u64) {
                    Some(n) => n as usize,
                    None => longest().unwrap_or(0),
                }
            }
        }
    }

    fn has(&self, col: &str) -> bool {
        match self {
            Table::Rows { schema, .. } => schema.contains_key(col),
            Table::Columns(o) => o.get(col).is_some_and(Value::is_array),
        }
    }

    /// The cell, None when missing or null.
    fn get(&self, col: &str, i: usize) -> Option<&'a Value> {
        let v = match self {
            Table::Rows { schema, data } => {
                let c = schema.get(col)?.as_u64()? as usize;
                data.get(i)?.as_array()?.get(c)?
            }
            Table::Columns(o) => o.get(col)?.as_array()?.get(i)?,
        };
        (!v.is_null()).then_some(v)
    }

    fn int(&self, col: &str, i: usize) -> Option<i64> {
        self.get(col, i)?.as_i64()
    }

    fn index(&self, col: &str, i: usize) -> Option<usize> {
        self.int(col, i).filter(|&x| x >= 0).map(|x| x as usize)
    }
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    let a = v?.as_array()?;
    Some(
        a.iter()
            .map(|s| s.as_str().unwrap_or("").to_string())
            .collect(),
    )
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The ELF build id prefix a Breakpad id stands for: its GUID's first three fields are
/// stored little-endian.
fn breakpad_to_build_id(id: &str) -> Option<Vec<u8>> {
    let mut b = hex_bytes(id.get(..32)?)?;
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    Some(b)
}

fn parse_lib(v: &Value) -> Lib {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let path = [s("path"), s("name")]
        .into_iter()
        .find(|p| !p.is_empty())
        .unwrap_or_default();
    Lib {
        path,
        build_id: hex_bytes(&s("codeId").to_ascii_lowercase()),
        breakpad_prefix: breakpad_to_build_id(&s("breakpadId")),
        start: n("start"),
        end: n("end"),
        offset: n("offset"),
    }
}

/// A value, or the JSON text it holds (old Gecko profiles nest profiles, threads and lib
/// lists as strings).
fn embedded_json<'v>(v: &'v Value, what: &str) -> Result<Cow<'v, Value>, ParseError> {
    match v {
        Value::String(s) => serde_json::from_str(s)
            .map(Cow::Owned)
            .map_err(|e| ParseError::new(format!("{what} is a string but not JSON: {e}"))),
        v => Ok(Cow::Borrowed(v)),
    }
}

/// Parse `0x…` as an address.
fn hex_address(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// Split a Gecko frame location `name (file:line:col)` into its parts.
fn split_location(loc: &str) -> (String, String, i64) {
    if let (Some(open), true) = (loc.rfind(" ("), loc.ends_with(')')) {
        let inner = &loc[open + 2..loc.len() - 1];
        if inner.contains("://") || inner.contains('/') {
            let mut parts: Vec<&str> = inner.rsplitn(3, ':').collect();
            parts.reverse();
            let nums: Vec<Option<i64>> = parts.iter().map(|p| p.parse().ok()).collect();
            let (file, line) = match (parts.len(), nums.as_slice()) {
                (3, [_, Some(l), Some(_)]) => (parts[0].to_string(), *l),
                (n, [.., Some(l)]) if n >= 2 => (parts[..n - 1].join(":"), *l),
                _ => (inner.to_string(), 0),
            };
            return (loc[..open].to_string(), file, line);
        }
    }
    (loc.to_string(), String::new(), 0)
}

/// A processed thread's tables: per thread before version 60, in `shared` since; strings per
/// thread before version 56, in `shared` since.
struct ProcessedTables<'a> {
    strings: Vec<String>,
    stacks: Table<'a>,
    frames: Table<'a>,
    funcs: Table<'a>,
    resources: Option<Table<'a>>,
    sources: Option<Table<'a>>,
}

impl<'a> ProcessedTables<'a> {
    fn of(t: &'a Value, shared: Option<&'a Value>) -> Result<Self, ParseError> {
        let table = |name: &str| t.get(name).or_else(|| shared.and_then(|s| s.get(name)));
        let strings = strings(t.get("stringArray"))
            .or_else(|| strings(t.get("stringTable")))
            .or_else(|| strings(shared.and_then(|s| s.get("stringArray"))))
            .ok_or_else(|| ParseError::new("a thread has no string table"))?;
        Ok(ProcessedTables {
            strings,
            stacks: Table::of(table("stackTable"), "stackTable")?,
            frames: Table::of(table("frameTable"), "frameTable")?,
            funcs: Table::of(table("funcTable"), "funcTable")?,
            resources: Table::of(table("resourceTable"), "resourceTable").ok(),
            sources: table("sources").and_then(|s| Table::of(Some(s), "sources").ok()),
        })
    }

    fn string(&self, i: Option<usize>) -> Option<String> {
        i.and_then(|i| self.strings.get(i)).cloned()
    }

    /// Frame `f`: native when its function is named by a hex address and it has a library
    /// (version 70: `frameTable.lib`; before: function → resource → lib) and an address.
    fn frame(&self, f: usize, lib_base: usize) -> FrameData {
        let (frames, funcs) = (&self.frames, &self.funcs);
        let func = frames.index("func", f);
        let name = func
            .and_then(|u| self.string(funcs.index("name", u)))
            .unwrap_or_else(|| "(unknown)".into());
        let lib = if frames.has("lib") {
            frames.index("lib", f)
        } else {
            let res = func.and_then(|u| funcs.index("resource", u));
            res.and_then(|r| self.resources.as_ref()?.index("lib", r))
        };
        let address = frames.int("address", f).filter(|&a| a >= 0);
        if let (Some(l), Some(a), Some(_)) = (lib, address, hex_address(&name)) {
            return FrameData::Native {
                lib: lib_base.saturating_add(l),
                address: a as u64,
            };
        }
        // Version 58 replaced `fileName` by a `source` into `shared.sources`.
        let file = func
            .and_then(|u| {
                self.string(funcs.index("fileName", u)).or_else(|| {
                    let s = funcs.index("source", u)?;
                    self.string(self.sources.as_ref()?.index("filename", s))
                })
            })
            .unwrap_or_default();
        let line = frames
            .int("line", f)
            .or_else(|| func.and_then(|u| funcs.int("lineNumber", u)))
            .unwrap_or(0);
        let is_js = func
            .and_then(|u| funcs.get("isJS", u))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if is_js && file.is_empty() {
            // Old processed files keep a JS function's location in its name.
            let (name, file, l) = split_location(&name);
            let line = if line == 0 { l } else { line };
            return FrameData::Named { name, file, line };
        }
        FrameData::Named { name, file, line }
    }
}

#[derive(Default)]
struct Reader {
    libs: Vec<Lib>,
    threads: Vec<Thread>,
    /// Weight type of the samples (`samples`, `tracing-ms`, `bytes`).
    weight_type: Option<String>,
    null_stacks: u64,
}

impl Reader {
    /// Read a profile's threads, and those of its child processes (Gecko).
    fn read_profile(&mut self, p: &Value, depth: usize) -> Result<(), ParseError> {
        if depth > 16 {
            return Err(ParseError::new("processes nested more than 16 deep"));
        }
        let lib_base = self.libs.len();
        // Old Gecko profiles store the libs as a JSON string.
        if let Some(libs) = p.get("libs") {
            let libs = embedded_json(libs, "the libs list")?;
            let libs = libs.as_array().map_or(&[][..], Vec::as_slice);
            self.libs.extend(libs.iter().map(parse_lib));
        }
        let shared = p.get("shared");
        for t in p["threads"].as_array().into_iter().flatten() {
            let t = embedded_json(t, "a thread")?;
            // Old Gecko profiles embed child processes' whole profiles as thread strings.
            if t.get("threads").is_some() {
                self.read_profile(&t, depth + 1)?;
                continue;
            }
            let thread = if t.pointer("/samples/schema").is_some() {
                self.gecko_thread(&t, lib_base)?
            } else {
                self.processed_thread(&t, shared, lib_base)?
            };
            self.threads.push(thread);
        }
        for child in p
            .get("processes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let child = embedded_json(child, "a child process")?;
            if child.get("threads").is_some() {
                self.read_profile(&child, depth + 1)?;
            }
        }
        Ok(())
    }

    fn root_name(t: &Value, i: usize) -> String {
        let name = t.get("name").and_then(Value::as_str).unwrap_or("");
        let process = t.get("processName").and_then(Value::as_str).unwrap_or("");
        match (name, process) {
            ("GeckoMain", p) if !p.is_empty() => p.to_string(),
            ("", "") => format!("thread {i}"),
            ("", p) => p.to_string(),
            (n, _) => n.to_string(),
        }
    }

    fn processed_thread(
        &mut self,
        t: &Value,
        shared: Option<&Value>,
        lib_base: usize,
    ) -> Result<Thread, ParseError> {
        // Libraries of a thread (old processed files) come after the profile's.
        let lib_base = match t.get("libs").and_then(Value::as_array) {
            Some(libs) => {
                let base = self.libs.len();
                self.libs.extend(libs.iter().map(parse_lib));
                base
            }
            None => lib_base,
        };
        let tables = ProcessedTables::of(t, shared)?;
        let frames: Vec<FrameData> = (0..tables.frames.len())
            .map(|f| tables.frame(f, lib_base))
            .collect();
        self.check_libs(&frames)?;
        let stack_rows = Self::stack_rows(&tables.stacks)?;
        let samples = Table::of(t.get("samples"), "samples table")?;
        self.check_weight_type(Self::weight_type(t).as_str())?;
        let (weights, span) = self.sample_weights(&samples, stack_rows.len())?;
        Ok(Thread {
            root: Self::root_name(t, self.threads.len()),
            stacks: stack_rows,
            frames,
            samples: weights,
            span,
        })
    }

    /// What a thread's sample weights count (both formats: `samples.weightType`).
    fn weight_type(t: &Value) -> String {
        t.pointer("/samples/weightType")
            .and_then(Value::as_str)
            .unwrap_or("samples")
            .to_string()
    }

    fn check_weight_type(&mut self, wt: &str) -> Result<(), ParseError> {
        if !matches!(wt, "samples" | "tracing-ms" | "bytes") {
            return Err(ParseError::new(format!(
                "unknown sample weight type {wt:?} (expected samples, tracing-ms or bytes)"
            )));
        }
        match &self.weight_type {
            Some(w) if w != wt => Err(ParseError::new(format!(
                "threads weigh their samples differently ({w} and {wt})"
            ))),
            _ => {
                self.weight_type = Some(wt.to_string());
                Ok(())
            }
        }
    }

    /// (prefix, frame) per stack: `prefix` or (version 66) `prefixOffset`.
    fn stack_rows(stacks: &Table) -> Result<Vec<(Option<usize>, usize)>, ParseError> {
        let n = stacks.len();
        let offsets = stacks.has("prefixOffset");
        (0..n)
            .map(|i| {
                let prefix = if offsets {
                    match stacks.int("prefixOffset", i) {
                        Some(k) if k > 0 && k as usize <= i => Some(i - k as usize),
                        _ => None,
                    }
                } else {
                    stacks.index("prefix", i)
                };
                if let Some(p) = prefix.filter(|&p| p >= n) {
                    return Err(ParseError::new(format!(
                        "stack {i} has prefix {p}, but there are {n} stacks"
                    )));
                }
                let frame = stacks
                    .index("frame", i)
                    .ok_or_else(|| ParseError::new(format!("stack {i} has no frame")))?;
                Ok((prefix, frame))
            })
            .collect()
    }

    /// Weight per stack, and the samples' time span (ms).
    fn sample_weights(
        &mut self,
        samples: &Table,
        nstacks: usize,
    ) -> Result<(FxHashMap<usize, f64>, f64), ParseError> {
        let mut w: FxHashMap<usize, f64> = FxHashMap::default();
        let (mut t, mut first, mut last) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
        let deltas = samples.has("timeDeltas");
        for i in 0..samples.len() {
            let time = if deltas {
                t += samples
                    .get("timeDeltas", i)
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                Some(t)
            } else {
                samples.get("time", i).and_then(Value::as_f64)
            };
            if let Some(time) = time {
                first = first.min(time);
                last = last.max(time);
            }
            let Some(stack) = samples.index("stack", i) else {
                self.null_stacks += 1;
                continue;
            };
            if stack >= nstacks {
                return Err(ParseError::new(format!(
                    "sample {i} names stack {stack}, but there are {nstacks} stacks"
                )));
            }
            let weight = samples
                .get("weight", i)
                .and_then(Value::as_f64)
                .unwrap_or(1.0);
            if !weight.is_finite() || weight < 0.0 {
                return Err(ParseError::new(format!("sample {i} has weight {weight}")));
            }
            *w.entry(stack).or_insert(0.0) += weight;
        }
        Ok((w, if last > first { last - first } else { 0.0 }))
    }

    /// Every native frame must name a library the profile lists.
    fn check_libs(&self, frames: &[FrameData]) -> Result<(), ParseError> {
        for (i, f) in frames.iter().enumerate() {
            if let FrameData::Native { lib, .. } = f {
                if *lib >= self.libs.len() {
                    return Err(ParseError::new(format!(
                        "frame {i} names library {lib}, but the profile lists {} libraries",
                        self.libs.len()
                    )));
                }
            }
        }
        Ok(())
    }

    fn gecko_thread(&mut self, t: &Value, lib_base: usize) -> Result<Thread, ParseError> {
        let strings = strings(t.get("stringTable"))
            .ok_or_else(|| ParseError::new("a Gecko thread has no stringTable"))?;
        let stacks = Table::of(t.get("stackTable"), "stackTable")?;
        let frames = Table::of(t.get("frameTable"), "frameTable")?;
        let libs = &self.libs[lib_base..];
        let mut frame_data = Vec::with_capacity(frames.len());
        for f in 0..frames.len() {
            let loc = frames
                .index("location", f)
                .and_then(|i| strings.get(i))
                .map_or("(unknown)", String::as_str);
            let native = hex_address(loc).and_then(|a| {
                let l = libs.iter().position(|l| l.start <= a && a < l.end)?;
                Some(FrameData::Native {
                    lib: lib_base + l,
                    address: a - libs[l].start + libs[l].offset,
                })
            });
            frame_data.push(native.unwrap_or_else(|| {
                let (name, file, line) = split_location(loc);
                let line = frames.int("line", f).unwrap_or(line);
                FrameData::Named { name, file, line }
            }));
        }
        let stack_rows = Self::stack_rows(&stacks)?;
        let samples = Table::of(t.get("samples"), "samples table")?;
        self.check_weight_type(Self::weight_type(t).as_str())?;
        let (weights, span) = self.sample_weights(&samples, stack_rows.len())?;
        Ok(Thread {
            root: Self::root_name(t, self.threads.len()),
            stacks: stack_rows,
            frames: frame_data,
            samples: weights,
            span,
        })
    }

    /// Assemble the profile.
    fn build(self, symbols: &Symbols) -> Result<Profile, ParseError> {
        let (vt, scale) = match self.weight_type.as_deref() {
            Some("tracing-ms") => (ValueType::new("wall", "nanoseconds"), 1e6),
            Some("bytes") => (ValueType::new("space", "bytes"), 1.0),
            _ => (ValueType::samples(), 1.0),
        };
        let mut a = Assembler {
            reader: &self,
            symbols,
            b: ProfileBuilder::new(vec![vt]),
            mappings: FxHashMap::default(),
            truncated: 0,
            frames: 0,
            unknown: 0,
        };
        for t in &self.threads {
            a.thread(t, scale)?;
        }
        let (truncated, frames, unknown) = (a.truncated, a.frames, a.unknown);
        let mut b = a.b;
        if b.profile().samples.is_empty() {
            return Err(ParseError::new("the profile's samples all weigh 0"));
        }
        let p = b.profile_mut();
        let span = self.threads.iter().map(|t| t.span).fold(0.0, f64::max);
        p.duration_nanos = (span * 1e6).min(i64::MAX as f64) as i64;
        p.quality.truncated_stacks = truncated;
        p.quality.total_frames = frames;
        p.quality.unknown_frames = unknown;
        for n in &symbols.notes {
            if !p.quality.notes.contains(n) {
                p.quality.notes.push(n.clone());
            }
        }
        if self.null_stacks > 0 {
            p.quality.notes.push(format!(
                "{} samples without a stack (skipped)",
                self.null_stacks
            ));
        }
        p.metadata.insert("tool".into(), "Firefox Profiler".into());
        Ok(b.finish())
    }
}

/// Turns the read threads into profile samples.
struct Assembler<'r> {
    reader: &'r Reader,
    symbols: &'r Symbols,
    b: ProfileBuilder,
    /// Profile mapping per library.
    mappings: FxHashMap<usize, u32>,
    truncated: u64,
    /// Sample-weighted frames, and those of them left unresolved.
    frames: u64,
    unknown: u64,
}

impl Assembler<'_> {
    /// One thread's stacks under a root frame naming it.
    fn thread(&mut self, t: &Thread, scale: f64) -> Result<(), ParseError> {
        let root = self.b.frame(&t.root);
        let mut locs: Vec<Option<LocationId>> = vec![None; t.frames.len()];
        let mut entries: Vec<(&usize, &f64)> = t.samples.iter().collect();
        entries.sort_unstable_by_key(|e| *e.0);
        for (&leaf, &weight) in entries {
            let (mut stack, unknown) = self.stack(t, leaf, &mut locs)?;
            let v = (weight * scale).round();
            if v >= 1.0 {
                let v = v.min(i64::MAX as f64) as i64;
                self.frames = self.frames.saturating_add(stack.len() as u64 * v as u64);
                self.unknown = self.unknown.saturating_add(unknown * v as u64);
                stack.push(root);
                self.b.add_sample(&stack, &[v]);
            }
        }
        Ok(())
    }

    /// Stack `leaf` and its prefixes, leaf first, cut at [`MAX_DEPTH`]; and how many of its
    /// frames are unresolved native addresses.
    fn stack(
        &mut self,
        t: &Thread,
        leaf: usize,
        locs: &mut [Option<LocationId>],
    ) -> Result<(Vec<LocationId>, u64), ParseError> {
        let mut stack = Vec::new();
        let mut unknown = 0;
        let mut s = Some(leaf);
        let mut steps = 0;
        while let Some(i) = s {
            steps += 1;
            if steps > t.stacks.len() {
                return Err(ParseError::new(format!(
                    "stack {i}'s prefixes form a cycle"
                )));
            }
            let (prefix, frame) = t.stacks[i];
            if stack.len() < MAX_DEPTH {
                let fd = t.frames.get(frame).ok_or_else(|| {
                    ParseError::new(format!("stack {i} names missing frame {frame}"))
                })?;
                let loc = match locs[frame] {
                    Some(l) => l,
                    None => *locs[frame].insert(self.location(fd)),
                };
                if let FrameData::Native { lib, address } = fd {
                    unknown += !self.symbols.found.contains_key(&(*lib, *address)) as u64;
                }
                stack.push(loc);
            } else if steps == MAX_DEPTH + 1 {
                self.truncated += 1;
            }
            s = prefix;
        }
        Ok((stack, unknown))
    }

    fn location(&mut self, fd: &FrameData) -> LocationId {
        match fd {
            FrameData::Named { name, file, line } => {
                let f = self.b.function(Function {
                    name: name.clone(),
                    system_name: name.clone(),
                    filename: file.clone(),
                    start_line: 0,
                });
                self.b.location(Location {
                    lines: vec![Line {
                        function: f,
                        line: *line,
                        column: 0,
                    }],
                    ..Default::default()
                })
            }
            FrameData::Native { lib, address } => self.native_location(*lib, *address),
        }
    }

    /// A native frame: its library's mapping, its relative address, and the symbolizer's
    /// frames for it (none: an unknown frame `[lib+0xaddress]`).
    fn native_location(&mut self, lib: usize, address: u64) -> LocationId {
        let l = &self.reader.libs[lib];
        let b = &mut self.b;
        let mapping = *self.mappings.entry(lib).or_insert_with(|| {
            b.mapping(Mapping {
                file: l.path.clone(),
                build_id: l
                    .build_id
                    .as_deref()
                    .map(crate::symbolize::elf::hex)
                    .unwrap_or_default(),
                limit: u64::MAX,
                has_functions: true,
                ..Default::default()
            })
        });
        let frames = self
            .symbols
            .found
            .get(&(lib, address))
            .map_or(&[][..], Vec::as_slice);
        let lines = frames
            .iter()
            .map(|fr| Line {
                function: b.function(Function {
                    name: fr.function.clone(),
                    system_name: fr.system_name.clone(),
                    filename: fr.file.clone().unwrap_or_default(),
                    start_line: 0,
                }),
                line: fr.line as i64,
                column: fr.column as i64,
            })
            .collect();
        b.location(Location {
            mapping: Some(mapping),
            address,
            lines,
            is_folded: false,
        })
    }
}

/// Symbolization results: frames (innermost first) per (lib, relative address).
#[derive(Default)]
struct Symbols {
    found: FxHashMap<(usize, u64), Vec<Frame>>,
    notes: Vec<String>,
}

/// Symbolize every native frame, library by library.
fn symbolize(r: &Reader, opts: &ReadOptions) -> Symbols {
    let mut wanted: FxHashMap<usize, Vec<u64>> = FxHashMap::default();
    for t in &r.threads {
        for f in &t.frames {
            if let FrameData::Native { lib, address } = f {
                wanted.entry(*lib).or_default().push(*address);
            }
        }
    }
    let mut out = Symbols::default();
    if wanted.is_empty() {
        return out;
    }
    let sym = Symbolizer::new(SymbolizerOptions {
        search_paths: opts.symfs.clone(),
        debug_info: opts.debug_info,
        line_info: opts.line_info,
        perf_map_dir: None,
        ..Default::default()
    });
    let mut libs: Vec<(usize, Vec<u64>)> = wanted.into_iter().collect();
    libs.sort_unstable_by_key(|l| l.0);
    for (lib, mut addrs) in libs {
        addrs.sort_unstable();
        addrs.dedup();
        let l = &r.libs[lib];
        if l.path == "[kernel.kallsyms]" {
            kernel_symbols(l, lib, &addrs, &mut out);
            continue;
        }
        if !crate::symbolize::is_symbolizable(&l.path) {
            continue;
        }
        let key = ModuleKey {
            path: l.path.clone(),
            build_id: l.build_id.clone(),
        };
        let module = match sym.module(&key) {
            Ok(m) => m,
            Err(e) => {
                let why = match e {
                    Unavailable::Missing => "binary not found (use --symfs)".to_string(),
                    Unavailable::BuildIdMismatch { found, recorded } => format!(
                        "the binary found has build id {found}, the profile's is {recorded}"
                    ),
                    Unavailable::Unreadable(e) => format!("unreadable: {e}"),
                };
                out.notes.push(format!("{}: not symbolized: {why}", l.path));
                continue;
            }
        };
        if l.build_id.is_none() {
            // Only a Breakpad id: its first 16 bytes must begin the file's build id.
            let found = module.image().build_id.clone().unwrap_or_default();
            if let Some(want) = &l.breakpad_prefix {
                if !found.starts_with(want) {
                    out.notes.push(format!(
                        "{}: build id differs from the profile's (not symbolized)",
                        l.path
                    ));
                    continue;
                }
            }
        }
        // Relative addresses count from the first PT_LOAD segment's address.
        let base = module.image().vaddr_of_offset(0).unwrap_or(0);
        let vaddrs: Vec<u64> = addrs.iter().map(|a| a + base).collect();
        for (a, frames) in addrs.iter().zip(module.symbolize_vaddrs(&vaddrs)) {
            if !frames.is_empty() {
                out.found.insert((lib, *a), frames);
            }
        }
    }
    out
}

/// Kernel frames, when the profile's kernel is the running one: samply's kernel addresses
/// are relative to `_text`, whose address `/proc/kallsyms` gives.
fn kernel_symbols(l: &Lib, lib: usize, addrs: &[u64], out: &mut Symbols) {
    let recorded = l.build_id.as_deref().map(crate::symbolize::elf::hex);
    let running = crate::formats::perf_data::running_kernel_build_id();
    let (Some(recorded), Some(running)) = (recorded, running) else {
        out.notes
            .push("kernel frames not symbolized: the kernel's build id is unknown".into());
        return;
    };
    if running.is_empty() || !recorded.starts_with(&running) {
        out.notes.push(format!(
            "kernel frames not symbolized: the profile's kernel {recorded} is not the running one"
        ));
        return;
    }
    let path = std::path::Path::new("/proc/kallsyms");
    let text_addr = std::fs::read_to_string(path).ok().and_then(|t| {
        t.lines().find_map(|line| {
            let mut f = line.split_whitespace();
            let (a, _, name) = (f.next()?, f.next()?, f.next()?);
            (name == "_text").then(|| u64::from_str_radix(a, 16).ok())?
        })
    });
    let (Some(base), Ok(syms)) = (
        text_addr.filter(|&a| a != 0),
        crate::symbolize::Kallsyms::load(path),
    ) else {
        out.notes
            .push("kernel frames not symbolized: /proc/kallsyms hides addresses".into());
        return;
    };
    for &a in addrs {
        if let Some((name, _)) = syms.lookup(base.wrapping_add(a)) {
            let frame = Frame {
                function: name.to_string(),
                system_name: name.to_string(),
                file: None,
                line: 0,
                column: 0,
            };
            out.found.insert((lib, a), vec![frame]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded::fold;

    fn read(t: &str) -> Result<Profile, ParseError> {
        let p = parse(t.as_bytes(), &ReadOptions::default())?;
        p.validate().map_err(ParseError)?;
        Ok(p)
    }

    /// Version 66 layout: shared tables, `prefixOffset`, shared strings, `timeDeltas`,
    /// weights and a sample without a stack.
    const PROCESSED_V66: &str = r#"{"meta":{"preprocessedProfileVersion":66,"interval":1},
      "libs":[],
      "shared":{"stringArray":["main","work","leaf","a.c"],
        "stackTable":{"length":3,"prefixOffset":[0,1,1],"frame":[0,1,2]},
        "frameTable":{"length":3,"func":[0,1,2],"address":[-1,-1,-1],"line":[null,7,null]},
        "funcTable":{"length":3,"name":[0,1,2],"resource":[-1,-1,-1],"source":[0,null,null]},
        "sources":{"length":1,"filename":[3]},
        "resourceTable":{"length":0,"lib":[],"name":[]}},
      "threads":[{"name":"GeckoMain","processName":"app","pid":"1","tid":1,
        "samples":{"length":4,"weightType":"samples","stack":[2,1,null,2],"timeDeltas":[0,1,1,1],"weight":[3,1,1,null]}}]}"#;

    #[test]
    fn reads_processed_v66() {
        let p = read(PROCESSED_V66).unwrap();
        // Stack 2's prefix is 2 - 1 = 1 (work), whose prefix is 0 (main).
        assert_eq!(
            fold(&p, 0),
            vec![
                ("app;main;work".to_string(), 1),
                ("app;main;work;leaf".to_string(), 4)
            ]
        );
        assert!(p
            .quality
            .notes
            .iter()
            .any(|n| n.contains("1 samples without a stack")));
        let main = p.functions.iter().find(|f| f.name == "main").unwrap();
        assert_eq!(main.filename, "a.c");
        assert_eq!(p.duration_nanos, 3_000_000);
    }

    #[test]
    fn tracing_weights_are_time() {
        let t = PROCESSED_V66
            .replace(
                "\"weightType\":\"samples\"",
                "\"weightType\":\"tracing-ms\"",
            )
            .replace("[3,1,1,null]", "[0.5,1,1,2]");
        let p = read(&t).unwrap();
        assert_eq!(p.sample_types[0], ValueType::new("wall", "nanoseconds"));
        assert_eq!(
            fold(&p, 0),
            vec![
                ("app;main;work".to_string(), 1_000_000),
                ("app;main;work;leaf".to_string(), 2_500_000)
            ]
        );
    }

    /// The Gecko layout: schema + rows, strings per thread, absolute addresses in libs.
    const GECKO: &str = r#"{"meta":{"version":24,"startTime":0,"stackwalk":1,"interval":1},
      "libs":[{"name":"libx.so","path":"/nonexistent/libx.so","start":4096,"end":8192,"offset":0,"breakpadId":"00"}],
      "threads":[{"name":"Worker","stringTable":["root","0x1010","js (https://a/b.js:12:3)"],
        "stackTable":{"schema":{"prefix":0,"frame":1},"data":[[null,0],[0,1],[0,2]]},
        "frameTable":{"schema":{"location":0,"line":1},"data":[[0],[1],[2]]},
        "samples":{"schema":{"stack":0,"time":1},"data":[[1,0],[1,1],[2,2]]}}]}"#;

    #[test]
    fn reads_gecko_rows_and_native_frames() {
        let p = read(GECKO).unwrap();
        assert_eq!(
            fold(&p, 0),
            vec![
                ("Worker;root;[libx.so+0x10]".to_string(), 2),
                ("Worker;root;js".to_string(), 1)
            ]
        );
        let js = p.functions.iter().find(|f| f.name == "js").unwrap();
        assert_eq!(js.filename, "https://a/b.js");
        assert!(p
            .quality
            .notes
            .iter()
            .any(|n| n.contains("binary not found")));
        // Frames seen, sample-weighted (2 × 2 + 1 × 2), and the unresolved address twice.
        assert_eq!((p.quality.total_frames, p.quality.unknown_frames), (6, 2));
    }

    #[test]
    fn gecko_weights_follow_their_type() {
        let t = GECKO
            .replace(
                "\"schema\":{\"stack\":0,\"time\":1}",
                "\"weightType\":\"tracing-ms\",\"schema\":{\"stack\":0,\"time\":1,\"weight\":2}",
            )
            .replace("[[1,0],[1,1],[2,2]]", "[[1,0,0.5],[1,1,0.5],[2,2,2]]");
        let p = read(&t).unwrap();
        assert_eq!(p.sample_types[0], ValueType::new("wall", "nanoseconds"));
        assert_eq!(p.total(0), 3_000_000);
    }

    #[test]
    fn sniffs_both_formats_and_devtools_exports() {
        assert!(sniff(PROCESSED_V66));
        assert!(sniff(GECKO));
        assert!(sniff("{\n  \"meta\": {\"interval\": 1, \"libs\": [\n"));
        assert!(sniff(
            "{\"label\":\"\",\"duration\":1.5,\"markers\":[{\"name\":\"x\"}"
        ));
        assert!(!sniff(
            "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\"}"
        ));
        assert!(!sniff("{\"traceEvents\":[]}"));
    }

    #[test]
    fn location_strings_split_like_the_profiler() {
        assert_eq!(
            split_location("f (https://x/y.js:10:2)"),
            ("f".into(), "https://x/y.js".into(), 10)
        );
        assert_eq!(
            split_location("g/< (resource://a.js -> resource://b.js:107)"),
            (
                "g/<".into(),
                "resource://a.js -> resource://b.js".into(),
                107
            )
        );
        assert_eq!(
            split_location("nsFoo::Bar (inlined)"),
            ("nsFoo::Bar (inlined)".into(), String::new(), 0)
        );
    }

    #[test]
    fn breakpad_ids_give_the_build_id_prefix() {
        // samply's libc: codeId 93ac61ec5a8eb139..., breakpadId EC61AC938E5A39B1...0
        let b = breakpad_to_build_id("EC61AC938E5A39B16F9FBD350E3169A50").unwrap();
        assert_eq!(
            crate::symbolize::elf::hex(&b),
            "93ac61ec5a8eb1396f9fbd350e3169a5"
        );
    }

    #[test]
    fn bad_inputs_are_one_line_errors() {
        let err = |t: &str| read(t).unwrap_err().0;
        assert!(err("{\"meta\":{}}").contains("no \"threads\" list"));
        assert!(err("{\"meta\":").contains("not a valid Firefox profile"));
        assert!(
            err(&PROCESSED_V66.replace("[2,1,null,2]", "[9,1,null,2]")).contains("names stack 9")
        );
        assert!(
            err(&PROCESSED_V66.replace("\"samples\",\"stack\"", "\"cycles\",\"stack\""))
                .contains("unknown sample weight type")
        );
        assert!(err(&PROCESSED_V66.replace("[3,1,1,null]", "[0,0,0,0]")).contains("weigh 0"));
        // A prefix cycle in a (pre-66) prefix column.
        let cyc = PROCESSED_V66.replace("\"prefixOffset\":[0,1,1]", "\"prefix\":[2,0,1]");
        assert!(err(&cyc).contains("cycle"));
        assert!(err(&GECKO.replace("\"stringTable\"", "\"strings\"")).contains("no stringTable"));
    }
}
