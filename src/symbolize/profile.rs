//! [`build_profile`]: a [`RawRecording`] (address stacks + process maps) to a symbolized,
//! pprof-like [`Profile`]. Every unique (process, address) is resolved to its mapped region,
//! addresses are grouped per binary, each binary is symbolized once (modules in parallel,
//! addresses within a module in parallel), kernel addresses go through kallsyms.

use super::elf::hex;
use super::kallsyms::Kallsyms;
use super::perfmap::PerfMap;
use super::symbolizer::{Frame, ModuleKey, Symbolizer, Unavailable};
use super::SymbolizerOptions;
use crate::model::{
    DataQuality, Function, FunctionId, Line, Location, LocationId, Mapping, MappingId, Profile,
    ProfileBuilder, ValueType,
};
use crate::record::raw::{MappedRegion, RawRecording, StackRef, StackTotals};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

/// Addresses at or above this are perf context markers (PERF_CONTEXT_*), not code.
const PERF_CONTEXT_MAX: u64 = u64::MAX - 4095;

use super::is_symbolizable;

struct ModuleResult {
    /// The file offsets looked up, sorted.
    offsets: Vec<u64>,
    /// Per offset its frames (innermost first); empty = unresolved.
    frames: Vec<Vec<Frame>>,
    /// Per frame (all offsets' frames in a row), its function's number among the module's
    /// distinct (name, system name, file), and where each offset's frames start in it. The
    /// functions are told apart on the lookup thread, while the strings are fresh in cache, so
    /// assembly does it once per function instead of once per frame.
    function_of: Vec<u32>,
    frames_start: Vec<u32>,
    /// Number of distinct functions.
    function_count: usize,
    status: Result<(bool, bool, Option<String>), Unavailable>,
}

impl ModuleResult {
    fn unavailable(e: Unavailable) -> Self {
        ModuleResult {
            offsets: Vec::new(),
            frames: Vec::new(),
            function_of: Vec::new(),
            frames_start: vec![0],
            function_count: 0,
            status: Err(e),
        }
    }

    /// The frames of an offset, each with its function's number.
    fn frames_at(&self, offset: u64) -> Option<(&[Frame], &[u32])> {
        let i = self.offsets.binary_search(&offset).ok()?;
        let fns =
            &self.function_of[self.frames_start[i] as usize..self.frames_start[i + 1] as usize];
        Some((&self.frames[i], fns))
    }
}

/// The (name, system name, file) a function is told apart by.
fn function_key(f: &Frame) -> (&str, &str, &str) {
    (
        f.function.as_str(),
        f.system_name.as_str(),
        f.file.as_deref().unwrap_or(""),
    )
}

/// Symbolize a recording into a profile. Never fails: what cannot be resolved stays an
/// unknown frame carrying its module and offset, and the reason goes into the data quality.
pub fn build_profile(rec: &RawRecording, opts: &SymbolizerOptions) -> Profile {
    build_profile_with(&Symbolizer::new(opts.clone()), rec, opts)
}

/// [`build_profile`] with a caller-owned [`Symbolizer`], so binaries loaded for one recording
/// stay cached for the next.
pub fn build_profile_with(
    sym: &Symbolizer,
    rec: &RawRecording,
    opts: &SymbolizerOptions,
) -> Profile {
    build_profile_visiting(sym, rec, opts, None)
}

/// Where the stacks go: each stack with its values, to the visitor, together with the profile
/// being built, whose locations and functions include those of the stack by then.
pub type StackVisitor<'v> = &'v mut dyn FnMut(&Profile, &[LocationId], &[i64]);

