//! Chrome trace-event JSON: what Chrome DevTools' performance panel saves, what
//! `chromium --trace-startup` and `chrome://tracing` write, and what many other tools emit in
//! the same format (Hermes, Perfetto's JSON export, custom tracers). Either an array of events
//! or an object with `traceEvents` (gzip is inflated before this reader sees it).
//!
//! Two kinds of content, read differently:
//! - **CPU samples** (`Profile` / `ProfileChunk` events, or an older single `CpuProfile`
//!   event): V8's sampling profiler, one profile per sampled thread. `cpuProfile.nodes` arrive
//!   incrementally across chunks (each node names its `parent`), `samples` are node ids and
//!   `timeDeltas` µs since the previous sample (the first since the `Profile` event's
//!   `startTime`). V8 may deliver samples out of order (negative deltas): samples are sorted by
//!   time, as DevTools does, and each lasts until the next one; the last one until the
//!   profile's `endTime` when given, at most one median sampling interval. Sample types
//!   `samples/count` and `wall/microseconds`.
//! - **Duration events** (`B`/`E` pairs and complete `X` events), when there are no CPU
//!   samples: a wall-time profile of what was open when, per thread, in nanoseconds
//!   ([`duration`]). A file cut off without its closing `]` is read up to its last whole event.
//! - Events with a top-level `samples` / `stackFrames` list (the format's own sample events)
//!   are read like CPU samples, each sample lasting until the next one on its thread.
//!
//! The file is streamed ([`events`]): an event's fields are read from the JSON text as needed
//! and the event dropped, so memory follows what the profile keeps, not the file's size.
//!
//! Every thread's stacks get a root frame naming the thread (`thread_name` metadata, else
//! `pid P, tid T`), so threads stay apart and `compare` of two runs matches them by name.

mod duration;
mod events;

use crate::analysis::diff::CLOCK_KEY;
use crate::error::ParseError;
use crate::formats::folded::MAX_DEPTH;
use crate::model::{Function, Line, Location, LocationId, Profile, ProfileBuilder, ValueType};
use duration::Durations;
use events::Event;
use rustc_hash::FxHashMap;
use serde_json::value::RawValue;
use serde_json::Value;

/// True when the start of a JSON text looks like a trace-event file.
pub fn sniff(text: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if let Some(body) = t.strip_prefix('{') {
        // DevTools saves `{"metadata": {...}, "traceEvents": [...]}`; its metadata can be
        // longer than the detection window.
        return body.contains("\"traceEvents\"") || body.trim_start().starts_with("\"metadata\"");
    }
    // Array form: events with a phase and a process or time (the first event's arguments
    // can be long, so the whole detection window is searched).
    let Some(rest) = t.strip_prefix('[') else {
        return false;
    };
    rest.trim_start().starts_with('{')
        && rest.contains("\"ph\"")
        && (rest.contains("\"pid\"") || rest.contains("\"ts\""))
}

/// Parse a trace-event file.
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let mut names = ThreadNames::default();
    let mut cpu = CpuProfiles::default();
    let mut durations = Durations::default();
    let outline = events::for_each_event(data, |e| {
        let phase = events::text(e.ph);
        let name = events::text(e.name);
        if phase.as_deref() == Some("M") && name.as_deref() == Some("thread_name") {
            names.add(&e);
        }
        match name.as_deref() {
            Some("Profile") => cpu.start(&e),
            Some("ProfileChunk") => cpu.chunk(&e),
            Some("CpuProfile") => cpu.whole(&e)?,
            _ => {}
        }
        if let Some(ph @ ("B" | "E" | "X")) = phase.as_deref() {
            durations.add(&e, ph, thread_key(&e));
        }
        Ok(())
    })?;
    let cpu = cpu.finish()?;
    let sample_events = match (outline.samples, outline.stack_frames) {
        (Some(s), Some(f)) => match events::tree(s)? {
            Value::Array(samples) => Some((samples, events::tree(f)?)),
            _ => None,
        },
        _ => None,
    };
    let mut p = if !cpu.profiles.is_empty() {
        cpu.into_profile(&names)?
    } else if let Some((samples, frames)) = sample_events {
        sample_events_profile(&samples, &frames, &names)?
    } else {
        durations.into_profile(&names)?
    };
    p.metadata.insert("tool".into(), "Chrome trace".into());
    // V8's samples and trace event durations are both wall time.
    p.metadata.insert(CLOCK_KEY.into(), "wall".into());
    if outline.repaired {
        p.quality.notes.push(
            "the file ends without its closing ']' (cut off?): read up to its last whole event"
                .into(),
        );
    }
    Ok(p)
}

