//! `perf.data` reader: the fast path from `perf record` to a profile, without `perf script`.
//!
//! Reads files written by `perf record` (also zstd-compressed `-z` files and piped `-o -`
//! streams) with linux-perf-data, replays the side-band records (MMAP/MMAP2/COMM/FORK/EXIT)
//! per process, and turns the samples of one event into a [`RawRecording`]:
//! - frame-pointer (`-g`) callchains are split into kernel and user parts at the
//!   `PERF_CONTEXT_*` markers;
//! - DWARF (`--call-graph dwarf`) samples carry user registers and a stack copy, unwound with
//!   the same framehop unwinder as `profdiff record` ([`crate::record::unwind`]);
//! - build ids come from the header (or MMAP2 records) so binaries can be found by build id;
//! - LOST / LOST_SAMPLES records feed the data-quality counters.
//!
//! The recording is then symbolized by [`crate::symbolize::build_profile`], like a live one.

use crate::error::ParseError;
use crate::formats::ReadOptions;
use crate::model::Profile;
use crate::record::raw::{MappedRegion, RawRecording, StackKey};
use crate::record::unwind::{
    perf_regs, ModuleCache, ProcessUnwinder, UnwindCache, UnwindOptions, Unwound, UserRegs,
};
use crate::symbolize::{
    build_profile_visiting, Prefetcher, StackVisitor, Symbolizer, SymbolizerOptions,
};
use linux_perf_data::linux_perf_event_reader::{
    CpuMode, EventRecord, Mmap2FileId, PerfEventType, RawData, RawEventRecord, RecordParseInfo,
    RecordType, SampleFormat, SamplingPolicy, SoftwareCounterType,
};
use linux_perf_data::{DsoKey, PerfFileReader, PerfFileRecord};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::Arc;

/// Callchain context markers (include/uapi/linux/perf_event.h); every value at or above
/// `PERF_CONTEXT_MAX` is a marker, not an address.
const PERF_CONTEXT_KERNEL: u64 = -128i64 as u64;
const PERF_CONTEXT_USER: u64 = -512i64 as u64;
const PERF_CONTEXT_MAX: u64 = -4095i64 as u64;

/// Read a perf.data file and symbolize it.
///
/// Symbolization starts while the records are still being read: once the header is known, a
/// worker thread loads and indexes each executable mapping as its MMAP record goes by, on the
/// core the (single-threaded) reading leaves free. The kernel symbols are read later, next to
/// the lookups.
pub fn parse(data: &[u8], opts: &ReadOptions) -> Result<Profile, ParseError> {
    parse_visiting(data, opts, None)
}

/// Samples that carry counter reads (`PERF_SAMPLE_READ`: an event group sampled through its
/// leader, `perf record -e '{cycles,page-faults}:S'`) are laid out differently from what the
/// record parser expects, and the other events' counts live in those reads: refused, pointing
/// to `perf script`, whose output spells each event's samples out.
fn refuse_sample_read(attrs: &[linux_perf_data::AttributeDescription]) -> Result<(), ParseError> {
    let reads = attrs
        .iter()
        .any(|a| a.attributes().sample_format.contains(SampleFormat::READ));
    if reads {
        crate::parse_bail!(
            "its samples carry event-group counter reads (PERF_SAMPLE_READ, as `perf record -e \
             '{{a,b}}:S'` records), which profdiff does not read from perf.data; give it \
             `perf script` output of this file instead"
        );
    }
    Ok(())
}

/// [`parse`], handing the stacks to `visit` instead of keeping them when a visitor is given
/// (see [`build_profile_visiting`]).
pub fn parse_visiting(
    data: &[u8],
    opts: &ReadOptions,
    visit: Option<StackVisitor<'_>>,
) -> Result<Profile, ParseError> {
    let sym_opts = |rec: &RawRecording| SymbolizerOptions {
        search_paths: opts.symfs.clone(),
        kallsyms: recorded_kallsyms(rec),
        debug_info: opts.debug_info,
        line_info: opts.line_info,
        ..SymbolizerOptions::default()
    };
    let mut early: Option<(Arc<Symbolizer>, Arc<Prefetcher>, SymbolizerOptions)> = None;
    let t = crate::timing::phase("perf.data read + unwind");
    let rec = read_raw_with(data, opts, &mut |event| match event {
        ReadEvent::Header(rec) => {
            let so = sym_opts(rec);
            let sym = Arc::new(Symbolizer::new(so.clone()));
            // Binaries only: their DWARF indexes gate the lookups that start when reading
            // ends, while the kernel symbols are needed only after those lookups (they are
            // read alongside them, and only if there are kernel frames).
            let p = Prefetcher::start_at(sym.clone(), false, 0);
            early = Some((sym, p, so));
        }
        ReadEvent::Mapping(region) => {
            if let Some((_, p, _)) = &early {
                p.want(&region.path, region.build_id.as_deref());
            }
        }
        ReadEvent::Hits(region, n) => {
            if let Some((_, p, _)) = &early {
                p.hits(&region.path, region.build_id.as_deref(), n);
            }
        }
    })?;
    drop(t);
    // The symbolizer carries `rec.notes` into the profile's data-quality notes.
    let profile = match early {
        Some((sym, p, so)) => {
            // Loads in progress are finished (the symbolizer waits for them); the rest is
            // done by the parallel symbolization.
            p.finish();
            let profile = build_profile_visiting(&sym, &rec, &so, visit);
            // Freeing the recording and unmapping the binaries takes ~10 ms with a big Rust
            // binary (on another thread measured no faster: munmap holds the address space
            // lock the caller's page faults need); the binary leaves it to exit.
            crate::exit::drop_later((sym, p, rec));
            profile
        }
        None => {
            let so = sym_opts(&rec);
            build_profile_visiting(&Symbolizer::new(so.clone()), &rec, &so, visit)
        }
    };
    Ok(profile)
}