/// [`build_profile_with`], handing each stack to `visit` instead of keeping it when a visitor
/// is given: the profile then carries everything but its samples (sample types, locations,
/// functions, mappings, data quality, metadata), and whoever needs only the stacks in passing
/// (a flamegraph's call tree) is spared storing and re-reading them. Stacks are visited in
/// the order [`build_profile_with`] adds them; two may have the same locations (recorded
/// apart, e.g. by thread id, with the same names).
pub fn build_profile_visiting(
    sym: &Symbolizer,
    rec: &RawRecording,
    opts: &SymbolizerOptions,
    visit: Option<StackVisitor<'_>>,
) -> Profile {
    let t_collect = crate::timing::phase("collect addresses");
    // 1. Every distinct frame once, with the unique user lookups per module (return addresses
    //    looked up at addr - 1), and each stack as a list of frame indices.
    let mut keys: Vec<ModuleKey> = Vec::new();
    let mut key_ix: FxHashMap<ModuleKey, usize> = FxHashMap::default();
    let mut wanted: Vec<FxHashSet<u64>> = Vec::new();
    let mut c = Collected {
        user: Vec::new(),
        kernel: Vec::new(),
        stacks: Vec::with_capacity(rec.stacks.len()),
        ids: Vec::new(),
    };
    let mut user_ix: FxHashMap<(u32, u64, bool), u32> = FxHashMap::default();
    let mut kernel_ix: FxHashMap<u64, u32> = FxHashMap::default();
    // Region (by address: `rec` is not modified here) → module index, None if not a file.
    let mut region_ix: FxHashMap<*const MappedRegion, Option<usize>> = FxHashMap::default();
    // Deterministic output: stacks in a stable order (the profile numbers locations,
    // functions and mappings as first met in it), and collected in that order so assembly
    // reads `stacks` and `ids` front to back.
    let mut sorted: Vec<(StackRef, StackTotals)> = rec.stacks.iter().collect();
    sorted.sort_unstable_by(|a, b| {
        (a.0.pid, a.0.tid, &a.0.user, &a.0.kernel).cmp(&(b.0.pid, b.0.tid, &b.0.user, &b.0.kernel))
    });
    for (k, t) in sorted {
        for &a in k.kernel.iter().filter(|&&a| a < PERF_CONTEXT_MAX) {
            let next = c.kernel.len() as u32;
            let id = *kernel_ix.entry(a).or_insert(next);
            if id == next {
                c.kernel.push(a);
            }
            c.ids.push(id);
        }
        let kernel_end = c.ids.len() as u32;
        let maps = rec.processes.get(&k.pid);
        for (i, &a) in k.user.iter().enumerate() {
            if a >= PERF_CONTEXT_MAX {
                continue;
            }
            let leaf = i == 0;
            if let Some(&id) = user_ix.get(&(k.pid, a, leaf)) {
                c.ids.push(id);
                continue;
            }
            let la = lookup_addr(a, i);
            let region = maps.and_then(|m| m.find(la));
            // The module of a region, found once per region (not a key built per frame).
            let module = region.and_then(|r| match region_ix.get(&(r as *const MappedRegion)) {
                Some(&ix) => ix,
                None => {
                    let ix = is_symbolizable(&r.path).then(|| {
                        let key = ModuleKey {
                            path: r.path.clone(),
                            build_id: r.build_id.clone(),
                        };
                        *key_ix.entry(key.clone()).or_insert_with(|| {
                            keys.push(key);
                            wanted.push(FxHashSet::default());
                            keys.len() - 1
                        })
                    });
                    region_ix.insert(r as *const MappedRegion, ix);
                    ix
                }
            });
            if let (Some(r), Some(ix)) = (region, module) {
                wanted[ix].insert(r.file_offset_of(la));
            }
            let id = c.user.len() as u32;
            c.user.push(UserFrame {
                pid: k.pid,
                addr: a,
                lookup: la,
                region,
                module,
            });
            user_ix.insert((k.pid, a, leaf), id);
            c.ids.push(id);
        }
        c.stacks.push(CollectedStack {
            pid: k.pid,
            tid: k.tid,
            truncated: k.truncated,
            totals: t,
            kernel_end,
            end: c.ids.len() as u32,
        });
    }
    drop(t_collect);
    // 2. Symbolize each module once, modules in parallel; kernel symbols meanwhile.
    let want_kernel = !c.kernel.is_empty();
    let kernel_symbols = || -> Option<Result<std::sync::Arc<Kallsyms>, String>> {
        if !want_kernel {
            return None;
        }
        let _t = crate::timing::phase("kallsyms");
        let p = opts.kallsyms.as_ref()?;
        if sym.options().kallsyms.as_ref() == Some(p) {
            sym.kallsyms()
        } else {
            Some(Kallsyms::load_cached(p, opts.section_cache.as_deref()).map(std::sync::Arc::new))
        }
    };
    let (results, kallsyms) = symbolize_modules(sym, &keys, wanted, opts, kernel_symbols);

    // 3. Kernel symbols.
    let mut notes: Vec<String> = rec.notes.clone();
    if !rec.kernel_allowed {
        notes.push(
            "kernel frames not recorded (the event excluded the kernel: a `:u` event, or \
             perf_event_paranoid / no CAP_PERFMON): user stacks only"
                .into(),
        );
    }
    let kallsyms = match kallsyms {
        _ if !want_kernel => None,
        Some(Ok(k)) => Some(k),
        Some(Err(e)) => {
            notes.push(format!("kernel symbols unavailable: {e}"));
            None
        }
        None => {
            notes.push("no kallsyms given: kernel frames left unsymbolized".into());
            None
        }
    };
    let kallsyms = kallsyms.as_deref();
    let symbols = Symbols {
        keys: &keys,
        results: &results,
        kallsyms,
    };
    let profile = assemble(rec, opts, &c, symbols, notes, visit);
    // The symbolized frames are thousands of small strings: left for exit to reclaim.
    crate::exit::drop_later(results);
    profile
}

