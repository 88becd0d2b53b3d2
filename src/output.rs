//! Writing output files atomically: a temp file in the destination folder, renamed into place
//! when complete, so a failure never leaves a half-written file. `-` means standard output.
//! A destination that is not a regular file (`/dev/null`, a FIFO, `/dev/stdout` on a pipe) is
//! written in place: renaming over it would replace the device itself (as root, `/dev/null`
//! became a plain file, breaking every program on the machine that writes to it). A symlink
//! is followed: the file it points to is replaced, the link stays.

use crate::error::{Error, Result};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Write `path` (or stdout for `-`) through `f`, atomically for files.
pub fn write_atomic<F>(path: &str, f: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    if path == "-" {
        let stdout = io::stdout();
        let mut w = BufWriter::new(stdout.lock());
        return f(&mut w).and_then(|_| w.flush()).or_else(|e| {
            // A closed pipe (`| head`) is not an error worth reporting.
            if e.kind() == io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(Error::io("<stdout>", e))
            }
        });
    }
    let given = Path::new(path);
    if std::fs::metadata(given).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(given)
            .map_err(|e| Error::io(path, e))?;
        let mut w = BufWriter::new(file);
        return f(&mut w)
            .and_then(|_| w.flush())
            .map_err(|e| Error::io(path, e));
    }
    // A symlink (`/dev/stdout` to a file, a link the user keeps) is followed: the rename
    // replaces the file it points to, not the link.
    let resolved;
    let p = if std::fs::symlink_metadata(given).is_ok_and(|m| m.file_type().is_symlink()) {
        resolved = std::fs::canonicalize(given).map_err(|e| Error::io(path, e))?;
        resolved.as_path()
    } else {
        given
    };
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".profdiff-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(path, e))?;
    let mut w = BufWriter::new(tmp);
    f(&mut w).map_err(|e| Error::io(path, e))?;
    let tmp = w
        .into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?;
    // tempfile creates 0600; give the result the mode a plain create would (0666 & ~umask).
    set_default_mode(tmp.as_file()).map_err(|e| Error::io(path, e))?;
    tmp.persist(p).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(unix)]
fn set_default_mode(f: &std::fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: umask only swaps the process mask; it is set straight back.
    let mask = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    f.set_permissions(std::fs::Permissions::from_mode(0o666 & !(mask as u32)))
}

#[cfg(not(unix))]
fn set_default_mode(_f: &std::fs::File) -> io::Result<()> {
    Ok(())
}

/// Write bytes atomically (see [`write_atomic`]).
pub fn write_bytes(path: &str, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FIFO (like `/dev/null`, not a regular file) is written into, not replaced.
    #[cfg(unix)]
    #[test]
    fn special_files_are_written_in_place() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_bytes(fifo.to_str().unwrap(), b"through").unwrap();
        assert_eq!(reader.join().unwrap(), b"through");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.txt");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_bytes(link.to_str().unwrap(), b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.txt");
        let r = write_atomic(out.to_str().unwrap(), |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn successful_write_replaces_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.txt");
        std::fs::write(&out, "old").unwrap();
        write_bytes(out.to_str().unwrap(), b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "new");
    }
}
