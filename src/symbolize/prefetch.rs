//! [`Prefetcher`]: symbolization work done ahead of time, while a recorded command still runs
//! (or while a perf.data file is still being read, at normal priority: see
//! `formats::perf_data::parse`).
//!
//! Everything `record` needs after the command exits that does not depend on the samples —
//! reading `/proc/kallsyms` (tens of ms of kernel time), mapping each binary, finding its debug
//! file, inflating compressed DWARF and building the DWARF index (every unit's header and
//! root entry) — is done here as the recording learns of each executable mapping. The
//! worker runs at a low CPU priority (nice 10, its own one-thread pool), so it mostly uses
//! idle time rather than competing with the profiled program; what it has not finished when
//! the command exits is finished then (the symbolizer waits for a binary in hand rather than
//! loading it twice).

use super::symbolizer::{ModuleKey, Symbolizer};
use rustc_hash::FxHashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// A background loader feeding a [`Symbolizer`]'s caches; see the module docs.
pub struct Prefetcher {
    queue: Arc<Queue>,
    seen: Mutex<FxHashSet<ModuleKey>>,
    stop: Arc<AtomicBool>,
    /// Thread ids of the worker and its pool thread (to restore their priority).
    tids: Arc<Mutex<Vec<i64>>>,
}

/// Binaries waiting to be loaded, each with the samples seen in it so far: the worker takes
/// the most sampled first (announcement order among equals), so the binary the lookups will
/// need most is ready first.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    pending: Vec<(ModuleKey, u64)>,
    closed: bool,
}

/// What the worker does next.
enum Next {
    Load(ModuleKey),
    /// Finish a loaded binary's warm-up (see [`Queue::take`]).
    Finish,
    Closed,
}

impl Queue {
    /// The next job: the most sampled binary if any was sampled, else the warm-up of a binary
    /// already indexed when `finish_pending`, else any binary; `Closed` once closed.
    fn take(&self, finish_pending: bool) -> Next {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if st.closed {
                return Next::Closed;
            }
            // Most hits first; the earliest announced among equals (max_by_key keeps the last).
            let best = st
                .pending
                .iter()
                .enumerate()
                .max_by_key(|(i, (_, hits))| (*hits, std::cmp::Reverse(*i)))
                .map(|(i, (_, hits))| (i, *hits));
            match best {
                Some((i, hits)) if hits > 0 || !finish_pending => {
                    return Next::Load(st.pending.remove(i).0)
                }
                _ if finish_pending => return Next::Finish,
                _ => {}
            }
            st = self.ready.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Nice value of the prefetch threads: low enough to yield to the profiled program, high
/// enough (about a tenth of a core against busy nice-0 threads) to finish a libc and the
/// kernel symbols within the first seconds of a recording that saturates every core.
const NICE: libc::c_int = 10;

/// Put the calling thread at nice value `nice`; its thread id.
fn set_priority(nice: libc::c_int) -> i64 {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread; failure only leaves the priority as is.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid);
        if nice != 0 {
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice);
        }
        tid
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = nice;
        0
    }
}

/// Back to normal priority (allowed with CAP_SYS_NICE or a generous RLIMIT_NICE; otherwise
/// the thread stays where it is, which costs nothing once the machine is idle).
fn normal_priority(tid: i64) {
    #[cfg(target_os = "linux")]
    // SAFETY: a plain syscall; a stale tid only makes it fail.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 0);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = tid;
}

impl Prefetcher {
    /// Start the worker. With `kernel`, it first reads the symbolizer's kallsyms file.
    pub fn start(sym: Arc<Symbolizer>, kernel: bool) -> Arc<Prefetcher> {
        Self::start_at(sym, kernel, NICE)
    }

    /// [`Prefetcher::start`] with the worker at nice value `nice` (0 where nothing else
    /// competes, e.g. while a file is being read on another core).
    pub fn start_at(sym: Arc<Symbolizer>, kernel: bool, nice: libc::c_int) -> Arc<Prefetcher> {
        let queue: Arc<Queue> = Arc::default();
        let rx = queue.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let tids: Arc<Mutex<Vec<i64>>> = Arc::default();
        let (tids2, tids3) = (tids.clone(), tids.clone());
        let _ = std::thread::Builder::new()
            .name("profdiff-prefetch".into())
            .spawn(move || {
                tids2
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(set_priority(nice));
                // A pool of one thread at the same priority, so the parallel parts of
                // loading (section inflation) do not run on the normal-priority global pool.
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .thread_name(|_| "profdiff-prefetch-pool".into())
                    .start_handler(move |_| {
                        let t = set_priority(nice);
                        tids3.lock().unwrap_or_else(|e| e.into_inner()).push(t);
                    })
                    .build();
                // Each binary is indexed as it comes; the rest of its warm-up (the ranges of
                // units that declare none, several ms for a large Rust binary) waits until
                // every sampled binary is indexed, so the lookups that start when reading
                // ends find libc indexed too rather than waiting for it.
                let work = || {
                    if kernel {
                        let _ = sym.kallsyms();
                    }
                    let mut indexed: std::collections::VecDeque<Arc<super::symbolizer::Module>> =
                        std::collections::VecDeque::new();
                    loop {
                        let key = match rx.take(!indexed.is_empty()) {
                            Next::Load(key) => key,
                            Next::Finish => {
                                if let Some(m) = indexed.pop_front() {
                                    m.warm();
                                }
                                continue;
                            }
                            Next::Closed => break,
                        };
                        if stop2.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Ok(m) = sym.module(&key) {
                            if stop2.load(Ordering::Relaxed) {
                                break;
                            }
                            m.index_now();
                            indexed.push_back(m);
                        }
                    }
                };
                match pool {
                    Ok(p) => p.install(work),
                    Err(_) => work(),
                }
            });
        Arc::new(Prefetcher {
            queue,
            seen: Mutex::new(FxHashSet::default()),
            stop,
            tids,
        })
    }

    /// Ask for a binary to be loaded (once per path and build id).
    pub fn want(&self, path: &str, build_id: Option<&[u8]>) {
        if !super::is_symbolizable(path) {
            return;
        }
        let key = ModuleKey {
            path: path.to_string(),
            build_id: build_id.map(<[u8]>::to_vec),
        };
        let new = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone());
        if new {
            let mut st = self.queue.state.lock().unwrap_or_else(|e| e.into_inner());
            if !st.closed {
                st.pending.push((key, 0));
                self.queue.ready.notify_one();
            }
        }
    }

    /// Count `n` samples in a binary announced with [`Prefetcher::want`] and not loaded yet,
    /// moving it ahead of less sampled ones.
    pub fn hits(&self, path: &str, build_id: Option<&[u8]>, n: u64) {
        let mut st = self.queue.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = st
            .pending
            .iter_mut()
            .find(|(k, _)| k.path == path && k.build_id.as_deref() == build_id)
        {
            p.1 += n;
        }
    }

    /// Stop taking work, without waiting: the worker finishes the binary in hand at normal
    /// priority (a symbolizer needing that binary waits for it rather than loading it twice)
    /// and leaves the rest to the caller's symbolization.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        {
            let mut st = self.queue.state.lock().unwrap_or_else(|e| e.into_inner());
            st.closed = true;
            st.pending.clear();
        }
        self.queue.ready.notify_all();
        for &t in self.tids.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            normal_priority(t);
        }
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        self.finish();
    }
}
