//! valgrind's callgrind and cachegrind output (the "callgrind format",
//! <https://valgrind.org/docs/manual/cl-format.html>): a header (`version:`, `creator:`,
//! `cmd:`, `positions:`, `events:`), then cost lines grouped under `ob=` / `fl=` / `fn=`
//! (object, file, function), each `position… cost…` with one cost per event.
//!
//! What is read, as `callgrind_annotate` reads it:
//! - every `events:` column is a sample type (`Ir`, `Dr`, `D1mr`, `Bc`, …, unit `count`); the
//!   first one is the default, the column `callgrind_annotate` sorts by;
//! - name compression (`fn=(12) name` defines id 12, `fn=(12)` refers to it; separate id spaces
//!   for objects, files and functions);
//! - subpositions: one position column per `positions:` entry (`line`, `instr line`, …), each
//!   absolute, hex (`0x…`), relative (`+3`, `-2`) or `*` (same as the previous line);
//! - `fi=` / `fe=` switch the file of the following lines (inlined code) without changing the
//!   function; `cfi=` / `cfl=` / `cob=` name the callee's file and object for the next `cfn=`
//!   only (they reset after it);
//! - `calls=COUNT TARGET` followed by one cost line: the inclusive cost of those calls, which
//!   is not the caller's own cost;
//! - `jump=` / `jcnd=` / `jfi=` / `jfn=` (branch data) are skipped; `totals:` / `summary:` are
//!   checked against the sum of the self costs;
//! - several parts in one file (`part:` lines, from `--dump-every-bb` or combined dumps) add up.
//!
//! The counts come from simulation, not sampling: the same binary with the same input and
//! environment gives the same numbers, which `metadata["deterministic"] = "true"` records for
//! `compare`.
//!
//! A function is a name in a file, as `callgrind_annotate` shows it (`file:function`). Its self
//! cost is the sum of its cost lines; its inclusive cost is what [`stacks`] makes of the call
//! edges. Cachegrind files have no calls: each function is then a one-frame stack.

pub(crate) mod stacks;

use crate::error::ParseError;
use crate::model::{
    Function, Line, Location, LocationId, Mapping, Profile, ProfileBuilder, ValueType,
};
use rustc_hash::FxHashMap;

/// True when `data` starts like a callgrind or cachegrind file: its first meaningful lines are
/// header lines of the format and an `events:` line follows within the header.
pub fn sniff(data: &[u8]) -> bool {
    let head = &data[..data.len().min(16 * 1024)];
    let text = String::from_utf8_lossy(head);
    let mut header_lines = 0;
    for line in text.lines().take(200) {
        let line = line.trim_end();
        if line == "# callgrind format" {
            return true;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("events:") {
            return true;
        }
        let Some((key, _)) = line.split_once(':') else {
            return false;
        };
        if !HEADER_KEYS.contains(&key) {
            return false;
        }
        header_lines += 1;
        if header_lines > 50 {
            return false;
        }
    }
    false
}

/// Header keys that may come before `events:`.
const HEADER_KEYS: &[&str] = &[
    "version",
    "creator",
    "pid",
    "thread",
    "part",
    "desc",
    "cmd",
    "positions",
    "event",
];

/// One function: where its costs were written (`fl=` file) and its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FuncKey {
    pub file: String,
    pub name: String,
}

/// The call graph a file describes, per event: self costs and inclusive call costs.
#[derive(Default)]
pub(crate) struct CallGraph {
    pub events: Vec<String>,
    pub funcs: Vec<FuncKey>,
    index: FxHashMap<FuncKey, u32>,
    /// The object (`ob=`) each function was first seen in: its location's mapping.
    pub objects: Vec<Option<String>>,
    /// `self_cost[f][e]`.
    pub self_cost: Vec<Vec<u64>>,
    /// (caller, callee) → inclusive cost per event of all those calls.
    pub calls: FxHashMap<(u32, u32), Vec<u64>>,
    /// `summary:` lines, added over parts.
    pub summary: Option<Vec<u64>>,
    /// `totals:` lines, added over parts (callgrind writes both; they agree).
    pub totals: Option<Vec<u64>>,
    pub command: Option<String>,
    pub creator: Option<String>,
    /// `desc:` lines were seen (valgrind writes them).
    pub has_desc: bool,
}

