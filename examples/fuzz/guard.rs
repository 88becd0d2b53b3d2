//! What turns a bad input into a reported crash instead of a lost worker: the allocation
//! limit, the hang watchdog, signal handlers that save the input being read, and panic
//! bookkeeping. The input being read is published through two atomics so that the allocator,
//! the watchdog and the signal handlers can write it out without allocating.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Largest allocation a reader may make; more is a bug (memory must follow the input).
pub const MAX_ALLOC: usize = 1 << 30;

static INPUT_PTR: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static INPUT_LEN: AtomicUsize = AtomicUsize::new(0);
/// Wall-clock milliseconds since the worker started when the current input began, 0 if idle.
static BUSY_SINCE_MS: AtomicU64 = AtomicU64::new(0);
/// The reading thread's CPU clock when the current input began (nanoseconds).
static BUSY_CPU_NS: AtomicU64 = AtomicU64::new(0);
static CAUGHT: AtomicU64 = AtomicU64::new(0);
static IN_PANIC_HOOK: AtomicBool = AtomicBool::new(false);
/// Where caught panics happened (file:line) and how often, reported when a worker ends.
static CAUGHT_AT: std::sync::Mutex<std::collections::BTreeMap<String, u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());
/// Where the last panic happened (file:line), for the crash report.
static LAST_PANIC_AT: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
/// NUL-terminated path the current input is written to when the worker dies.
static DUMP_PATH: OnceLock<CString> = OnceLock::new();
static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
static READER_CLOCK: OnceLock<libc::clockid_t> = OnceLock::new();

