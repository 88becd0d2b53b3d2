//! Stacks from a callgrind call graph (also cProfile's: [`crate::formats::pstats`] fills a
//! [`CallGraph`] with one event, nanoseconds, and builds its stacks here).
//!
//! callgrind records, per function, its self cost and, per call edge, the inclusive cost of
//! the calls; it does not record stacks. A flamegraph (or pprof's `cum`) needs stacks, so they
//! are rebuilt the way gprof and speedscope do: a function's cost, arriving through its
//! callers, is assumed to split between its own work and its callees in the same proportion on
//! every path (the average over all its calls). A flamegraph of callgrind data therefore shows
//! paths that are proportional estimates: `main;a;f` and `main;b;f` share `f`'s cost by how
//! much `a` and `b` spent calling `f`, not by what really ran under each.
//!
//! What is exact, by construction, with whole numbers:
//! - every function's self cost is placed in full on stacks ending in it, so `flat` and the
//!   total equal `callgrind_annotate`'s self costs and program total;
//! - when the graph is consistent (what arrives through a function's callers equals its self
//!   cost plus its calls, as callgrind writes it for code without recursion), the cost on
//!   stacks through a function equals the sum of its incoming calls, which is
//!   `callgrind_annotate --inclusive=yes`; a function nobody calls is a root whose inclusive
//!   cost is its self cost plus its calls.
//!
//! Where stacks cannot equal the call graph: recursion. A call of a function to itself is not
//! a new frame (a stack counts a function once, as pprof's `cum` does), so its inclusive cost
//! is the outermost call's, where `callgrind_annotate` adds the recursive calls on top (and can
//! show more than 100%). Functions calling each other in a cycle are treated as one unit, as
//! gprof treats cycles: the cost of the cycle, arriving through the calls into it, is spread
//! over its members by what each spends, each shown as called from the member the cycle was
//! entered through; that member's `cum` is then the cycle's cost entered there, and the calls
//! inside the cycle are not frames of their own. The functions around a cycle stay exact. The
//! cost arriving beyond what a function spends is dropped; cost a function spends
//! beyond what arrives starts at the function itself (a root stack). To bound the work, a
//! function keeps at most [`MAX_PATHS`] distinct call paths; cheaper ones start at the function
//! itself (counted in `cut_paths`).

use super::CallGraph;
use rustc_hash::FxHashMap;

/// Most distinct call paths kept per function.
pub const MAX_PATHS: usize = 4096;

/// Stacks of one event: (path root first, cost) and how many paths were cut.
pub struct Built {
    pub samples: Vec<(Vec<u32>, u64)>,
    pub cut_paths: u64,
}

/// A call path as a node of a trie: its caller path and its last function.
const ROOT: u32 = u32::MAX;

#[derive(Default)]
struct Paths {
    nodes: Vec<(u32, u32)>,
    index: FxHashMap<(u32, u32), u32>,
}

impl Paths {
    fn child(&mut self, parent: u32, func: u32) -> u32 {
        let next = self.nodes.len() as u32;
        *self.index.entry((parent, func)).or_insert_with(|| {
            self.nodes.push((parent, func));
            next
        })
    }

    /// The path of a cost in function `f` that arrived through `node`: `node` itself when it
    /// ends in `f`, else `f` called from `node` (inside a cycle of calls, the members are
    /// shown as called from the function the cycle was entered through).
    fn enter(&mut self, node: u32, f: u32) -> u32 {
        if node != ROOT && self.nodes[node as usize].1 == f {
            node
        } else {
            self.child(node, f)
        }
    }

    fn path(&self, mut node: u32) -> Vec<u32> {
        let mut out = Vec::new();
        while node != ROOT {
            let (parent, func) = self.nodes[node as usize];
            out.push(func);
            node = parent;
        }
        out.reverse();
        out
    }
}