impl CallGraph {
    pub(crate) fn func(&mut self, file: &str, name: &str) -> u32 {
        let key = FuncKey {
            file: file.to_string(),
            name: name.to_string(),
        };
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.funcs.len() as u32;
        self.funcs.push(key.clone());
        self.index.insert(key, i);
        self.self_cost.push(vec![0; self.events.len()]);
        self.objects.push(None);
        i
    }

    /// Sum of the self costs of event `e`.
    pub fn self_total(&self, e: usize) -> u64 {
        self.self_cost
            .iter()
            .fold(0u64, |a, c| a.saturating_add(c[e]))
    }
}

/// Parse a callgrind or cachegrind file into a profile (see the module docs).
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let text = std::str::from_utf8(data).map_err(|e| {
        ParseError::new(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let graph = Reader::default().read(text)?;
    check_complete(&graph, text.ends_with('\n'))?;
    check_summary(&graph)?;
    let mut p = to_profile(&graph);
    p.quality.notes.extend(unattributed(&graph));
    Ok(p)
}

/// callgrind's `summary:` can count more than its functions hold (`--collect-systime`'s
/// sysTime: system time of no function). profdiff's totals are the functions' costs;
/// callgrind_annotate takes its percentages of the summary. A gap over 1% is worth a note.
fn unattributed(g: &CallGraph) -> Vec<String> {
    let (Some(summary), Some(_)) = (&g.summary, &g.totals) else {
        return Vec::new();
    };
    g.events
        .iter()
        .enumerate()
        .filter_map(|(e, name)| {
            let (all, held) = (*summary.get(e)?, g.self_total(e));
            (all > held && (all - held) as f64 > 0.01 * all as f64).then(|| {
                format!(
                    "callgrind's summary counts {all} {name}, {:.1}% more than its functions \
                     hold ({held}); percentages here are of the functions' total \
                     (callgrind_annotate's are of the summary)",
                    (all - held) as f64 * 100.0 / held.max(1) as f64
                )
            })
        })
        .collect()
}

/// valgrind ends a callgrind file with `totals:` (after a `summary:` in the header) and a
/// cachegrind file (`desc:` lines, no `creator:`) with `summary:` and a newline: without them
/// the file was cut. (Other writers, e.g. Xdebug, may omit the last newline.)
fn check_complete(g: &CallGraph, final_newline: bool) -> Result<(), ParseError> {
    let valgrind = g
        .creator
        .as_deref()
        .is_some_and(|c| c.starts_with("callgrind"))
        || (g.creator.is_none() && g.has_desc);
    if valgrind && !final_newline {
        return Err(ParseError::new(
            "the file ends mid-line (no final newline): it is truncated",
        ));
    }
    let callgrind_cut = g.summary.is_some() && g.totals.is_none() && g.creator.is_some();
    let cachegrind_cut = g.creator.is_none() && g.has_desc && g.summary.is_none();
    if callgrind_cut || cachegrind_cut {
        let last = if callgrind_cut { "totals:" } else { "summary:" };
        return Err(ParseError::new(format!(
            "no `{last}` line at the end: the file is truncated"
        )));
    }
    Ok(())
}

/// `totals:` must equal the sum of the self costs: otherwise cost lines were lost or misread,
/// and the numbers would be wrong. A cachegrind file has only `summary:`, which is checked the
/// same way; callgrind's `summary:` also counts a few events of no function (the last
/// instructions before exit) and may be slightly larger.
fn check_summary(g: &CallGraph) -> Result<(), ParseError> {
    match (&g.totals, &g.summary) {
        (Some(totals), _) => check_against(g, totals),
        (None, Some(summary)) => check_against(g, summary),
        (None, None) => Ok(()),
    }
}

fn check_against(g: &CallGraph, summary: &[u64]) -> Result<(), ParseError> {
    for (e, name) in g.events.iter().enumerate() {
        let want = summary.get(e).copied().unwrap_or(0);
        let got = g.self_total(e);
        if want != got && want != 0 {
            return Err(ParseError::new(format!(
                "the summary says {want} {name} but the cost lines add up to {got}"
            )));
        }
    }
    Ok(())
}

/// Name-compression tables: `(id) name` defines, `(id)` refers.
#[derive(Default)]
struct Names {
    files: FxHashMap<u64, String>,
    funcs: FxHashMap<u64, String>,
    objects: FxHashMap<u64, String>,
}

#[derive(Clone, Copy)]
enum Space {
    File,
    Func,
    Object,
}

impl Names {
    fn resolve(&mut self, space: Space, value: &str) -> Result<String, String> {
        let value = value.trim();
        // `(12) name` / `(12)`; other names in parentheses (`(below main)`) are names.
        let compressed = value.strip_prefix('(').and_then(|rest| {
            let (id, name) = rest.split_once(')')?;
            Some((id.trim().parse::<u64>().ok()?, name))
        });
        let Some((id, name)) = compressed else {
            return Ok(value.to_string());
        };
        let table = match space {
            Space::File => &mut self.files,
            Space::Func => &mut self.funcs,
            Space::Object => &mut self.objects,
        };
        let name = name.trim();
        if name.is_empty() {
            return table
                .get(&id)
                .cloned()
                .ok_or_else(|| format!("name id ({id}) is used before it is defined"));
        }
        table.insert(id, name.to_string());
        Ok(name.to_string())
    }
}

/// The reader's state while walking the lines.
#[derive(Default)]
struct Reader {
    g: CallGraph,
    names: Names,
    /// Number of position columns (`positions:`; 1 = `line`).
    positions: usize,
    prev_positions: Vec<i64>,
    object: Option<String>,
    /// File of the current function (`fl=`).
    fn_file: String,
    /// File of the current lines (`fl=`, `fi=`, `fe=`).
    file: String,
    func: Option<u32>,
    callee_file: Option<String>,
    callee: Option<u32>,
    /// `calls=` seen: the next cost line is the call's inclusive cost.
    pending_call: bool,
    in_body: bool,
}

impl Reader {
    fn read(mut self, text: &str) -> Result<CallGraph, ParseError> {
        self.positions = 1;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            self.line(line)
                .map_err(|e| ParseError::new(format!("line {}: {e}", n + 1)))?;
        }
        if self.g.events.is_empty() {
            return Err(ParseError::new("no `events:` line"));
        }
        if self.pending_call {
            return Err(ParseError::new(
                "file ends after `calls=` without the call's cost line",
            ));
        }
        if self.g.funcs.is_empty() {
            return Err(ParseError::new("no cost lines (no `fn=` found)"));
        }
        Ok(self.g)
    }

    fn line(&mut self, line: &str) -> Result<(), String> {
        let first = line.as_bytes()[0];
        if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'*') {
            return self.cost_line(line);
        }
        if let Some((key, value)) = line.split_once('=') {
            if !key.contains(':') && !key.contains(' ') {
                return self.spec_line(key, value);
            }
        }
        if let Some((key, value)) = line.split_once(':') {
            return self.header_line(key.trim(), value.trim());
        }
        Err(format!(
            "expected a cost line, `key=value` or `key: value`, got {:?}",
            cut(line)
        ))
    }

    fn header_line(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "events" => {
                let events: Vec<String> = value.split_whitespace().map(String::from).collect();
                if events.is_empty() {
                    return Err("empty `events:` line".into());
                }
                if self.in_body && events != self.g.events {
                    return Err(format!(
                        "a later part has other events ({}) than the first ({})",
                        events.join(" "),
                        self.g.events.join(" ")
                    ));
                }
                self.g.events = events;
            }
            "positions" => {
                let n = value.split_whitespace().count();
                if n == 0 || n > 4 {
                    return Err(format!("unsupported `positions: {value}`"));
                }
                self.positions = n;
            }
            "summary" | "totals" => {
                let costs = self.costs(value.split_whitespace())?;
                let sum = if key == "summary" {
                    &mut self.g.summary
                } else {
                    &mut self.g.totals
                };
                let sum = sum.get_or_insert_with(Vec::new);
                sum.resize(costs.len().max(sum.len()), 0);
                for (a, b) in sum.iter_mut().zip(costs) {
                    *a = a.saturating_add(b);
                }
            }
            "cmd" => self.g.command = Some(value.to_string()),
            "creator" => self.g.creator = Some(value.to_string()),
            "version" => {
                if !value.starts_with('1') {
                    return Err(format!("unsupported callgrind format version {value}"));
                }
            }
            "part" => {
                // A new part: positions and the current function start over.
                self.func = None;
                self.prev_positions.clear();
            }
            "desc" => self.g.has_desc = true,
            "pid" | "thread" | "event" => {}
            _ => return Err(format!("unknown header line `{key}:`")),
        }
        Ok(())
    }

    fn spec_line(&mut self, key: &str, value: &str) -> Result<(), String> {
        if self.g.events.is_empty() {
            return Err(format!("`{key}=` before the `events:` line"));
        }
        self.in_body = true;
        match key {
            "ob" => self.object = Some(self.names.resolve(Space::Object, value)?),
            "fl" => {
                self.fn_file = self.names.resolve(Space::File, value)?;
                self.file = self.fn_file.clone();
            }
            "fi" | "fe" => self.file = self.names.resolve(Space::File, value)?,
            "fn" => {
                let name = self.names.resolve(Space::Func, value)?;
                self.file = self.fn_file.clone();
                let f = self.g.func(&self.fn_file, &name);
                if self.g.objects[f as usize].is_none() {
                    self.g.objects[f as usize] = self.object.clone();
                }
                self.func = Some(f);
            }
            "cob" => {
                self.names.resolve(Space::Object, value)?;
            }
            "cfi" | "cfl" => self.callee_file = Some(self.names.resolve(Space::File, value)?),
            "cfn" => {
                let name = self.names.resolve(Space::Func, value)?;
                let file = self.callee_file.take().unwrap_or_else(|| self.file.clone());
                self.callee = Some(self.g.func(&file, &name));
            }
            "calls" => {
                if self.callee.is_none() {
                    return Err("`calls=` without a `cfn=` before it".into());
                }
                self.pending_call = true;
            }
            "jfi" => {
                self.names.resolve(Space::File, value)?;
            }
            "jfn" => {
                self.names.resolve(Space::Func, value)?;
            }
            "jump" | "jcnd" => {}
            _ => return Err(format!("unknown line `{key}=`")),
        }
        Ok(())
    }

    fn cost_line(&mut self, line: &str) -> Result<(), String> {
        let Some(func) = self.func else {
            return Err("cost line before any `fn=`".into());
        };
        let mut fields = line.split_whitespace();
        self.read_positions(&mut fields)?;
        let costs = self.costs(fields)?;
        if self.pending_call {
            self.pending_call = false;
            let callee = self.callee.expect("checked at calls=");
            let c = self
                .g
                .calls
                .entry((func, callee))
                .or_insert_with(|| vec![0; costs.len()]);
            add(c, &costs);
        } else {
            add(&mut self.g.self_cost[func as usize], &costs);
        }
        Ok(())
    }

    fn read_positions<'a>(
        &mut self,
        fields: &mut impl Iterator<Item = &'a str>,
    ) -> Result<(), String> {
        self.prev_positions.resize(self.positions, 0);
        for i in 0..self.positions {
            let Some(tok) = fields.next() else {
                return Err(format!("expected {} position columns", self.positions));
            };
            let prev = self.prev_positions[i];
            let v = position(tok, prev).ok_or_else(|| format!("bad position {tok:?}"))?;
            self.prev_positions[i] = v;
        }
        Ok(())
    }

    fn costs<'a>(&self, fields: impl Iterator<Item = &'a str>) -> Result<Vec<u64>, String> {
        let mut out = vec![0u64; self.g.events.len()];
        for (i, tok) in fields.enumerate() {
            if i >= out.len() {
                return Err(format!(
                    "more costs than the {} events of the `events:` line",
                    out.len()
                ));
            }
            if tok == "." {
                continue;
            }
            out[i] = tok
                .parse()
                .map_err(|_| format!("bad cost {:?} (expected a whole number)", cut(tok)))?;
        }
        Ok(out)
    }
}

