//! [`HashIndex`]: finding items of the caller's own array by a hash of their contents.
//!
//! Aggregating by a long key (a stack of addresses, a stack of locations) with a map keyed by
//! the key itself keeps every key twice (once in the map, once in the array of items) and
//! hashes it on every probe and insert. Here the map holds only a 64-bit hash and an index;
//! the caller compares a candidate with its own copy of the item. Items whose hashes collide
//! are chained, so a collision costs one more comparison, never a wrong match.

use rustc_hash::FxHashMap;

const NONE: u32 = u32::MAX;

/// Indices of items by content hash; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct HashIndex {
    /// Hash → the item inserted last with it.
    last: FxHashMap<u64, u32>,
    /// Item → the item inserted before it with the same hash (`NONE`: none).
    prev: Vec<u32>,
}

impl HashIndex {
    /// The item with this hash for which `is` holds.
    pub fn find(&self, hash: u64, mut is: impl FnMut(usize) -> bool) -> Option<usize> {
        let mut at = self.last.get(&hash).copied().unwrap_or(NONE);
        while at != NONE {
            if is(at as usize) {
                return Some(at as usize);
            }
            at = self.prev[at as usize];
        }
        None
    }

    /// Index item `i` (an index into the caller's array, below 2^32 - 1) under `hash`.
    pub fn insert(&mut self, hash: u64, i: usize) {
        let i32 = u32::try_from(i)
            .ok()
            .filter(|&i| i != NONE)
            .expect("fewer than 2^32 - 1 items");
        let before = self.last.insert(hash, i32).unwrap_or(NONE);
        if self.prev.len() <= i {
            self.prev.resize(i + 1, NONE);
        }
        self.prev[i] = before;
    }

    /// Room for about this many more items without rehashing.
    pub fn reserve(&mut self, n: usize) {
        self.last.reserve(n);
        self.prev.reserve(n);
    }
}

/// The hash [`HashIndex`] users key by: FxHash of the value.
pub fn hash_of<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    value.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_items_are_all_found_and_only_by_their_contents() {
        let items = ["a", "b", "c"];
        let mut ix = HashIndex::default();
        // "a" and "b" share hash 7; "c" has its own.
        ix.insert(7, 0);
        ix.insert(7, 1);
        ix.insert(9, 2);
        for (i, item) in items.iter().enumerate() {
            let hash = if i < 2 { 7 } else { 9 };
            assert_eq!(ix.find(hash, |j| items[j] == *item), Some(i));
        }
        assert_eq!(ix.find(7, |j| items[j] == "c"), None);
        assert_eq!(ix.find(8, |_| true), None);
    }
}
