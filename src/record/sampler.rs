//! The perf_event side of recording: one sampling event per online CPU (per thread too when
//! attaching to a running process), ring buffers mapped and drained while the target runs,
//! and the records in them (SAMPLE, MMAP2, COMM, FORK, LOST) folded into a [`RawRecording`].
//! DWARF-mode samples (user registers + stack copy) are spooled to an anonymous temp file and
//! unwound after the target ends, as `perf record` + `perf report` do, so the target does
//! not compete with unwinding for CPU.

use super::dwarf::{DwarfSpool, UserRegs};
use super::raw::{MappedRegion, RawRecording, StackKey};
use super::{CallGraph, EventKind, RecordError, RecordOptions};
use perf_event::data::{Record as DataRecord, SampleRegsAbi};
use perf_event::events::{Hardware, Software};
use perf_event::{Builder, Counter, SampleFlag, Sampler};
use std::os::unix::io::AsRawFd;

/// perf callchain context markers (`PERF_CONTEXT_*`): entries at or above this are markers.
const PERF_CONTEXT_MAX: u64 = (-4095i64) as u64;
const PERF_CONTEXT_KERNEL: u64 = (-128i64) as u64;
const PERF_CONTEXT_USER: u64 = (-512i64) as u64;

/// x86_64 `perf_regs` indexes of the registers DWARF unwinding needs.
pub const X86_64_REG_BP: u32 = 6;
pub const X86_64_REG_SP: u32 = 7;
pub const X86_64_REG_IP: u32 = 8;
/// `sample_regs_user` mask: bp, sp, ip (recorded in that order, by increasing index).
pub const X86_64_REGS_USER_MASK: u64 =
    (1 << X86_64_REG_BP) | (1 << X86_64_REG_SP) | (1 << X86_64_REG_IP);

/// `PERF_RECORD_MISC_COMM_EXEC`: the COMM record comes from an exec.
const MISC_COMM_EXEC: u16 = 1 << 13;

/// Online CPUs, from `/sys/devices/system/cpu/online` (`0-3,6`).
pub fn online_cpus() -> Vec<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let mut it = part.splitn(2, '-');
        let a: Option<usize> = it.next().and_then(|x| x.parse().ok());
        let b: Option<usize> = it.next().and_then(|x| x.parse().ok());
        match (a, b) {
            (Some(a), Some(b)) if b >= a => out.extend(a..=b),
            (Some(a), None) => out.push(a),
            _ => {}
        }
    }
    if out.is_empty() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        out.extend(0..n);
    }
    out
}

/// Who to sample.
pub enum Who {
    /// A gated child, sampled from its exec on (inherit covers its threads and children).
    Child(libc::pid_t),
    /// Existing threads of a running process.
    Threads(Vec<libc::pid_t>),
}

/// The open events: one mapped ring buffer per CPU, plus events redirected into it.
pub struct Events {
    pub buffers: Vec<Sampler>,
    _members: Vec<Counter>,
    pub kernel: bool,
    config: Config,
    /// Side-band records (maps, comm, fork) not applied yet; see [`Events::finish`].
    sideband: Vec<SideBand>,
    on_mapping: Option<super::MappingHook>,
}

/// A process-state record, owned, with its kernel timestamp. Each CPU's ring buffer is in
/// time order, but not the buffers among themselves: a child's FORK can sit in one CPU's
/// buffer while its exec and MMAP2 records sit in another's, read first. Applying them as
/// read would let the FORK's copy of the parent's maps overwrite the child's own, so they are
/// kept and applied in time order at the end (samples only carry addresses; they are resolved
/// against the processes' final maps).
struct SideBand {
    time: u64,
    /// Read order, to keep equal timestamps stable.
    seq: u64,
    kind: SideKind,
}

enum SideKind {
    Map(u32, MappedRegion),
    Comm {
        pid: u32,
        tid: u32,
        name: String,
        exec: bool,
    },
    Fork {
        pid: u32,
        ppid: u32,
        tid: u32,
        ptid: u32,
    },
}

/// The timestamp in a side-band record's `sample_id` trailer. With our sample flags
/// (TID, TIME, CPU, not ID / STREAM_ID / IDENTIFIER) the trailer is
/// `pid u32, tid u32, time u64, cpu u32, res u32`: time sits 16 bytes before the end.
fn trailer_time(r: &perf_event::Record<'_>) -> Option<u64> {
    let b = r.to_contiguous();
    let n = b.len();
    let t = b.get(n.checked_sub(16)?..n - 8)?;
    Some(u64::from_ne_bytes(t.try_into().ok()?))
}