/// One position column: absolute, hex, `+n` / `-n` relative to the previous line, or `*`.
fn position(tok: &str, prev: i64) -> Option<i64> {
    if tok == "*" {
        return Some(prev);
    }
    if let Some(d) = tok.strip_prefix('+') {
        return prev.checked_add(number(d)?);
    }
    if let Some(d) = tok.strip_prefix('-') {
        return prev.checked_sub(number(d)?);
    }
    number(tok)
}

fn number(tok: &str) -> Option<i64> {
    match tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok().map(|v| v as i64),
        None => tok.parse().ok(),
    }
}

fn add(into: &mut Vec<u64>, costs: &[u64]) {
    if into.len() < costs.len() {
        into.resize(costs.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(costs) {
        *a = a.saturating_add(*b);
    }
}

fn cut(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The profile of a call graph: one sample type per event, stacks from [`stacks::build`].
fn to_profile(g: &CallGraph) -> Profile {
    let types = g
        .events
        .iter()
        .map(|e| ValueType::new(e.clone(), "count"))
        .collect();
    let mut b = ProfileBuilder::new(types);
    // The profiled program's object first: it is the profile's main binary (`File:`).
    if let Some(main) = main_object(g) {
        b.mapping(object_mapping(main));
    }
    let locs: Vec<LocationId> = g
        .funcs
        .iter()
        .zip(&g.objects)
        .map(|(f, object)| location(&mut b, f, object.as_deref()))
        .collect();
    let mut cut_paths = 0u64;
    for e in 0..g.events.len() {
        let built = stacks::build(g, e);
        cut_paths += built.cut_paths;
        let mut values = vec![0i64; g.events.len()];
        let mut stack = Vec::new();
        for (path, cost) in built.samples {
            stack.clear();
            stack.extend(path.iter().rev().map(|&f| locs[f as usize]));
            values[e] = i64::try_from(cost).unwrap_or(i64::MAX);
            b.add_sample(&stack, &values);
        }
    }
    let p = b.profile_mut();
    p.default_sample_type = Some(0);
    if let Some(c) = &g.command {
        p.metadata.insert("command".into(), c.clone());
    }
    if let Some(c) = &g.creator {
        p.metadata.insert("tool".into(), c.clone());
    }
    // Simulated event counts: no sampling noise (see the module docs).
    p.metadata.insert("deterministic".into(), "true".into());
    if cut_paths > 0 {
        p.quality.notes.push(format!(
            "{cut_paths} cheap call paths were cut short (their cost starts at the function itself)"
        ));
    }
    p.comments.push(
        "callgrind records a call graph, not stacks: costs are spread over callers in proportion \
         to the calls' inclusive costs"
            .into(),
    );
    b.finish()
}

/// The object whose file name is the command's program.
fn main_object(g: &CallGraph) -> Option<&str> {
    let program = g.command.as_deref()?.split_whitespace().next()?;
    let name = program.rsplit('/').next()?;
    g.objects
        .iter()
        .flatten()
        .find(|o| o.rsplit('/').next() == Some(name))
        .map(String::as_str)
}

fn object_mapping(file: &str) -> Mapping {
    Mapping {
        file: file.to_string(),
        has_functions: true,
        ..Default::default()
    }
}

/// A function's one location, in a mapping named after its object (`ob=`) when known.
fn location(b: &mut ProfileBuilder, f: &FuncKey, object: Option<&str>) -> LocationId {
    let mapping = object.map(|o| b.mapping(object_mapping(o)));
    let file = if f.file == "???" {
        String::new()
    } else {
        f.file.clone()
    };
    let function = b.function(Function {
        name: f.name.clone(),
        system_name: f.name.clone(),
        filename: file,
        start_line: 0,
    });
    b.location(Location {
        mapping,
        lines: vec![Line {
            function,
            line: 0,
            column: 0,
        }],
        ..Default::default()
    })
}

#[cfg(test)]
mod tests;
