//! The hot-function table (`profdiff top`), computed the way `go tool pprof -top` computes it,
//! so that on a pprof file the two agree number for number.
//!
//! The rules, taken from pprof's `internal/graph` and `internal/report` (granularity
//! `functions`, its default):
//! - A node is a function name; each inline frame is a node of its own. Frames without a
//!   function name become one node per binary, shown `[binary]` (or `<unknown>` without one).
//! - Per sample, `cum` is added once to every node on the stack (recursion counts once) and
//!   `flat` to the leaf frame (the innermost inline frame of the first location).
//! - Nodes whose |cum| is below `node_fraction` × the flat total are dropped first
//!   ("Dropped N nodes (cum <= X)"), then the rest are sorted (|flat| desc, then name, then
//!   |cum|; or |cum| first with `cum_sort`) and cut to `node_count`. Dropping a node never
//!   changes the values of the others.
//! - A node is marked `(inline)` when every call edge into it (among the shown nodes, edges
//!   lighter than `edge_fraction` × total removed) is an inlined call, `(partial-inline)` when
//!   only some are.
//!
//! This module is pure: [`top`] takes a [`Profile`] and [`TopOptions`] and returns a
//! [`TopTable`]; `render::top` prints it.

use crate::model::{Profile, ValueType};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::cmp::Ordering;

/// What to compute. Defaults follow `go tool pprof -top`.
#[derive(Clone, Debug)]
pub struct TopOptions {
    /// Index of the sample type to rank by (see [`Profile::value_index`]).
    pub sample_index: usize,
    /// Rows to keep after dropping; 0 = all (pprof `-nodecount`).
    pub node_count: usize,
    /// Sort by cumulative value instead of flat (pprof `-cum`).
    pub cum_sort: bool,
    /// Drop nodes whose |cum| is below this fraction of the total (pprof `-nodefraction`,
    /// default 0.005).
    pub node_fraction: f64,
    /// Ignore call edges lighter than this fraction of the total when deciding the inline
    /// marks (pprof `-edgefraction`, default 0.001).
    pub edge_fraction: f64,
    /// Count inlined code as the function it was inlined into: each location keeps only its
    /// last (real) line, as pprof's `-noinlines` does.
    pub no_inlines: bool,
}

impl Default for TopOptions {
    fn default() -> Self {
        TopOptions {
            sample_index: 0,
            node_count: 20,
            cum_sort: false,
            node_fraction: 0.005,
            edge_fraction: 0.001,
            no_inlines: false,
        }
    }
}

/// How a function was reached: pprof's `(inline)` / `(partial-inline)` marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InlineMark {
    /// Every call into it was inlined.
    Inline,
    /// Some calls into it were inlined, others not.
    PartialInline,
}

impl InlineMark {
    pub fn label(self) -> &'static str {
        match self {
            InlineMark::Inline => "(inline)",
            InlineMark::PartialInline => "(partial-inline)",
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopRow {
    /// Function name as pprof prints it (`[binary]` / `<unknown>` for unnamed frames).
    pub name: String,
    pub inline: Option<InlineMark>,
    /// Source file of the function, when the profile knows it.
    pub file: Option<String>,
    /// First line of the function in `file`, when known.
    pub start_line: Option<i64>,
    /// Value of samples whose leaf frame is this function.
    pub flat: i64,
    /// Value of samples with this function anywhere on the stack (each sample once).
    pub cum: i64,
    /// Running sum of `flat` over this row and the rows above it.
    pub sum: i64,
}

/// The computed table, plus what the header says about it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopTable {
    pub sample_type: ValueType,
    /// Sum of |value| over all samples (pprof's report total; percentages are of this).
    pub total: i64,
    pub rows: Vec<TopRow>,
    /// Sum of `flat` over the rows shown.
    pub shown_flat: i64,
    /// Nodes dropped by `node_fraction`.
    pub dropped_nodes: usize,
    /// The value at or below which nodes were dropped, as pprof prints it (total × fraction).
    pub dropped_cum_limit: i64,
    /// Nodes left after dropping, before the `node_count` cut.
    pub nodes_after_drop: usize,
    pub cum_sort: bool,
}

/// Identity of a node, as pprof's `NodeInfo` at `functions` granularity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// A named function.
    Named(String),
    /// No function name: identified by binary (and the function's start line, if any).
    Anon { objfile: String, start_line: i64 },
}

