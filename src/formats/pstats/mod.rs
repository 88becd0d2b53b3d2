//! Python cProfile / profile output (`python3 -m cProfile -o out.prof`, `pstats.Stats.dump_stats`):
//! a `marshal` dump of `{(file, line, name): (cc, nc, tt, ct, callers)}` where `callers` maps
//! each caller's key to the `(cc, nc, tt, ct)` of the calls that came from it. Times are
//! seconds of cProfile's timer (`time.perf_counter` by default: wall time), measured on every
//! call rather than sampled, but not repeatable run to run, so the profile is marked
//! `clock=wall` and not `deterministic`.
//!
//! cProfile records a call graph, not stacks; the stacks are rebuilt from it as for callgrind
//! ([`crate::formats::callgrind::stacks`]). What is exact: every function's self time is its
//! `tottime` (in whole nanoseconds), and the total is their sum. What is estimated: how a
//! function's time splits over its callers' paths (in proportion, gprof-style); a function's
//! inclusive time equals `cumtime` where the graph is consistent (no recursion). The `calls`
//! sample type places each function's call count (`ncalls`) on its stacks in proportion to
//! their self time (on the function alone when it has none).
//!
//! The pure-Python `profile` module writes the same dict, but records only a call count per
//! caller: there a function's `cumtime` is split over its callers in proportion to their calls,
//! as gprof splits it. Its keys name built-ins `("", 0, name)` and the command it runs by a code
//! object.
//!
//! Functions are named as py-spy names Python frames, `name (file:line)`; built-ins (file `~`)
//! keep their name (`<built-in method builtins.len>`).

mod marshal;
#[cfg(test)]
mod tests;

use crate::error::ParseError;
use crate::formats::callgrind::{stacks, CallGraph};
use crate::model::{Function, Line, Location, LocationId, Profile, ProfileBuilder, ValueType};
use marshal::Value;
use rustc_hash::FxHashMap;

/// True when `data` starts like a pstats dump: a dict (with or without the reference flag)
/// whose first key is a tuple of three (a small tuple since Python 3.4, a sized one before).
pub fn sniff(data: &[u8]) -> bool {
    matches!(
        data,
        [0x7b | 0xfb, 0x29 | 0xa9, 3, ..] | [0x7b | 0xfb, 0x28 | 0xa8, 3, 0, 0, 0, ..]
    )
}

/// One function's statistics.
struct Entry {
    file: String,
    line: i64,
    name: String,
    calls: u64,
    self_ns: u64,
    /// cumtime in ns: spread over the callers by call count where they have no times.
    cum_ns: u64,
    callers: Vec<(Key, Edge)>,
}

/// What a callers entry says of the calls from one caller.
#[derive(Clone, Copy)]
enum Edge {
    /// cProfile: their inclusive time, in ns.
    Time(u64),
    /// The pure-Python `profile` module: only how many there were.
    Calls(u64),
}

type Key = (String, i64, String);

pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let root = marshal::decode(data).map_err(|e| ParseError::new(format!("marshal data: {e}")))?;
    let Value::Dict(items) = &*root else {
        return Err(ParseError::new(format!(
            "a pstats file holds a dict, this one a {}",
            root.kind()
        )));
    };
    let entries = items
        .iter()
        .map(|(k, v)| entry(k, v))
        .collect::<Result<Vec<_>, _>>()?;
    if entries.is_empty() {
        return Err(ParseError::new("the pstats dict has no functions"));
    }
    check_sums(&entries)?;
    Ok(to_profile(&entries))
}

/// Times and call counts that add up to more than an i64 are refused: every sum taken later
/// (stacks, totals) is at most one of these.
fn check_sums(entries: &[Entry]) -> Result<(), ParseError> {
    let total = entries.iter().try_fold(0u64, |a, e| {
        edge_times(e)
            .iter()
            .try_fold(a.checked_add(e.self_ns)?, |a, c| a.checked_add(c.1))
    });
    if total.is_none_or(|t| t > i64::MAX as u64) {
        return Err(ParseError::new(
            "the times add up to more than 2^63 nanoseconds",
        ));
    }
    let calls = entries.iter().try_fold(0u64, |a, e| a.checked_add(e.calls));
    if calls.is_none_or(|c| c > i64::MAX as u64) {
        return Err(ParseError::new("the call counts add up to more than 2^63"));
    }
    Ok(())
}

