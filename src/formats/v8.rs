//! V8 / Chrome `.cpuprofile` JSON, as `node --cpu-prof` and Chrome DevTools write it: a call
//! tree of `nodes` (`id`, `callFrame {functionName, url, lineNumber, columnNumber}`,
//! `children`, or `parent` in older files), `samples` (the node id hit by each sample),
//! `timeDeltas` (µs since the previous sample, the first one since `startTime`) and
//! `startTime`/`endTime` in µs.
//!
//! Sample types: `samples`/`count` and `wall`/`microseconds` (the default), where a sample lasts
//! until the next one (the last until `endTime`), as DevTools computes self time. V8 can emit
//! slightly negative deltas (samples out of order); such durations count as zero. The
//! artificial `(root)` node is not a frame; `(program)`, `(idle)` and `(garbage collector)`
//! are kept. Empty function names become `(anonymous)`. Lines and columns are 0-based in the
//! file and 1-based in the profile, as editors and pprof show them.

use crate::analysis::diff::CLOCK_KEY;
use crate::error::ParseError;
use crate::formats::folded::MAX_DEPTH;
use crate::formats::v8_heap;
use crate::model::{Function, Line, Location, LocationId, Profile, ProfileBuilder, ValueType};
use rustc_hash::FxHashMap;
use serde::Deserialize;

#[derive(Deserialize)]
struct CpuProfile {
    #[serde(default)]
    nodes: Vec<Node>,
    /// The old format's tree (V8's C++ API, `v8-profiler-node8`): see [`OldNode`].
    #[serde(default)]
    head: Option<OldNode>,
    /// The old format's sample times, absolute µs.
    #[serde(default)]
    timestamps: Vec<f64>,
    #[serde(default, rename = "startTime")]
    start_time: Option<f64>,
    #[serde(default, rename = "endTime")]
    end_time: Option<f64>,
    #[serde(default)]
    samples: Vec<i64>,
    #[serde(default, rename = "timeDeltas")]
    time_deltas: Vec<f64>,
}

#[derive(Deserialize)]
pub(crate) struct Node {
    pub(crate) id: i64,
    #[serde(rename = "callFrame")]
    pub(crate) call_frame: CallFrame,
    #[serde(default, rename = "hitCount")]
    pub(crate) hit_count: Option<i64>,
    #[serde(default)]
    pub(crate) children: Vec<i64>,
    #[serde(default)]
    pub(crate) parent: Option<i64>,
}

#[derive(Deserialize, Default)]
pub(crate) struct CallFrame {
    #[serde(default, rename = "functionName")]
    function_name: String,
    #[serde(default)]
    url: String,
    #[serde(default, rename = "lineNumber")]
    line_number: Option<i64>,
    #[serde(default, rename = "columnNumber")]
    column_number: Option<i64>,
}

/// A node of the old format: the tree is nested (`head` is the root, children are nodes, not
/// ids), the call frame's fields sit on the node, line numbers are 1-based, `startTime` and
/// `endTime` are seconds and samples have absolute `timestamps` instead of deltas. Chrome
/// DevTools still reads it (`CPUProfileDataModel`'s legacy conversion); so does speedscope.
#[derive(Deserialize)]
struct OldNode {
    id: i64,
    #[serde(default, rename = "functionName")]
    function_name: String,
    #[serde(default)]
    url: String,
    #[serde(default, rename = "lineNumber")]
    line_number: Option<i64>,
    #[serde(default, rename = "columnNumber")]
    column_number: Option<i64>,
    #[serde(default, rename = "hitCount")]
    hit_count: Option<i64>,
    #[serde(default)]
    children: Vec<OldNode>,
}

impl Drop for OldNode {
    /// Free the subtree one node at a time: the default drop recurses once per level.
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.children);
        while let Some(mut n) = pending.pop() {
            pending.append(&mut n.children);
        }
    }
}