struct Node {
    key: Key,
    /// Printable name.
    name: String,
    file: Option<String>,
    start_line: Option<i64>,
    flat: i64,
    cum: i64,
}

impl Node {
    /// pprof's final tie-break, `fmt.Sprint(NodeInfo)`.
    fn sprint(&self) -> String {
        match &self.key {
            Key::Named(n) => format!("{{{n}  0  0 0 }}"),
            Key::Anon {
                objfile,
                start_line,
            } => format!("{{  0  {start_line} 0 {objfile}}}"),
        }
    }
}

fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "" } else { "/" };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// The graph's nodes and, per location, its nodes innermost first (CSR layout).
struct Nodes {
    nodes: Vec<Node>,
    loc_start: Vec<u32>,
    loc_nodes: Vec<u32>,
}

fn build_nodes(p: &Profile, no_inlines: bool) -> Nodes {
    let mut index: FxHashMap<Key, u32> = FxHashMap::default();
    let mut nodes: Vec<Node> = Vec::new();
    let mut by_function: Vec<u32> = vec![u32::MAX; p.functions.len()];
    let mut loc_start = Vec::with_capacity(p.locations.len() + 1);
    let mut loc_nodes = Vec::with_capacity(p.locations.len());
    let mut intern = |key: Key, file: Option<&str>, start_line: i64| -> u32 {
        if let Some(&i) = index.get(&key) {
            let n = &mut nodes[i as usize];
            if n.file.is_none() {
                if let Some(f) = file.filter(|f| !f.is_empty()) {
                    n.file = Some(f.to_string());
                    n.start_line = (start_line > 0).then_some(start_line);
                }
            }
            return i;
        }
        let name = match &key {
            Key::Named(n) => n.clone(),
            Key::Anon { objfile, .. } if !objfile.is_empty() => {
                format!("[{}]", base_name(objfile))
            }
            Key::Anon { .. } => "<unknown>".to_string(),
        };
        let i = nodes.len() as u32;
        let file = file.filter(|f| !f.is_empty()).map(str::to_string);
        nodes.push(Node {
            key: key.clone(),
            name,
            start_line: file.as_ref().and((start_line > 0).then_some(start_line)),
            file,
            flat: 0,
            cum: 0,
        });
        index.insert(key, i);
        i
    };
    for loc in &p.locations {
        loc_start.push(loc_nodes.len() as u32);
        let objfile = loc
            .mapping
            .and_then(|m| p.mappings.get(m as usize))
            .map_or("", |m| m.file.as_str());
        if loc.lines.is_empty() {
            loc_nodes.push(intern(
                Key::Anon {
                    objfile: objfile.to_string(),
                    start_line: 0,
                },
                None,
                0,
            ));
            continue;
        }
        let lines = match (no_inlines, loc.lines.split_last()) {
            (true, Some((last, _))) => std::slice::from_ref(last),
            _ => &loc.lines[..],
        };
        for line in lines {
            let fid = line.function as usize;
            let f = &p.functions[fid];
            if f.name.is_empty() {
                loc_nodes.push(intern(
                    Key::Anon {
                        objfile: objfile.to_string(),
                        start_line: f.start_line,
                    },
                    None,
                    0,
                ));
            } else {
                if by_function[fid] == u32::MAX {
                    by_function[fid] =
                        intern(Key::Named(f.name.clone()), Some(&f.filename), f.start_line);
                }
                loc_nodes.push(by_function[fid]);
            }
        }
    }
    loc_start.push(loc_nodes.len() as u32);
    Nodes {
        nodes,
        loc_start,
        loc_nodes,
    }
}

impl Nodes {
    /// The nodes of one location, innermost first.
    fn of(&self, loc: u32) -> &[u32] {
        let l = loc as usize;
        &self.loc_nodes[self.loc_start[l] as usize..self.loc_start[l + 1] as usize]
    }
}