/// What step 1 of [`build_profile_with`] collects: every distinct frame once, and each stack
/// as indices into them, in the profile's order. Assembly then reads two compact arrays front
/// to back; walking the recorded stacks again (scattered allocations, visited in sorted
/// order) and hashing every frame cost it a cache miss or two per frame, about half its time.
struct Collected<'r> {
    /// Distinct user frames, by (pid, address, is leaf).
    user: Vec<UserFrame<'r>>,
    /// Distinct kernel addresses (context markers left out).
    kernel: Vec<u64>,
    /// The stacks, in a stable order.
    stacks: Vec<CollectedStack>,
    /// Frame indices of the stacks one after another, each leaf first: its kernel frames
    /// (into `kernel`), then its user frames (into `user`).
    ids: Vec<u32>,
}

/// A distinct user frame: the address, the one looked up, its region and module (if any).
struct UserFrame<'r> {
    pid: u32,
    addr: u64,
    lookup: u64,
    region: Option<&'r MappedRegion>,
    module: Option<usize>,
}

/// A stack of [`Collected::stacks`]: its frames in `ids` end at `end` (and start where the
/// previous stack's end), its user frames start at `kernel_end`.
struct CollectedStack {
    pid: u32,
    tid: u32,
    truncated: bool,
    totals: StackTotals,
    kernel_end: u32,
    end: u32,
}

