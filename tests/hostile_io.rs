//! Input and output files changing underneath profdiff: an input truncated while it is read
//! (memory-mapped: SIGBUS unless handled), an output disk that fills up, several processes
//! writing the same output. Each must give one error line and exit 2, or a correct result;
//! never a signal, never a corrupt or half-written output.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A folded-stacks file of about 18 MB: reading it takes long enough to truncate it midway.
fn write_big_folded(path: &Path) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..600_000u32 {
        writeln!(
            f,
            "main;run;work_{};leaf_{} {}",
            i % 5000,
            i % 777,
            i % 9 + 1
        )
        .unwrap();
    }
}

#[test]
fn input_truncated_while_read_is_exit_2_not_sigbus() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("big.folded");
    write_big_folded(&original);
    let copy = dir.path().join("copy.folded");
    let mut shrank = 0;
    for attempt in 0..6u64 {
        std::fs::copy(&original, &copy).unwrap();
        let child = Command::new(common::profdiff_bin())
            .args(["top", "-n", "3"])
            .arg(&copy)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Different points of the read on each attempt.
        std::thread::sleep(Duration::from_millis(30 + 60 * attempt));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&copy)
            .unwrap()
            .set_len(4096)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        // Finished before the truncation (0) or refused (2); never killed by a signal.
        match out.status.code() {
            Some(0) => {}
            Some(2) => {
                assert!(err.contains("copy.folded"), "error names the file: {err}");
                assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
                if err.contains("shrank while it was being read") {
                    shrank += 1;
                }
            }
            other => panic!(
                "attempt {attempt}: status {other:?} ({:?}): {err}",
                out.status
            ),
        }
    }
    assert!(shrank > 0, "no attempt truncated the file during the read");
}
