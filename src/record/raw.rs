//! What a recording yields before symbolization: unwound address stacks per process, and the
//! memory maps needed to turn addresses into (file, offset, build id). Produced by the
//! perf_event sampler ([`crate::record`]) and by perf.data ingest
//! ([`crate::formats::perf_data`]); consumed by [`crate::symbolize::build_profile`].
//!
//! Identical stacks are aggregated as they arrive, so memory grows with unique stacks, not with
//! samples.

use crate::hash_index::{hash_of, HashIndex};
use rustc_hash::FxHashMap;

/// One file-backed (or anonymous/special) region mapped into a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedRegion {
    pub start: u64,
    /// Exclusive end address.
    pub end: u64,
    /// Offset in the file of `start` (the mmap page offset).
    pub file_offset: u64,
    /// Path as recorded (`/usr/lib/x.so`, `[vdso]`, `[anon]`, `//anon`, …).
    pub path: String,
    /// GNU build id when known (from MMAP2 or the perf.data header).
    pub build_id: Option<Vec<u8>>,
}

impl MappedRegion {
    /// The file offset of a process address inside this region.
    pub fn file_offset_of(&self, addr: u64) -> u64 {
        addr.wrapping_sub(self.start).wrapping_add(self.file_offset)
    }
}

/// The memory map of one process, as known at the end of the recording.
#[derive(Clone, Debug, Default)]
pub struct ProcessMaps {
    pub pid: u32,
    /// Command name (from COMM records or /proc/PID/comm).
    pub comm: String,
    /// Sorted by `start`, non-overlapping.
    regions: Vec<MappedRegion>,
}

impl ProcessMaps {
    pub fn new(pid: u32) -> Self {
        ProcessMaps {
            pid,
            ..Default::default()
        }
    }

    pub fn regions(&self) -> &[MappedRegion] {
        &self.regions
    }

    /// Add a mapping; parts of older mappings it overlaps are removed (as mmap replaces them).
    pub fn insert(&mut self, r: MappedRegion) {
        if r.end <= r.start {
            return;
        }
        let mut keep = Vec::with_capacity(self.regions.len() + 2);
        for old in self.regions.drain(..) {
            if old.end <= r.start || old.start >= r.end {
                keep.push(old);
                continue;
            }
            if old.start < r.start {
                keep.push(MappedRegion {
                    end: r.start,
                    ..old.clone()
                });
            }
            if old.end > r.end {
                keep.push(MappedRegion {
                    start: r.end,
                    file_offset: old.file_offset_of(r.end),
                    ..old
                });
            }
        }
        keep.push(r);
        keep.sort_by_key(|m| m.start);
        self.regions = keep;
    }

    /// The region containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&MappedRegion> {
        let i = self.regions.partition_point(|m| m.start <= addr);
        let m = self.regions.get(i.checked_sub(1)?)?;
        (addr < m.end).then_some(m)
    }
}

/// Key of an aggregated stack: the process and its unwound addresses, leaf first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StackKey {
    pub pid: u32,
    pub tid: u32,
    /// Kernel frames, leaf first (empty when kernel callchains were not recorded).
    pub kernel: Vec<u64>,
    /// User frames, leaf first. Entry 0 is the sampled instruction pointer; later entries are
    /// return addresses (the symbolizer looks them up at `addr - 1`).
    pub user: Vec<u64>,
    /// The unwind stopped early (stack copy exhausted, unwind error, depth limit).
    pub truncated: bool,
}

/// Totals of one aggregated stack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackTotals {
    /// Number of samples.
    pub count: u64,
    /// Sum of sample periods (nanoseconds for cpu-clock / task-clock, events otherwise).
    pub period: u64,
}

/// A recording ready for symbolization.
#[derive(Clone, Debug, Default)]
pub struct RawRecording {
    /// Memory maps per process id.
    pub processes: FxHashMap<u32, ProcessMaps>,
    /// Thread names per thread id (`comm`).
    pub threads: FxHashMap<u32, String>,
    pub stacks: Stacks,
    /// Samples the kernel reported lost (LOST / LOST_SAMPLES records).
    pub lost: u64,
    /// Event name (`cpu-clock`, `cycles`, …).
    pub event: String,
    /// True when the period is in nanoseconds (cpu-clock, task-clock).
    pub period_is_time: bool,
    /// Sampling frequency in Hz if sampling by frequency.
    pub frequency: Option<u64>,
    /// Whether kernel frames could be recorded; when not, a note goes into the data quality.
    pub kernel_allowed: bool,
    /// Wall-clock start (ns since epoch) and recording length (ns).
    pub start_time_nanos: i64,
    pub duration_nanos: i64,
    /// Free metadata copied into the profile (command, host, tool, …).
    pub metadata: Vec<(String, String)>,
    /// Notes for the data-quality section.
    pub notes: Vec<String>,
}

impl RawRecording {
    /// Add one sample (its stack is copied only when new: most samples repeat a stack
    /// already seen).
    pub fn add(&mut self, key: &StackKey, period: u64) {
        self.stacks.add(key, period);
    }

    /// The maps of a process, created empty if unknown.
    pub fn process(&mut self, pid: u32) -> &mut ProcessMaps {
        self.processes
            .entry(pid)
            .or_insert_with(|| ProcessMaps::new(pid))
    }