/// Symbolize each module's wanted offsets once, modules in parallel.
///
/// The module with the most addresses starts on one thread while the others take the rest,
/// largest first, with the kernel symbols after the modules of 64 addresses or more: a big
/// library still to be indexed (tens of ms, mostly one thread inflating its debug sections)
/// then starts at once instead of after the small jobs, and the first thread's lookups are
/// shared out as the others finish.
fn symbolize_modules<K: Send + Sync>(
    sym: &Symbolizer,
    keys: &[ModuleKey],
    wanted: Vec<FxHashSet<u64>>,
    opts: &SymbolizerOptions,
    kernel: impl Fn() -> K + Sync,
) -> (Vec<ModuleResult>, K) {
    let _t = crate::timing::phase("symbolize modules");
    let total = keys.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let wanted: Vec<Vec<u64>> = wanted
        .into_iter()
        .map(|w| {
            let mut offs: Vec<u64> = w.into_iter().collect();
            offs.sort_unstable();
            offs
        })
        .collect();
    enum Task {
        Module(usize),
        Kernel,
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(wanted[i].len()));
    // The kernel symbols go after the first module and every module of 64 addresses or more.
    let big = order
        .iter()
        .skip(1)
        .take_while(|&&i| wanted[i].len() >= 64)
        .count();
    let mut tasks: Vec<Task> = order.into_iter().map(Task::Module).collect();
    tasks.insert((1 + big).min(tasks.len()), Task::Kernel);
    let results: Vec<std::sync::OnceLock<ModuleResult>> =
        keys.iter().map(|_| std::sync::OnceLock::new()).collect();
    let kernel_out = std::sync::OnceLock::new();
    let run = |t: &Task| match *t {
        Task::Kernel => {
            let _ = kernel_out.set(kernel());
        }
        Task::Module(i) => {
            let r = symbolize_module(sym, &keys[i], &wanted[i]);
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if let Some(p) = &opts.progress {
                p(n, total, &keys[i].path);
            }
            let _ = results[i].set(r);
        }
    };
    if let Some((first, rest)) = tasks.split_first() {
        rayon::join(
            || run(first),
            || rest.par_iter().with_max_len(1).for_each(run),
        );
    }
    let results = results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .unwrap_or_else(|| ModuleResult::unavailable(Unavailable::Missing))
        })
        .collect();
    let kernel = kernel_out.into_inner().unwrap_or_else(&kernel);
    (results, kernel)
}

/// Symbolize one module's sorted offsets.
fn symbolize_module(sym: &Symbolizer, key: &ModuleKey, offs: &[u64]) -> ModuleResult {
    let t0 = std::time::Instant::now();
    let loaded = sym.module(key);
    crate::timing::report(format_args!("  load {}", key.path), t0);
    match loaded {
        Ok(m) => {
            let t1 = std::time::Instant::now();
            let frames = m.symbolize_offsets(offs);
            let mut numbers: FxHashMap<(&str, &str, &str), u32> = FxHashMap::default();
            let mut function_of = Vec::with_capacity(frames.len() * 2);
            let mut frames_start = Vec::with_capacity(frames.len() + 1);
            for fs in &frames {
                frames_start.push(function_of.len() as u32);
                for f in fs {
                    let next = numbers.len() as u32;
                    function_of.push(*numbers.entry(function_key(f)).or_insert(next));
                }
            }
            frames_start.push(function_of.len() as u32);
            let function_count = numbers.len();
            drop(numbers);
            crate::timing::report(
                format_args!("  lookup {} addresses in {}", offs.len(), key.path),
                t1,
            );
            ModuleResult {
                offsets: offs.to_vec(),
                frames,
                function_of,
                frames_start,
                function_count,
                status: Ok((
                    m.has_functions(),
                    m.has_lines(),
                    m.image().build_id.as_deref().map(hex),
                )),
            }
        }
        Err(e) => ModuleResult::unavailable(e),
    }
}

/// What steps 2 and 3 of [`build_profile_with`] found: per module its key and lookup results
/// (in the same order), and the kernel symbols if any.
struct Symbols<'s> {
    keys: &'s [ModuleKey],
    results: &'s [ModuleResult],
    kallsyms: Option<&'s Kallsyms>,
}