/// A thread: (pid, tid), numbers or strings in the file.
type ThreadKey = (String, String);

/// An id (pid, tid, profile id, stack frame) as text: a string as is, a number as JSON
/// prints it, anything else "0".
fn id_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".into(),
    }
}

/// [`id_text`] of a field of an event.
fn raw_id_text(v: Option<&RawValue>) -> String {
    match events::text(v) {
        Some(s) => s.into_owned(),
        None => events::number_text(v).unwrap_or_else(|| "0".into()),
    }
}

fn thread_key(e: &Event) -> ThreadKey {
    (raw_id_text(e.pid), raw_id_text(e.tid))
}

/// `thread_name` metadata events: the root frame of each thread.
#[derive(Default)]
struct ThreadNames(FxHashMap<ThreadKey, String>);

impl ThreadNames {
    fn add(&mut self, e: &Event) {
        if let Some(n) = events::text(events::field(e.args, "name")) {
            self.0.insert(thread_key(e), n.into_owned());
        }
    }

    fn root(&self, key: &ThreadKey) -> String {
        match self.0.get(key) {
            Some(n) if !n.is_empty() => n.clone(),
            _ => format!("pid {}, tid {}", key.0, key.1),
        }
    }
}

/// One V8 node: its parent and call frame.
#[derive(Default)]
struct Node {
    parent: Option<i64>,
    name: String,
    url: String,
    line: i64,
    column: i64,
}

/// One sampled thread's CPU profile, assembled from its events.
#[derive(Default)]
struct CpuProfile {
    thread: ThreadKey,
    nodes: FxHashMap<i64, Node>,
    samples: Vec<i64>,
    deltas: Vec<f64>,
    start: f64,
    end: Option<f64>,
}

/// A `ProfileChunk` event, kept as JSON text until its profile is known.
struct Chunk<'a> {
    ts: f64,
    profile: String,
    data: Option<&'a RawValue>,
}

/// All CPU profiles of a trace, in the order their `Profile` (or `CpuProfile`) events appear.
#[derive(Default)]
struct CpuProfiles<'a> {
    profiles: Vec<CpuProfile>,
    by_id: FxHashMap<String, usize>,
    chunks: Vec<Chunk<'a>>,
}

impl<'a> CpuProfiles<'a> {
    /// Profile ids restart in every process (each renderer's first profile is "0x1"): a
    /// profile is its process and id, or its thread when it has no id.
    fn id_of(e: &Event) -> String {
        let (p, t) = thread_key(e);
        match e.id {
            Some(v) => format!("{p}/{}", raw_id_text(Some(v))),
            None => format!("{p}:{t}"),
        }
    }

    /// A `Profile` event: a profile starts.
    fn start(&mut self, e: &Event) {
        self.by_id.insert(Self::id_of(e), self.profiles.len());
        let data = events::field(e.args, "data");
        self.profiles.push(CpuProfile {
            thread: thread_key(e),
            start: events::number(events::field(data, "startTime")).unwrap_or(0.0),
            ..Default::default()
        });
    }