fn order(a: &Node, b: &Node, cum_sort: bool) -> Ordering {
    let (fa, fb, ca, cb) = (a.flat.abs(), b.flat.abs(), a.cum.abs(), b.cum.abs());
    let by_name = || a.name.cmp(&b.name);
    let first = if cum_sort {
        cb.cmp(&ca).then_with(by_name).then(fb.cmp(&fa))
    } else {
        fb.cmp(&fa).then_with(by_name).then(cb.cmp(&ca))
    };
    first.then_with(|| a.sprint().cmp(&b.sprint()))
}

/// Compute the top table of `p`. See the module docs for the rules.
pub fn top(p: &Profile, opts: &TopOptions) -> TopTable {
    let si = opts.sample_index;
    let sample_type = p.sample_types.get(si).cloned().unwrap_or_default();
    let value = |s: &crate::model::Sample| s.values.get(si).copied().unwrap_or(0);
    let total = p
        .samples
        .iter()
        .map(|s| value(s).unsigned_abs())
        .fold(0u64, u64::saturating_add)
        .min(i64::MAX as u64) as i64;

    let mut g = build_nodes(p, opts.no_inlines);

    // Flat and cum of every node; `seen` stamps count each node once per sample.
    let mut seen = vec![u32::MAX; g.nodes.len()];
    let mut flat = vec![0i64; g.nodes.len()];
    let mut cum = vec![0i64; g.nodes.len()];
    for (stamp, s) in p.samples.iter().enumerate() {
        let w = value(s);
        if w == 0 {
            continue;
        }
        let stamp = stamp as u32;
        let mut leaf = None;
        for &loc in s.locations.iter().rev() {
            for &n in g.of(loc).iter().rev() {
                let n = n as usize;
                if seen[n] != stamp {
                    seen[n] = stamp;
                    cum[n] = cum[n].saturating_add(w);
                }
                leaf = Some(n);
            }
        }
        if let Some(n) = leaf {
            flat[n] = flat[n].saturating_add(w);
        }
    }
    for (i, node) in g.nodes.iter_mut().enumerate() {
        node.flat = flat[i];
        node.cum = cum[i];
    }

    let present: Vec<u32> = (0..g.nodes.len() as u32)
        .filter(|&i| {
            let n = &g.nodes[i as usize];
            n.flat != 0 || n.cum != 0
        })
        .collect();
    let flat_total: i64 = present
        .iter()
        .map(|&i| g.nodes[i as usize].flat)
        .fold(0, i64::saturating_add);
    let node_cutoff = ((flat_total as f64 * opts.node_fraction) as i64).abs();
    let edge_cutoff = ((flat_total as f64 * opts.edge_fraction) as i64).abs();

    let mut kept: Vec<u32> = if node_cutoff > 0 {
        present
            .iter()
            .copied()
            .filter(|&i| g.nodes[i as usize].cum.abs() >= node_cutoff)
            .collect()
    } else {
        present.clone()
    };
    let dropped_nodes = present.len() - kept.len();
    let nodes_after_drop = kept.len();
    kept.sort_by(|&a, &b| order(&g.nodes[a as usize], &g.nodes[b as usize], opts.cum_sort));
    if opts.node_count > 0 && kept.len() > opts.node_count {
        kept.truncate(opts.node_count);
    }

    let marks = inline_marks(p, &g, &kept, si, edge_cutoff);

    let mut sum = 0i64;
    let rows = kept
        .iter()
        .map(|&i| {
            let n = &g.nodes[i as usize];
            sum = sum.saturating_add(n.flat);
            TopRow {
                name: n.name.clone(),
                inline: marks.get(&i).copied().flatten(),
                file: n.file.clone(),
                start_line: n.start_line,
                flat: n.flat,
                cum: n.cum,
                sum,
            }
        })
        .collect();

    TopTable {
        sample_type,
        total,
        rows,
        shown_flat: sum,
        dropped_nodes,
        dropped_cum_limit: ((total as f64 * opts.node_fraction) as i64).abs(),
        nodes_after_drop,
        cum_sort: opts.cum_sort,
    }
}

