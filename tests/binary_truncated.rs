//! A binary mapped for symbolization that is truncated in place while profdiff holds the
//! mapping: the next access past its new end raises SIGBUS, which the registration of binary
//! mappings (`symbolize::elf::Bytes::map`, `mapped::register_binary`) turns into one error
//! line naming the binary and exit 2, as for inputs (tests/hostile_io.rs).
//!
//! The truncation is made deterministic rather than raced: the test re-runs itself as a child
//! that maps a copy of a binary, truncates it to nothing, then reads the mapping's last page,
//! exactly what a symbolizer does when the file shrinks between the map and a lookup.

use std::io::Write;
use std::process::Command;

const CHILD: &str = "PROFDIFF_TEST_TRUNCATED_BINARY";

#[test]
fn binary_truncated_while_mapped_is_exit_2_not_sigbus() {
    if let Ok(path) = std::env::var(CHILD) {
        profdiff::mapped::install();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let bytes = profdiff::symbolize::elf::Bytes::map(&f, &path).unwrap();
        f.set_len(0).unwrap();
        let last = std::hint::black_box(bytes[bytes.len() - 1]);
        println!("read {last} past the end without a fault");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("libvictim.so");
    let mut out = std::fs::File::create(&copy).unwrap();
    out.write_all(&std::fs::read(std::env::current_exe().unwrap()).unwrap()[..1 << 20])
        .unwrap();
    drop(out);
    let run = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "binary_truncated_while_mapped_is_exit_2_not_sigbus",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &copy)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{:?}: {err}", run.status);
    let line = err
        .lines()
        .find(|l| l.starts_with("profdiff: error:"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains(&*copy.to_string_lossy()), "{line}");
    assert!(
        line.contains("binary shrank while it was being read"),
        "{line}"
    );
}
