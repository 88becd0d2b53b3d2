//! Starting the command to profile, gated: the child is forked, waits on a pipe until the
//! sampling events are attached to its pid, and only then execs the command. `std::process`
//! cannot do this (its spawn waits for exec to finish), so this uses fork/exec directly.

use super::RecordError;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// How a profiled process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildExit {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

impl ChildExit {
    /// The exit status a shell would report: the code, or 128 + the signal number.
    pub fn shell_code(self) -> i32 {
        match self {
            ChildExit::Code(c) => c,
            ChildExit::Signal(s) => 128 + s,
        }
    }

    pub(crate) fn from_wait_status(status: libc::c_int) -> Option<Self> {
        if libc::WIFEXITED(status) {
            Some(ChildExit::Code(libc::WEXITSTATUS(status)))
        } else if libc::WIFSIGNALED(status) {
            Some(ChildExit::Signal(libc::WTERMSIG(status)))
        } else {
            None
        }
    }
}

/// CPU time a reaped child used, from `wait4`'s rusage: its own plus that of the
/// descendants it waited for (so `sh -c 'a; b'` counts `a` and `b`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChildUsage {
    pub user: std::time::Duration,
    pub sys: std::time::Duration,
}

impl ChildUsage {
    fn from_rusage(r: &libc::rusage) -> Self {
        let d = |t: libc::timeval| {
            std::time::Duration::from_secs(t.tv_sec.max(0) as u64)
                + std::time::Duration::from_micros(t.tv_usec.max(0) as u64)
        };
        ChildUsage {
            user: d(r.ru_utime),
            sys: d(r.ru_stime),
        }
    }

    /// User + system time.
    pub fn cpu(&self) -> std::time::Duration {
        self.user + self.sys
    }
}

/// A forked child blocked before `exec` until [`GatedChild::release`].
pub struct GatedChild {
    pub pid: libc::pid_t,
    gate_w: libc::c_int,
    err_r: libc::c_int,
    program: String,
}

/// Find `program` like a shell does: as given when it contains `/`, else on `PATH`.
pub fn resolve_program(program: &OsStr) -> Option<PathBuf> {
    let is_exec = |p: &Path| {
        let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
            return false;
        };
        p.is_file() && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0
    };
    if program.as_bytes().contains(&b'/') {
        let p = PathBuf::from(program);
        return is_exec(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| is_exec(p))
}

fn cstring(s: &OsStr) -> Result<CString, RecordError> {
    CString::new(s.as_bytes()).map_err(|_| {
        RecordError::Spawn(format!(
            "{}: argument contains a NUL byte",
            s.to_string_lossy()
        ))
    })
}

