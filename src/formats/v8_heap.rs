//! V8 sampling heap profiles (`.heapprofile`), as `node --heap-prof`, the inspector's
//! `HeapProfiler.stopSampling` and Chrome DevTools' "Allocation sampling" write them: a nested
//! call tree under `head` whose nodes carry a `callFrame` (as in a `.cpuprofile`), an `id`,
//! `children` (nodes, not ids) and `selfSize`, the bytes V8 estimates were allocated there and
//! still live when sampling stopped; and `samples` (`size`, `nodeId`, `ordinal`), the sampled
//! objects themselves.
//!
//! They share the old cpuprofile's `head` shape, so the V8 reader hands them here. The default
//! sample type is `space`/`bytes` from `selfSize`, which is what DevTools shows as Self Size
//! (and what pprof exporters of Node heap profiles call `space`). `samples`/`count` counts the
//! sampled objects of `samples` per node: how many samples those bytes rest on, which sampling
//! noise depends on. `node --heap-prof` lists some samples of nodes it left out of the tree;
//! those are left out, as DevTools does, with a note. The tree can be as deep
//! as the sampled stacks (V8 keeps up to 128 frames), deeper than serde_json's default nesting
//! limit: it is read with the limit lifted, on a stack that grows on the heap, and dropped
//! iteratively.

use crate::error::ParseError;
use crate::formats::folded::MAX_DEPTH;
use crate::formats::v8::{location, CallFrame, Node};
use crate::model::{LocationId, Profile, ProfileBuilder, ValueType};
use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Deserialize)]
struct HeapProfile {
    head: HeapNode,
    #[serde(default)]
    samples: Vec<HeapSample>,
}

/// One sampled object: the node that allocated it.
#[derive(Deserialize)]
struct HeapSample {
    #[serde(rename = "nodeId")]
    node_id: i64,
}

#[derive(Deserialize, Default)]
struct HeapNode {
    #[serde(default)]
    id: Option<i64>,
    #[serde(rename = "callFrame")]
    call_frame: CallFrame,
    #[serde(rename = "selfSize")]
    self_size: f64,
    #[serde(default)]
    children: Vec<HeapNode>,
}

impl Drop for HeapNode {
    /// Free the subtree one node at a time: the default drop recurses once per level.
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.children);
        while let Some(mut n) = pending.pop() {
            pending.append(&mut n.children);
        }
    }
}

/// True when `data` looks like a sampling heap profile rather than a cpuprofile: its first node
/// has a `selfSize`, which no cpuprofile node has.
pub fn looks_like(data: &[u8]) -> bool {
    let head = &data[..data.len().min(64 * 1024)];
    memchr::memmem::find(head, b"\"selfSize\"").is_some()
        && memchr::memmem::find(head, b"\"head\"").is_some()
}

/// True for a V8 heap snapshot (`.heapsnapshot`): a dump of the whole heap graph, not samples.
pub fn is_heap_snapshot(data: &[u8]) -> bool {
    let head = &data[..data.len().min(64 * 1024)];
    memchr::memmem::find(head, b"\"snapshot\"").is_some()
        && memchr::memmem::find(head, b"\"node_fields\"").is_some()
}

/// JSON nested deeper than this is refused: V8 trees stop far sooner, and the stack that
/// reading grows on the heap stays a few megabytes.
const MAX_NESTING: usize = 10_000;

