//! Duration events (`B`/`E` pairs and complete `X` events) as a wall-time profile: what was
//! open when, per thread. Broken traces are tolerated as speedscope tolerates them: events are
//! sorted by time (file order breaks ties, so `E E B B` at one timestamp, as py-spy writes
//! a changed stack, closes before it opens), an `E` closing something other than the open
//! event is ignored (or closes the open one when only the arguments differ), events still
//! open at the end close at the last timestamp.
//!
//! Events are kept compactly (time and interned name and key) while the file is read. The open
//! stacks form a tree of frames, so an event costs constant time and memory however deep the
//! stack (a trace that loses its `E` events leaves frames open, and its stacks grow with the
//! file).

use super::events::{self, Event};
use super::{ThreadKey, ThreadNames};
use crate::error::ParseError;
use crate::formats::folded::MAX_DEPTH;
use crate::model::{LocationId, Profile, ProfileBuilder, ValueType};
use rustc_hash::FxHashMap;

/// Distinct strings, each stored once and named by its index.
#[derive(Default)]
struct Strings {
    list: Vec<String>,
    ids: FxHashMap<String, u32>,
}

impl Strings {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        i
    }
}

/// A duration event: begin or end of a named frame at a time (µs).
#[derive(Clone, Copy)]
struct Edge {
    ts: f64,
    name: u32,
    /// Name and arguments: tells apart events of the same name (speedscope's frame key).
    key: u32,
    /// Place in the file (twice the event's index; a zero-length `X` event's end is the odd
    /// number after its begin, and a longer one's end is 0: it ends before anything starting
    /// at that time). Decides between a begin and an end at the same time.
    seq: u64,
}

/// One thread's events, in file order.
#[derive(Default)]
struct ThreadEdges {
    begins: Vec<Edge>,
    ends: Vec<Edge>,
    /// `X` events and their durations.
    xs: Vec<(Edge, f64)>,
}

/// The duration events of a trace, per thread.
#[derive(Default)]
pub(super) struct Durations {
    strings: Strings,
    threads: Vec<ThreadKey>,
    index: FxHashMap<ThreadKey, usize>,
    edges: Vec<ThreadEdges>,
    /// Duration events seen so far.
    count: u64,
}

impl Durations {
    /// Keep a `B`, `E` or `X` event (`phase`) of `thread`.
    pub(super) fn add(&mut self, e: &Event, phase: &str, thread: ThreadKey) {
        let t = match self.index.get(&thread) {
            Some(&t) => t,
            None => {
                self.index.insert(thread.clone(), self.threads.len());
                self.threads.push(thread);
                self.edges.push(ThreadEdges::default());
                self.threads.len() - 1
            }
        };
        let Some(ts) = events::number(e.ts) else {
            return;
        };
        self.count += 1;
        let edge = self.edge(e, ts, 2 * self.count);
        let thread = &mut self.edges[t];
        match phase {
            "B" => thread.begins.push(edge),
            "E" => thread.ends.push(edge),
            _ => {
                let dur = events::number(e.dur.or(e.tdur))
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .unwrap_or(0.0);
                thread.xs.push((edge, dur));
            }
        }
    }

    fn edge(&mut self, e: &Event, ts: f64, seq: u64) -> Edge {
        let name = match events::text(e.name) {
            Some(n) if !n.is_empty() => n,
            _ => "(unnamed)".into(),
        };
        // The arguments as a JSON tree prints them (compact, keys sorted).
        let args = e.args.map(|a| match events::tree(a) {
            Ok(v) => v.to_string(),
            Err(_) => a.get().to_string(),
        });
        let key = match args {
            Some(a) => self.strings.intern(&format!("{name} {a}")),
            None => self.strings.intern(&name),
        };
        Edge {
            ts,
            name: self.strings.intern(&name),
            key,
            seq,
        }
    }

    /// A wall-time profile, one root per thread.
    pub(super) fn into_profile(self, names: &ThreadNames) -> Result<Profile, ParseError> {
        if self.threads.is_empty() {
            return Err(ParseError::new(
                "trace-event file without CPU samples (Profile/ProfileChunk) or duration events (B/E/X): nothing to profile",
            ));
        }
        let mut order: Vec<usize> = (0..self.threads.len()).collect();
        order.sort_by(|&a, &b| self.threads[a].cmp(&self.threads[b]));
        let mut b = ProfileBuilder::new(vec![ValueType::new("wall", "nanoseconds")]);
        let mut ignored = 0usize;
        let mut truncated = 0u64;
        let mut edges = self.edges;
        for t in order {
            let (begins, ends) = queues(std::mem::take(&mut edges[t]));
            let mut tl = Timeline::default();
            tl.replay(begins, ends);
            ignored += tl.ignored_ends;
            let root = b.frame(&names.root(&self.threads[t]));
            truncated += tl.add_samples(&mut b, root, &self.strings.list);
        }
        if b.profile().samples.is_empty() {
            return Err(ParseError::new(
                "the trace's duration events (B/E/X) never enclose any time",
            ));
        }
        let p = b.profile_mut();
        p.quality.truncated_stacks = truncated;
        if ignored > 0 {
            p.quality.notes.push(format!(
                "{ignored} end (E) events did not match the open event and were ignored"
            ));
        }
        Ok(b.finish())
    }
}

/// Begin and end queues of one thread, each sorted by time (stably: file order breaks ties).
/// `X` events become a begin and an end; among `X` events starting together the longer one
/// opens first (it encloses the others).
fn queues(t: ThreadEdges) -> (Vec<Edge>, Vec<Edge>) {
    let ThreadEdges {
        mut begins,
        mut ends,
        mut xs,
    } = t;
    xs.sort_by(|a, b| a.0.ts.total_cmp(&b.0.ts).then(b.1.total_cmp(&a.1)));
    for (x, dur) in xs {
        begins.push(x);
        let seq = if dur > 0.0 { 0 } else { x.seq + 1 };
        ends.push(Edge {
            ts: x.ts + dur,
            seq,
            ..x
        });
    }
    begins.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    ends.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    (begins, ends)
}