/// Step 4 of [`build_profile_with`]: the profile from the stacks and the symbolized modules.
fn assemble(
    rec: &RawRecording,
    opts: &SymbolizerOptions,
    c: &Collected<'_>,
    symbols: Symbols<'_>,
    mut notes: Vec<String>,
    mut visit: Option<StackVisitor<'_>>,
) -> Profile {
    let Symbols {
        keys,
        results,
        kallsyms,
    } = symbols;
    // 4. Assemble the profile.
    let _t_a = crate::timing::phase("assemble profile");
    let period_kind = if rec.period_is_time {
        ValueType::new("cpu", "nanoseconds")
    } else {
        let ev = if rec.event.is_empty() {
            "events"
        } else {
            &rec.event
        };
        ValueType::new(ev, "count")
    };
    let mut b = ProfileBuilder::new(vec![ValueType::samples(), period_kind.clone()]);
    b.profile_mut().default_sample_type = Some(1);
    let function_count: usize = results.iter().map(|r| r.function_count).sum();
    // Stacks visited are not kept.
    let samples = if visit.is_some() { 0 } else { c.stacks.len() };
    b.reserve(samples, c.user.len() + c.kernel.len(), function_count);
    let mut ids = Ids {
        module_functions: results
            .iter()
            .map(|r| vec![None; r.function_count])
            .collect(),
        ..Ids::default()
    };
    ids.functions.reserve(function_count);
    let mut kernel_mapping: Option<MappingId> = None;
    // Per distinct frame: its location once made, and (user frames) whether and why it stayed
    // unresolved.
    let mut user_locs: Vec<Option<(LocationId, Unknown)>> = vec![None; c.user.len()];
    let mut kernel_locs: Vec<Option<(LocationId, bool)>> = vec![None; c.kernel.len()];
    // Thread id → its root frame (the thread or process name).
    let mut root_frames: FxHashMap<u32, LocationId> = FxHashMap::default();
    let mut perf_maps: FxHashMap<u32, Option<PerfMap>> = FxHashMap::default();
    let mut quality = DataQuality {
        lost_samples: rec.lost,
        ..Default::default()
    };
    let mut unresolved_by_module: BTreeMap<usize, u64> = BTreeMap::new();
    let mut unmapped_frames = 0u64;
    let mut kernel_unknown = 0u64;

    let mut stack: Vec<LocationId> = Vec::new();
    let mut start = 0usize;
    for s in &c.stacks {
        stack.clear();
        let w = s.totals.count;
        let (kernel, user) = c.ids[start..s.end as usize].split_at(s.kernel_end as usize - start);
        start = s.end as usize;
        for &f in kernel {
            let (id, known) = *kernel_locs[f as usize].get_or_insert_with(|| {
                let a = c.kernel[f as usize];
                let m = *kernel_mapping.get_or_insert_with(|| {
                    let (lo, hi) = kallsyms.as_ref().map(|k| k.range()).unwrap_or((0, 0));
                    b.mapping(Mapping {
                        start: lo,
                        limit: if hi > lo { hi } else { u64::MAX },
                        offset: 0,
                        file: "[kernel.kallsyms]".into(),
                        has_functions: kallsyms.is_some(),
                        ..Default::default()
                    })
                });
                let lines = match kallsyms.as_ref().and_then(|k| k.lookup(a)) {
                    Some((name, _)) => {
                        let f = b.function(Function {
                            name: name.to_string(),
                            system_name: name.to_string(),
                            ..Default::default()
                        });
                        vec![Line {
                            function: f,
                            line: 0,
                            column: 0,
                        }]
                    }
                    None => Vec::new(),
                };
                let known = !lines.is_empty();
                (
                    b.location(Location {
                        mapping: Some(m),
                        address: a,
                        lines,
                        is_folded: false,
                    }),
                    known,
                )
            });
            quality.total_frames += w;
            if !known {
                quality.unknown_frames += w;
                kernel_unknown += w;
            }
            stack.push(id);
        }
        for &f in user {
            let (id, unknown) = *user_locs[f as usize].get_or_insert_with(|| {
                let u = &c.user[f as usize];
                let jit = match (&opts.perf_map_dir, u.region) {
                    (Some(dir), r) if r.is_none_or(|r| !is_symbolizable(&r.path)) => perf_maps
                        .entry(u.pid)
                        .or_insert_with(|| PerfMap::load(&dir.join(format!("perf-{}.map", u.pid))))
                        .as_ref(),
                    _ => None,
                };
                user_location(&mut b, &mut ids, u, results, jit)
            });
            quality.total_frames += w;
            match unknown {
                Unknown::No => {}
                Unknown::InModule(ix) => {
                    quality.unknown_frames += w;
                    *unresolved_by_module.entry(ix).or_default() += w;
                }
                Unknown::Unmapped => {
                    quality.unknown_frames += w;
                    unmapped_frames += w;
                }
            }
            stack.push(id);
        }
        if s.truncated {
            quality.truncated_stacks += w;
        }
        if opts.thread_root_frames {
            let root = *root_frames.entry(s.tid).or_insert_with(|| {
                let comm = rec
                    .threads
                    .get(&s.tid)
                    .filter(|s| !s.is_empty())
                    .or_else(|| {
                        rec.processes
                            .get(&s.pid)
                            .map(|p| &p.comm)
                            .filter(|s| !s.is_empty())
                    });
                match comm {
                    Some(c) => b.frame(c),
                    None => b.frame(&format!("pid {}", s.pid)),
                }
            });
            stack.push(root);
        }
        let values = [s.totals.count as i64, s.totals.period as i64];
        match visit.as_mut() {
            Some(v) => v(b.profile(), &stack, &values),
            None => b.add_sample(&stack, &values),
        }
    }

    // Notes on why frames stayed unknown, with counts.
    for (ix, n) in &unresolved_by_module {
        let path = &keys[*ix].path;
        let why = match &results[*ix].status {
            Err(Unavailable::Missing) => "binary not found".to_string(),
            Err(Unavailable::BuildIdMismatch { found, recorded }) => {
                format!("build id mismatch (file {found}, recorded {recorded}); not used")
            }
            Err(Unavailable::Unreadable(e)) => format!("unreadable: {e}"),
            Ok((false, _, _)) => "no symbols".to_string(),
            Ok(_) => "addresses not covered by its symbols".to_string(),
        };
        notes.push(format!("{path}: {why} ({n} frames unresolved)"));
    }
    if unmapped_frames > 0 {
        notes.push(format!(
            "{unmapped_frames} frames in anonymous or unmapped memory (JIT code without a perf map, unknown maps)"
        ));
    }
    if kernel_unknown > 0 && kallsyms.is_some() {
        notes.push(format!(
            "{kernel_unknown} kernel frames outside known kernel symbols"
        ));
    }
    quality.notes = notes;

    let p = b.profile_mut();
    p.quality = quality;
    p.time_nanos = rec.start_time_nanos;
    p.duration_nanos = rec.duration_nanos;
    let total_count = rec.sample_count();
    let total_period: u64 = rec.stacks.iter().map(|(_, t)| t.period).sum();
    p.period = match rec.frequency {
        Some(f) if f > 0 && rec.period_is_time => (1_000_000_000 / f) as i64,
        _ if total_count > 0 => (total_period / total_count) as i64,
        _ => 0,
    };
    p.period_type = Some(period_kind);
    for (k, v) in &rec.metadata {
        p.metadata.insert(k.clone(), v.clone());
    }
    if !rec.event.is_empty() {
        p.metadata
            .entry("event".into())
            .or_insert_with(|| rec.event.clone());
    }
    if let Some(f) = rec.frequency {
        p.metadata
            .entry("frequency".into())
            .or_insert_with(|| f.to_string());
    }
    if opts.thread_root_frames {
        crate::model::roots::mark_thread_roots(p);
    }
    b.finish()
}