/// Build the stacks of event `e` (see the module docs).
pub fn build(g: &CallGraph, e: usize) -> Built {
    let graph = Graph::of(g, e);
    let mut paths = Paths::default();
    // Cost arriving at each function, by the call path that ends in it (ROOT: none).
    let mut arriving: Vec<FxHashMap<u32, u64>> = vec![FxHashMap::default(); graph.edges.len()];
    let mut out = Built {
        samples: Vec::new(),
        cut_paths: 0,
    };
    for members in graph.components_callers_first() {
        let mut rows: Vec<(u32, u64)> = Vec::new();
        for &m in &members {
            let arrived = std::mem::take(&mut arriving[m as usize]);
            rows.extend(arrived.into_iter().filter(|&(_, w)| w > 0));
        }
        rows.sort_unstable();
        // Columns: each member's self cost, then its calls out of the component.
        let mut cols: Vec<(u32, Option<u32>, u64)> = Vec::new();
        for &m in &members {
            cols.push((m, None, g.self_cost[m as usize][e]));
            cols.extend(
                graph.edges[m as usize]
                    .iter()
                    .map(|&(to, c)| (m, Some(to), c)),
            );
        }
        let costs: Vec<u64> = cols.iter().map(|c| c.2).collect();
        let spent: u64 = costs.iter().sum();
        if spent == 0 {
            continue;
        }
        out.cut_paths += fit_rows(&mut rows, spent);
        let weights: Vec<u64> = rows.iter().map(|&(_, w)| w).collect();
        let split = split_matrix(&weights, &costs);
        for (i, &(node, _)) in rows.iter().enumerate() {
            for (j, &(m, callee, _)) in cols.iter().enumerate() {
                let cost = split[i * cols.len() + j];
                if cost == 0 {
                    continue;
                }
                let at = paths.enter(node, m);
                match callee {
                    None => out.samples.push((paths.path(at), cost)),
                    Some(to) => {
                        let called = paths.child(at, to);
                        *arriving[to as usize].entry(called).or_insert(0) += cost;
                    }
                }
            }
        }
    }
    out
}

/// Make the rows (cost arriving per caller path) add up to `spent`: a shortfall becomes a row
/// of its own with no caller (the function as a root), an excess is scaled away, and paths
/// beyond [`MAX_PATHS`] (the cheapest) join the root row. Returns the number of paths cut.
fn fit_rows(rows: &mut Vec<(u32, u64)>, spent: u64) -> u64 {
    let mut cut = 0u64;
    if rows.len() >= MAX_PATHS {
        rows.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let rest: u64 = rows[MAX_PATHS - 1..].iter().map(|r| r.1).sum();
        cut = (rows.len() - (MAX_PATHS - 1)) as u64;
        rows.truncate(MAX_PATHS - 1);
        rows.push((ROOT, rest));
        rows.sort_unstable();
    }
    let arrived: u64 = rows.iter().map(|r| r.1).sum();
    if arrived < spent {
        match rows.iter_mut().find(|r| r.0 == ROOT) {
            Some(r) => r.1 += spent - arrived,
            None => rows.push((ROOT, spent - arrived)),
        }
    } else if arrived > spent {
        let weights: Vec<u64> = rows.iter().map(|r| r.1).collect();
        let scaled = split_matrix(&weights, &[spent]);
        for (r, w) in rows.iter_mut().zip(scaled) {
            r.1 = w;
        }
        rows.retain(|r| r.1 > 0);
    }
    cut
}

/// Split a table of whole numbers with these row sums and column sums so that cell (i, j) is
/// row i's share of column j in proportion, rounded so every row and column sum stays exact.
/// When the sums differ, the smaller side is kept exact. Row-major result.
fn split_matrix(rows: &[u64], cols: &[u64]) -> Vec<u64> {
    let total: u64 = cols.iter().sum::<u64>().max(rows.iter().sum());
    let mut cells = vec![0u64; rows.len() * cols.len()];
    if total == 0 {
        return cells;
    }
    let mut row_left: Vec<u64> = rows.to_vec();
    let mut col_left: Vec<u64> = cols.to_vec();
    for (i, &w) in rows.iter().enumerate() {
        for (j, &c) in cols.iter().enumerate() {
            let share = (w as u128 * c as u128 / total as u128) as u64;
            cells[i * cols.len() + j] = share;
            row_left[i] -= share;
            col_left[j] -= share;
        }
    }
    // What rounding down left over (less than one per cell): hand it out row by row, column
    // by column, which keeps every sum exact.
    let (mut i, mut j) = (0, 0);
    while i < rows.len() && j < cols.len() {
        let t = row_left[i].min(col_left[j]);
        cells[i * cols.len() + j] += t;
        row_left[i] -= t;
        col_left[j] -= t;
        if row_left[i] == 0 {
            i += 1;
        }
        if j < cols.len() && col_left[j] == 0 {
            j += 1;
        }
    }
    cells
}