    /// A `ProfileChunk` event: kept for [`Self::finish`] (a trace is not always in time
    /// order, and a chunk may come before its `Profile` event in the file).
    fn chunk(&mut self, e: &Event<'a>) {
        self.chunks.push(Chunk {
            ts: events::number(e.ts).unwrap_or(0.0),
            profile: Self::id_of(e),
            data: events::field(e.args, "data"),
        });
    }

    /// An older trace's single `CpuProfile` event holding a whole profile.
    fn whole(&mut self, e: &Event) -> Result<(), ParseError> {
        if let Some(data) = events::field(e.args, "data") {
            let data = events::tree(data)?;
            self.profiles
                .extend(CpuProfile::whole(thread_key(e), &data)?);
        }
        Ok(())
    }

    /// Add the chunks to their profiles, in time order (stable: file order breaks ties): each
    /// chunk's first time delta continues from the previous chunk's last sample.
    fn finish(mut self) -> Result<Self, ParseError> {
        let mut orphan_chunks = 0usize;
        let mut chunks = std::mem::take(&mut self.chunks);
        chunks.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        for c in chunks {
            match (self.by_id.get(&c.profile), c.data) {
                (Some(&i), Some(d)) => self.profiles[i].add_chunk(&events::tree(d)?)?,
                (Some(_), None) => {}
                (None, _) => orphan_chunks += 1,
            }
        }
        if self.profiles.is_empty() && orphan_chunks > 0 {
            return Err(ParseError::new(format!(
                "{orphan_chunks} ProfileChunk events but no Profile event they belong to (a trace cut at its start?)"
            )));
        }
        self.profiles.retain(|p| !p.samples.is_empty());
        Ok(self)
    }

    fn into_profile(self, names: &ThreadNames) -> Result<Profile, ParseError> {
        let mut b = ProfileBuilder::new(vec![
            ValueType::samples(),
            ValueType::new("wall", "microseconds"),
        ]);
        let mut notes = Vec::new();
        let mut truncated = 0u64;
        let mut span = 0f64;
        for p in &self.profiles {
            let root = b.frame(&names.root(&p.thread));
            let (hits, missing) = p.hits();
            if missing > 0 {
                notes.push(format!(
                    "{missing} samples of thread {} name nodes the trace does not define (skipped)",
                    names.root(&p.thread)
                ));
            }
            let mut locs: FxHashMap<i64, LocationId> = FxHashMap::default();
            let mut leaves: Vec<(i64, (i64, f64))> = hits.into_iter().collect();
            leaves.sort_unstable_by_key(|&(n, _)| n);
            for (leaf, (count, micros)) in leaves {
                let (mut stack, cut) = p.stack(leaf, &mut b, &mut locs)?;
                truncated += cut as u64;
                stack.push(root);
                b.add_sample(&stack, &[count, micros.round() as i64]);
            }
            span = span.max(p.span());
        }
        if b.profile().samples.is_empty() {
            return Err(ParseError::new(
                "the trace's CPU profiles hold no samples of known nodes",
            ));
        }
        let pr = b.profile_mut();
        pr.default_sample_type = Some(1);
        pr.quality.truncated_stacks = truncated;
        pr.quality.notes = notes;
        pr.duration_nanos = (span * 1e3).min(i64::MAX as f64) as i64;
        Ok(b.finish())
    }
}

impl CpuProfile {
    /// An older trace's single `CpuProfile` event holding a whole profile.
    fn whole(thread: ThreadKey, data: &Value) -> Result<Option<CpuProfile>, ParseError> {
        let Some(cp) = data.get("cpuProfile") else {
            return Ok(None);
        };
        let mut p = CpuProfile {
            thread,
            start: cp.get("startTime").and_then(Value::as_f64).unwrap_or(0.0),
            end: cp.get("endTime").and_then(Value::as_f64),
            ..Default::default()
        };
        p.add_chunk(data)?;
        Ok(Some(p))
    }