    pub fn sample_count(&self) -> u64 {
        self.stacks.iter().map(|(_, t)| t.count).sum()
    }
}

/// The recording's distinct stacks with their totals. Stacks live one after another in one
/// array and are found by a hash of their contents ([`HashIndex`]), so adding a sample whose
/// stack is known costs a hash and a comparison against contiguous memory, and a new one a
/// copy into the array (not two vectors of its own); iterating reads the array front to back.
#[derive(Clone, Debug, Default)]
pub struct Stacks {
    index: HashIndex,
    entries: Vec<Entry>,
    /// Each entry's frames, kernel then user, one entry after another.
    frames: Vec<u64>,
}

#[derive(Clone, Debug)]
struct Entry {
    pid: u32,
    tid: u32,
    truncated: bool,
    /// `frames[start..start + kernel]` are kernel frames, the next `user` ones user frames.
    start: usize,
    kernel: u32,
    user: u32,
    totals: StackTotals,
}

/// A stack of [`Stacks`], borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackRef<'a> {
    pub pid: u32,
    pub tid: u32,
    /// Kernel frames, leaf first.
    pub kernel: &'a [u64],
    /// User frames, leaf first (see [`StackKey::user`]).
    pub user: &'a [u64],
    pub truncated: bool,
}

fn stack_hash(s: StackRef<'_>) -> u64 {
    hash_of(&(s.pid, s.tid, s.truncated, s.kernel, s.user))
}

impl Stacks {
    /// Count one sample of `key` with this period (the key is copied only when new).
    pub fn add(&mut self, key: &StackKey, period: u64) {
        let key = key.as_ref();
        let hash = stack_hash(key);
        let found = self.index.find(hash, |i| self.get(&self.entries[i]) == key);
        if let Some(i) = found {
            let t = &mut self.entries[i].totals;
            t.count += 1;
            t.period += period;
            return;
        }
        let start = self.frames.len();
        self.frames.extend_from_slice(key.kernel);
        self.frames.extend_from_slice(key.user);
        self.index.insert(hash, self.entries.len());
        self.entries.push(Entry {
            pid: key.pid,
            tid: key.tid,
            truncated: key.truncated,
            start,
            kernel: key.kernel.len() as u32,
            user: key.user.len() as u32,
            totals: StackTotals { count: 1, period },
        });
    }

    fn get(&self, e: &Entry) -> StackRef<'_> {
        let k = e.start + e.kernel as usize;
        StackRef {
            pid: e.pid,
            tid: e.tid,
            kernel: &self.frames[e.start..k],
            user: &self.frames[k..k + e.user as usize],
            truncated: e.truncated,
        }
    }

    /// Number of distinct stacks.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The stacks with their totals, in the order first seen.
    pub fn iter(&self) -> impl Iterator<Item = (StackRef<'_>, StackTotals)> + '_ {
        self.entries.iter().map(|e| (self.get(e), e.totals))
    }
}

impl StackKey {
    /// The key as a [`StackRef`].
    pub fn as_ref(&self) -> StackRef<'_> {
        StackRef {
            pid: self.pid,
            tid: self.tid,
            kernel: &self.kernel,
            user: &self.user,
            truncated: self.truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(start: u64, end: u64, off: u64, path: &str) -> MappedRegion {
        MappedRegion {
            start,
            end,
            file_offset: off,
            path: path.into(),
            build_id: None,
        }
    }

    #[test]
    fn stacks_aggregate_by_content_even_when_hashes_collide() {
        let key = |tid: u32, user: &[u64]| StackKey {
            pid: 1,
            tid,
            kernel: vec![0xffff_0001],
            user: user.to_vec(),
            truncated: false,
        };
        let mut s = Stacks::default();
        s.add(&key(1, &[10, 20]), 5);
        s.add(&key(1, &[10, 20]), 7);
        s.add(&key(2, &[10, 20]), 1);
        // Make `[30]` share the hash of `[10, 20]`: it still gets an entry of its own, found
        // again through the chain.
        let (a, b) = (key(1, &[10, 20]), key(1, &[30]));
        s.index.insert(stack_hash(b.as_ref()), 0);
        s.add(&b, 2);
        s.add(&b, 3);
        let got: Vec<(StackRef, StackTotals)> = s.iter().collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, a.as_ref());
        assert_eq!((got[0].1.count, got[0].1.period), (2, 12));
        assert_eq!(got[1].0.tid, 2);
        assert_eq!(got[2].0, b.as_ref());
        assert_eq!((got[2].1.count, got[2].1.period), (2, 5));
    }

    #[test]
    fn insert_splits_overlapped_regions() {
        let mut m = ProcessMaps::new(1);
        m.insert(region(0x1000, 0x5000, 0, "/a"));
        m.insert(region(0x2000, 0x3000, 0, "/b"));
        let r: Vec<_> = m
            .regions()
            .iter()
            .map(|r| (r.start, r.end, r.file_offset, r.path.as_str()))
            .collect();
        assert_eq!(
            r,
            vec![
                (0x1000, 0x2000, 0, "/a"),
                (0x2000, 0x3000, 0, "/b"),
                (0x3000, 0x5000, 0x2000, "/a")
            ]
        );
        assert_eq!(m.find(0x3500).unwrap().file_offset_of(0x3500), 0x2500);
        assert!(m.find(0x5000).is_none());
        assert!(m.find(0x10).is_none());
    }
}
