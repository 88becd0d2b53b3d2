//! The shape of the merged call tree, built without a hash table.
//!
//! Sorting every run's stacks together puts stacks that share a prefix next to each other, so
//! one pass that keeps the previous stack's node path creates each node exactly once, when its
//! prefix first appears: no (parent, key) lookups, whose random probes into a table of
//! millions of nodes were most of `compare`'s time on large profiles. Node ids come out in
//! pre-order (a parent before its children).
//!
//! Callers see the tree as if runs had been inserted one after the other (OLD runs first, each
//! run's stacks in sorted order): children are listed in the order they would have been
//! created that way, so ties between equal siblings break as before.

use super::Run;
use rayon::prelude::*;

/// Nodes (0 is the root), their children, and the node each stack of each run ends at.
pub(super) struct Trie {
    pub(super) key: Vec<u32>,
    pub(super) parent: Vec<u32>,
    pub(super) children: Children,
    /// Per run (OLD runs then NEW runs): stack indices in sorted order.
    pub(super) order: Vec<Vec<u32>>,
    /// Per run: the node stack `i` ends at.
    pub(super) leaf: Vec<Vec<u32>>,
}

impl Trie {
    pub(super) fn build(runs: &[&Run]) -> Trie {
        let order: Vec<Vec<u32>> = runs.par_iter().map(|r| sorted_order(r)).collect();
        let stack = |e: &(u32, u32)| -> &[u32] {
            let r = e.0 as usize;
            &runs[r].stacks[order[r][e.1 as usize] as usize].0
        };
        // Every (run, position in the run's sorted order), sorted by stack, then by the time
        // the stack would have been inserted run after run.
        let mut all: Vec<(u32, u32)> = order
            .iter()
            .enumerate()
            .flat_map(|(r, o)| (0..o.len() as u32).map(move |pos| (r as u32, pos)))
            .collect();
        all.par_sort_unstable_by(|a, b| stack(a).cmp(stack(b)).then(a.cmp(b)));

        let mut key = vec![u32::MAX];
        let mut parent = vec![0];
        // The earliest insertion time of any stack through the node.
        let mut first = vec![(0u32, 0u32)];
        let mut leaf: Vec<Vec<u32>> = runs.iter().map(|r| vec![0; r.stacks.len()]).collect();
        let mut path: Vec<u32> = Vec::new();
        let mut prev: &[u32] = &[];
        for e in &all {
            let s = stack(e);
            let lcp = s.iter().zip(prev).take_while(|(a, b)| a == b).count();
            path.truncate(lcp);
            for &n in &path {
                let f = &mut first[n as usize];
                *f = (*f).min(*e);
            }
            for &k in &s[lcp..] {
                parent.push(path.last().copied().unwrap_or(0));
                key.push(k);
                first.push(*e);
                path.push(key.len() as u32 - 1);
            }
            let (r, pos) = (e.0 as usize, e.1 as usize);
            leaf[r][order[r][pos] as usize] = path.last().copied().unwrap_or(0);
            prev = s;
        }
        let children = Children::by_first_seen(&parent, &first);
        Trie {
            key,
            parent,
            children,
            order,
            leaf,
        }
    }
}

/// Children lists in one allocation: `children[n]` is node `n`'s children.
pub(super) struct Children {
    /// Node `n`'s children are `list[start[n]..start[n + 1]]`.
    start: Vec<u32>,
    list: Vec<u32>,
}

impl std::ops::Index<usize> for Children {
    type Output = [u32];
    fn index(&self, n: usize) -> &[u32] {
        &self.list[self.start[n] as usize..self.start[n + 1] as usize]
    }
}

/// A run's stack indices sorted by stack.
fn sorted_order(r: &Run) -> Vec<u32> {
    let mut order: Vec<u32> = (0..r.stacks.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| r.stacks[a as usize].0.cmp(&r.stacks[b as usize].0));
    order
}

impl Children {
    /// Each node's children, ordered by when they were first seen.
    fn by_first_seen(parent: &[u32], first: &[(u32, u32)]) -> Children {
        let n = parent.len();
        let mut start = vec![0u32; n + 1];
        for &p in &parent[1..] {
            start[p as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut list = vec![0u32; n - 1];
        for (id, &p) in parent.iter().enumerate().skip(1) {
            list[fill[p as usize] as usize] = id as u32;
            fill[p as usize] += 1;
        }
        for i in 0..n {
            let kids = &mut list[start[i] as usize..start[i + 1] as usize];
            if kids.len() > 1 {
                kids.sort_unstable_by_key(|&c| first[c as usize]);
            }
        }
        Children { start, list }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stacks: &[&[u32]]) -> Run {
        Run {
            stacks: stacks.iter().map(|s| (s.to_vec(), 1.0)).collect(),
            inline_leaf: vec![super::super::super::identity::NO_INLINE; stacks.len()],
            total: stacks.len() as f64,
            per_sample: 1.0,
        }
    }

    /// Children in the order a run-after-run insertion would have created them.
    #[test]
    fn shape_and_child_order_follow_insertion_order() {
        let a = run(&[&[5, 9], &[5, 2], &[]]);
        let b = run(&[&[5, 1], &[7], &[5, 9]]);
        let t = Trie::build(&[&a, &b]);
        let names = |ns: &[u32]| ns.iter().map(|&n| t.key[n as usize]).collect::<Vec<_>>();
        // Run a, sorted: [], [5,2], [5,9]; run b: [5,1], [5,9], [7].
        assert_eq!(names(&t.children[0]), vec![5, 7]);
        let five = t.children[0][0];
        assert_eq!(names(&t.children[five as usize]), vec![2, 9, 1]);
        assert_eq!(t.key.len(), 6);
        assert_eq!(t.leaf[0][2], 0);
        assert_eq!(t.leaf[0][0], t.leaf[1][2]);
        assert_eq!(t.key[t.leaf[1][1] as usize], 7);
        assert_eq!(t.order[1], vec![0, 2, 1]);
    }
}