/// The system allocator with a size limit: a request over [`MAX_ALLOC`] saves the input and
/// ends the worker with [`crate::EXIT_BIG_ALLOC`].
pub struct CountingAlloc;

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check_size(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check_size(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check_size(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

/// Set by `--repro`: print where an oversized allocation comes from.
pub static REPRO: AtomicBool = AtomicBool::new(false);

fn check_size(size: usize) {
    if size > MAX_ALLOC && DUMP_PATH.get().is_some() {
        if REPRO.swap(false, Ordering::SeqCst) {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
        if INPUT_PTR.load(Ordering::SeqCst).is_null() {
            // Not a reader's: the harness itself (it once built inputs of gigabytes by
            // stacking line repetitions); the saved input is then empty.
            die(
                b"allocation over 1 GiB in the harness, no input being read\n",
                crate::EXIT_BIG_ALLOC,
            );
        }
        die(b"allocation over 1 GiB\n", crate::EXIT_BIG_ALLOC);
    }
}

/// Write the current input to the dump path and a note to stderr, then exit at once. Only
/// async-signal-safe calls (it runs in the allocator, the watchdog and signal handlers).
fn die(note: &[u8], code: i32) -> ! {
    dump_input();
    // SAFETY: write(2) and _exit(2) on valid buffers.
    unsafe {
        libc::write(2, note.as_ptr().cast(), note.len());
        libc::_exit(code)
    }
}

fn dump_input() {
    let Some(path) = DUMP_PATH.get() else { return };
    let (ptr, len) = (
        INPUT_PTR.load(Ordering::SeqCst),
        INPUT_LEN.load(Ordering::SeqCst),
    );
    // SAFETY: open/write/close with a NUL-terminated path and the published input, which
    // stays alive while it is published (see `begin`/`end`).
    unsafe {
        let fd = libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            0o644,
        );
        if fd >= 0 {
            if !ptr.is_null() {
                libc::write(fd, ptr.cast(), len);
            }
            libc::close(fd);
        }
    }
}

/// The file the input being read is saved to if the worker of `target` in `round` dies.
pub fn current_input_path(target: &str, round: u64) -> PathBuf {
    crate::crash_root()
        .join(target)
        .join(format!("died-round{round}.bin"))
}

/// Set up the worker: dump path, signal handlers, panic hook and watchdog.
pub fn install(target: &str, round: u64) {
    let path = current_input_path(target, round);
    std::fs::create_dir_all(path.parent().expect("crash folder")).expect("crash folder");
    let _ = std::fs::remove_file(&path);
    let c = CString::new(path.to_string_lossy().into_owned()).expect("path without NUL");
    let _ = DUMP_PATH.set(c);
    EPOCH.get_or_init(std::time::Instant::now);
    let mut clock: libc::clockid_t = 0;
    // SAFETY: the calling thread's own id; the out-pointer is valid.
    if unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) } == 0 {
        let _ = READER_CLOCK.set(clock);
    }
    for sig in [
        libc::SIGABRT,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
    ] {
        // SAFETY: installing a handler that only saves the input and re-raises with the
        // default action.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fatal_signal as *const () as usize;
            sa.sa_flags = libc::SA_RESETHAND | libc::SA_ONSTACK;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    std::panic::set_hook(Box::new(|info| {
        // Every panic, caught by a reader or not, is counted; the escaped ones are reported
        // by the harness with their message and place.
        if BUSY_SINCE_MS.load(Ordering::SeqCst) == 0 {
            eprintln!("fuzz harness panicked: {info}");
            return;
        }
        if !IN_PANIC_HOOK.swap(true, Ordering::SeqCst) {
            CAUGHT.fetch_add(1, Ordering::Relaxed);
            if let (Some(loc), Ok(mut at)) = (info.location(), LAST_PANIC_AT.lock()) {
                *at = format!("{}:{}", loc.file(), loc.line());
                if let Ok(mut places) = CAUGHT_AT.lock() {
                    *places.entry(at.clone()).or_insert(0) += 1;
                }
            }
            IN_PANIC_HOOK.store(false, Ordering::SeqCst);
        }
    }));
    std::thread::spawn(watchdog);
}

extern "C" fn on_fatal_signal(sig: libc::c_int) {
    dump_input();
    // SAFETY: SA_RESETHAND restored the default action; raising again ends the process.
    unsafe {
        libc::raise(sig);
    }
}

fn now_ms() -> u64 {
    EPOCH
        .get()
        .map_or(0, |e| e.elapsed().as_millis() as u64 + 1)
}

fn reader_cpu_ns() -> u64 {
    let Some(&clock) = READER_CLOCK.get() else {
        return 0;
    };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and out-pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A hang is over 1 s of the reading thread's CPU time, or 10 s of wall time (a reader that
/// waits on its own threads forever), on one input. CPU time keeps a loaded machine from
/// turning slow scheduling into false hangs.
fn watchdog() {
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let since = BUSY_SINCE_MS.load(Ordering::SeqCst);
        if since == 0 {
            continue;
        }
        let cpu = reader_cpu_ns().saturating_sub(BUSY_CPU_NS.load(Ordering::SeqCst));
        let wall = now_ms().saturating_sub(since);
        if BUSY_SINCE_MS.load(Ordering::SeqCst) == since && (cpu > 1_000_000_000 || wall > 10_000) {
            die(b"hang: over 1 s on one input\n", crate::EXIT_HANG);
        }
    }
}

/// Publish `input` as the one being read.
pub fn begin(input: &[u8]) {
    INPUT_PTR.store(input.as_ptr() as *mut u8, Ordering::SeqCst);
    INPUT_LEN.store(input.len(), Ordering::SeqCst);
    BUSY_CPU_NS.store(reader_cpu_ns(), Ordering::SeqCst);
    BUSY_SINCE_MS.store(now_ms(), Ordering::SeqCst);
}

/// The input is no longer being read.
pub fn end() {
    BUSY_SINCE_MS.store(0, Ordering::SeqCst);
    INPUT_PTR.store(std::ptr::null_mut(), Ordering::SeqCst);
    INPUT_LEN.store(0, Ordering::SeqCst);
}

/// Where caught panics happened, with counts.
pub fn caught_places() -> Vec<(String, u64)> {
    CAUGHT_AT
        .lock()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default()
}

pub fn caught_panics() -> u64 {
    CAUGHT.load(Ordering::Relaxed)
}

/// The panic's message and where it happened.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".into()
    };
    let at = LAST_PANIC_AT.lock().map(|s| s.clone()).unwrap_or_default();
    format!("{msg} at {at}")
}

/// Keep a crashing input; returns its path.
pub fn save_crash(target: &str, kind: &str, input: &[u8]) -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in input {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    let path = crate::crash_root()
        .join(target)
        .join(format!("{kind}-{h:016x}.bin"));
    let _ = std::fs::write(&path, input);
    path
}