fn key(k: &Value) -> Result<Key, String> {
    match k {
        Value::Tuple(t) => match t.as_slice() {
            [f, l, n] => match (f.text(), &**l, name(n)) {
                (Some(f), Value::Int(l), Some(n)) => Ok((f, *l, n)),
                _ => Err("a function key is not (str, int, str)".into()),
            },
            _ => Err(format!("a function key has {} items, not 3", t.len())),
        },
        other => Err(format!("a function key is a {}, not a tuple", other.kind())),
    }
}

/// A key's function name. The `profile` module names the command it runs by its code object,
/// which pstats prints with its address; the address (different every run) is left out.
fn name(n: &Value) -> Option<String> {
    match n {
        Value::Code {
            name,
            filename,
            line,
        } => Some(format!(
            "<code object {name}, file \"{filename}\", line {line}>"
        )),
        other => other.text(),
    }
}

/// `(cc, nc, tt, ct, …)`: nc, tt and ct.
fn counts(v: &Value) -> Result<(u64, f64, f64), String> {
    let Value::Tuple(t) = v else {
        return Err(format!("statistics are a {}, not a tuple", v.kind()));
    };
    let num = |i: usize| -> Result<f64, String> {
        match t.get(i).map(|v| &**v) {
            Some(Value::Int(n)) => Ok(*n as f64),
            Some(Value::Float(x)) => Ok(*x),
            Some(o) => Err(format!("statistic {i} is a {}, not a number", o.kind())),
            None => Err(format!("statistics have {} items, not 4 or 5", t.len())),
        }
    };
    let nc = num(1)?;
    Ok((nc.max(0.0) as u64, num(2)?, num(3)?))
}

fn nanos(secs: f64) -> Result<u64, String> {
    if !secs.is_finite() {
        return Err(format!("a time of {secs} seconds"));
    }
    // Negative times (timer jitter) are none; `as` saturates beyond u64, which the total of
    // all times (checked in `parse`) then refuses.
    Ok((secs * 1e9).round().max(0.0) as u64)
}

fn entry(k: &Value, v: &Value) -> Result<Entry, ParseError> {
    let (file, line, name) = key(k).map_err(ParseError::new)?;
    let err = |e: String| ParseError::new(format!("function {name} ({file}:{line}): {e}"));
    let (calls, tt, ct) = counts(v).map_err(err)?;
    let last = match v {
        Value::Tuple(t) => t.get(4).map(|v| &**v),
        _ => None,
    };
    let callers = match last {
        Some(Value::Dict(d)) => d
            .iter()
            .map(|(ck, cv)| Ok((key(ck)?, edge(cv)?)))
            .collect::<Result<Vec<_>, String>>()
            .map_err(err)?,
        Some(o) => return Err(err(format!("callers are a {}, not a dict", o.kind()))),
        None => return Err(err("statistics have no callers dict".into())),
    };
    Ok(Entry {
        self_ns: nanos(tt).map_err(err)?,
        cum_ns: nanos(ct).map_err(err)?,
        file,
        line,
        name,
        calls,
        callers,
    })
}

/// A callers entry: cProfile's `(cc, nc, tt, ct)` of the calls, or `profile`'s call count.
fn edge(v: &Value) -> Result<Edge, String> {
    match v {
        Value::Int(n) => Ok(Edge::Calls((*n).max(0) as u64)),
        _ => Ok(Edge::Time(nanos(counts(v)?.2)?)),
    }
}

/// Each edge's inclusive time: as recorded (cProfile), or the callee's cumulative time split
/// over its callers in proportion to their calls (`profile`, as gprof splits it).
fn edge_times(e: &Entry) -> Vec<(&Key, u64)> {
    let counted: u128 = e
        .callers
        .iter()
        .map(|(_, c)| match c {
            Edge::Calls(n) => *n as u128,
            Edge::Time(_) => 0,
        })
        .sum();
    e.callers
        .iter()
        .map(|(k, c)| match *c {
            Edge::Time(ns) => (k, ns),
            Edge::Calls(n) => (
                k,
                (e.cum_ns as u128 * n as u128)
                    .checked_div(counted)
                    .unwrap_or(0) as u64,
            ),
        })
        .collect()
}

/// cProfile keys built-ins as `("~", 0, name)`, the `profile` module as `("", 0, name)`.
fn builtin(file: &str, line: i64) -> bool {
    line == 0 && (file == "~" || file.is_empty())
}

/// How pstats data shows a function: `name (file:line)`, or a built-in's own name.
fn display(file: &str, line: i64, name: &str) -> String {
    if builtin(file, line) {
        name.to_string()
    } else {
        format!("{name} ({file}:{line})")
    }
}