/// What [`read_raw_with`] reports while reading.
pub enum ReadEvent<'r> {
    /// The header and its features are read (regular files only, not pipe mode).
    Header(&'r RawRecording),
    /// An executable mapping was recorded.
    Mapping(&'r MappedRegion),
    /// `n` more samples had their user-space leaf in this mapping (reported in batches).
    Hits(&'r MappedRegion, u64),
}

/// Kernel symbols for the recorded kernel: the kallsyms copy perf saved in its build-id cache
/// (`~/.debug/[kernel.kallsyms]/<id>/kallsyms`), else `/proc/kallsyms` when the running kernel
/// is the recorded one (same build id). Otherwise kernel frames stay `[kernel.kallsyms]`.
fn recorded_kallsyms(rec: &RawRecording) -> Option<PathBuf> {
    let id = rec
        .metadata
        .iter()
        .find(|(k, _)| k == "kernel_build_id")
        .map(|(_, v)| v.clone())?;
    if let Some(home) = std::env::var_os("HOME") {
        let p = PathBuf::from(home)
            .join(".debug/[kernel.kallsyms]")
            .join(&id)
            .join("kallsyms");
        if p.is_file() {
            return Some(p);
        }
    }
    let running = running_kernel_build_id()?;
    (id.starts_with(&running) && !running.is_empty()).then(|| PathBuf::from("/proc/kallsyms"))
}

/// The running kernel's GNU build id, from the ELF notes in `/sys/kernel/notes`.
pub(crate) fn running_kernel_build_id() -> Option<String> {
    let notes = std::fs::read("/sys/kernel/notes").ok()?;
    let mut i = 0usize;
    let u32_at = |i: usize| -> Option<usize> {
        Some(u32::from_ne_bytes(notes.get(i..i + 4)?.try_into().ok()?) as usize)
    };
    while i + 12 <= notes.len() {
        let (namesz, descsz, ty) = (u32_at(i)?, u32_at(i + 4)?, u32_at(i + 8)?);
        let name_start = i + 12;
        let desc_start = name_start + namesz.div_ceil(4) * 4;
        let next = desc_start + descsz.div_ceil(4) * 4;
        let name = notes.get(name_start..name_start + namesz)?;
        if ty == 3 && name.starts_with(b"GNU") {
            let desc = notes.get(desc_start..desc_start + descsz)?;
            return Some(desc.iter().map(|b| format!("{b:02x}")).collect());
        }
        i = next;
    }
    None
}

/// A DWARF-mode sample waiting to be unwound (samples are unwound in parallel batches; each
/// holds the process's unwinder as it was at the sample's time).
struct UnwindJob {
    key: StackKey,
    period: u64,
    regs: UserRegs,
    stack: Vec<u8>,
    unwinder: Arc<ProcessUnwinder>,
}

/// Unwind a batch in parallel and add the samples to the recording (in batch order).
fn flush_jobs(rec: &mut RawRecording, jobs: &mut Vec<UnwindJob>, truncated: &mut u64) {
    let jobs = std::mem::take(jobs);
    let min_len = jobs.len().div_ceil(2 * rayon::current_num_threads()).max(1);
    let done: Vec<(StackKey, u64)> = jobs
        .into_par_iter()
        // A few pieces per thread: each piece builds an unwind cache (a large zeroed table).
        .with_min_len(min_len)
        .map_init(
            || (UnwindCache::default(), Unwound::default()),
            |(cache, out), mut j| {
                j.unwinder.unwind(j.regs, &j.stack, cache, out);
                if !out.frames.is_empty() {
                    j.key.user.clear();
                    j.key.user.extend_from_slice(&out.frames);
                }
                j.key.truncated = out.truncated;
                (j.key, j.period)
            },
        )
        .collect();
    for (k, p) in done {
        if k.truncated {
            *truncated += 1;
        }
        rec.add(&k, p);
    }
}

/// Stack bytes buffered before a batch is unwound (bounds memory on huge recordings).
const JOB_BYTES: usize = 64 << 20;

/// Read the samples of the selected event into a raw (unsymbolized) recording.
pub fn read_raw(data: &[u8], opts: &ReadOptions) -> Result<RawRecording, ParseError> {
    read_raw_with(data, opts, &mut |_| {})
}

/// [`read_raw`], reporting to `on` as it reads: the header, each executable mapping, and
/// (in batches) which mappings the samples land in.
pub fn read_raw_with(
    data: &[u8],
    opts: &ReadOptions,
    on: &mut dyn FnMut(ReadEvent<'_>),
) -> Result<RawRecording, ParseError> {
    // The parser is third-party code fed with untrusted bytes: a panic in it becomes an error.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_raw_inner(data, opts, on, true)
    })) {
        Ok(r) => r,
        Err(_) => Err(ParseError::new(
            "the file is corrupt (the perf.data parser failed on it)",
        )),
    }
}