#[derive(Clone, Copy)]
struct Config {
    call_graph: CallGraph,
    max_stack: usize,
}

fn builder<'a>(opts: &RecordOptions, kernel: bool, child: bool, build_id: bool) -> Builder<'a> {
    let mut b = match opts.event {
        EventKind::CpuClock => Builder::new(Software::CPU_CLOCK),
        EventKind::TaskClock => Builder::new(Software::TASK_CLOCK),
        EventKind::Cycles => Builder::new(Hardware::CPU_CYCLES),
    };
    let mut flags = SampleFlag::IP
        | SampleFlag::TID
        | SampleFlag::TIME
        | SampleFlag::CPU
        | SampleFlag::PERIOD
        | SampleFlag::CALLCHAIN;
    if opts.call_graph == CallGraph::Dwarf {
        flags |= SampleFlag::REGS_USER | SampleFlag::STACK_USER;
        b.sample_regs_user(X86_64_REGS_USER_MASK)
            .sample_stack_user(opts.stack_size)
            // The user part of the stack comes from unwinding the copy.
            .exclude_callchain_user(true);
    }
    b.sample(flags)
        .sample_frequency(opts.frequency)
        .mmap(true)
        .mmap2(true)
        .comm(true)
        .comm_exec(true)
        .task(true)
        .sample_id_all(true)
        .build_id(build_id)
        .inherit(true)
        .exclude_kernel(!kernel)
        .exclude_callchain_kernel(!kernel)
        .exclude_hv(true);
    if child {
        b.enabled(false).enable_on_exec(true);
    } else {
        b.enabled(true);
    }
    b
}

fn is_permission(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM))
}

fn ring_size(opts: &RecordOptions) -> usize {
    // Data area per CPU; the kernel wants a power of two of pages. DWARF samples are large.
    match opts.call_graph {
        CallGraph::Fp => 1 << 20,
        CallGraph::Dwarf => 8 << 20,
    }
}

impl Events {
    /// Open and map the events; tries with kernel callchains first, then user-only.
    pub fn open(who: &Who, opts: &RecordOptions) -> Result<Self, RecordError> {
        let cpus = online_cpus();
        let max_stack = std::fs::read_to_string("/proc/sys/kernel/perf_event_max_stack")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(127);
        let config = Config {
            call_graph: opts.call_graph,
            max_stack,
        };
        let mut last_err = None;
        let kernel_choices: &[bool] = if opts.user_only {
            &[false]
        } else {
            &[true, false]
        };
        for &kernel in kernel_choices {
            match Self::open_with(who, opts, kernel, &cpus) {
                Ok((buffers, members)) => {
                    return Ok(Events {
                        buffers,
                        _members: members,
                        kernel,
                        config,
                        sideband: Vec::new(),
                        on_mapping: opts.on_mapping.clone(),
                    })
                }
                Err(e) if kernel && is_permission(&e) => last_err = Some(e),
                Err(e) => return Err(RecordError::from_open(e, opts)),
            }
        }
        Err(RecordError::from_open(
            last_err.unwrap_or_else(|| std::io::Error::from_raw_os_error(libc::EACCES)),
            opts,
        ))
    }

