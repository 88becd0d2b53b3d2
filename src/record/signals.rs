//! Signals during a recording: SIGINT / SIGTERM / SIGHUP are caught (to be forwarded to the
//! profiled command, so the profile is still written) and SIGCHLD wakes the drain loop, all
//! through a self-pipe that the loop polls next to the ring buffers.

use std::sync::atomic::{AtomicI32, Ordering};

static PIPE_W: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = PIPE_W.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        unsafe {
            libc::write(fd, (&b as *const u8).cast(), 1);
        }
    }
}

const CAUGHT: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGCHLD];

/// Installed handlers; restores the previous ones on drop.
pub struct SignalPipe {
    read_fd: libc::c_int,
    write_fd: libc::c_int,
    old: Vec<(libc::c_int, libc::sigaction)>,
}

impl SignalPipe {
    pub fn install() -> std::io::Result<Self> {
        let mut fds = [0; 2];
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        PIPE_W.store(fds[1], Ordering::SeqCst);
        let mut old = Vec::new();
        for sig in CAUGHT {
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                let mut prev: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &sa, &mut prev) == 0 {
                    old.push((sig, prev));
                }
            }
        }
        Ok(SignalPipe {
            read_fd: fds[0],
            write_fd: fds[1],
            old,
        })
    }

    /// The fd to poll for readability.
    pub fn fd(&self) -> libc::c_int {
        self.read_fd
    }

    /// Signals received since the last call.
    pub fn take(&self) -> Vec<libc::c_int> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = unsafe { libc::read(self.read_fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            out.extend(buf[..n as usize].iter().map(|&b| b as libc::c_int));
        }
        out
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        for (sig, prev) in &self.old {
            unsafe {
                libc::sigaction(*sig, prev, std::ptr::null_mut());
            }
        }
        PIPE_W.store(-1, Ordering::SeqCst);
        unsafe {
            libc::close(self.read_fd);
            libc::close(self.write_fd);
        }
    }
}

/// Signals from the user while a finished recording is being symbolized and written.
static FINISHING_SIGNALS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

extern "C" fn on_signal_finishing(_sig: libc::c_int) {
    const MSG: &[u8] = b"\nprofdiff: writing the recorded profile; interrupt again to abandon it\n";
    if FINISHING_SIGNALS.fetch_add(1, Ordering::SeqCst) == 0 {
        // SAFETY: write(2) is async-signal-safe; MSG is a static buffer.
        unsafe {
            libc::write(2, MSG.as_ptr().cast(), MSG.len());
        }
    } else {
        // SAFETY: _exit is async-signal-safe. 130 = 128 + SIGINT, as a shell reports it.
        unsafe { libc::_exit(130) };
    }
}

/// While alive, the first SIGINT / SIGTERM / SIGHUP does not kill profdiff while it writes a
/// profile whose command has already ended (that would lose the whole recording); it says
/// so, and a further one ends profdiff at once. Restores the previous handlers on drop.
pub struct FinishingGuard {
    old: Vec<(libc::c_int, libc::sigaction)>,
}

impl FinishingGuard {
    pub fn install() -> Self {
        FINISHING_SIGNALS.store(0, Ordering::SeqCst);
        let mut old = Vec::new();
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: a zeroed sigaction is valid; the handler only makes async-signal-safe
            // calls.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal_finishing as extern "C" fn(libc::c_int) as usize;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                let mut prev: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &sa, &mut prev) == 0 {
                    old.push((sig, prev));
                }
            }
        }
        FinishingGuard { old }
    }

    /// Whether the user asked to stop while the profile was written.
    pub fn interrupted(&self) -> bool {
        FINISHING_SIGNALS.load(Ordering::SeqCst) > 0
    }
}

impl Drop for FinishingGuard {
    fn drop(&mut self) {
        for (sig, prev) in &self.old {
            // SAFETY: restores the handler saved at install.
            unsafe {
                libc::sigaction(*sig, prev, std::ptr::null_mut());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_interrupt_while_finishing_is_noted_not_fatal() {
        let current = || unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGHUP, std::ptr::null(), &mut sa);
            sa.sa_sigaction
        };
        let before = current();
        let guard = FinishingGuard::install();
        assert!(!guard.interrupted());
        // SIGHUP, not SIGINT: the test harness and a terminal never send it here.
        unsafe {
            libc::raise(libc::SIGHUP);
        }
        assert!(guard.interrupted(), "the process is still alive and knows");
        drop(guard);
        assert_eq!(current(), before, "the previous handler is back");
    }
}