/// The address to look up: return addresses (every user frame but the leaf) point after the
/// call instruction, so the call itself is at `addr - 1`.
fn lookup_addr(a: u64, index: usize) -> u64 {
    if index == 0 {
        a
    } else {
        a.saturating_sub(1)
    }
}

/// Whether a user location stayed unresolved, and where.
#[derive(Clone, Copy)]
enum Unknown {
    No,
    /// In a binary (index into the module list) that could not resolve it.
    InModule(usize),
    /// In anonymous or unmapped memory.
    Unmapped,
}

/// Ids already given out while assembling, keyed without copying names: per mapped region
/// its mapping, per (name, system name, file) its function, and per module the function of
/// each of its numbered functions (see [`ModuleResult::function_of`]).
#[derive(Default)]
struct Ids<'r> {
    regions: FxHashMap<*const MappedRegion, MappingId>,
    module_functions: Vec<Vec<Option<FunctionId>>>,
    mappings: FxHashMap<(u64, u64, u64, &'r str), MappingId>,
    functions: FxHashMap<(&'r str, &'r str, &'r str), FunctionId>,
}

fn user_location<'r>(
    b: &mut ProfileBuilder,
    ids: &mut Ids<'r>,
    frame: &UserFrame<'r>,
    results: &'r [ModuleResult],
    jit: Option<&PerfMap>,
) -> (LocationId, Unknown) {
    let (addr, lookup, ix) = (frame.addr, frame.lookup, frame.module);
    let jit_lines = |b: &mut ProfileBuilder| -> Vec<Line> {
        match jit.and_then(|j| j.lookup(lookup)) {
            Some(name) => {
                let f = b.function(Function {
                    name: name.to_string(),
                    system_name: name.to_string(),
                    ..Default::default()
                });
                vec![Line {
                    function: f,
                    line: 0,
                    column: 0,
                }]
            }
            None => Vec::new(),
        }
    };
    let Some(r) = frame.region else {
        let lines = jit_lines(b);
        let unknown = if lines.is_empty() {
            Unknown::Unmapped
        } else {
            Unknown::No
        };
        return (
            b.location(Location {
                address: addr,
                lines,
                ..Default::default()
            }),
            unknown,
        );
    };
    let m = match ids.regions.get(&(r as *const MappedRegion)) {
        Some(&m) => m,
        None => {
            let res = ix.map(|i| &results[i]);
            let mk = (r.start, r.end, r.file_offset, r.path.as_str());
            let m = match ids.mappings.get(&mk) {
                Some(&m) => m,
                None => {
                    let (has_f, has_l, file_bid) = match res.map(|r| &r.status) {
                        Some(Ok((f, l, bid))) => (*f, *l, bid.clone()),
                        _ => (false, false, None),
                    };
                    let m = b.mapping(Mapping {
                        start: r.start,
                        limit: r.end,
                        offset: r.file_offset,
                        file: r.path.clone(),
                        build_id: r
                            .build_id
                            .as_deref()
                            .map(hex)
                            .or(file_bid)
                            .unwrap_or_default(),
                        has_functions: has_f,
                        has_filenames: has_l,
                        has_line_numbers: has_l,
                        has_inline_frames: has_l,
                    });
                    ids.mappings.insert(mk, m);
                    m
                }
            };
            ids.regions.insert(r as *const MappedRegion, m);
            m
        }
    };
    let mut lines = Vec::new();
    if let Some((i, (frames, numbers))) =
        ix.and_then(|i| Some((i, results[i].frames_at(r.file_offset_of(lookup))?)))
    {
        lines.reserve_exact(frames.len());
        for (f, &n) in frames.iter().zip(numbers) {
            let slot = &mut ids.module_functions[i][n as usize];
            let func = *slot.get_or_insert_with(|| {
                *ids.functions.entry(function_key(f)).or_insert_with(|| {
                    b.function(Function {
                        name: f.function.clone(),
                        system_name: f.system_name.clone(),
                        filename: f.file.clone().unwrap_or_default(),
                        start_line: 0,
                    })
                })
            });
            lines.push(Line {
                function: func,
                line: f.line as i64,
                column: f.column as i64,
            });
        }
    }
    if lines.is_empty() && ix.is_none() {
        lines = jit_lines(b);
    }
    let unknown = match ix {
        _ if !lines.is_empty() => Unknown::No,
        Some(ix) => Unknown::InModule(ix),
        None => Unknown::Unmapped,
    };
    (
        b.location(Location {
            mapping: Some(m),
            address: addr,
            lines,
            is_folded: false,
        }),
        unknown,
    )
}
