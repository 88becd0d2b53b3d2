//! A memory-mapped file that shrinks while it is read (perf still writing, a copy in progress,
//! a full disk) makes the next access to a page past its new end raise SIGBUS, which kills the
//! process. profdiff maps its inputs and the binaries it symbolizes because that is what makes
//! multi-gigabyte recordings cheap to read, so instead of reading every file into memory it
//! turns that signal into one error line naming the file and exit code 2.
//!
//! How: every mapping of a file is registered here ([`register`]) in a fixed table that a
//! signal handler can read without locks or allocation. The handler ([`install`], called by
//! the binary) looks up the faulting address; inside a registered mapping it writes
//! `profdiff: error: <file>: the file shrank while it was being read ...` and exits with 2.
//! The read cannot be resumed (there is no data to resume with), so ending the process is the
//! honest outcome; a fault anywhere else is re-raised with the default action. Copying or
//! re-checking the size would not help: the file can shrink between the check and the access.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// Registered mappings at once (inputs plus the binaries being symbolized); more are simply
/// not covered.
const SLOTS: usize = 1024;

struct Slot {
    start: AtomicUsize,
    end: AtomicUsize,
    /// The error line to print (leaked while registered, freed on unregister).
    message: AtomicPtr<Vec<u8>>,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    message: AtomicPtr::new(std::ptr::null_mut()),
};
static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];

/// Keeps a mapping registered; dropping it (before the mapping is unmapped) unregisters it.
pub struct Registration {
    slot: Option<usize>,
}

/// Register `bytes`, a mapping of the input file shown as `path`.
pub fn register(bytes: &[u8], path: &str) -> Registration {
    register_with(
        bytes,
        format!(
            "profdiff: error: {path}: the file shrank while it was being read (truncated by another program, or still being written); read a complete copy\n"
        ),
    )
}

/// Register `bytes`, a mapping of the binary (or debug file) `path` read for symbolization.
pub fn register_binary(bytes: &[u8], path: &str) -> Registration {
    register_with(
        bytes,
        format!(
            "profdiff: error: {path}: the binary shrank while it was being read for symbolization (rebuilt or truncated in place); run again once it is complete\n"
        ),
    )
}

fn register_with(bytes: &[u8], message: String) -> Registration {
    let message = Box::into_raw(Box::new(message.into_bytes()));
    for (i, slot) in TABLE.iter().enumerate() {
        if slot
            .message
            .compare_exchange(
                std::ptr::null_mut(),
                message,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
        {
            slot.start.store(bytes.as_ptr() as usize, Ordering::SeqCst);
            slot.end
                .store(bytes.as_ptr() as usize + bytes.len(), Ordering::SeqCst);
            return Registration { slot: Some(i) };
        }
    }
    // SAFETY: `message` came from Box::into_raw above and was not stored anywhere.
    drop(unsafe { Box::from_raw(message) });
    Registration { slot: None }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            let slot = &TABLE[i];
            slot.end.store(0, Ordering::SeqCst);
            slot.start.store(0, Ordering::SeqCst);
            let m = slot.message.swap(std::ptr::null_mut(), Ordering::SeqCst);
            if !m.is_null() {
                // SAFETY: stored by `register` from Box::into_raw; swapped out exactly once.
                // (A handler running right now on another thread could still read it; that
                // thread is ending the process.)
                drop(unsafe { Box::from_raw(m) });
            }
        }
    }
}

/// Install the SIGBUS handler (the binary calls this once at start).
pub fn install() {
    #[cfg(unix)]
    // SAFETY: the handler only reads atomics and calls write(2), _exit(2), sigaction and
    // raise, which are async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigbus as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
    }
}

#[cfg(unix)]
extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    for slot in &TABLE {
        let (start, end) = (
            slot.start.load(Ordering::SeqCst),
            slot.end.load(Ordering::SeqCst),
        );
        let m = slot.message.load(Ordering::SeqCst);
        if start <= addr && addr < end && !m.is_null() {
            // SAFETY: `m` is a registered message (see `register`); write and _exit are
            // async-signal-safe.
            unsafe {
                let msg = &*m;
                libc::write(2, msg.as_ptr().cast(), msg.len());
                libc::_exit(2);
            }
        }
    }
    // Not a mapped input: the default action (end with SIGBUS).
    // SAFETY: restoring the default disposition and re-raising are async-signal-safe.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}
