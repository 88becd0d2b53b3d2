//! Hot paths: the merged call tree of both sides, the greedy descent to where an increase
//! sits, and the tree as two-column folded lines for the differential flamegraph.
//!
//! A path's leading frames that only pass the whole change down to one child (program
//! start-up, thread entry, runtime wrappers: `_start → __libc_start_main → main →
//! lang_start → …`) say nothing about where the change is; they are marked
//! [`HotFrame::elided`] ([`mark_elided`]) so reports start at the frame where the change
//! splits, sits in self time, or where the user's own code begins ([`is_user_file`](super::identity::is_user_file)), and say
//! how many frames they left out.

use super::identity::{is_user_file, Run};
use super::HotFrame;

mod trie;

/// Merged call tree of both sides, values in the compared quantity (per-run means or shares).
pub(super) struct Tree {
    key: Vec<u32>,
    parent: Vec<u32>,
    old: Vec<f64>,
    new: Vec<f64>,
    old_self: Vec<f64>,
    new_self: Vec<f64>,
    children: trie::Children,
}

/// `n` zeros whose memory is written now. `vec![0.0; n]` takes fresh zeroed pages from
/// calloc without touching them; the first `+=` then reads a page (mapping the shared zero
/// page) and writes it (a copy-on-write fault whose TLB flush interrupts the other core while
/// both sides are summed in parallel). Written up front, each page faults once.
fn written_zeros(n: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(n);
    v.resize(n, 0.0);
    v
}

impl Tree {
    pub(super) fn build(old: &[Run], new: &[Run], shares: bool) -> Tree {
        let runs: Vec<&Run> = old.iter().chain(new).collect();
        let shape = trie::Trie::build(&runs);
        let n = shape.key.len();
        // Each node sums its stacks in the order of a run-after-run insertion (OLD runs
        // first, each run's stacks sorted), so the floating-point sums do not depend on how
        // the shape was built; the two sides are summed in parallel.
        let sum_side = |side: &[Run], first_run: usize| {
            let (mut incl, mut selfv) = (written_zeros(n), written_zeros(n));
            let nruns = side.len() as f64;
            for (ri, r) in side.iter().enumerate() {
                let w = if shares {
                    1.0 / (r.total * nruns)
                } else {
                    1.0 / nruns
                };
                let leaf = &shape.leaf[first_run + ri];
                for &i in &shape.order[first_run + ri] {
                    let v = r.stacks[i as usize].1 * w;
                    let end = leaf[i as usize];
                    incl[0] += v;
                    let mut node = end;
                    while node != 0 {
                        incl[node as usize] += v;
                        node = shape.parent[node as usize];
                    }
                    selfv[end as usize] += v;
                }
            }
            (incl, selfv)
        };
        let ((old_incl, old_self), (new_incl, new_self)) =
            rayon::join(|| sum_side(old, 0), || sum_side(new, old.len()));
        Tree {
            key: shape.key,
            parent: shape.parent,
            old: old_incl,
            new: new_incl,
            old_self,
            new_self,
            children: shape.children,
        }
    }

    fn delta(&self, n: u32) -> f64 {
        self.new[n as usize] - self.old[n as usize]
    }
    fn self_delta(&self, n: u32) -> f64 {
        self.new_self[n as usize] - self.old_self[n as usize]
    }

    /// Greedy descent from the roots along the child whose score is largest, until the
    /// increase sits in self time. A child's score is the larger of its inclusive increase
    /// and the largest self increase anywhere below it: in absolute mode that is the
    /// inclusive increase, in shares mode (where inclusive shares near the root barely move)
    /// it still leads to where the share grew. Siblings scoring at least a quarter of the
    /// best start further paths.
    pub(super) fn hot_paths(
        &self,
        names: &[String],
        files: &[Option<String>],
        max: usize,
    ) -> Vec<Vec<HotFrame>> {
        let n = self.key.len();
        let mut below = vec![f64::NEG_INFINITY; n];
        for id in (1..n).rev() {
            let v = below[id].max(self.self_delta(id as u32));
            below[id] = v;
            let p = self.parent[id] as usize;
            if p != 0 {
                below[p] = below[p].max(v);
            }
        }
        let score = |c: u32| self.delta(c).max(below[c as usize]);
        let mut starts: Vec<(u32, f64)> = vec![(0, f64::INFINITY)];
        let mut paths: Vec<(f64, Vec<u32>)> = Vec::new();
        let mut done = 0;
        while let Some((start, _)) = starts.pop() {
            if done >= max.max(1) * 4 {
                break;
            }
            done += 1;
            let mut path: Vec<u32> = Vec::new();
            let mut up = start;
            while up != 0 {
                path.push(up);
                up = self.parent[up as usize];
            }
            path.reverse();
            let mut node = start;
            loop {
                let mut kids: Vec<u32> = self.children[node as usize]
                    .iter()
                    .copied()
                    .filter(|&c| score(c) > 0.0)
                    .collect();
                kids.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
                let Some(&best) = kids.first() else { break };
                let bs = score(best);
                if node != 0 && self.self_delta(node) >= bs {
                    break;
                }
                for &alt in kids.iter().skip(1).take(max) {
                    if score(alt) >= 0.25 * bs {
                        starts.push((alt, score(alt)));
                    }
                }
                path.push(best);
                node = best;
            }
            if let Some(&end) = path.last() {
                if self.self_delta(end).max(self.delta(end)) > 0.0 {
                    // Ordered by the increase the path leads to.
                    paths.push((self.delta(end).max(self.self_delta(end)), path));
                }
            }
            starts.sort_by(|a, b| a.1.total_cmp(&b.1));
        }
        paths.sort_by(|a, b| b.0.total_cmp(&a.0));
        paths.truncate(max);
        paths
            .into_iter()
            .map(|(_, p)| {
                let mut frames: Vec<HotFrame> = p
                    .into_iter()
                    .map(|n| HotFrame {
                        name: names[self.key[n as usize] as usize].clone(),
                        file: files[self.key[n as usize] as usize].clone(),
                        old: self.old[n as usize],
                        new: self.new[n as usize],
                        delta: self.delta(n),
                        self_delta: self.self_delta(n),
                        elided: false,
                    })
                    .collect();
                mark_elided(&mut frames);
                frames
            })
            .collect()
    }

