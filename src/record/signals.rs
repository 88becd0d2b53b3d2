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