/// The call edges of one event, with a cost, between functions of different strongly
/// connected components (calls inside a cycle of calls, self-calls included, are left out:
/// their cost is already in the cycle's entry call).
struct Graph {
    edges: Vec<Vec<(u32, u64)>>,
    /// Component of each function, numbered callers first.
    component: Vec<u32>,
}

impl Graph {
    fn of(g: &CallGraph, e: usize) -> Graph {
        let n = g.funcs.len();
        let mut all: Vec<Vec<(u32, u64)>> = vec![Vec::new(); n];
        for (&(from, to), cost) in &g.calls {
            let c = cost.get(e).copied().unwrap_or(0);
            if from != to && c > 0 {
                all[from as usize].push((to, c));
            }
        }
        for list in &mut all {
            list.sort_unstable();
        }
        let component = components(&all);
        for (f, list) in all.iter_mut().enumerate() {
            list.retain(|&(to, _)| component[to as usize] != component[f]);
        }
        Graph {
            edges: all,
            component,
        }
    }

    /// The members of each component, callers' components before their callees'.
    fn components_callers_first(&self) -> Vec<Vec<u32>> {
        let count = self
            .component
            .iter()
            .map(|&c| c as usize + 1)
            .max()
            .unwrap_or(0);
        let mut members = vec![Vec::new(); count];
        for (f, &c) in self.component.iter().enumerate() {
            members[c as usize].push(f as u32);
        }
        members
    }
}

/// Strongly connected components (Tarjan's algorithm, without recursion), numbered so that a
/// component calling another has the smaller number.
fn components(edges: &[Vec<(u32, u64)>]) -> Vec<u32> {
    const NONE: u32 = u32::MAX;
    let n = edges.len();
    let mut index = vec![NONE; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut component = vec![NONE; n];
    let mut found = 0u32;
    let mut next_index = 0u32;
    for start in 0..n as u32 {
        if index[start as usize] != NONE {
            continue;
        }
        let mut walk: Vec<(u32, usize)> = vec![(start, 0)];
        index[start as usize] = next_index;
        low[start as usize] = next_index;
        next_index += 1;
        stack.push(start);
        on_stack[start as usize] = true;
        while let Some(top) = walk.last_mut() {
            let (f, next) = *top;
            top.1 += 1;
            if let Some(&(to, _)) = edges[f as usize].get(next) {
                let t = to as usize;
                if index[t] == NONE {
                    index[t] = next_index;
                    low[t] = next_index;
                    next_index += 1;
                    stack.push(to);
                    on_stack[t] = true;
                    walk.push((to, 0));
                } else if on_stack[t] {
                    low[f as usize] = low[f as usize].min(index[t]);
                }
                continue;
            }
            walk.pop();
            if let Some(&(parent, _)) = walk.last() {
                low[parent as usize] = low[parent as usize].min(low[f as usize]);
            }
            if low[f as usize] == index[f as usize] {
                while let Some(m) = stack.pop() {
                    on_stack[m as usize] = false;
                    component[m as usize] = found;
                    if m == f {
                        break;
                    }
                }
                found += 1;
            }
        }
    }
    // Tarjan finds callees' components first: reverse the numbering.
    component.iter().map(|&c| found - 1 - c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_row_and_column_sums() {
        let rows = [7, 5, 1];
        let cols = [3, 6, 4];
        let m = split_matrix(&rows, &cols);
        for (i, &r) in rows.iter().enumerate() {
            assert_eq!(m[i * 3..i * 3 + 3].iter().sum::<u64>(), r);
        }
        for (j, &c) in cols.iter().enumerate() {
            assert_eq!((0..3).map(|i| m[i * 3 + j]).sum::<u64>(), c);
        }
    }

    #[test]
    fn excess_is_scaled_and_shortfall_is_a_root() {
        let mut rows = vec![(1, 30), (2, 10)];
        fit_rows(&mut rows, 20);
        assert_eq!(rows.iter().map(|r| r.1).sum::<u64>(), 20);
        let mut rows = vec![(1, 5)];
        fit_rows(&mut rows, 8);
        assert_eq!(rows, vec![(1, 5), (ROOT, 3)]);
    }
}