impl CpuProfile {
    /// Bring an old-format profile into the current form (flat nodes, 0-based lines, µs,
    /// deltas); a current one is returned unchanged.
    fn upgrade(mut self) -> CpuProfile {
        let Some(head) = self.head.take() else {
            return self;
        };
        let mut pending = vec![head];
        while let Some(mut n) = pending.pop() {
            let children = std::mem::take(&mut n.children);
            self.nodes.push(Node {
                id: n.id,
                call_frame: CallFrame {
                    function_name: std::mem::take(&mut n.function_name),
                    url: std::mem::take(&mut n.url),
                    line_number: n.line_number.map(|l| l.saturating_sub(1)),
                    column_number: n.column_number.map(|c| c.saturating_sub(1)),
                },
                hit_count: n.hit_count,
                children: children.iter().map(|c| c.id).collect(),
                parent: None,
            });
            pending.extend(children.into_iter().rev());
        }
        // Files written by v8-profiler cut `startTime` to whole seconds: the first sample's
        // time is the better start when it is later.
        let first = self.timestamps.first().copied();
        let start = match (self.start_time.map(|s| s * 1e6), first) {
            (Some(s), Some(f)) => Some(s.max(f)),
            (s, f) => s.or(f),
        };
        let mut stamps = std::mem::take(&mut self.timestamps);
        // A timestamp past the last sample is when that sample ended.
        let end = if stamps.len() > self.samples.len() {
            let end = stamps[self.samples.len()];
            stamps.truncate(self.samples.len());
            Some(end)
        } else {
            let last = stamps.last().copied();
            match (self.end_time.map(|e| e * 1e6), last) {
                (Some(e), Some(l)) => Some(e.max(l)),
                (e, l) => e.or(l),
            }
        };
        let mut prev = start.unwrap_or(0.0);
        self.time_deltas = stamps
            .iter()
            .map(|&t| {
                let d = t - prev;
                prev = t;
                d
            })
            .collect();
        self.start_time = start;
        self.end_time = end;
        self
    }
}