/// The call graph of the entries: one event, time in nanoseconds.
/// Also each function's key and each entry's function.
fn graph(entries: &[Entry]) -> (CallGraph, Vec<Key>, Vec<u32>) {
    let mut g = CallGraph::default();
    g.events = vec!["wall".into()];
    let mut keys: Vec<Key> = Vec::new();
    let mut id = |g: &mut CallGraph, k: &Key| {
        let f = g.func(&k.0, &display(&k.0, k.1, &k.2));
        if f as usize == keys.len() {
            keys.push(k.clone());
        }
        f
    };
    let mut ids = Vec::with_capacity(entries.len());
    for e in entries {
        let f = id(&mut g, &(e.file.clone(), e.line, e.name.clone()));
        ids.push(f);
        g.self_cost[f as usize][0] += e.self_ns;
        for (ck, ns) in edge_times(e) {
            let c = id(&mut g, ck);
            let edge = g.calls.entry((c, f)).or_insert_with(|| vec![0]);
            edge[0] += ns;
        }
    }
    (g, keys, ids)
}

fn to_profile(entries: &[Entry]) -> Profile {
    let (g, keys, ids) = graph(entries);
    let mut b = ProfileBuilder::new(vec![
        ValueType::new("wall", "nanoseconds"),
        ValueType::new("calls", "count"),
    ]);
    let locs: Vec<LocationId> = keys.iter().map(|k| location(&mut b, k)).collect();
    let mut calls = vec![0u64; keys.len()];
    for (e, &f) in entries.iter().zip(&ids) {
        calls[f as usize] += e.calls;
    }
    let built = stacks::build(&g, 0);
    let placed = place_calls(&built.samples, &calls);
    let mut stack = Vec::new();
    for ((path, ns), n) in built.samples.iter().zip(&placed) {
        stack.clear();
        stack.extend(path.iter().rev().map(|&f| locs[f as usize]));
        b.add_sample(&stack, &[*ns as i64, *n as i64]);
        if let Some(&f) = path.last() {
            calls[f as usize] -= n;
        }
    }
    // Calls of functions with no time of their own on any stack: on the function alone.
    for (f, &n) in calls.iter().enumerate().filter(|(_, &n)| n > 0) {
        b.add_sample(&[locs[f]], &[0, n as i64]);
    }
    let p = b.profile_mut();
    p.default_sample_type = Some(0);
    let counted_only = entries
        .iter()
        .any(|e| e.callers.iter().any(|(_, c)| matches!(c, Edge::Calls(_))));
    let tool = if counted_only { "profile" } else { "cProfile" };
    p.metadata.insert("tool".into(), tool.into());
    p.metadata
        .insert(crate::analysis::diff::CLOCK_KEY.into(), "wall".into());
    if built.cut_paths > 0 {
        p.quality.notes.push(format!(
            "{} cheap call paths were cut short (their time starts at the function itself)",
            built.cut_paths
        ));
    }
    p.comments.push(if counted_only {
        "profile records a call graph with call counts, not stacks: times are spread over \
         callers in proportion to their calls"
            .into()
    } else {
        "cProfile records a call graph, not stacks: times are spread over callers in \
         proportion to the calls' cumulative times"
            .into()
    });
    b.finish()
}

/// Each function's call count split over the stacks ending in it, in proportion to their time
/// (cumulative rounding, so the parts add up to the count).
fn place_calls(samples: &[(Vec<u32>, u64)], calls: &[u64]) -> Vec<u64> {
    let mut total: FxHashMap<u32, (u128, u128)> = FxHashMap::default();
    for (p, ns) in samples {
        if let Some(&f) = p.last() {
            total.entry(f).or_default().0 += *ns as u128;
        }
    }
    samples
        .iter()
        .map(|(p, ns)| {
            let Some(&f) = p.last() else { return 0 };
            let (sum, done) = total.get_mut(&f).expect("counted above");
            let n = calls.get(f as usize).copied().unwrap_or(0) as u128;
            let before = (*done * n).checked_div(*sum).unwrap_or(0);
            *done += *ns as u128;
            let after = (*done * n).checked_div(*sum).unwrap_or(0);
            (after - before) as u64
        })
        .collect()
}

fn location(b: &mut ProfileBuilder, k: &Key) -> LocationId {
    let builtin = builtin(&k.0, k.1);
    let function = b.function(Function {
        name: display(&k.0, k.1, &k.2),
        system_name: k.2.clone(),
        filename: if builtin { String::new() } else { k.0.clone() },
        start_line: k.1,
    });
    b.location(Location {
        lines: vec![Line {
            function,
            line: k.1,
            column: 0,
        }],
        ..Default::default()
    })
}