    /// Leaf-self values as `stack old new` folded lines.
    pub(super) fn folded(&self, names: &[String]) -> Vec<(String, f64, f64)> {
        let mut out = Vec::new();
        let mut stack: Vec<(u32, usize)> = vec![(0, 0)];
        let mut path = String::new();
        let mut lens: Vec<usize> = Vec::new();
        // Iterative DFS keeping the textual path.
        while let Some((n, depth)) = stack.pop() {
            lens.truncate(depth);
            path.truncate(lens.last().copied().unwrap_or(0));
            if n != 0 {
                if !path.is_empty() {
                    path.push(';');
                }
                path.push_str(&crate::formats::folded::sanitized(
                    &names[self.key[n as usize] as usize],
                ));
                lens.push(path.len());
                let (o, w) = (self.old_self[n as usize], self.new_self[n as usize]);
                if o != 0.0 || w != 0.0 {
                    out.push((path.clone(), o, w));
                }
            }
            let d = if n == 0 { 0 } else { depth + 1 };
            for &c in &self.children[n as usize] {
                stack.push((c, d));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Mark the leading frames of a hot path that only pass the whole change down: each has
/// (within 5 % of the largest change on the path) the same change as the next frame, no self
/// change of its own, and is not the user's code (the first user frame is where a reader
/// starts looking). The last frame is never elided, nor a lone leading frame (a "1 frame
/// left out" line would be as long as the frame).
pub(super) fn mark_elided(path: &mut [HotFrame]) {
    let scale = path
        .iter()
        .map(|f| f.delta.abs().max(f.self_delta.abs()))
        .fold(0.0, f64::max);
    let tol = 0.05 * scale;
    let passes_down = |w: &[HotFrame]| {
        (w[0].delta - w[1].delta).abs() <= tol
            && w[0].self_delta.abs() <= tol
            && !w[0].file.as_deref().is_some_and(is_user_file)
    };
    let n = path.windows(2).take_while(|w| passes_down(w)).count();
    if n >= 2 {
        for f in &mut path[..n] {
            f.elided = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str, delta: f64, self_delta: f64) -> HotFrame {
        HotFrame {
            name: name.into(),
            file: None,
            old: 0.0,
            new: delta,
            delta,
            self_delta,
            elided: false,
        }
    }

    #[test]
    fn start_up_chain_is_elided_up_to_the_split() {
        // _start → libc → main carry the whole +100; main splits it (+90 to work, the rest
        // to other children), work's self holds it.
        let mut p = vec![
            frame("_start", 100.0, 0.0),
            frame("__libc_start_main", 100.0, 0.0),
            frame("lang_start", 99.0, 0.0),
            frame("main", 99.0, 0.0),
            frame("work", 90.0, 90.0),
        ];
        mark_elided(&mut p);
        let kept: Vec<&str> = p
            .iter()
            .filter(|f| !f.elided)
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(kept, ["main", "work"]);
    }

    #[test]
    fn elision_stops_where_user_code_begins() {
        let mut p = vec![
            frame("_start", 100.0, 0.0),
            frame("__libc_start_main", 100.0, 0.0),
            frame("std::rt::lang_start", 100.0, 0.0),
            frame("app::main", 100.0, 0.0),
            frame("app::work", 100.0, 100.0),
        ];
        p[2].file = Some("/rustc/abc/library/std/src/rt.rs".into());
        p[3].file = Some("/home/me/app/src/main.rs".into());
        mark_elided(&mut p);
        let kept: Vec<&str> = p
            .iter()
            .filter(|f| !f.elided)
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(kept, ["app::main", "app::work"]);
        for f in [
            "./csu/libc-start.c",
            "<frozen importlib._bootstrap>",
            "/usr/lib/go/src/fmt/print.go",
            "/home/me/.cargo/registry/src/x/lib.rs",
        ] {
            assert!(!is_user_file(f), "{f}");
        }
        assert!(is_user_file("/work/bench.c"));
    }

    #[test]
    fn short_or_splitting_paths_keep_every_frame() {
        let mut p = vec![frame("main", 100.0, 0.0), frame("work", 100.0, 100.0)];
        mark_elided(&mut p);
        assert!(p.iter().all(|f| !f.elided), "one leading frame stays");
        let mut p = vec![
            frame("main", 100.0, 0.0),
            frame("a", 60.0, 0.0),
            frame("b", 60.0, 0.0),
            frame("c", 60.0, 60.0),
        ];
        mark_elided(&mut p);
        assert!(p.iter().all(|f| !f.elided), "the change splits at the root");
    }
}