/// True for JSON text that looks like a `.cpuprofile`, current (`nodes` with `callFrame`s or
/// `samples`) or old (`head` with `functionName`).
/// Chrome traces embed cpuprofile nodes in trace events (`ph`, `traceEvents`): not claimed.
pub fn sniff(text: &str) -> bool {
    let object = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{');
    if !object || text.contains("\"traceEvents\"") || text.contains("\"ph\"") {
        return false;
    }
    (text.contains("\"nodes\"") && (text.contains("\"samples\"") || text.contains("\"callFrame\"")))
        || (text.contains("\"head\"") && text.contains("\"functionName\""))
}

const NO_PARENT: usize = usize::MAX;

/// Parse a `.cpuprofile`.
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    if v8_heap::is_heap_snapshot(data) {
        return Err(ParseError::new(
            "this is a V8 heap snapshot (.heapsnapshot), a dump of the heap's object graph, \
             not a profile; record a sampling heap profile instead (node --heap-prof)",
        ));
    }
    if v8_heap::looks_like(data) {
        return v8_heap::parse(data);
    }
    let cp: CpuProfile = v8_heap::from_slice_deep(data)
        .map_err(|e| ParseError::new(format!("not a valid V8 cpuprofile JSON file: {e}")))?;
    let cp = cp.upgrade();
    if cp.nodes.is_empty() {
        return Err(ParseError::new("no nodes in the profile"));
    }
    let mut index: FxHashMap<i64, usize> = FxHashMap::default();
    for (i, n) in cp.nodes.iter().enumerate() {
        if index.insert(n.id, i).is_some() {
            return Err(ParseError::new(format!("node id {} appears twice", n.id)));
        }
    }
    let lookup = |id: i64, what: &str| {
        index
            .get(&id)
            .copied()
            .ok_or_else(|| ParseError::new(format!("{what} refers to missing node {id}")))
    };
    let mut parent = vec![NO_PARENT; cp.nodes.len()];
    for (i, n) in cp.nodes.iter().enumerate() {
        for &c in &n.children {
            let ci = lookup(c, &format!("node {}", n.id))?;
            if parent[ci] != NO_PARENT && parent[ci] != i {
                return Err(ParseError::new(format!("node {c} has two parents")));
            }
            parent[ci] = i;
        }
    }
    for (i, n) in cp.nodes.iter().enumerate() {
        if let Some(p) = n.parent {
            let pi = lookup(p, &format!("node {}", n.id))?;
            if parent[i] != NO_PARENT && parent[i] != pi {
                return Err(ParseError::new(format!("node {} has two parents", n.id)));
            }
            parent[i] = pi;
        }
    }

    // Per node: (samples, microseconds).
    let mut hits: FxHashMap<usize, (i64, f64)> = FxHashMap::default();
    let mut negative = 0u64;
    if !cp.samples.is_empty() {
        if !cp.time_deltas.is_empty() && cp.time_deltas.len() != cp.samples.len() {
            return Err(ParseError::new(format!(
                "{} samples but {} timeDeltas",
                cp.samples.len(),
                cp.time_deltas.len()
            )));
        }
        let have_time = !cp.time_deltas.is_empty();
        let mut t = cp.start_time.unwrap_or(0.0);
        let mut times = Vec::with_capacity(cp.time_deltas.len());
        for &d in &cp.time_deltas {
            if !d.is_finite() {
                return Err(ParseError::new("a timeDelta is not a number"));
            }
            t += d;
            times.push(t);
        }
        for (i, &id) in cp.samples.iter().enumerate() {
            let ni = lookup(id, &format!("sample {i}"))?;
            let dur = if !have_time {
                0.0
            } else if i + 1 < times.len() {
                times[i + 1] - times[i]
            } else {
                cp.end_time.map_or(0.0, |e| e - times[i])
            };
            let dur = if dur.is_finite() && dur > 0.0 {
                dur
            } else {
                if dur < 0.0 {
                    negative += 1;
                }
                0.0
            };
            let e = hits.entry(ni).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += dur;
        }
    } else {
        // Old DevTools files: only hit counts on nodes, no sample list.
        for (i, n) in cp.nodes.iter().enumerate() {
            match n.hit_count {
                Some(h) if h < 0 => {
                    return Err(ParseError::new(format!(
                        "node {} has a negative hitCount {h}",
                        n.id
                    )))
                }
                Some(h) if h > 0 => {
                    hits.insert(i, (h, 0.0));
                }
                _ => {}
            }
        }
    }
    if hits.is_empty() {
        return Err(ParseError::new("no samples in the profile"));
    }

    let mut b = ProfileBuilder::new(vec![
        ValueType::samples(),
        ValueType::new("wall", "microseconds"),
    ]);
    let mut locs: Vec<Option<LocationId>> = vec![None; cp.nodes.len()];
    let mut nodes_hit: Vec<(usize, (i64, f64))> = hits.into_iter().collect();
    nodes_hit.sort_unstable_by_key(|&(n, _)| n);
    let mut stack = Vec::new();
    let mut truncated = 0u64;
    for (leaf, (count, micros)) in nodes_hit {
        stack.clear();
        let mut n = leaf;
        let mut steps = 0usize;
        let mut cut = false;
        while n != NO_PARENT {
            steps += 1;
            if steps > cp.nodes.len() {
                return Err(ParseError::new(format!(
                    "the node tree has a cycle through node {}",
                    cp.nodes[n].id
                )));
            }
            let is_root =
                parent[n] == NO_PARENT && cp.nodes[n].call_frame.function_name == "(root)";
            if !is_root {
                if stack.len() < MAX_DEPTH {
                    stack.push(location(&mut b, &mut locs, &cp.nodes, n));
                } else {
                    cut = true;
                }
            }
            n = parent[n];
        }
        if cut {
            truncated += 1;
        }
        if stack.is_empty() {
            stack.push(b.frame("(root)"));
        }
        b.add_sample(&stack, &[count, micros.round() as i64]);
    }
    let p = b.profile_mut();
    p.default_sample_type = Some(1);
    p.quality.truncated_stacks = truncated;
    if negative > 0 {
        p.quality.notes.push(format!(
            "{negative} samples had negative time deltas (counted as 0 µs)"
        ));
    }
    if let (Some(s), Some(e)) = (cp.start_time, cp.end_time) {
        if e.is_finite() && s.is_finite() && e > s {
            p.duration_nanos = ((e - s) * 1e3).min(i64::MAX as f64) as i64;
        }
    }
    p.metadata.insert("tool".into(), "V8 cpuprofile".into());
    // V8's profiler samples the thread on a timer whether it runs or waits (`(idle)`).
    p.metadata.insert(CLOCK_KEY.into(), "wall".into());
    Ok(b.finish())
}

