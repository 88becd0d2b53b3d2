//! A gzip bomb stops at the decompression limit tied to the input's size (100 times it, at
//! least 256 MiB), with one error line naming the file and exit 2, and the process's peak
//! memory stays near that limit rather than the bomb's full size. One test in its own binary:
//! the peak is read with getrusage(RUSAGE_CHILDREN), which covers every child this process
//! waited for.

mod common;

use std::io::Write;
use std::process::Command;

/// ~1 MiB of gzip that expands to 2 GiB: one member of 32 MiB of zeros, repeated (profdiff
/// reads multi-member gzip).
fn bomb(path: &std::path::Path) {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&vec![0u8; 32 << 20]).unwrap();
    let member = e.finish().unwrap();
    let mut f = std::fs::File::create(path).unwrap();
    for _ in 0..64 {
        f.write_all(&member).unwrap();
    }
}

#[test]
fn gzip_bomb_is_refused_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bomb.pb.gz");
    bomb(&f);
    let compressed = std::fs::metadata(&f).unwrap().len();
    assert!(compressed < 4 << 20, "{compressed}");
    let out = Command::new(common::profdiff_bin())
        .arg("top")
        .arg(&f)
        .env_remove("PROFDIFF_MAX_DECOMPRESSED")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&*f.to_string_lossy()), "{err}");
    assert!(err.contains("expands beyond 268435456 bytes"), "{err}");
    // SAFETY: getrusage with a valid out-pointer.
    let peak_kib = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut u), 0);
        u.ru_maxrss as u64
    };
    println!("gzip bomb of {compressed} bytes (2 GiB expanded): peak {peak_kib} KiB");
    // The limit (256 MiB) plus the vector's growth headroom and the program itself.
    assert!(peak_kib < 600 << 10, "peak {peak_kib} KiB");
}