/// pprof's inline marks: build the call edges among the `kept` nodes (skipping dropped
/// frames, as pprof's residual edges do), drop edges lighter than `edge_cutoff`, then look at
/// each node's incoming edges.
fn inline_marks(
    p: &Profile,
    g: &Nodes,
    kept: &[u32],
    si: usize,
    edge_cutoff: i64,
) -> FxHashMap<u32, Option<InlineMark>> {
    let mut is_kept = vec![false; g.nodes.len()];
    for &k in kept {
        is_kept[k as usize] = true;
    }
    // (caller, callee) → (weight, all contributions inline)
    let mut edges: FxHashMap<(u32, u32), (i64, bool)> = FxHashMap::default();
    let mut seen: FxHashSet<(u32, u32)> = FxHashSet::default();
    for s in &p.samples {
        let w = s.values.get(si).copied().unwrap_or(0);
        if w == 0 {
            continue;
        }
        seen.clear();
        let mut parent: Option<u32> = None;
        for &loc in s.locations.iter().rev() {
            let nodes = g.of(loc);
            for (ni, &n) in nodes.iter().enumerate().rev() {
                if !is_kept[n as usize] {
                    continue;
                }
                if let Some(par) = parent {
                    if par != n && seen.insert((par, n)) {
                        let inline = ni != nodes.len() - 1;
                        let e = edges.entry((par, n)).or_insert((0, inline));
                        e.0 = e.0.saturating_add(w);
                        if !inline {
                            e.1 = false;
                        }
                    }
                }
                parent = Some(n);
            }
        }
    }
    let mut marks: FxHashMap<u32, (bool, bool)> = FxHashMap::default();
    for (&(_, callee), &(weight, inline)) in &edges {
        if weight.abs() < edge_cutoff {
            continue;
        }
        let m = marks.entry(callee).or_insert((false, false));
        if inline {
            m.0 = true;
        } else {
            m.1 = true;
        }
    }
    marks
        .into_iter()
        .map(|(n, (inline, noinline))| {
            let mark = match (inline, noinline) {
                (true, true) => Some(InlineMark::PartialInline),
                (true, false) => Some(InlineMark::Inline),
                _ => None,
            };
            (n, mark)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Function, Line, Location, ProfileBuilder};

    fn folded(text: &str) -> Profile {
        crate::formats::folded::parse(text.as_bytes()).unwrap()
    }

    fn all() -> TopOptions {
        TopOptions {
            node_count: 0,
            node_fraction: 0.0,
            edge_fraction: 0.0,
            ..Default::default()
        }
    }

    fn rows(t: &TopTable) -> Vec<(&str, i64, i64)> {
        t.rows
            .iter()
            .map(|r| (r.name.as_str(), r.flat, r.cum))
            .collect()
    }

    #[test]
    fn flat_cum_and_order() {
        // Hand-computed: total 10; f flat 6 cum 7, g flat 3 cum 3, main flat 1 cum 10.
        let p = folded("main;f 6\nmain;g 2\nmain;f;g 1\nmain 1\n");
        let t = top(&p, &all());
        assert_eq!(t.total, 10);
        assert_eq!(rows(&t), vec![("f", 6, 7), ("g", 3, 3), ("main", 1, 10)]);
        assert_eq!(t.rows[2].sum, 10);
        let t = top(
            &p,
            &TopOptions {
                cum_sort: true,
                ..all()
            },
        );
        assert_eq!(rows(&t), vec![("main", 1, 10), ("f", 6, 7), ("g", 3, 3)]);
    }

    #[test]
    fn recursion_counts_once_in_cum() {
        let p = folded("main;f;f;f 4\nmain;f;g;f 1\n");
        let t = top(&p, &all());
        assert_eq!(rows(&t), vec![("f", 5, 5), ("g", 0, 1), ("main", 0, 5)]);
    }

    #[test]
    fn ties_sort_by_name() {
        let p = folded("main;b 2\nmain;a 2\nmain;c 2\n");
        let t = top(&p, &all());
        assert_eq!(
            rows(&t),
            vec![("a", 2, 2), ("b", 2, 2), ("c", 2, 2), ("main", 0, 6)]
        );
    }

    #[test]
    fn node_count_and_fraction() {
        // total 1000; `rare` has cum 4 < 0.005 * 1000 = 5 and is dropped.
        let p = folded("main;a 600\nmain;b 396\nmain;rare 4\n");
        let t = top(
            &p,
            &TopOptions {
                node_count: 2,
                ..Default::default()
            },
        );
        assert_eq!(t.dropped_nodes, 1);
        assert_eq!(t.dropped_cum_limit, 5);
        assert_eq!(t.nodes_after_drop, 3);
        assert_eq!(rows(&t), vec![("a", 600, 600), ("b", 396, 396)]);
        assert_eq!(t.shown_flat, 996);
    }

    #[test]
    fn inline_frames_are_functions_with_marks() {
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        let outer = b.function(Function {
            name: "outer".into(),
            filename: "o.rs".into(),
            start_line: 5,
            ..Default::default()
        });
        let inner = b.function(Function {
            name: "inner".into(),
            ..Default::default()
        });
        let main = b.frame("main");
        let loc = b.location(Location {
            address: 0x10,
            lines: vec![
                Line {
                    function: inner,
                    line: 1,
                    column: 0,
                },
                Line {
                    function: outer,
                    line: 7,
                    column: 0,
                },
            ],
            ..Default::default()
        });
        let inner_alone = b.location(Location {
            address: 0x20,
            lines: vec![Line {
                function: inner,
                line: 1,
                column: 0,
            }],
            ..Default::default()
        });
        b.add_sample(&[loc, main], &[3]);
        let p1 = b.profile().clone();
        b.add_sample(&[inner_alone, main], &[1]);
        let p2 = b.finish();

        let t = top(&p1, &all());
        assert_eq!(
            rows(&t),
            vec![("inner", 3, 3), ("main", 0, 3), ("outer", 0, 3)]
        );
        assert_eq!(t.rows[0].inline, Some(InlineMark::Inline));
        assert_eq!(t.rows[2].inline, None);
        assert_eq!(t.rows[2].file.as_deref(), Some("o.rs"));
        assert_eq!(t.rows[2].start_line, Some(5));
        let t = top(&p2, &all());
        assert_eq!(t.rows[0].inline, Some(InlineMark::PartialInline));
    }

    #[test]
    fn unnamed_frames_group_by_binary() {
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        let m = b.mapping(crate::model::Mapping {
            file: "/lib/libc.so.6".into(),
            start: 0x1000,
            limit: 0x9000,
            ..Default::default()
        });
        let a = b.location(Location {
            mapping: Some(m),
            address: 0x1100,
            ..Default::default()
        });
        let c = b.location(Location {
            mapping: Some(m),
            address: 0x1200,
            ..Default::default()
        });
        let unk = b.frame("[unknown]");
        let main = b.frame("main");
        b.add_sample(&[a, main], &[2]);
        b.add_sample(&[c, main], &[3]);
        b.add_sample(&[unk, main], &[1]);
        let t = top(&b.finish(), &all());
        assert_eq!(
            rows(&t),
            vec![("[libc.so.6]", 5, 5), ("<unknown>", 1, 1), ("main", 0, 6)]
        );
    }

    #[test]
    fn negative_values_sort_by_magnitude() {
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        let x = b.frame("x");
        let y = b.frame("y");
        b.add_sample(&[x], &[-5]);
        b.add_sample(&[y], &[3]);
        let t = top(&b.finish(), &all());
        assert_eq!(t.total, 8);
        assert_eq!(rows(&t), vec![("x", -5, -5), ("y", 3, 3)]);
    }

    #[test]
    fn empty_profile_is_an_empty_table() {
        let p = Profile {
            sample_types: vec![ValueType::samples()],
            ..Default::default()
        };
        let t = top(&p, &TopOptions::default());
        assert!(t.rows.is_empty());
        assert_eq!(t.total, 0);
    }
}
