//! gprof reports (`gprof PROGRAM gmon.out`, with or without `-b`): the text a `-pg` build's
//! profile is read through. `gmon.out` itself holds addresses that only the program's symbols
//! can name, so the report is what users keep and attach; this module reads it.
//!
//! A report has a flat profile (each function's self seconds and call count) and a call graph
//! (per function, the seconds that reached it from each caller, split into its own and its
//! children's). It has no stacks: they are rebuilt from the call graph with callgrind's builder
//! ([`crate::formats::callgrind::stacks`]), as for cProfile, so every function's self time is
//! exact and its `cum` is gprof's `self + children` wherever the graph is consistent. gprof
//! itself only measures self time (by PC sampling); what reaches a function from each caller
//! is its estimate, in proportion to the calls. Functions in a cycle (`<cycle N>`) are one unit
//! for the builder, as they are for gprof. Times are CPU seconds (gprof samples with
//! `ITIMER_PROF`), in whole 1/100 s as printed.

use crate::error::ParseError;
use crate::formats::callgrind::{stacks, CallGraph};
use crate::model::{Profile, ProfileBuilder, ValueType};
use rustc_hash::FxHashMap;

/// Whether the text is a gprof report: a line of its flat-profile or call-graph header in
/// the first 40 lines.
pub fn sniff(data: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&data[..data.len().min(8192)]);
    head.lines().take(40).any(|l| {
        l.starts_with("Each sample counts as ") || l.starts_with("granularity: each sample hit")
    })
}

/// One row of the flat profile.
struct FlatRow {
    name: String,
    self_seconds: f64,
    calls: Option<u64>,
}

/// One line of a call-graph entry other than the primary one.
struct Arc {
    name: String,
    /// The `self` and `children` columns; absent on calls inside a cycle or recursive calls.
    seconds: Option<(f64, f64)>,
}

/// One call-graph entry: the function and the lines above it (its callers).
struct Entry {
    name: String,
    self_seconds: f64,
    callers: Vec<Arc>,
}

pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let text = std::str::from_utf8(data).map_err(|e| {
        ParseError::new(format!(
            "gprof report: not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let flat = flat_profile(text)?;
    let entries = call_graph(text)?;
    if flat.is_empty() && entries.is_empty() {
        return Err(ParseError::new(
            "gprof report without a flat profile or call graph rows",
        ));
    }
    check_sums(&flat, &entries)?;
    Ok(to_profile(&flat, &entries))
}

/// All times and call counts must add up within a profile value (2^63), so that no sum the
/// stack builder makes can overflow.
fn check_sums(flat: &[FlatRow], entries: &[Entry]) -> Result<(), ParseError> {
    let flat_ns = flat.iter().map(|r| nanos(r.self_seconds));
    let graph_ns = entries.iter().flat_map(|e| {
        let arcs = e.callers.iter().filter_map(|a| a.seconds);
        std::iter::once(nanos(e.self_seconds)).chain(arcs.map(|(s, c)| nanos(s + c)))
    });
    let times = flat_ns.chain(graph_ns).try_fold(0u64, u64::checked_add);
    let calls = flat
        .iter()
        .try_fold(0u64, |a, r| a.checked_add(r.calls.unwrap_or(0)));
    for (sum, what) in [(times, "times"), (calls, "call counts")] {
        if sum.is_none_or(|t| t > i64::MAX as u64) {
            return Err(ParseError::new(format!(
                "gprof report: the {what} add up to more than 2^63"
            )));
        }
    }
    Ok(())
}

fn seconds(token: &str) -> Option<f64> {
    token
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
}

/// The flat profile's rows: `%time cumulative self [calls self/call total/call] name`.
fn flat_profile(text: &str) -> Result<Vec<FlatRow>, ParseError> {
    let mut lines = text.lines().enumerate();
    if !lines.any(|(_, l)| l.trim_start().starts_with("time   seconds   seconds")) {
        return Ok(Vec::new());
    }
    let mut rows = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            break;
        }
        let row = flat_row(line).ok_or_else(|| {
            ParseError::new(format!(
                "gprof report: line {}: not a flat profile row: {:?}",
                n + 1,
                cut(line)
            ))
        })?;
        rows.push(row);
    }
    Ok(rows)
}

fn flat_row(line: &str) -> Option<FlatRow> {
    let mut rest = line.trim_start();
    let mut numbers = Vec::new();
    while numbers.len() < 6 {
        let (token, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        match token.parse::<f64>() {
            Ok(x) => numbers.push(x),
            Err(_) => break,
        }
        rest = after.trim_start();
    }
    // Without call counts (no `-pg` in that code) the row has three numbers, else six.
    let calls = match numbers.len() {
        3 => None,
        6 => Some(numbers[3])
            .filter(|c| c.fract() == 0.0)
            .map(|c| c as u64),
        _ => return None,
    };
    let name = rest.trim();
    if name.is_empty() {
        return None;
    }
    Some(FlatRow {
        name: function_name(name),
        self_seconds: Some(numbers[2]).filter(|s| s.is_finite() && *s >= 0.0)?,
        calls,
    })
}

/// The call graph's entries (between `-----` lines, after the `index % time` header).
fn call_graph(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut lines = text.lines().enumerate();
    if !lines.any(|(_, l)| l.starts_with("index % time    self  children    called     name")) {
        return Ok(Vec::new());
    }
    let mut entries = Vec::new();
    let mut above: Vec<Arc> = Vec::new();
    let mut in_entry = false;
    for (n, line) in lines {
        if line.starts_with("-----") {
            above.clear();
            in_entry = false;
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            if entries.is_empty() && above.is_empty() {
                continue;
            }
            break; // the end of the graph: its explanation or the index follows
        }
        if trimmed.starts_with('[') {
            let entry = primary(trimmed, std::mem::take(&mut above)).ok_or_else(|| bad(n, line))?;
            entries.extend(entry);
            in_entry = true;
        } else if !in_entry && trimmed != "<spontaneous>" {
            above.push(arc(trimmed).ok_or_else(|| bad(n, line))?);
        } else if in_entry && arc(trimmed).is_none() {
            return Err(bad(n, line));
        }
    }
    Ok(entries)
}

fn bad(n: usize, line: &str) -> ParseError {
    ParseError::new(format!(
        "gprof report: line {}: not a call graph line: {:?}",
        n + 1,
        cut(line)
    ))
}

/// `[N] %time self children [called] name [N]`; `None` inside for a cycle as a whole.
fn primary(line: &str, callers: Vec<Arc>) -> Option<Option<Entry>> {
    let (index, rest) = line.split_once(']')?;
    index.strip_prefix('[')?.parse::<u32>().ok()?;
    let mut tokens = rest.trim_start();
    let mut numbers = Vec::new();
    for _ in 0..3 {
        let (t, after) = tokens.split_once(char::is_whitespace)?;
        numbers.push(seconds(t)?);
        tokens = after.trim_start();
    }
    let name = strip_called(tokens);
    let name = strip_index(name)?;
    if name.starts_with("<cycle ") && name.ends_with(" as a whole>") {
        return Some(None);
    }
    Some(Some(Entry {
        name: function_name(name),
        self_seconds: numbers[1],
        callers,
    }))
}

/// A caller or callee line: `[self children] [called] name [N]`.
fn arc(line: &str) -> Option<Arc> {
    let mut tokens = line;
    let mut numbers = Vec::new();
    while numbers.len() < 2 {
        let Some((t, after)) = tokens.split_once(char::is_whitespace) else {
            break;
        };
        match (t.contains('.'), seconds(t)) {
            (true, Some(x)) => numbers.push(x),
            _ => break,
        }
        tokens = after.trim_start();
    }
    let seconds = match numbers[..] {
        [s, c] => Some((s, c)),
        [] => None,
        _ => return None,
    };
    let name = strip_index(strip_called(tokens))?;
    Some(Arc {
        name: function_name(name),
        seconds,
    })
}

/// Drop the `called` column (`20`, `1+635620`, `40/60`, `400+8000`) before a name.
fn strip_called(s: &str) -> &str {
    match s.split_once(char::is_whitespace) {
        Some((t, rest))
            if t.chars()
                .all(|c| c.is_ascii_digit() || c == '/' || c == '+') =>
        {
            rest.trim_start()
        }
        _ => s,
    }
}

/// Drop the trailing ` [N]` index of a call-graph name.
fn strip_index(s: &str) -> Option<&str> {
    let s = s.trim_end();
    let open = s.rfind(" [")?;
    let index = s[open + 2..].strip_suffix(']')?;
    index.parse::<u32>().ok()?;
    Some(s[..open].trim_end())
}

/// A function's name without gprof's ` <cycle N>` mark (its cycle is found from the arcs).
fn function_name(s: &str) -> String {
    let s = s.trim();
    if let Some(i) = s.rfind(" <cycle ") {
        if s.ends_with('>') {
            return s[..i].to_string();
        }
    }
    s.to_string()
}

fn cut(line: &str) -> String {
    line.chars().take(80).collect()
}

fn nanos(seconds: f64) -> u64 {
    (seconds * 1e9).round().min(u64::MAX as f64) as u64
}

/// The call graph for the builder: self time per function (the flat profile's, else the call
/// graph's) and, per caller line, `self + children` as that call's inclusive time. Calls
/// without times (inside a cycle) get a cost of 1 ns so the builder sees the cycle; it does
/// not place the cost of calls inside a cycle. Also each function's call count.
fn graph(flat: &[FlatRow], entries: &[Entry]) -> (CallGraph, FxHashMap<u32, u64>) {
    let mut g = CallGraph::default();
    g.events = vec!["cpu".into()];
    let mut self_set: FxHashMap<u32, u64> = FxHashMap::default();
    let mut calls: FxHashMap<u32, u64> = FxHashMap::default();
    for row in flat {
        let f = g.func("", &row.name);
        *self_set.entry(f).or_insert(0) += nanos(row.self_seconds);
        *calls.entry(f).or_insert(0) += row.calls.unwrap_or(0);
    }
    for e in entries {
        let f = g.func("", &e.name);
        self_set.entry(f).or_insert(nanos(e.self_seconds));
        for caller in &e.callers {
            let c = g.func("", &caller.name);
            let cost = match caller.seconds {
                Some((s, ch)) => nanos(s + ch),
                None => 1,
            };
            if c != f {
                *g.calls
                    .entry((c, f))
                    .or_insert_with(|| vec![0])
                    .first_mut()
                    .unwrap() += cost;
            }
        }
    }
    for (f, ns) in self_set {
        g.self_cost[f as usize][0] = ns;
    }
    (g, calls)
}

fn to_profile(flat: &[FlatRow], entries: &[Entry]) -> Profile {
    let (g, mut calls) = graph(flat, entries);
    let built = stacks::build(&g, 0);
    let mut b = ProfileBuilder::new(vec![
        ValueType::new("cpu", "nanoseconds"),
        ValueType::new("calls", "count"),
    ]);
    let locs: Vec<_> = g.funcs.iter().map(|k| b.frame(&k.name)).collect();
    let mut stack = Vec::new();
    for (path, ns) in &built.samples {
        stack.clear();
        stack.extend(path.iter().rev().map(|&f| locs[f as usize]));
        // A function's calls go on its first stack.
        let n = path.last().and_then(|f| calls.remove(f)).unwrap_or(0);
        b.add_sample(&stack, &[*ns as i64, n as i64]);
    }
    for (f, n) in calls.into_iter().filter(|&(_, n)| n > 0) {
        b.add_sample(&[locs[f as usize]], &[0, n as i64]);
    }
    let p = b.profile_mut();
    p.default_sample_type = Some(0);
    p.metadata.insert("tool".into(), "gprof".into());
    if built.cut_paths > 0 {
        p.quality.notes.push(format!(
            "{} cheap call paths were cut short (their time starts at the function itself)",
            built.cut_paths
        ));
    }
    p.comments.push(
        "gprof records self time and a call graph, not stacks: times are spread over callers \
         as gprof spreads them, in proportion to the calls"
            .into(),
    );
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded::fold;

    const CALLS: &str = include_str!("../../tests/data/gprof/calls-brief.txt");
    const CYCLE: &str = include_str!("../../tests/data/gprof/cycle-full.txt");

    fn folded(text: &str, value: usize) -> Vec<(String, i64)> {
        let p = parse(text.as_bytes()).unwrap();
        p.validate().unwrap();
        fold(&p, value)
    }

    #[test]
    fn sniffs_reports_not_other_text() {
        assert!(sniff(CALLS.as_bytes()));
        assert!(sniff(CYCLE.as_bytes()));
        let graph_only = &CALLS[CALLS.find("\t\t\tCall graph").unwrap()..];
        assert!(sniff(graph_only.as_bytes()));
        assert!(!sniff(b"main;leaf 3\n"));
    }

    #[test]
    fn stacks_follow_the_call_graph() {
        // other: self 0.14, children 0.08 (its share of leaf); middle: 0.15 of leaf.
        assert_eq!(
            folded(CALLS, 0),
            vec![
                ("main;middle;leaf".to_string(), 150_000_000),
                ("main;other".to_string(), 140_000_000),
                ("main;other;leaf".to_string(), 80_000_000),
            ]
        );
        // Calls from the flat profile; fib's one call has no time.
        let calls: i64 = folded(CALLS, 1).iter().map(|s| s.1).sum();
        assert_eq!(calls, 60 + 20 + 20 + 1);
    }

    #[test]
    fn a_cycle_is_entered_where_the_call_graph_enters_it() {
        // The full report (explanations, form feeds) reads like the brief one. a and b call
        // each other (<cycle 1>); top calls a: the cycle's 0.44 s arrive through top.
        assert_eq!(
            folded(CYCLE, 0),
            vec![
                ("main;top".to_string(), 20_000_000),
                ("main;top;a".to_string(), 220_000_000),
                ("main;top;a;b".to_string(), 220_000_000),
            ]
        );
    }

    #[test]
    fn names_keep_spaces_and_lose_cycle_marks() {
        assert_eq!(
            function_name("work::leaf(long, char const*) <cycle 2>"),
            "work::leaf(long, char const*)"
        );
        let a = arc("0.03    0.00      50/50          work::leaf(long, char const*) [2]").unwrap();
        assert_eq!(a.name, "work::leaf(long, char const*)");
        assert_eq!(a.seconds, Some((0.03, 0.0)));
        let a = arc("4000             b <cycle 1> [5]").unwrap();
        assert_eq!((a.name.as_str(), a.seconds), ("b", None));
        let row =
            flat_row(" 50.00      0.02     0.02                             frame_dummy").unwrap();
        assert_eq!((row.name.as_str(), row.calls), ("frame_dummy", None));
    }

    #[test]
    fn bad_reports_are_one_line_errors() {
        let err = |t: &str| parse(t.as_bytes()).unwrap_err().0;
        let broken = CALLS.replace(" 37.90      0.37     0.14", " 37.90      zz     0.14");
        assert!(
            err(&broken).contains("line 7: not a flat profile row"),
            "{}",
            err(&broken)
        );
        let broken = CALLS.replace("[3]     58.6", "[3]     x");
        assert!(
            err(&broken).contains("not a call graph line"),
            "{}",
            err(&broken)
        );
        let huge = CALLS.replace(" 37.90      0.37     0.14", " 37.90      0.37     9e18");
        assert!(
            err(&huge).contains("add up to more than 2^63"),
            "{}",
            err(&huge)
        );
        let header = "Flat profile:\n\nEach sample counts as 0.01 seconds.\n no time accumulated\n";
        assert!(err(header).contains("without a flat profile or call graph rows"));
        let latin1 = parse(b"Flat profile:\n\xff").unwrap_err().0;
        assert!(latin1.contains("not UTF-8"), "{latin1}");
    }
}