    /// Add a chunk's (or a whole `CpuProfile`'s) nodes, samples and time deltas.
    fn add_chunk(&mut self, data: &Value) -> Result<(), ParseError> {
        let cp = data.get("cpuProfile");
        if let Some(nodes) = cp.and_then(|c| c.get("nodes")).and_then(Value::as_array) {
            for n in nodes {
                self.add_node(n)?;
            }
        }
        if let Some(s) = cp.and_then(|c| c.get("samples")).and_then(Value::as_array) {
            for v in s {
                self.samples.push(
                    v.as_i64()
                        .ok_or_else(|| ParseError::new("a sample is not a node id"))?,
                );
            }
        }
        let deltas = data
            .get("timeDeltas")
            .or_else(|| cp.and_then(|c| c.get("timeDeltas")));
        if let Some(d) = deltas.and_then(Value::as_array) {
            for v in d {
                let x = v.as_f64().filter(|x| x.is_finite());
                self.deltas
                    .push(x.ok_or_else(|| ParseError::new("a timeDelta is not a number"))?);
            }
        }
        if let Some(e) = data.get("endTime").and_then(Value::as_f64) {
            self.end = Some(e);
        }
        Ok(())
    }

    fn add_node(&mut self, n: &Value) -> Result<(), ParseError> {
        let id = n
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| ParseError::new("a cpuProfile node has no numeric id"))?;
        let cf = n.get("callFrame");
        let text = |k: &str| {
            cf.and_then(|c| c.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let num = |k: &str| {
            cf.and_then(|c| c.get(k))
                .and_then(Value::as_i64)
                .filter(|&x| x >= 0)
                .map_or(0, |x| x + 1)
        };
        let node = Node {
            parent: n.get("parent").and_then(Value::as_i64),
            name: text("functionName"),
            url: text("url"),
            line: num("lineNumber"),
            column: num("columnNumber"),
        };
        if let Some(children) = n.get("children").and_then(Value::as_array) {
            // Whole-profile nodes list children instead of naming their parent: a child not
            // seen yet gets a placeholder holding its parent.
            for c in children.iter().filter_map(Value::as_i64) {
                self.nodes.entry(c).or_default().parent = Some(id);
            }
        }
        match self.nodes.get_mut(&id) {
            // A placeholder made by a parent's `children` list: keep its parent.
            Some(old) => {
                let parent = old.parent.or(node.parent);
                *old = Node { parent, ..node };
            }
            None => {
                self.nodes.insert(id, node);
            }
        }
        Ok(())
    }

    /// Sample times, sorted (V8 delivers some out of order), each with its node.
    fn timeline(&self) -> Vec<(f64, i64)> {
        let n = self.samples.len().min(self.deltas.len());
        let mut t = self.start;
        let mut out: Vec<(f64, i64)> = (0..n)
            .map(|i| {
                t += self.deltas[i];
                (t, self.samples[i])
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }

    /// Per node: (samples, µs); and how many samples named an undefined node.
    fn hits(&self) -> (FxHashMap<i64, (i64, f64)>, usize) {
        let mut hits: FxHashMap<i64, (i64, f64)> = FxHashMap::default();
        let mut missing = 0;
        let tl = self.timeline();
        let last_len = self.last_sample_length(&tl);
        for (i, &(t, node)) in tl.iter().enumerate() {
            if !self.nodes.contains_key(&node) {
                missing += 1;
                continue;
            }
            let next = match tl.get(i + 1) {
                Some(&(n, _)) => n,
                None => t + last_len,
            };
            let e = hits.entry(node).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += next - t;
        }
        (hits, missing)
    }

    /// How long the last sample lasts: until the profile's end, but no longer than the
    /// median sampling interval (a profile can end long after its last sample: that time was
    /// not sampled).
    fn last_sample_length(&self, tl: &[(f64, i64)]) -> f64 {
        let Some(&(last, _)) = tl.last() else {
            return 0.0;
        };
        let mut gaps: Vec<f64> = tl.windows(2).map(|w| w[1].0 - w[0].0).collect();
        gaps.sort_by(f64::total_cmp);
        let median = gaps.get(gaps.len() / 2).copied().unwrap_or(0.0);
        self.end.map_or(0.0, |e| (e - last).clamp(0.0, median))
    }

    fn span(&self) -> f64 {
        let tl = self.timeline();
        let last = tl.last().map_or(self.start, |l| l.0);
        self.end.unwrap_or(last).max(last) - self.start
    }

    /// A node's stack, leaf first, without the `(root)` node; and whether it was cut at
    /// [`MAX_DEPTH`].
    fn stack(
        &self,
        leaf: i64,
        b: &mut ProfileBuilder,
        locs: &mut FxHashMap<i64, LocationId>,
    ) -> Result<(Vec<LocationId>, bool), ParseError> {
        let mut stack = Vec::new();
        let mut cut = false;
        let mut id = Some(leaf);
        let mut steps = 0usize;
        while let Some(i) = id {
            let Some(n) = self.nodes.get(&i) else { break };
            steps += 1;
            if steps > self.nodes.len() {
                return Err(ParseError::new(format!(
                    "the cpuProfile node tree has a cycle through node {i}"
                )));
            }
            let is_root = n.parent.is_none() && n.name == "(root)";
            if !is_root {
                if stack.len() < MAX_DEPTH {
                    stack.push(*locs.entry(i).or_insert_with(|| node_location(b, n)));
                } else {
                    cut = true;
                }
            }
            id = n.parent;
        }
        if stack.is_empty() {
            stack.push(b.frame("(root)"));
        }
        Ok((stack, cut))
    }
}

/// A V8 call frame as a location: lines and columns 1-based, as in the V8 reader.
fn node_location(b: &mut ProfileBuilder, n: &Node) -> LocationId {
    let name = if n.name.is_empty() {
        "(anonymous)".to_string()
    } else {
        n.name.clone()
    };
    let f = b.function(Function {
        system_name: name.clone(),
        name,
        filename: n.url.clone(),
        start_line: n.line,
    });
    b.location(Location {
        lines: vec![Line {
            function: f,
            line: n.line,
            column: n.column,
        }],
        ..Default::default()
    })
}

/// The format's sample events: `samples` (`sf` = stack frame id, `ts`, `pid`, `tid`) over a
/// `stackFrames` table (`name`, `parent`). Each sample lasts until the thread's next sample.
fn sample_events_profile(
    samples: &[Value],
    frames: &Value,
    names: &ThreadNames,
) -> Result<Profile, ParseError> {
    let mut per_thread: FxHashMap<ThreadKey, Vec<(f64, String)>> = FxHashMap::default();
    for s in samples {
        let ts = s
            .get("ts")
            .and_then(|t| t.as_f64().or_else(|| t.as_str()?.parse().ok()))
            .ok_or_else(|| ParseError::new("a sample has no timestamp"))?;
        per_thread
            .entry((id_text(s.get("pid")), id_text(s.get("tid"))))
            .or_default()
            .push((ts, id_text(s.get("sf"))));
    }
    let mut threads: Vec<_> = per_thread.into_iter().collect();
    threads.sort_by(|a, b| a.0.cmp(&b.0));
    let mut b = ProfileBuilder::new(vec![
        ValueType::samples(),
        ValueType::new("wall", "microseconds"),
    ]);
    for (k, list) in threads {
        let root = b.frame(&names.root(&k));
        for (i, (ts, sf)) in list.iter().enumerate() {
            let next = list.get(i + 1).map_or(*ts, |n| n.0);
            let mut stack = Vec::new();
            let mut id = Some(sf.clone());
            while let Some(f) = id.filter(|f| !f.is_empty() && f != "0") {
                let fr = frames
                    .get(&f)
                    .ok_or_else(|| ParseError::new(format!("stack frame {f} is not defined")))?;
                if stack.len() > MAX_DEPTH {
                    break;
                }
                let name = fr
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("(unnamed)");
                stack.push(b.frame(name));
                id = fr.get("parent").map(|p| id_text(Some(p)));
            }
            stack.push(root);
            let micros = (next - ts).max(0.0).round() as i64;
            b.add_sample(&stack, &[1, micros]);
        }
    }
    b.profile_mut().default_sample_type = Some(1);
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded::fold;

    #[test]
    fn sniffs_both_forms() {
        assert!(sniff(r#"{"traceEvents":[]}"#));
        assert!(sniff(r#"[{"pid":0,"tid":0,"ph":"B","name":"a","ts":0}"#));
        assert!(!sniff(r#"[{"name":"a"}]"#));
        assert!(sniff(r#"[{"args":{"name":"x"},"ph":"M","pid":1,"tid":1}]"#));
        assert!(sniff(r#"{"metadata":{"source":"DevTools"}"#));
        // The first event's arguments can be long.
        let long = format!(
            "[{{\"args\":{{\"n\":\"{}\"}},\"ph\":\"M\",\"pid\":1}}",
            "é".repeat(3000)
        );
        assert!(sniff(&long));
        assert!(!sniff(r#"{"nodes":[],"samples":[]}"#));
    }

    #[test]
    fn chunked_cpu_profile_is_time_weighted_per_thread() {
        // Nodes arrive in two chunks; the third sample is delivered before the second
        // (negative delta), so sorted times are 110, 115, 120, 140; the end is 150, but the
        // last sample lasts at most the median interval, 5.
        let t = r#"{"traceEvents":[
          {"ph":"M","name":"thread_name","pid":1,"tid":2,"args":{"name":"CrRendererMain"}},
          {"ph":"P","name":"Profile","id":"0x1","pid":1,"tid":2,"ts":100,"args":{"data":{"startTime":100}}},
          {"ph":"P","name":"ProfileChunk","id":"0x1","pid":1,"tid":2,"ts":120,"args":{"data":{
            "cpuProfile":{"nodes":[{"id":1,"callFrame":{"functionName":"(root)"}},
                                   {"id":2,"parent":1,"callFrame":{"functionName":"main","url":"a.js","lineNumber":0}}],
                          "samples":[2,2]},"timeDeltas":[10,10]}}},
          {"ph":"P","name":"ProfileChunk","id":"0x1","pid":1,"tid":2,"ts":140,"args":{"data":{
            "cpuProfile":{"nodes":[{"id":3,"parent":2,"callFrame":{"functionName":"busy"}}],
                          "samples":[3,3]},"timeDeltas":[-5,25],"endTime":150}}}
        ]}"#;
        let p = parse(t.as_bytes()).unwrap();
        p.validate().unwrap();
        assert_eq!(
            fold(&p, 1),
            vec![
                ("CrRendererMain;main".to_string(), 5 + 20),
                ("CrRendererMain;main;busy".to_string(), 5 + 5),
            ]
        );
        assert_eq!(p.total(0), 4);
        assert_eq!(p.duration_nanos, 50_000);
    }

    #[test]
    fn profile_ids_are_per_process() {
        // Every renderer numbers its profiles from 0x1: chunks belong to their own process.
        let t = r#"{"traceEvents":[
          {"ph":"P","name":"Profile","id":"0x1","pid":1,"tid":1,"args":{"data":{"startTime":0}}},
          {"ph":"P","name":"Profile","id":"0x1","pid":2,"tid":2,"args":{"data":{"startTime":0}}},
          {"ph":"P","name":"ProfileChunk","id":"0x1","pid":1,"tid":1,"args":{"data":{"cpuProfile":{
            "nodes":[{"id":1,"callFrame":{"functionName":"a"}}],"samples":[1,1]},"timeDeltas":[0,7]}}},
          {"ph":"P","name":"ProfileChunk","id":"0x1","pid":2,"tid":2,"args":{"data":{"cpuProfile":{
            "nodes":[{"id":1,"callFrame":{"functionName":"b"}}],"samples":[1,1]},"timeDeltas":[0,3]}}}
        ]}"#;
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(
            fold(&p, 1),
            vec![
                ("pid 1, tid 1;a".to_string(), 7),
                ("pid 2, tid 2;b".to_string(), 3)
            ]
        );
    }

    fn folded_events(t: &str) -> Vec<(String, i64)> {
        let p = parse(t.as_bytes()).unwrap();
        p.validate().unwrap();
        fold(&p, 0)
    }

    #[test]
    fn duration_events_are_wall_time() {
        let t = r#"[
          {"pid":0,"tid":0,"ph":"B","name":"alpha","ts":0},
          {"pid":0,"tid":0,"ph":"X","name":"beta","ts":1,"dur":3},
          {"pid":0,"tid":0,"ph":"E","name":"alpha","ts":10}]"#;
        assert_eq!(
            folded_events(t),
            vec![
                ("pid 0, tid 0;alpha".to_string(), 7000),
                ("pid 0, tid 0;alpha;beta".to_string(), 3000),
            ]
        );
    }

    #[test]
    fn a_changed_stack_closes_before_it_opens_at_one_time() {
        // py-spy's chrometrace: at ts 5 the whole stack ends (inner first) and a new one
        // begins whose root is the old stack's second frame, with the same arguments.
        let t = r#"[
          {"pid":0,"tid":0,"ph":"B","name":"boot","ts":0,"args":{"line":1}},
          {"pid":0,"tid":0,"ph":"B","name":"load","ts":0,"args":{"line":2}},
          {"pid":0,"tid":0,"ph":"E","name":"load","ts":5,"args":{"line":2}},
          {"pid":0,"tid":0,"ph":"E","name":"boot","ts":5,"args":{"line":1}},
          {"pid":0,"tid":0,"ph":"B","name":"load","ts":5,"args":{"line":2}},
          {"pid":0,"tid":0,"ph":"B","name":"zero","ts":6},
          {"pid":0,"tid":0,"ph":"E","name":"zero","ts":6},
          {"pid":0,"tid":0,"ph":"E","name":"load","ts":9,"args":{"line":2}}]"#;
        let p = parse(t.as_bytes()).unwrap();
        assert!(p.quality.notes.is_empty(), "{:?}", p.quality.notes);
        assert_eq!(
            fold(&p, 0),
            vec![
                ("pid 0, tid 0;boot;load".to_string(), 5000),
                ("pid 0, tid 0;load".to_string(), 4000),
            ]
        );
    }

    #[test]
    fn cut_off_array_reads_up_to_the_last_whole_event() {
        let t = "[{\"pid\":0,\"tid\":0,\"ph\":\"X\",\"name\":\"a\",\"ts\":0,\"dur\":2},\n{\"pid\":0,\"tid\":0,\"ph\":\"X\",\"na";
        assert_eq!(folded_events(t), vec![("pid 0, tid 0;a".to_string(), 2000)]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let err = |t: &str| parse(t.as_bytes()).unwrap_err().0;
        assert!(err("{\"traceEvents\":3}").contains("no \"traceEvents\" array"));
        assert!(err("[{\"ph\":\"M\",\"name\":\"x\"}]").contains("nothing to profile"));
        assert!(err("{\"traceEvents\":[{\"ph\":\"X\"").contains("not a valid trace-event"));
        assert!(err(
            r#"[{"ph":"P","name":"ProfileChunk","id":"0x1","args":{"data":{"cpuProfile":{"samples":[1]},"timeDeltas":[1]}}}]"#
        )
        .contains("no Profile event"));
    }
}