pub(crate) fn location(
    b: &mut ProfileBuilder,
    locs: &mut [Option<LocationId>],
    nodes: &[Node],
    n: usize,
) -> LocationId {
    if let Some(l) = locs[n] {
        return l;
    }
    let cf = &nodes[n].call_frame;
    let name = if cf.function_name.is_empty() {
        "(anonymous)".to_string()
    } else {
        cf.function_name.clone()
    };
    let line = cf
        .line_number
        .filter(|&l| l >= 0)
        .map_or(0, |l| l.saturating_add(1));
    let col = cf
        .column_number
        .filter(|&c| c >= 0)
        .map_or(0, |c| c.saturating_add(1));
    let f = b.function(Function {
        system_name: name.clone(),
        name,
        filename: cf.url.clone(),
        start_line: line,
    });
    let l = b.location(Location {
        lines: vec![Line {
            function: f,
            line,
            column: col,
        }],
        ..Default::default()
    });
    locs[n] = Some(l);
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded::fold;

    const SMALL: &str = r#"{"nodes":[
      {"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"hitCount":0,"children":[2,3,4]},
      {"id":2,"callFrame":{"functionName":"(program)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"hitCount":1},
      {"id":3,"callFrame":{"functionName":"","scriptId":"1","url":"file:///app.js","lineNumber":0,"columnNumber":0},"hitCount":0,"children":[5]},
      {"id":4,"callFrame":{"functionName":"(garbage collector)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"hitCount":1},
      {"id":5,"callFrame":{"functionName":"fib","scriptId":"1","url":"file:///app.js","lineNumber":9,"columnNumber":12},"hitCount":2}
    ],"startTime":1000,"endTime":1100,"samples":[5,2,5,4],"timeDeltas":[10,20,30,25]}"#;

    /// Issue 14 bug 8: the old format (nested `head`, seconds, absolute timestamps).
    #[test]
    fn reads_old_head_tree_format() {
        let t = r#"{"head":{"functionName":"(root)","url":"","lineNumber":-1,"id":1,"hitCount":0,
          "children":[{"functionName":"main","url":"a.js","lineNumber":3,"id":2,"hitCount":1,
            "children":[{"functionName":"f","url":"a.js","lineNumber":9,"id":3,"hitCount":2,
              "children":[]}]}]},
          "startTime":10,"endTime":10,"samples":[2,3,3],
          "timestamps":[10000100,10000200,10000500,10001000]}"#;
        let p = parse(t.as_bytes()).unwrap();
        // main: 100 µs; f: 300 + 500 µs (the last timestamp ends the last sample).
        assert_eq!(
            fold(&p, 1),
            vec![("main".to_string(), 100), ("main;f".to_string(), 800)]
        );
        assert_eq!(fold(&p, 0)[1].1, 2);
        assert_eq!(p.duration_nanos, 900_000);
        // Lines stay 1-based as written.
        let f = p.functions.iter().find(|f| f.name == "f").unwrap();
        assert_eq!(f.filename, "a.js");
    }

    #[test]
    fn reads_tree_samples_and_time() {
        let p = parse(SMALL.as_bytes()).unwrap();
        assert_eq!(p.metadata[CLOCK_KEY], "wall");
        p.validate().unwrap();
        assert_eq!(p.sample_types[1], ValueType::new("wall", "microseconds"));
        assert_eq!(p.default_value_index(), 1);
        // times: 1010, 1030, 1060, 1085; durations 20, 30, 25, 15 (until endTime 1100).
        assert_eq!(
            fold(&p, 1),
            vec![
                ("(anonymous);fib".to_string(), 45),
                ("(garbage collector)".to_string(), 15),
                ("(program)".to_string(), 30),
            ]
        );
        assert_eq!(
            fold(&p, 0),
            vec![
                ("(anonymous);fib".to_string(), 2),
                ("(garbage collector)".to_string(), 1),
                ("(program)".to_string(), 1),
            ]
        );
        assert_eq!(p.duration_nanos, 100_000);
        let fib = p.functions.iter().find(|f| f.name == "fib").unwrap();
        assert_eq!(
            (fib.filename.as_str(), fib.start_line),
            ("file:///app.js", 10)
        );
    }

    fn err(t: &str) -> String {
        parse(t.as_bytes()).unwrap_err().0
    }

    #[test]
    fn bad_inputs_are_one_line_errors() {
        assert!(err("").contains("not a valid V8 cpuprofile"));
        assert!(err(&SMALL[..300]).contains("not a valid V8 cpuprofile"));
        assert!(err(r#"{"nodes":[]}"#).contains("no nodes"));
        assert!(err(&SMALL.replace("[5,2,5,4]", "[5,2,5,99]")).contains("missing node 99"));
        assert!(err(&SMALL.replace("[10,20,30,25]", "[10,20,30]")).contains("timeDeltas"));
        assert!(err(&SMALL.replace("\"children\":[5]", "\"children\":[3]")).contains("two parents"));
        // A cycle: 5 is its own parent through the `parent` field.
        let cyc = SMALL.replace(
            r#""hitCount":2}"#,
            r#""hitCount":2,"children":[6]},{"id":6,"parent":5,"callFrame":{"functionName":"x"},"children":[7]},{"id":7,"callFrame":{"functionName":"y"},"children":[6]}"#,
        );
        assert!(err(&cyc).contains("two parents") || err(&cyc).contains("cycle"));
        let mut bad_utf8 = SMALL.as_bytes().to_vec();
        let i = SMALL.find("fib").unwrap();
        bad_utf8[i] = 0xfe;
        assert!(parse(&bad_utf8).unwrap_err().0.contains("not a valid V8"));
        let no_samples = r#"{"nodes":[{"id":1,"callFrame":{"functionName":"(root)"},"hitCount":-3}],"samples":[],"timeDeltas":[]}"#;
        assert!(err(no_samples).contains("negative hitCount"));
    }

    #[test]
    fn negative_deltas_count_as_zero() {
        let p = parse(SMALL.replace("[10,20,30,25]", "[10,20,-5,25]").as_bytes()).unwrap();
        assert_eq!(p.quality.notes.len(), 1);
        assert_eq!(p.total(0), 4);
    }

    #[test]
    fn deep_trees_are_truncated() {
        let mut nodes =
            String::from(r#"{"id":0,"callFrame":{"functionName":"(root)"},"children":[1]}"#);
        let n = 100_000;
        for i in 1..=n {
            nodes.push_str(&format!(
                r#",{{"id":{i},"callFrame":{{"functionName":"f{}"}},"children":[{}]}}"#,
                i % 7,
                if i < n {
                    (i + 1).to_string()
                } else {
                    String::new()
                }
            ));
        }
        let t = format!(r#"{{"nodes":[{nodes}],"samples":[{n}],"timeDeltas":[1]}}"#);
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(p.quality.truncated_stacks, 1);
        assert_eq!(p.samples[0].locations.len(), MAX_DEPTH);
    }
}