/// Deserialize JSON whose nesting may be deeper than serde_json's default limit of 128, up to
/// [`MAX_NESTING`].
pub fn from_slice_deep<T: DeserializeOwned>(data: &[u8]) -> serde_json::Result<T> {
    if nesting_depth(data) > MAX_NESTING {
        return Err(serde::de::Error::custom(format!(
            "JSON nested more than {MAX_NESTING} levels deep"
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(data);
    de.disable_recursion_limit();
    let value = T::deserialize(serde_stacker::Deserializer::new(&mut de))?;
    de.end()?;
    Ok(value)
}

/// The deepest nesting of objects and arrays in JSON text (brackets inside strings do not count).
fn nesting_depth(data: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &c in data {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Parse a `.heapprofile`.
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let hp: HeapProfile = from_slice_deep(data)
        .map_err(|e| ParseError::new(format!("not a valid V8 heap profile JSON file: {e}")))?;
    let (nodes, parent, sizes) = flatten(hp.head)?;
    if sizes.iter().all(|&s| s == 0) {
        return Err(ParseError::new(
            "the V8 heap profile has no allocations (every selfSize is 0)",
        ));
    }
    let (counts, orphans) = sample_counts(&nodes, &hp.samples);
    let mut types = vec![ValueType::new("space", "bytes")];
    if counts.is_some() {
        types.insert(0, ValueType::samples());
    }
    let mut b = ProfileBuilder::new(types);
    let mut locs: Vec<Option<LocationId>> = vec![None; nodes.len()];
    let mut stack = Vec::new();
    let mut truncated = 0u64;
    for (leaf, &bytes) in sizes.iter().enumerate() {
        if bytes == 0 {
            continue;
        }
        let cut = stack_of(&mut b, &mut locs, &nodes, &parent, leaf, &mut stack);
        truncated += u64::from(cut);
        match &counts {
            Some(c) => b.add_sample(&stack, &[c[leaf], bytes]),
            None => b.add_sample(&stack, &[bytes]),
        }
    }
    let p = b.profile_mut();
    p.default_sample_type = Some(p.sample_types.len() - 1);
    p.quality.truncated_stacks = truncated;
    if orphans > 0 {
        p.quality.notes.push(format!(
            "{orphans} sampled objects name nodes missing from the heap profile's tree \
             (left out, as DevTools does)"
        ));
    }
    p.metadata
        .insert("tool".into(), "V8 sampling heap profile".into());
    Ok(b.finish())
}

/// The stack of node `leaf` into `stack`, leaf first; true when cut at [`MAX_DEPTH`].
fn stack_of(
    b: &mut ProfileBuilder,
    locs: &mut [Option<LocationId>],
    nodes: &[Node],
    parent: &[Option<usize>],
    leaf: usize,
    stack: &mut Vec<LocationId>,
) -> bool {
    stack.clear();
    let mut cut = false;
    let mut n = Some(leaf);
    while let Some(i) = n {
        // The tree's root is V8's artificial `(root)`, not a frame.
        if parent[i].is_some() {
            if stack.len() < MAX_DEPTH {
                stack.push(location(b, locs, nodes, i));
            } else {
                cut = true;
            }
        }
        n = parent[i];
    }
    if stack.is_empty() {
        stack.push(b.frame("(root)"));
    }
    cut
}

/// Sampled objects per node (None when the file lists none) and how many name no node of
/// the tree (`node --heap-prof` writes such).
fn sample_counts(nodes: &[Node], samples: &[HeapSample]) -> (Option<Vec<i64>>, u64) {
    if samples.is_empty() {
        return (None, 0);
    }
    let index: FxHashMap<i64, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let mut counts = vec![0i64; nodes.len()];
    let mut orphans = 0u64;
    for s in samples {
        match index.get(&s.node_id) {
            Some(&i) => counts[i] += 1,
            None => orphans += 1,
        }
    }
    (Some(counts), orphans)
}

/// The tree as flat nodes, each node's parent index and its bytes, without recursion.
type Flat = (Vec<Node>, Vec<Option<usize>>, Vec<i64>);

fn flatten(head: HeapNode) -> Result<Flat, ParseError> {
    let mut nodes = Vec::new();
    let mut parent = Vec::new();
    let mut sizes = Vec::new();
    let mut pending = vec![(head, None)];
    while let Some((mut n, up)) = pending.pop() {
        let size = n.self_size;
        if !size.is_finite() || size < 0.0 || size > i64::MAX as f64 {
            return Err(ParseError::new(format!(
                "a node of the V8 heap profile has selfSize {size}"
            )));
        }
        let me = nodes.len();
        pending.extend(
            std::mem::take(&mut n.children)
                .into_iter()
                .map(|c| (c, Some(me))),
        );
        nodes.push(Node {
            id: n.id.unwrap_or(-(me as i64) - 1),
            call_frame: std::mem::take(&mut n.call_frame),
            hit_count: None,
            children: Vec::new(),
            parent: None,
        });
        parent.push(up);
        sizes.push(size as i64);
    }
    Ok((nodes, parent, sizes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded::fold;

    fn node(name: &str, line: i64, self_size: u64, children: &str) -> String {
        format!(
            r#"{{"callFrame":{{"functionName":"{name}","scriptId":"1","url":"file:///a.js","lineNumber":{line},"columnNumber":4}},"selfSize":{self_size},"id":{line},"children":[{children}]}}"#
        )
    }

    #[test]
    fn reads_self_sizes_as_bytes() {
        let leaf = node("alloc", 3, 4096, "");
        let main = node("main", 1, 100, &leaf);
        let other = node("", 7, 50, "");
        let head = node("(root)", -1, 0, &format!("{main},{other}"));
        let t = format!(r#"{{"head":{head},"samples":[{{"size":64,"nodeId":3,"ordinal":1}}]}}"#);
        assert!(looks_like(t.as_bytes()));
        let p = parse(t.as_bytes()).unwrap();
        p.validate().unwrap();
        assert_eq!(
            p.sample_types,
            vec![ValueType::samples(), ValueType::new("space", "bytes")]
        );
        assert_eq!(p.default_value_index(), 1);
        assert_eq!(fold(&p, 0), vec![("main;alloc".to_string(), 1)]);
        assert_eq!(
            fold(&p, 1),
            vec![
                ("(anonymous)".to_string(), 50),
                ("main".to_string(), 100),
                ("main;alloc".to_string(), 4096),
            ]
        );
        let alloc = p.functions.iter().find(|f| f.name == "alloc").unwrap();
        assert_eq!(
            (alloc.filename.as_str(), alloc.start_line),
            ("file:///a.js", 4)
        );
    }

    /// Stacks deeper than serde_json's default nesting limit (64 nodes) are read.
    #[test]
    fn reads_deep_trees() {
        let mut tree = node("bottom", 1, 8, "");
        for i in 0..300 {
            tree = node(&format!("f{}", i % 5), 2, 0, &tree);
        }
        let t = format!(
            r#"{{"head":{},"samples":[]}}"#,
            node("(root)", -1, 0, &tree)
        );
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(p.sample_types.len(), 1);
        assert_eq!(p.total(0), 8);
        assert_eq!(p.samples[0].locations.len(), 301);
    }

    #[test]
    fn bad_inputs_are_one_line_errors() {
        let err = |t: &str| parse(t.as_bytes()).unwrap_err().0;
        let head = node("(root)", -1, 0, &node("f", 1, 10, ""));
        let good = format!(r#"{{"head":{head},"samples":[]}}"#);
        assert!(err(&good[..good.len() - 10]).contains("not a valid V8 heap profile"));
        assert!(err(&good.replace(":10,", ":-10,")).contains("selfSize -10"));
        assert!(err(&good.replace(":10,", ":0,")).contains("no allocations"));
        // Truncated deep nesting neither overflows the stack reading nor dropping.
        let deep = "{\"head\":".to_string()
            + &r#"{"callFrame":{},"selfSize":1,"children":["#.repeat(4_000);
        assert!(err(&deep).contains("not a valid V8 heap profile"));
        let deeper = "{\"head\":".to_string() + &"[".repeat(MAX_NESTING + 1);
        assert!(err(&deeper).contains("nested more than"));
        assert_eq!(nesting_depth(br#"{"a":"[[{\"[","b":[[]]}"#), 3);
    }
}