fn is_pipe_format(data: &[u8]) -> bool {
    // A pipe header is only magic + size (16 bytes); a file header is 104 bytes.
    data.len() >= 16
        && (data.starts_with(b"PERFILE2")
            && u64::from_le_bytes(data[8..16].try_into().unwrap()) == 16
            || data.starts_with(b"2ELIFREP")
                && u64::from_be_bytes(data[8..16].try_into().unwrap()) == 16)
}

fn perf_error(e: linux_perf_data::Error) -> ParseError {
    use linux_perf_data::Error as E;
    match e {
        E::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ParseError::new("the file is truncated (unexpected end of data)")
        }
        E::Read(_) => ParseError::new(format!("the file is truncated or corrupt ({e})")),
        other => ParseError::new(format!("corrupt perf.data: {other}")),
    }
}

/// [`read_raw`] with every record from linux-perf-data's reader, never borrowed in order from
/// the file by [`for_each_in_order`] (tests compare the two).
#[doc(hidden)]
pub fn read_raw_through_reader(
    data: &[u8],
    opts: &ReadOptions,
) -> Result<RawRecording, ParseError> {
    read_raw_inner(data, opts, &mut |_| {}, false)
}

fn read_raw_inner(
    data: &[u8],
    opts: &ReadOptions,
    on: &mut dyn FnMut(ReadEvent<'_>),
    in_order_from_file: bool,
) -> Result<RawRecording, ParseError> {
    if data.len() < 16 {
        crate::parse_bail!(
            "the file is truncated ({} bytes, shorter than a perf.data header)",
            data.len()
        );
    }
    if is_pipe_format(data) {
        super::perf_header::check_pipe(data)?;
    } else {
        super::perf_header::check(data)?;
    }
    let reader = if is_pipe_format(data) {
        PerfFileReader::parse_pipe(Cursor::new(data))
    } else {
        PerfFileReader::parse_file(Cursor::new(data))
    };
    let PerfFileReader {
        mut perf_file,
        mut record_iter,
    } = reader.map_err(perf_error)?;

    let attrs = perf_file.event_attributes();
    if attrs.is_empty() {
        crate::parse_bail!("the file declares no events");
    }
    refuse_sample_read(attrs)?;
    let names: Vec<String> = attrs
        .iter()
        .enumerate()
        .map(|(i, a)| event_name(a.name(), &a.attributes().type_, i))
        .collect();
    let chosen = match &opts.event {
        None => 0,
        Some(want) => names
            .iter()
            .position(|n| n == want || n.split(':').next() == Some(want.as_str()))
            .ok_or_else(|| {
                ParseError::new(format!(
                    "no event '{want}' in this file (it has: {})",
                    names.join(", ")
                ))
            })?,
    };
    let attr = *attrs[chosen].attributes();
    let parse_info = RecordParseInfo::new(&attr, linux_perf_data::Endianness::LittleEndian);

    let mut rec = RawRecording {
        event: names[chosen].clone(),
        ..Default::default()
    };
    rec.period_is_time = matches!(
        attr.type_,
        PerfEventType::Software(SoftwareCounterType::CpuClock | SoftwareCounterType::TaskClock)
    );
    let fixed_period = match attr.sampling_policy {
        SamplingPolicy::Frequency(f) => {
            rec.frequency = Some(f);
            1
        }
        SamplingPolicy::Period(p) => p.get(),
        SamplingPolicy::NoSampling => 1,
    };
    rec.kernel_allowed = !attr
        .flags
        .contains(linux_perf_data::linux_perf_event_reader::AttrFlags::EXCLUDE_KERNEL);
    rec.metadata.push(("tool".into(), "perf record".into()));
    rec.metadata.push(("event".into(), rec.event.clone()));
    if let Ok(Some(cmd)) = perf_file.cmdline() {
        rec.metadata.push(("command".into(), cmd.join(" ")));
        if let Some(kind) = capture_kind(&cmd) {
            rec.metadata.push(("capture".into(), kind.into()));
        }
    }
    if let Ok(Some(h)) = perf_file.hostname() {
        rec.metadata.push(("host".into(), h.to_string()));
    }
    if let Ok(Some(v)) = perf_file.perf_version() {
        rec.metadata.push(("perf_version".into(), v.to_string()));
    }
    if let Ok(Some(v)) = perf_file.os_release() {
        rec.metadata.push(("os_release".into(), v.to_string()));
    }
    if names.len() > 1 {
        rec.metadata.push(("events".into(), names.join(", ")));
    }

    // Build ids from the header, by recorded path.
    let mut build_ids: FxHashMap<Vec<u8>, Vec<u8>> = FxHashMap::default();
    if let Ok(ids) = perf_file.build_ids() {
        for (key, info) in ids {
            if matches!(key, DsoKey::Kernel) {
                let hex: String = info.build_id.iter().map(|b| format!("{b:02x}")).collect();
                rec.metadata.push(("kernel_build_id".into(), hex));
            }
            build_ids.insert(info.path, trim_build_id(info.build_id));
        }
    }
    let wall_clock = perf_file.clock_data().ok().flatten();

    let unwind_opts = UnwindOptions {
        search_paths: opts.symfs.clone(),
        ..Default::default()
    };
    let modules = ModuleCache::new(unwind_opts);
    let mut procs: FxHashMap<u32, Arc<ProcessUnwinder>> = FxHashMap::default();
    let mut jobs: Vec<UnwindJob> = Vec::new();
    let mut job_bytes = 0usize;
    let dwarf_mode = attr.sample_regs_user & perf_regs::UNWIND_MASK == perf_regs::UNWIND_MASK
        && attr.sample_stack_user > 0;
    let (mut first_ts, mut last_ts) = (u64::MAX, 0u64);
    // Samples per (pid, mapping start) of their user leaf since the last report.
    let mut hits: FxHashMap<(u32, u64), u64> = FxHashMap::default();
    let mut hit_samples = 0u32;
    let report_hits = |rec: &RawRecording,
                       hits: &mut FxHashMap<(u32, u64), u64>,
                       on: &mut dyn FnMut(ReadEvent<'_>)| {
        for ((pid, start), n) in hits.drain() {
            if let Some(r) = rec.processes.get(&pid).and_then(|m| m.find(start)) {
                on(ReadEvent::Hits(r, n));
            }
        }
    };
    let mut scratch = StackKey {
        pid: 0,
        tid: 0,
        kernel: Vec::new(),
        user: Vec::new(),
        truncated: false,
    };
    let mut samples_other_events = 0u64;
    let mut unwind_truncated = 0u64;
    if !is_pipe_format(data) {
        on(ReadEvent::Header(&rec));
    }

    // A mapping: announced to `on` when executable, added to the process (and to its
    // unwinder in DWARF mode).
    let mapped = |on: &mut dyn FnMut(ReadEvent<'_>),
                  rec: &mut RawRecording,
                  procs: &mut FxHashMap<u32, Arc<ProcessUnwinder>>,
                  pid: i32,
                  region: MappedRegion,
                  exec: bool| {
        if exec {
            on(ReadEvent::Mapping(&region));
        }
        add_mapping(rec, procs, &modules, pid, region, dwarf_mode && exec);
    };

    // One record, in the order perf's rounds sort them.
    let mut handle = |attr_index: usize, raw: RawEventRecord<'_>| -> Result<(), ParseError> {
        if raw.record_type == RecordType::LOST_SAMPLES {
            // struct { u64 lost; struct sample_id; }
            if let Some(b) = raw.data.get(0..8) {
                let b = b.as_slice();
                rec.lost += u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
            }
            return Ok(());
        }
        if let Some(e) = mmap2_build_id_too_long(&raw) {
            return Err(ParseError::new(e));
        }
        let parsed = match raw.parse() {
            Ok(p) => p,
            Err(e) => {
                return Err(ParseError::new(format!(
                    "corrupt {:?} record: {e}",
                    raw.record_type
                )))
            }
        };
        match parsed {
            EventRecord::Sample(s) => {
                if attr_index != chosen {
                    samples_other_events += 1;
                    return Ok(());
                }
                if let Some(t) = s.timestamp {
                    first_ts = first_ts.min(t);
                    last_ts = last_ts.max(t);
                }
                let pid = s.pid.unwrap_or(-1) as u32;
                let tid = s.tid.unwrap_or(-1) as u32;
                let period = s.period.unwrap_or(fixed_period);
                // The stack is built in `scratch` (buffers reused from sample to sample) and
                // copied only when new.
                scratch.pid = pid;
                scratch.tid = tid;
                scratch.truncated = false;
                let (kernel, user) = (&mut scratch.kernel, &mut scratch.user);
                kernel.clear();
                user.clear();
                match &s.callchain {
                    Some(cc) => split_callchain(
                        (0..cc.len()).filter_map(|i| cc.get(i)),
                        s.cpu_mode,
                        kernel,
                        user,
                    ),
                    None => {
                        if let Some(ip) = s.ip {
                            if is_kernel_mode(s.cpu_mode) {
                                kernel.push(ip);
                            } else {
                                user.push(ip);
                            }
                        }
                    }
                }
                // Which binary the sample landed in, for the prefetcher's order.
                let leaf = scratch
                    .user
                    .first()
                    .copied()
                    .or(s.ip.filter(|_| !is_kernel_mode(s.cpu_mode)));
                if let Some(ip) = leaf {
                    if let Some(r) = rec.processes.get(&pid).and_then(|m| m.find(ip)) {
                        *hits.entry((pid, r.start)).or_default() += 1;
                    }
                    hit_samples += 1;
                    if hit_samples % 1024 == 0 {
                        report_hits(&rec, &mut hits, on);
                    }
                }
                if dwarf_mode {
                    if let (Some(regs), Some((stack, dyn_size))) = (&s.user_regs, &s.user_stack) {
                        let regs = UserRegs {
                            ip: regs.get(perf_regs::IP).unwrap_or(0),
                            sp: regs.get(perf_regs::SP).unwrap_or(0),
                            bp: regs.get(perf_regs::BP).unwrap_or(0),
                        };
                        let n = (*dyn_size as usize).min(stack.len());
                        let bytes = stack.as_slice();
                        let unwinder = procs
                            .entry(pid)
                            .or_insert_with(|| {
                                Arc::new(ProcessUnwinder::new(modules.options().max_frames))
                            })
                            .clone();
                        job_bytes += n;
                        jobs.push(UnwindJob {
                            key: scratch.clone(),
                            period,
                            regs,
                            stack: bytes[..n].to_vec(),
                            unwinder,
                        });
                        if job_bytes >= JOB_BYTES || jobs.len() >= 16384 {
                            flush_jobs(&mut rec, &mut jobs, &mut unwind_truncated);
                            job_bytes = 0;
                        }
                        return Ok(());
                    }
                }
                rec.add(&scratch, period);
            }
            EventRecord::Mmap(m) => {
                let path = raw_string(&m.path);
                let bid = build_ids.get(path.as_bytes()).cloned();
                let region = region_of(m.address, m.length, m.page_offset, path, bid);
                mapped(on, &mut rec, &mut procs, m.pid, region, m.is_executable);
            }
            EventRecord::Mmap2(m) => {
                let path = raw_string(&m.path);
                let bid = match &m.file_id {
                    Mmap2FileId::BuildId(b) => Some(trim_build_id(b.clone())),
                    Mmap2FileId::InodeAndVersion(_) => build_ids.get(path.as_bytes()).cloned(),
                };
                const PROT_EXEC: u32 = 4;
                let region = region_of(m.address, m.length, m.page_offset, path, bid);
                mapped(
                    on,
                    &mut rec,
                    &mut procs,
                    m.pid,
                    region,
                    m.protection & PROT_EXEC != 0,
                );
            }
            EventRecord::Comm(c) => {
                let name = raw_string(&c.name);
                if c.pid == c.tid {
                    rec.process(c.pid as u32).comm = name.clone();
                }
                rec.threads.insert(c.tid as u32, name);
            }
            EventRecord::Fork(f) => {
                // A new process (not a thread) starts with a copy of its parent's maps.
                if f.pid != f.ppid && f.pid == f.tid {
                    let (pid, ppid) = (f.pid as u32, f.ppid as u32);
                    if let Some(parent) = rec.processes.get(&ppid).cloned() {
                        let mut child = parent;
                        child.pid = pid;
                        if let Some(old) = rec.processes.get(&pid) {
                            child.comm = old.comm.clone();
                        }
                        rec.processes.insert(pid, child);
                    }
                    if let Some(pu) = procs.get(&ppid).map(|u| (**u).clone()) {
                        procs.insert(pid, Arc::new(pu));
                    }
                }
                if let Some(name) = rec.threads.get(&(f.ptid as u32)).cloned() {
                    rec.threads.entry(f.tid as u32).or_insert(name);
                }
            }
            EventRecord::Lost(l) => rec.lost += l.count,
            _ => {}
        }
        Ok(())
    };
    let single_event = in_order_from_file
        && perf_file.event_attributes().len() == 1
        && !perf_file
            .features()
            .has_feature(linux_perf_data::Feature::SIMPLEPERF_META_INFO);
    match walkable_section(data).filter(|_| single_event) {
        Some(section) => for_each_in_order(section, parse_info, |r| handle(0, r))?,
        None => loop {
            let record = match record_iter.next_record(&mut perf_file) {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => return Err(perf_error(e)),
            };
            if let PerfFileRecord::EventRecord { attr_index, record } = record {
                handle(attr_index, record)?;
            }
        },
    }

    flush_jobs(&mut rec, &mut jobs, &mut unwind_truncated);
    if first_ts != u64::MAX && last_ts >= first_ts {
        rec.duration_nanos = (last_ts - first_ts) as i64;
        if let Some(c) = wall_clock {
            // Wall clock of the first sample, from the (wall, perf clock) reference pair.
            let wall = c.wall_clock_ns as i128 - c.clockid_time_ns as i128 + first_ts as i128;
            rec.start_time_nanos = wall.clamp(0, i64::MAX as i128) as i64;
        }
    }
    if samples_other_events > 0 {
        rec.notes.push(format!(
            "read event '{}' only; {samples_other_events} samples of other events ({}) skipped (choose with --event)",
            rec.event,
            names
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != chosen)
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if unwind_truncated > 0 {
        rec.notes.push(format!(
            "{unwind_truncated} DWARF-unwound stacks stopped early (stack copy too small or missing unwind information)"
        ));
    }
    // Binaries missing for unwinding are also missing for symbolization: the symbolizer's
    // notes name them (with counts), so they are not repeated here.
    Ok(rec)
}

const FINISHED_ROUND: u32 = 68;
const AUXTRACE: u32 = 71;
const COMPRESSED: u32 = 81;
const COMPRESSED2: u32 = 83;

/// The data section of a regular little-endian perf.data file whose records can be taken in
/// order straight from it ([`for_each_in_order`]): every record fits, none is compressed or
/// carries AUX-trace data after it. None (use linux-perf-data's reader) for anything else:
/// pipe mode, big-endian, such records, a record that does not fit. A walk over the record
/// headers only, before any record is handed on, so a file the walk cannot take goes whole to
/// the reader.
fn walkable_section(data: &[u8]) -> Option<&[u8]> {
    if !cfg!(target_endian = "little")
        || !data.starts_with(b"PERFILE2")
        || data.len() < 104
        || is_pipe_format(data)
    {
        return None;
    }
    let u64_at = |i: usize| Some(u64::from_le_bytes(data.get(i..i + 8)?.try_into().ok()?));
    let (off, size) = (u64_at(40)? as usize, u64_at(48)? as usize);
    let section = data.get(off..off.checked_add(size)?)?;
    let mut at = 0usize;
    while at < section.len() {
        let h = section.get(at..at + 8)?;
        let type_ = u32::from_le_bytes(h[0..4].try_into().ok()?);
        let len = usize::from(u16::from_le_bytes(h[6..8].try_into().ok()?));
        if len < 8
            || at + len > section.len()
            || matches!(type_, AUXTRACE | COMPRESSED | COMPRESSED2)
        {
            return None;
        }
        at += len;
    }
    Some(section)
}

/// Hand the event records of a [`walkable_section`] to `f`, borrowed from the file, in the
/// order linux-perf-data's reader hands them out: perf writes each CPU's buffer in turn, and a
/// `FINISHED_ROUND` record promises that nothing later has a timestamp below the previous
/// round's highest, so each round releases, sorted by (timestamp, offset), the records at or
/// below that mark. The reader does the same but first copies every record into a buffer of
/// its own (~8 ms of 25 for a 19k-sample file). Only the records of the rounds not yet
/// released are held. `parse_info` is the file's one event's.
fn for_each_in_order<'d, E>(
    section: &'d [u8],
    parse_info: RecordParseInfo,
    mut f: impl FnMut(RawEventRecord<'d>) -> Result<(), E>,
) -> Result<(), E> {
    // (timestamp, offset): the reader's sort key. No timestamp sorts first.
    type Key = (Option<u64>, usize);
    // Records read since the last round was released.
    let mut incoming: Vec<(Key, RawEventRecord<'d>)> = Vec::new();
    // The highest key of the previous round and of this one (None: no record yet).
    let (mut prev_max, mut cur_max): (Option<Key>, Option<Key>) = (None, None);
    // How many of `incoming` the next round releases: those at or below `prev_max`.
    let mut releasable = 0usize;
    let mut release = |incoming: &mut Vec<(Key, RawEventRecord<'d>)>, n: usize| {
        // Keys are unique (offsets), so unstable selection and sorting are deterministic.
        if n < incoming.len() {
            incoming.select_nth_unstable_by_key(n, |r| r.0);
        }
        incoming[..n].sort_unstable_by_key(|r| r.0);
        incoming.drain(..n).try_for_each(|(_, r)| f(r))
    };
    let mut at = 0usize;
    // `walkable_section` checked every header: each record fits.
    while let Some(h) = section.get(at..at + 8) {
        let type_ = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let misc = u16::from_le_bytes([h[4], h[5]]);
        let len = usize::from(u16::from_le_bytes([h[6], h[7]])).max(8);
        let body = section.get(at + 8..at + len).unwrap_or_default();
        let offset = at;
        at += len;
        match type_ {
            FINISHED_ROUND => {
                if releasable > 0 {
                    release(&mut incoming, releasable)?;
                }
                prev_max = cur_max;
                releasable = incoming.len();
            }
            // Other user records (header data in the stream): the reader sorts them first in
            // their round and this walk skips them; the event records come out the same.
            t if t >= 64 => {}
            t => {
                let r = RawEventRecord::new(RecordType(t), misc, RawData::Single(body), parse_info);
                let key = (r.timestamp(), offset);
                if prev_max.is_some_and(|m| key <= m) {
                    releasable += 1;
                } else if cur_max.is_none_or(|m| key > m) {
                    cur_max = Some(key);
                }
                incoming.push((key, r));
            }
        }
    }
    let n = incoming.len();
    release(&mut incoming, n)
}

/// A recorded mapping: `len` bytes at `start`, from `offset` in the file at `path`.
fn region_of(
    start: u64,
    len: u64,
    offset: u64,
    path: String,
    build_id: Option<Vec<u8>>,
) -> MappedRegion {
    MappedRegion {
        start,
        end: start.saturating_add(len),
        file_offset: offset,
        path,
        build_id,
    }
}

fn add_mapping(
    rec: &mut RawRecording,
    procs: &mut FxHashMap<u32, Arc<ProcessUnwinder>>,
    modules: &ModuleCache,
    pid: i32,
    region: MappedRegion,
    register_for_unwind: bool,
) {
    let pid = pid as u32;
    if register_for_unwind && !region.path.starts_with("[kernel") {
        let u = procs
            .entry(pid)
            .or_insert_with(|| Arc::new(ProcessUnwinder::new(modules.options().max_frames)));
        // Copy-on-write: queued samples keep the unwinder of their time.
        let _ = Arc::make_mut(u).add_region(&region, modules);
    }
    rec.process(pid).insert(region);
}

/// perf pads build ids to 20 bytes; ids of other sizes keep their zero tail otherwise.
fn trim_build_id(mut b: Vec<u8>) -> Vec<u8> {
    while b.len() > 16 && b.last() == Some(&0) {
        b.pop();
    }
    b
}

fn raw_string(d: &RawData) -> String {
    let s = d.as_slice();
    let s = match s.iter().position(|&b| b == 0) {
        Some(i) => &s[..i],
        None => &s[..],
    };
    String::from_utf8_lossy(s).into_owned()
}

fn is_kernel_mode(m: CpuMode) -> bool {
    matches!(m, CpuMode::Kernel | CpuMode::GuestKernel)
}

/// Split a callchain at its context markers. Entries before any marker belong to the sample's
/// own mode.
fn split_callchain(
    chain: impl Iterator<Item = u64>,
    mode: CpuMode,
    kernel: &mut Vec<u64>,
    user: &mut Vec<u64>,
) {
    let mut in_kernel = is_kernel_mode(mode);
    let mut other = false;
    for a in chain {
        if a >= PERF_CONTEXT_MAX {
            match a {
                PERF_CONTEXT_KERNEL => {
                    in_kernel = true;
                    other = false;
                }
                PERF_CONTEXT_USER => {
                    in_kernel = false;
                    other = false;
                }
                // Hypervisor / guest contexts: not attributed.
                _ => other = true,
            }
            continue;
        }
        if other {
            continue;
        }
        if in_kernel {
            kernel.push(a);
        } else {
            user.push(a);
        }
    }
}

/// The display name of an event: the recorded name, else one derived from its type.
fn event_name(name: Option<&str>, t: &PerfEventType, index: usize) -> String {
    if let Some(n) = name.filter(|n| !n.is_empty()) {
        return n.to_string();
    }
    match t {
        PerfEventType::Software(SoftwareCounterType::CpuClock) => "cpu-clock".into(),
        PerfEventType::Software(SoftwareCounterType::TaskClock) => "task-clock".into(),
        PerfEventType::Hardware(h, _) => format!("{h:?}").to_lowercase(),
        _ => format!("event{index}"),
    }
}

/// What a `perf record` command line captured: `fixed-duration` when it targets something
/// already running (`-a`, `-p`, `-t`, `-C`, `-u`: a window of a process or the system),
/// `fixed-work` when it ran a command to completion; `None` when the line is not
/// `perf record`.
fn capture_kind<S: AsRef<str>>(cmd: &[S]) -> Option<&'static str> {
    const TARGET_SHORT: &[char] = &['a', 'p', 't', 'C', 'u'];
    const TARGET_LONG: &[&str] = &["--all-cpus", "--pid", "--tid", "--cpu", "--uid"];
    // Options that take the next word as their value.
    const VALUE_SHORT: &str = "eFcoptCumGrDjkz";
    const VALUE_LONG: &[&str] = &[
        "--event",
        "--freq",
        "--count",
        "--output",
        "--pid",
        "--tid",
        "--cpu",
        "--uid",
        "--mmap-pages",
        "--cgroup",
        "--call-graph",
        "--delay",
        "--clockid",
        "--branch-filter",
    ];
    let rec = cmd.iter().position(|a| a.as_ref() == "record")?;
    let mut args = cmd[rec + 1..].iter().map(AsRef::as_ref);
    while let Some(a) = args.next() {
        if a == "--" {
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let name = format!("--{}", long.split('=').next().unwrap_or(""));
            if TARGET_LONG.contains(&name.as_str()) {
                return Some("fixed-duration");
            }
            if !a.contains('=') && VALUE_LONG.contains(&name.as_str()) {
                args.next();
            }
        } else if let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) {
            // A bundle of short flags; the first one taking a value ends it.
            for (i, c) in flags.char_indices() {
                if TARGET_SHORT.contains(&c) {
                    return Some("fixed-duration");
                }
                if VALUE_SHORT.contains(c) {
                    if i + c.len_utf8() == flags.len() {
                        args.next();
                    }
                    break;
                }
            }
        } else {
            break; // the command
        }
    }
    Some("fixed-work")
}

/// linux-perf-event-reader asserts (panics) on an MMAP2 record whose build id is longer than
/// 20 bytes; perf writes at most 20, so such a record is corrupt and is refused before the
/// crate sees it. Layout: pid, tid (u32 each), address, length, page offset (u64 each), then
/// the build id's length byte.
fn mmap2_build_id_too_long(raw: &RawEventRecord<'_>) -> Option<String> {
    const MISC_MMAP_BUILD_ID: u16 = 1 << 14;
    if raw.record_type != RecordType::MMAP2 || raw.misc & MISC_MMAP_BUILD_ID == 0 {
        return None;
    }
    let len = raw.data.get(32..33)?.as_slice()[0];
    (len > 20).then(|| format!("corrupt MMAP2 record: a build id of {len} bytes (at most 20)"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn capture_kind_from_perf_command_lines() {
        let k = |s: &str| super::capture_kind(&s.split(' ').collect::<Vec<_>>());
        assert_eq!(
            k("perf record -F 999 -g -o a.data ./work 30"),
            Some("fixed-work")
        );
        assert_eq!(
            k("/usr/bin/perf record -g -- ./prog -a"),
            Some("fixed-work")
        );
        assert_eq!(k("perf record -ag -- sleep 10"), Some("fixed-duration"));
        assert_eq!(k("perf record -F 99 -p 1234"), Some("fixed-duration"));
        assert_eq!(
            k("perf record --call-graph dwarf --pid=1234"),
            Some("fixed-duration")
        );
        assert_eq!(
            k("perf record -o out.data -C 0-3 sleep 5"),
            Some("fixed-duration")
        );
        assert_eq!(k("perf record -e cycles ./a"), Some("fixed-work"));
        assert_eq!(k("perf stat ./a"), None);
    }

    use super::*;

    #[test]
    fn callchain_split_at_markers() {
        let chain = [
            PERF_CONTEXT_KERNEL,
            0xffff_ffff_8100_0000,
            0xffff_ffff_8100_0100,
            PERF_CONTEXT_USER,
            0x401000,
            0x401234,
        ];
        let (mut k, mut u) = (vec![], vec![]);
        split_callchain(chain.into_iter(), CpuMode::Kernel, &mut k, &mut u);
        assert_eq!(k, vec![0xffff_ffff_8100_0000, 0xffff_ffff_8100_0100]);
        assert_eq!(u, vec![0x401000, 0x401234]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let opts = ReadOptions::default();
        assert!(read_raw(b"", &opts).is_err());
        assert!(read_raw(b"PERFILE2", &opts).is_err());
        let mut hdr = b"PERFILE2".to_vec();
        hdr.extend_from_slice(&104u64.to_le_bytes());
        hdr.extend_from_slice(&[0xff; 200]);
        assert!(read_raw(&hdr, &opts).is_err());
        let mut pipe = b"PERFILE2".to_vec();
        pipe.extend_from_slice(&16u64.to_le_bytes());
        pipe.extend_from_slice(&[0x7f; 64]);
        assert!(read_raw(&pipe, &opts).is_err());
    }
}