fn pipe_cloexec() -> Result<[libc::c_int; 2], RecordError> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(RecordError::Spawn(format!(
            "pipe: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(fds)
}

impl GatedChild {
    /// Fork a child that will exec `argv` once released.
    pub fn spawn(argv: &[OsString]) -> Result<Self, RecordError> {
        let first = argv
            .first()
            .ok_or_else(|| RecordError::Spawn("no command given".into()))?;
        let program_name = first.to_string_lossy().into_owned();
        let path = resolve_program(first).ok_or_else(|| {
            RecordError::Spawn(format!(
                "{program_name}: command not found or not executable"
            ))
        })?;
        // Everything the child needs is allocated before fork: after fork only
        // async-signal-safe calls are made.
        let c_path = cstring(path.as_os_str())?;
        let c_args: Vec<CString> = argv.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?;
        let mut c_argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
        c_argv.push(std::ptr::null());
        let [gate_r, gate_w] = pipe_cloexec()?;
        let [err_r, err_w] = pipe_cloexec()?;

        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            unsafe {
                libc::close(gate_r);
                libc::close(gate_w);
                libc::close(err_r);
                libc::close(err_w);
            }
            return Err(RecordError::Spawn(format!("fork: {e}")));
        }
        if pid == 0 {
            // Child.
            unsafe {
                libc::close(gate_w);
                libc::close(err_r);
                let mut b = 0u8;
                loop {
                    let n = libc::read(gate_r, (&mut b as *mut u8).cast(), 1);
                    if n == 1 {
                        break;
                    }
                    if n < 0 && *libc::__errno_location() == libc::EINTR {
                        continue;
                    }
                    // The parent went away or gave up: do not run the command unprofiled.
                    libc::_exit(127);
                }
                libc::close(gate_r);
                extern "C" {
                    static environ: *const *const libc::c_char;
                }
                libc::execve(c_path.as_ptr(), c_argv.as_ptr(), environ);
                let errno = *libc::__errno_location();
                let bytes = errno.to_ne_bytes();
                libc::write(err_w, bytes.as_ptr().cast(), bytes.len());
                libc::_exit(127);
            }
        }
        unsafe {
            libc::close(gate_r);
            libc::close(err_w);
        }
        Ok(GatedChild {
            pid,
            gate_w,
            err_r,
            program: program_name,
        })
    }

    /// Let the child exec; returns once exec has succeeded or failed.
    pub fn release(&mut self) -> Result<(), RecordError> {
        let b = 1u8;
        let n = unsafe { libc::write(self.gate_w, (&b as *const u8).cast(), 1) };
        unsafe { libc::close(self.gate_w) };
        self.gate_w = -1;
        if n != 1 {
            return Err(RecordError::Spawn(format!(
                "{}: cannot start: {}",
                self.program,
                std::io::Error::last_os_error()
            )));
        }
        // The error pipe closes on a successful exec (CLOEXEC) or carries errno.
        let mut buf = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = unsafe { libc::read(self.err_r, buf[got..].as_mut_ptr().cast(), 4 - got) };
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        unsafe { libc::close(self.err_r) };
        self.err_r = -1;
        if got == 4 {
            let e = std::io::Error::from_raw_os_error(i32::from_ne_bytes(buf));
            let _ = self.wait_blocking();
            return Err(RecordError::Spawn(format!(
                "{}: cannot execute: {e}",
                self.program
            )));
        }
        Ok(())
    }

    /// Non-blocking check whether the child has ended; if so, how, and the CPU time it used.
    pub fn try_wait(&self) -> Option<(ChildExit, ChildUsage)> {
        let mut status = 0;
        // SAFETY: rusage is plain data, zero is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(self.pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == self.pid {
            ChildExit::from_wait_status(status).map(|e| (e, ChildUsage::from_rusage(&usage)))
        } else {
            None
        }
    }

    /// Wait for the child to end.
    pub fn wait_blocking(&self) -> Option<ChildExit> {
        let mut status = 0;
        loop {
            let r = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            if r == self.pid {
                if let Some(e) = ChildExit::from_wait_status(status) {
                    return Some(e);
                }
            } else if r < 0
                && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
            {
                return None;
            }
        }
    }

    /// Send a signal to the child.
    pub fn signal(&self, sig: libc::c_int) {
        unsafe {
            libc::kill(self.pid, sig);
        }
    }
}

impl Drop for GatedChild {
    fn drop(&mut self) {
        unsafe {
            if self.gate_w >= 0 {
                // Never released: closing the gate makes the child exit without running.
                libc::close(self.gate_w);
                libc::close(self.err_r);
                let mut st = 0;
                libc::waitpid(self.pid, &mut st, 0);
            } else if self.err_r >= 0 {
                libc::close(self.err_r);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_passes_through() {
        let mut c = GatedChild::spawn(&["sh".into(), "-c".into(), "exit 7".into()]).unwrap();
        c.release().unwrap();
        assert_eq!(c.wait_blocking(), Some(ChildExit::Code(7)));
    }

    #[test]
    fn signal_death_is_128_plus_signo() {
        let mut c = GatedChild::spawn(&["sh".into(), "-c".into(), "kill -ABRT $$".into()]).unwrap();
        c.release().unwrap();
        let e = c.wait_blocking().unwrap();
        assert_eq!(e, ChildExit::Signal(libc::SIGABRT));
        assert_eq!(e.shell_code(), 134);
    }

    #[test]
    fn cpu_time_of_a_busy_child_is_reported() {
        let mut c = GatedChild::spawn(&[
            "sh".into(),
            "-c".into(),
            "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done".into(),
        ])
        .unwrap();
        c.release().unwrap();
        let (exit, usage) = loop {
            if let Some(r) = c.try_wait() {
                break r;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert_eq!(exit, ChildExit::Code(0));
        assert!(usage.cpu() > std::time::Duration::ZERO, "{usage:?}");
    }

    #[test]
    fn missing_command_is_an_error_before_fork() {
        let e = GatedChild::spawn(&["/nonexistent/profdiff-nope".into()])
            .err()
            .unwrap();
        assert!(e.to_string().contains("not found"), "{e}");
    }

    #[test]
    fn unreleased_child_never_runs() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let cmd = format!("touch {}", marker.display());
        let c = GatedChild::spawn(&["sh".into(), "-c".into(), cmd.into()]).unwrap();
        drop(c);
        assert!(!marker.exists());
    }
}
