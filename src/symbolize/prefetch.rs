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
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};

/// A background loader feeding a [`Symbolizer`]'s caches; see the module docs.
pub struct Prefetcher {
    tx: Mutex<Option<Sender<ModuleKey>>>,
    seen: Mutex<FxHashSet<ModuleKey>>,
    stop: Arc<AtomicBool>,
    /// Thread ids of the worker and its pool thread (to restore their priority).
    tids: Arc<Mutex<Vec<i64>>>,
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
        let (tx, rx) = channel::<ModuleKey>();
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
                let work = || {
                    if kernel {
                        let _ = sym.kallsyms();
                    }
                    for key in rx {
                        if stop2.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Ok(m) = sym.module(&key) {
                            if stop2.load(Ordering::Relaxed) {
                                break;
                            }
                            m.warm();
                        }
                    }
                };
                match pool {
                    Ok(p) => p.install(work),
                    Err(_) => work(),
                }
            });
        Arc::new(Prefetcher {
            tx: Mutex::new(Some(tx)),
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
            if let Some(tx) = &*self.tx.lock().unwrap_or_else(|e| e.into_inner()) {
                let _ = tx.send(key);
            }
        }
    }

    /// Stop taking work, without waiting: the worker finishes the binary in hand at normal
    /// priority (a symbolizer needing that binary waits for it rather than loading it twice)
    /// and leaves the rest to the caller's symbolization.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
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