    fn open_with(
        who: &Who,
        opts: &RecordOptions,
        kernel: bool,
        cpus: &[usize],
    ) -> std::io::Result<(Vec<Sampler>, Vec<Counter>)> {
        // Build ids in MMAP2 need Linux 5.12; older kernels say EINVAL: retry without (the
        // symbolizer then reads build ids from the files).
        match Self::open_with_bid(who, opts, kernel, cpus, true) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                Self::open_with_bid(who, opts, kernel, cpus, false)
            }
            r => r,
        }
    }

    fn open_with_bid(
        who: &Who,
        opts: &RecordOptions,
        kernel: bool,
        cpus: &[usize],
        build_id: bool,
    ) -> std::io::Result<(Vec<Sampler>, Vec<Counter>)> {
        let (pids, child) = match who {
            Who::Child(p) => (vec![*p], true),
            Who::Threads(t) => (t.clone(), false),
        };
        let mut buffers = Vec::new();
        let mut members = Vec::new();
        let mut size = ring_size(opts);
        for &cpu in cpus {
            let mut leader: Option<Sampler> = None;
            for &pid in &pids {
                let mut b = builder(opts, kernel, child, build_id);
                b.observe_pid(pid).one_cpu(cpu).wakeup_watermark(size / 4);
                let counter = match b.build() {
                    Ok(c) => c,
                    // A thread of a running process may exit between listing and opening.
                    Err(e) if !child && e.raw_os_error() == Some(libc::ESRCH) => continue,
                    Err(e) => return Err(e),
                };
                match &leader {
                    None => {
                        // Mapping can fail over the locked-memory limit: shrink and retry.
                        let mut c = Some(counter);
                        loop {
                            match c.take().unwrap().sampled(size) {
                                Ok(s) => {
                                    leader = Some(s);
                                    break;
                                }
                                Err(e) if size > 64 << 10 && is_permission(&e) => {
                                    size /= 2;
                                    let mut b = builder(opts, kernel, child, build_id);
                                    b.observe_pid(pid).one_cpu(cpu).wakeup_watermark(size / 4);
                                    c = Some(b.build()?);
                                }
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    Some(l) => {
                        // PERF_EVENT_IOC_SET_OUTPUT: share the CPU's ring buffer.
                        let r = unsafe {
                            libc::ioctl(counter.as_raw_fd(), 0x2405, l.as_raw_fd() as libc::c_ulong)
                        };
                        if r != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        members.push(counter);
                    }
                }
            }
            buffers.extend(leader);
        }
        if buffers.is_empty() {
            return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok((buffers, members))
    }

    /// Drain every ring buffer into `rec` (and DWARF samples into `spool`).
    pub fn drain(
        &mut self,
        rec: &mut RawRecording,
        spool: &mut Option<DwarfSpool>,
        stats: &mut DrainStats,
    ) -> Result<(), RecordError> {
        let config = self.config;
        for s in &mut self.buffers {
            let mut last_time = 0;
            while let Some(r) = s.next_record() {
                let misc = r.misc();
                let time = match r.ty() {
                    // MMAP, COMM, MMAP2: the time is in the trailer.
                    1 | 3 | 10 => trailer_time(&r).unwrap_or(last_time),
                    _ => last_time,
                };
                match r.parse_record() {
                    Ok(parsed) => {
                        if let Some((own_time, kind)) =
                            handle(parsed, misc, config, rec, spool, stats)?
                        {
                            if let (SideKind::Map(_, region), Some(h)) = (&kind, &self.on_mapping) {
                                (h.0)(region);
                            }
                            let time = own_time.unwrap_or(time);
                            last_time = time;
                            let seq = self.sideband.len() as u64;
                            self.sideband.push(SideBand { time, seq, kind });
                        }
                    }
                    Err(_) => stats.unparsable += 1,
                }
            }
        }
        Ok(())
    }

    /// Apply the side-band records in time order (call after the last drain).
    pub fn finish(&mut self, rec: &mut RawRecording) {
        let mut sb = std::mem::take(&mut self.sideband);
        sb.sort_by_key(|s| (s.time, s.seq));
        for s in sb {
            apply(s.kind, rec);
        }
    }
}

fn apply(kind: SideKind, rec: &mut RawRecording) {
    match kind {
        SideKind::Map(pid, region) => rec.process(pid).insert(region),
        SideKind::Comm {
            pid,
            tid,
            name,
            exec,
        } => {
            if exec && pid == tid {
                // A new program image: the old mappings are gone.
                *rec.process(pid) = super::raw::ProcessMaps::new(pid);
            }
            if pid == tid {
                rec.process(pid).comm = name.clone();
            }
            rec.threads.insert(tid, name);
        }
        SideKind::Fork {
            pid,
            ppid,
            tid,
            ptid,
        } => {
            if pid != ppid {
                // A new process starts with a copy of its parent's address space.
                if let Some(parent) = rec.processes.get(&ppid).cloned() {
                    let mut child = parent;
                    child.pid = pid;
                    rec.processes.insert(pid, child);
                }
            }
            if let Some(name) = rec.threads.get(&ptid).cloned() {
                rec.threads.entry(tid).or_insert(name);
            }
        }
    }
}

/// Counters of what the drain loop saw besides samples.
#[derive(Default, Debug, Clone)]
pub struct DrainStats {
    pub samples: u64,
    pub throttles: u64,
    pub unparsable: u64,
    pub dwarf_no_stack: u64,
}

/// Split a kernel callchain into kernel and user parts (markers removed).
pub fn split_callchain(chain: &[u64], kernel: &mut Vec<u64>, user: &mut Vec<u64>) {
    #[derive(PartialEq)]
    enum Ctx {
        Kernel,
        User,
        Other,
    }
    let mut ctx = Ctx::Other;
    for &a in chain {
        if a >= PERF_CONTEXT_MAX {
            ctx = match a {
                PERF_CONTEXT_KERNEL => Ctx::Kernel,
                PERF_CONTEXT_USER => Ctx::User,
                _ => Ctx::Other,
            };
            continue;
        }
        match ctx {
            Ctx::Kernel => kernel.push(a),
            Ctx::User => user.push(a),
            Ctx::Other => {}
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Handle one record: samples go into `rec` / `spool` at once; process-state records are
/// returned (with their own timestamp when they carry one) to be applied in time order.
fn handle(
    r: DataRecord<'_>,
    misc: u16,
    config: Config,
    rec: &mut RawRecording,
    spool: &mut Option<DwarfSpool>,
    stats: &mut DrainStats,
) -> Result<Option<(Option<u64>, SideKind)>, RecordError> {
    match r {
        DataRecord::Sample(s) => {
            let (Some(pid), Some(tid)) = (s.pid(), s.tid()) else {
                return Ok(None);
            };
            stats.samples += 1;
            let period = s.period().unwrap_or(1);
            let mut kernel = Vec::new();
            let mut user = Vec::new();
            let chain = s.callchain().unwrap_or(&[]);
            split_callchain(chain, &mut kernel, &mut user);
            if config.call_graph == CallGraph::Dwarf {
                let regs = s.regs_user().filter(|r| r.abi != SampleRegsAbi::NONE);
                let stack = s.stack_user().unwrap_or(&[]);
                if let (Some(regs), Some(spool)) = (regs, spool.as_mut()) {
                    if regs.regs.len() >= 3 {
                        let regs = UserRegs {
                            bp: regs.regs[0],
                            sp: regs.regs[1],
                            ip: regs.regs[2],
                        };
                        spool
                            .push(pid, tid, period, &kernel, regs, stack)
                            .map_err(RecordError::Spool)?;
                        return Ok(None);
                    }
                }
                // Sampled in the kernel with no user context (kernel thread) or no regs.
                stats.dwarf_no_stack += 1;
                if let Some(ip) = s.ip().filter(|_| kernel.is_empty()) {
                    user.push(ip);
                }
            } else if kernel.is_empty() && user.is_empty() {
                user.extend(s.ip());
            }
            let truncated = chain.len() >= config.max_stack;
            rec.add(
                &StackKey {
                    pid,
                    tid,
                    kernel,
                    user,
                    truncated,
                },
                period,
            );
        }
        DataRecord::Mmap2(m) => {
            if m.pid == u32::MAX {
                return Ok(None);
            }
            let region = MappedRegion {
                start: m.addr,
                end: m.addr.saturating_add(m.len),
                file_offset: m.pgoff,
                path: lossy(&m.filename),
                build_id: m.build_id().map(|b| b.to_vec()),
            };
            return Ok(Some((None, SideKind::Map(m.pid, region))));
        }
        DataRecord::Mmap(m) => {
            if m.pid == u32::MAX {
                return Ok(None);
            }
            let region = MappedRegion {
                start: m.addr,
                end: m.addr.saturating_add(m.len),
                file_offset: m.pgoff,
                path: lossy(&m.filename),
                build_id: None,
            };
            return Ok(Some((None, SideKind::Map(m.pid, region))));
        }
        DataRecord::Comm(c) => {
            return Ok(Some((
                None,
                SideKind::Comm {
                    pid: c.pid,
                    tid: c.tid,
                    name: lossy(&c.comm),
                    exec: misc & MISC_COMM_EXEC != 0,
                },
            )));
        }
        DataRecord::Fork(f) => {
            return Ok(Some((
                Some(f.time),
                SideKind::Fork {
                    pid: f.pid,
                    ppid: f.ppid,
                    tid: f.tid,
                    ptid: f.ptid,
                },
            )));
        }
        DataRecord::Lost(l) => rec.lost += l.lost,
        DataRecord::LostSamples(l) => rec.lost += l.lost,
        DataRecord::Throttle(_) => stats.throttles += 1,
        _ => {}
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callchain_splits_at_context_markers() {
        let chain = [
            PERF_CONTEXT_KERNEL,
            0xffff1,
            0xffff2,
            PERF_CONTEXT_USER,
            0x401000,
            0x402000,
        ];
        let (mut k, mut u) = (Vec::new(), Vec::new());
        split_callchain(&chain, &mut k, &mut u);
        assert_eq!(k, vec![0xffff1, 0xffff2]);
        assert_eq!(u, vec![0x401000, 0x402000]);
    }

    #[test]
    fn online_cpus_parses_sysfs() {
        let cpus = online_cpus();
        assert!(!cpus.is_empty());
    }
}
