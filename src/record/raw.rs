//! What a recording yields before symbolization: unwound address stacks per process, and the
//! memory maps needed to turn addresses into (file, offset, build id). Produced by the
//! perf_event sampler ([`crate::record`]) and by perf.data ingest
//! ([`crate::formats::perf_data`]); consumed by [`crate::symbolize::build_profile`].
//!
//! Identical stacks are aggregated as they arrive, so memory grows with unique stacks, not with
//! samples.

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
    pub stacks: FxHashMap<StackKey, StackTotals>,
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
    /// Add one sample.
    pub fn add(&mut self, key: StackKey, period: u64) {
        let t = self.stacks.entry(key).or_default();
        t.count += 1;
        t.period += period;
    }

    /// [`RawRecording::add`] for a borrowed key: copied only when the stack is new (most
    /// samples repeat a stack already seen).
    pub fn add_ref(&mut self, key: &StackKey, period: u64) {
        let t = match self.stacks.get_mut(key) {
            Some(t) => t,
            None => self.stacks.entry(key.clone()).or_default(),
        };
        t.count += 1;
        t.period += period;
    }

    /// The maps of a process, created empty if unknown.
    pub fn process(&mut self, pid: u32) -> &mut ProcessMaps {
        self.processes
            .entry(pid)
            .or_insert_with(|| ProcessMaps::new(pid))
    }

    pub fn sample_count(&self) -> u64 {
        self.stacks.values().map(|t| t.count).sum()
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
