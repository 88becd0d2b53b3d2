//! Input and output files changing underneath profdiff: an input truncated while it is read
//! (memory-mapped: SIGBUS unless handled), an output disk that fills up, several processes
//! writing the same output. Each must give one error line and exit 2, or a correct result;
//! never a signal, never a corrupt or half-written output.

mod common;
mod perf_data_util;

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

/// Run profdiff with a cache folder; stdout, exit status and stderr.
fn run_cached(args: &[&str], cache: &Path) -> std::process::Output {
    Command::new(common::profdiff_bin())
        .args(args)
        .env("PROFDIFF_CACHE_DIR", cache)
        .output()
        .unwrap()
}

#[test]
fn parallel_runs_share_an_empty_cache_and_one_output_file() {
    if !perf_data_util::perf_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = perf_data_util::build_c(dir.path(), "hot", &["-fno-omit-frame-pointer"]);
    let data = dir.path().join("perf.data");
    perf_data_util::perf_record(&data, &["-g"], &bin, &["30"]);
    let data = data.to_str().unwrap();
    // Serial reference, with the cache turned off.
    let off = Path::new("off");
    let want_top = run_cached(&["top", "--format", "json", data], off);
    assert!(want_top.status.success());
    let want_svg = dir.path().join("want.svg");
    let st = run_cached(&["flamegraph", data, "-o", want_svg.to_str().unwrap()], off);
    assert!(st.status.success());
    let want_svg = std::fs::read(&want_svg).unwrap();

    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let shared_svg = dir.path().join("shared.svg");
    let shared = shared_svg.to_str().unwrap().to_string();
    let workers: Vec<_> = (0..6)
        .map(|i| {
            let (cache, data, shared) = (cache.clone(), data.to_string(), shared.clone());
            std::thread::spawn(move || {
                if i % 2 == 0 {
                    run_cached(&["top", "--format", "json", &data], &cache)
                } else {
                    run_cached(&["flamegraph", &data, "-o", &shared], &cache)
                }
            })
        })
        .collect();
    for (i, w) in workers.into_iter().enumerate() {
        let out = w.join().unwrap();
        assert!(
            out.status.success(),
            "run {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if i % 2 == 0 {
            assert_eq!(out.stdout, want_top.stdout, "run {i}: top differs");
        }
    }
    assert_eq!(
        std::fs::read(&shared_svg).unwrap(),
        want_svg,
        "shared output corrupt"
    );
    // No temp files left beside the output; the warm cache gives the same result again.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
    let again = run_cached(&["top", "--format", "json", data], &cache);
    assert_eq!(again.stdout, want_top.stdout, "warm cache differs");
}

/// A tmpfs of 64 KiB at a fresh folder, unmounted on drop; None (with a notice) where
/// mounting is not permitted.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status();
        if st.map(|s| s.success()).unwrap_or(false) {
            Some(SmallDisk { dir })
        } else {
            eprintln!("notice: skipping: cannot mount a small tmpfs here (needs root)");
            None
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn disk_full_while_writing_keeps_the_previous_file() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let src = tempfile::tempdir().unwrap();
    let input = src.path().join("many.folded");
    let mut text = String::new();
    // About 300 KB of names, all wide enough to be drawn: every output outgrows 64 KiB.
    for i in 0..3000 {
        let pad = "x".repeat(80);
        text.push_str(&format!("main;module_{};function_{i}_{pad} 100\n", i % 40));
    }
    std::fs::write(&input, text).unwrap();
    let out = disk.dir.path().join("graph.svg");
    std::fs::write(&out, "previous graph").unwrap();
    for args in [
        vec![
            "flamegraph",
            input.to_str().unwrap(),
            "--minwidth",
            "0",
            "-o",
            out.to_str().unwrap(),
        ],
        vec![
            "convert",
            input.to_str().unwrap(),
            "--to",
            "folded",
            "-o",
            out.to_str().unwrap(),
        ],
    ] {
        let o = Command::new(common::profdiff_bin())
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("graph.svg") && err.contains("No space left"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous graph");
        let names: Vec<_> = std::fs::read_dir(disk.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("graph.svg")],
            "temp file left"
        );
    }
}

/// Run profdiff with stdout and stderr on pipes whose reading ends are already closed, as
/// `profdiff … 2>&1 | head -1` leaves them once `head` has its line.
fn run_into_closed_pipes(args: &[&str]) -> std::process::ExitStatus {
    Command::new(common::profdiff_bin())
        .args(args)
        .stdout(closed_pipe())
        .stderr(closed_pipe())
        .status()
        .unwrap()
}

/// The writing end of a pipe nobody reads any more.
fn closed_pipe() -> Stdio {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe() just returned these two descriptors, owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

#[test]
fn closed_output_pipes_are_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("a.folded");
    std::fs::write(&folded, "main;work 10\nmain;idle 5\n").unwrap();
    let f = folded.to_str().unwrap();
    // A report, a gate's verdict line on stderr, and an error: each keeps its exit code.
    assert_eq!(run_into_closed_pipes(&["top", f]).code(), Some(0));
    let gate = run_into_closed_pipes(&["compare", "--fail-on", "0.01%", f, "--", f]);
    assert!(matches!(gate.code(), Some(0 | 1)), "{gate:?}");
    let missing = dir.path().join("missing.folded");
    let err = run_into_closed_pipes(&["top", missing.to_str().unwrap()]);
    assert_eq!(err.code(), Some(2));
}