/// The distinct open stacks of a thread as a tree: node 0 is the empty stack, every other
/// node a frame (a name) under its parent.
struct StackTree {
    parent: Vec<u32>,
    name: Vec<u32>,
    depth: Vec<u32>,
    children: FxHashMap<(u32, u32), u32>,
}

impl Default for StackTree {
    fn default() -> Self {
        StackTree {
            parent: vec![0],
            name: vec![0],
            depth: vec![0],
            children: FxHashMap::default(),
        }
    }
}

impl StackTree {
    fn child(&mut self, node: u32, name: u32) -> u32 {
        let next = self.parent.len() as u32;
        let id = *self.children.entry((node, name)).or_insert(next);
        if id == next {
            self.parent.push(node);
            self.name.push(name);
            self.depth.push(self.depth[node as usize] + 1);
        }
        id
    }

    /// Every node, in the order of their stacks' names compared root first (the tree's
    /// pre-order with children sorted by name).
    fn sorted_nodes(&self, strings: &[String]) -> Vec<u32> {
        let mut kids: Vec<Vec<u32>> = vec![Vec::new(); self.parent.len()];
        for (&(parent, _), &child) in &self.children {
            kids[parent as usize].push(child);
        }
        for k in &mut kids {
            k.sort_by(|&a, &b| {
                strings[self.name[a as usize] as usize]
                    .cmp(&strings[self.name[b as usize] as usize])
            });
        }
        let mut out = Vec::with_capacity(self.parent.len());
        let mut todo = vec![0u32];
        while let Some(n) = todo.pop() {
            out.push(n);
            todo.extend(kids[n as usize].iter().rev());
        }
        out
    }
}

/// Wall time per open stack of one thread, in µs.
#[derive(Default)]
struct Timeline {
    open: Vec<Edge>,
    /// The open stack in `tree`.
    node: u32,
    tree: StackTree,
    /// Per node of `tree`.
    weights: Vec<f64>,
    last: Option<f64>,
    ignored_ends: usize,
}

impl Timeline {
    fn advance(&mut self, ts: f64) {
        if let Some(last) = self.last {
            if !self.open.is_empty() && ts > last {
                let n = self.node as usize;
                if self.weights.len() <= n {
                    self.weights.resize(self.tree.parent.len(), 0.0);
                }
                self.weights[n] += ts - last;
            }
        }
        self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
    }

    fn open(&mut self, e: Edge) {
        self.node = self.tree.child(self.node, e.name);
        self.open.push(e);
    }

    fn close(&mut self) {
        self.open.pop();
        self.node = self.tree.parent[self.node as usize];
    }

    /// Replay the queues: at equal times a begin goes first when the file has it before the
    /// pending end; an end prefers, among ends at the same time, one matching the open
    /// event's key, then its name.
    fn replay(&mut self, mut begins: Vec<Edge>, ends: Vec<Edge>) {
        begins.reverse();
        let mut ends: std::collections::VecDeque<Edge> = ends.into();
        loop {
            let take_begin = match (begins.last(), ends.front()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(b), Some(e)) => b.ts < e.ts || (b.ts == e.ts && b.seq < e.seq),
            };
            if take_begin {
                let b = begins.pop().unwrap();
                self.advance(b.ts);
                self.open(b);
                continue;
            }
            if let Some(top) = self.open.last() {
                let t0 = ends[0].ts;
                let same_time = |e: &Edge| e.ts <= t0;
                let pick = (1..ends.len())
                    .take_while(|&i| same_time(&ends[i]))
                    .find(|&i| ends[i].key == top.key)
                    .or_else(|| {
                        (1..ends.len())
                            .take_while(|&i| same_time(&ends[i]))
                            .find(|&i| ends[i].name == top.name)
                    });
                if let Some(i) = pick {
                    ends.swap(0, i);
                }
            }
            let e = ends.pop_front().unwrap();
            match self.open.last() {
                Some(top) if top.name == e.name => {
                    self.advance(e.ts);
                    self.close();
                }
                _ => self.ignored_ends += 1,
            }
        }
        // Still open at the end: closed at the last time seen.
        if let Some(last) = self.last {
            self.advance(last);
        }
    }

    /// Add each stack that held time (in ns, at least 1) under `root`, stacks in the order of
    /// their names; returns how many were cut at [`MAX_DEPTH`] frames.
    fn add_samples(&self, b: &mut ProfileBuilder, root: LocationId, strings: &[String]) -> u64 {
        let mut truncated = 0;
        for node in self.tree.sorted_nodes(strings) {
            let micros = self.weights.get(node as usize).copied().unwrap_or(0.0);
            if micros <= 0.0 {
                continue;
            }
            let depth = self.tree.depth[node as usize] as usize;
            let mut stack: Vec<LocationId> = Vec::with_capacity(depth.min(MAX_DEPTH) + 1);
            let mut n = node;
            while n != 0 && stack.len() < MAX_DEPTH {
                stack.push(b.frame(&strings[self.tree.name[n as usize] as usize]));
                n = self.tree.parent[n as usize];
            }
            truncated += (depth > MAX_DEPTH) as u64;
            stack.push(root);
            let ns = (micros * 1e3).round();
            if ns >= 1.0 {
                b.add_sample(&stack, &[ns.min(i64::MAX as f64) as i64]);
            }
        }
        truncated
    }
}
