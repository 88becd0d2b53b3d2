//! What a user relies on around `profdiff record`: the command's exit status is profdiff's,
//! Ctrl-C (SIGINT to profdiff) is forwarded and the profile still written, a crashing command
//! still yields its profile, refused/unsupported events and bad usage exit 2 with one line.

mod record_util;
use record_util::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn exit_status_passes_through() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.folded");
    let st = Command::new(profdiff_bin())
        .args(["record", "-o"])
        .arg(&out)
        .args(["--", "sh", "-c", "exit 7"])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(7));
    assert!(out.exists());
}

#[test]
fn crashing_child_still_yields_its_profile() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_workload(dir.path(), "threads", &["-fno-omit-frame-pointer"]);
    let out = dir.path().join("crash.folded");
    let o = Command::new(profdiff_bin())
        .args(["record", "--call-graph", "fp", "-o"])
        .arg(&out)
        .arg("--")
        .arg(&bin)
        .args(["20", "abort"])
        .output()
        .unwrap();
    // abort() = SIGABRT = 6: a shell would report 134.
    assert_eq!(
        o.status.code(),
        Some(134),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stacks = read_folded(&out);
    assert!(weight_of(&stacks, &["hot_a"]) > 0.0);
    assert!(weight_of(&stacks, &["hot_b"]) > 0.0);
}

#[test]
fn sigint_is_forwarded_and_profile_written() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_workload(dir.path(), "threads", &["-fno-omit-frame-pointer"]);
    let out = dir.path().join("int.folded");
    let svg = dir.path().join("int.svg");
    let child = Command::new(profdiff_bin())
        .args(["record", "-o"])
        .arg(&out)
        .arg("--svg")
        .arg(&svg)
        .arg("--")
        .arg(&bin)
        .args(["1", "forever"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it run (no timing assert: any amount of sampling is fine), then Ctrl-C profdiff only.
    std::thread::sleep(Duration::from_millis(2000));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    // The workload died of the forwarded SIGINT (2): 130, like a shell.
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(out.exists(), "{err}");
    let stacks = read_folded(&out);
    assert!(weight_of(&stacks, &["level_a", "hot_a"]) > 0.0, "{err}");
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.contains("<svg") && svg_text.contains("hot_a"));
}

#[test]
fn hardware_cycles_fail_clearly_or_work() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.folded");
    let o = Command::new(profdiff_bin())
        .args(["record", "--event", "cycles", "-o"])
        .arg(&out)
        .args(["--", "true"])
        .output()
        .unwrap();
    if o.status.success() {
        eprintln!("notice: this machine has hardware cycles; nothing to check");
        return;
    }
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("cycles") && err.contains("--event cpu-clock"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn usage_errors_exit_2() {
    let o = Command::new(profdiff_bin())
        .args(["record"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to record"));
    let o = Command::new(profdiff_bin())
        .args([
            "record",
            "-o",
            "/tmp/x.folded",
            "--",
            "/nonexistent/profdiff-cmd",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not found"));
}

#[test]
fn attach_to_running_process_with_duration() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_workload(dir.path(), "threads", &["-fno-omit-frame-pointer"]);
    let mut target = Command::new(&bin).args(["1", "forever"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let out = dir.path().join("pid.folded");
    let o = Command::new(profdiff_bin())
        .args(["record", "--call-graph", "fp", "--duration", "1.5", "--pid"])
        .arg(target.id().to_string())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    target.kill().unwrap();
    let _ = target.wait();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let stacks = read_folded(&out);
    // Both threads existed before attaching: both are sampled.
    assert!(weight_of(&stacks, &["level_a", "hot_a"]) > 0.0, "{err}");
    assert!(weight_of(&stacks, &["level_b", "hot_b"]) > 0.0, "{err}");
}

#[test]
fn sigterm_is_forwarded_and_profile_written() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_workload(dir.path(), "threads", &["-fno-omit-frame-pointer"]);
    let out = dir.path().join("term.pb.gz");
    let child = Command::new(profdiff_bin())
        .args(["record", "--call-graph", "fp", "-o"])
        .arg(&out)
        .arg("--")
        .arg(&bin)
        .args(["1", "forever"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    // SIGTERM = 15: 143, like a shell.
    assert_eq!(o.status.code(), Some(143), "{err}");
    // The pprof was written and reads back with samples in the workload's functions.
    let p = profdiff::formats::read_path(out.to_str().unwrap(), &Default::default()).unwrap();
    let names: Vec<String> = p
        .samples
        .iter()
        .flat_map(|s| p.stack_names(s).into_iter().map(|n| n.into_owned()))
        .collect();
    assert!(names.iter().any(|n| n == "level_a"), "{err}");
}

/// A command the shell forks and execs: its FORK record and its exec's COMM/MMAP2 records can
/// land in different CPUs' ring buffers. Applied in read order instead of time order, the
/// FORK's copy of the shell's maps overwrote the workload's own, and every frame came out
/// unknown. Pinning the shell to CPU 1 and the workload to CPU 0 (when there are two CPUs and
/// `taskset`) puts the exec's records in the buffer read first: the old code failed every run.
#[test]
fn forked_and_execed_command_is_symbolized() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_workload(dir.path(), "threads", &["-fno-omit-frame-pointer"]);
    let two_cpus = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    let pin = two_cpus && have("taskset");
    if !pin {
        eprintln!("notice: fewer than 2 CPUs or no taskset: the fork/exec order is left to chance");
    }
    for run in 0..4 {
        let mode = if run % 2 == 0 { "fp" } else { "dwarf" };
        let out = dir.path().join(format!("sh{run}.folded"));
        let mut cmd = Command::new(profdiff_bin());
        cmd.args(["record", "--call-graph", mode, "-o"])
            .arg(&out)
            .arg("--");
        let script = if pin {
            cmd.args(["taskset", "-c", "1"]);
            format!("taskset -c 0 {} 15; true", bin.display())
        } else {
            format!("{} 15; true", bin.display())
        };
        let o = cmd.args(["sh", "-c", &script]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stacks = read_folded(&out);
        let total: f64 = stacks.iter().map(|s| s.1).sum();
        let hot = weight_of(&stacks, &["hot_a"]) + weight_of(&stacks, &["hot_b"]);
        assert!(
            hot > 0.8 * total,
            "run {run} ({mode}): hot functions {hot} of {total}; stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Wait for `child` at most `secs` seconds (a hang is a failure, not a stuck test run).
fn wait_bounded(mut child: std::process::Child, secs: u64) -> std::process::Output {
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("profdiff did not end within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn read_pprof(path: &std::path::Path) -> profdiff::Profile {
    profdiff::formats::read_path(path.to_str().unwrap(), &Default::default()).unwrap()
}

#[test]
fn outputs_are_checked_before_the_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let touch = format!("touch {}", marker.display());
    let missing = dir.path().join("no/such/folder/p.pb.gz");
    let svg_missing = dir.path().join("nope/p.svg");
    let ok = dir.path().join("p.pb.gz");
    let runs_missing = dir.path().join("a/b");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["-o".into(), missing.display().to_string()],
            "does not exist",
        ),
        (vec!["-o".into(), "./".into()], "it is a folder"),
        (
            vec!["-o".into(), dir.path().display().to_string()],
            "it is a folder",
        ),
        // Not writable even for root: sysfs refuses new files.
        (vec!["-o".into(), "/sys/p.pb.gz".into()], "not writable"),
        (
            vec![
                "-o".into(),
                ok.display().to_string(),
                "--svg".into(),
                svg_missing.display().to_string(),
            ],
            "does not exist",
        ),
        (
            vec![
                "--runs".into(),
                "2".into(),
                "-o".into(),
                runs_missing.display().to_string(),
            ],
            "does not exist",
        ),
    ];
    for (args, want) in cases {
        let o = Command::new(profdiff_bin())
            .arg("record")
            .args(&args)
            .args(["--", "sh", "-c", &touch])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(!marker.exists(), "{args:?}: the command ran");
    }
    assert!(!ok.exists());
}

/// A command that ignores SIGINT: one SIGINT to profdiff ends it (SIGTERM after the grace
/// period), and the profile is written.
#[test]
fn command_ignoring_sigint_is_terminated_and_profile_written() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ign.pb.gz");
    let child = Command::new(profdiff_bin())
        .args(["record", "--call-graph", "fp", "-o"])
        .arg(&out)
        .args(["--", "sh", "-c", "trap '' INT; while :; do :; done"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let o = wait_bounded(child, 60);
    let err = String::from_utf8_lossy(&o.stderr);
    // Ended by the SIGTERM that followed: 128 + 15.
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(err.contains("sending SIGTERM"), "{err}");
    let p = read_pprof(&out);
    assert!(!p.samples.is_empty(), "{err}");
    assert_eq!(p.metadata["exit_status"], "143");
}

/// A command that ignores SIGINT and SIGTERM: a second SIGINT kills it at once.
#[test]
fn second_sigint_kills_at_once() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stubborn.pb.gz");
    let child = Command::new(profdiff_bin())
        .args(["record", "--call-graph", "fp", "-o"])
        .arg(&out)
        .args(["--", "sh", "-c", "trap '' INT TERM; while :; do :; done"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    for _ in 0..2 {
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let o = wait_bounded(child, 60);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(137), "{err}");
    // Killed by the second SIGINT, not by the escalation.
    assert!(!err.contains("sending SIGTERM"), "{err}");
    assert!(out.exists(), "{err}");
}

/// Started in the background by a shell, profdiff and its command inherit SIGINT ignored;
/// `kill -INT` still stops the recording, ends the command and writes the profile.
#[test]
fn background_start_still_stops_on_sigint() {
    if !can_record() {
        return;
    }
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = build_workload(dir.path(), "threads", &["-fno-omit-frame-pointer"]);
    let out = dir.path().join("bg.pb.gz");
    let mut cmd = Command::new(profdiff_bin());
    cmd.args(["record", "--call-graph", "fp", "-o"])
        .arg(&out)
        .arg("--")
        .arg(&bin)
        .args(["1", "forever"])
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let o = wait_bounded(child, 60);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{err}");
    let p = read_pprof(&out);
    let names: Vec<String> = p
        .samples
        .iter()
        .flat_map(|s| p.stack_names(s).into_iter().map(|n| n.into_owned()))
        .collect();
    assert!(names.iter().any(|n| n == "hot_a"), "{err}");
}

#[test]
fn command_ending_before_the_first_sample_gives_a_profile_and_a_note() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("short.pb.gz");
    let o = Command::new(profdiff_bin())
        .args(["record", "--call-graph", "fp", "-o"])
        .arg(&out)
        .args(["--", "true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    // `true` takes well under a millisecond of CPU: 0 samples at 999 Hz, rarely one.
    assert!(
        err.contains("note: 0 samples: the command ran for")
            || err.contains("note: only 1 samples: the command ran for"),
        "{err}"
    );
    let p = read_pprof(&out);
    assert!(p.metadata.contains_key("wall_ns"));
    assert!(
        p.quality
            .notes
            .iter()
            .any(|n| n.contains("the command ran for")),
        "{:?}",
        p.quality.notes
    );
}

#[test]
fn impossible_frequency_pid_and_event_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let touch = format!("touch {}", marker.display());
    let out = dir.path().join("x.pb.gz");
    let out_s = out.to_str().unwrap();
    if let Some(max) = std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        let too_high = (max * 10).to_string();
        let o = Command::new(profdiff_bin())
            .args([
                "record", "-F", &too_high, "-o", out_s, "--", "sh", "-c", &touch,
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("maximum sampling frequency, {max} Hz")),
            "{err}"
        );
        assert!(!marker.exists());
    }
    // A pid that exists nowhere (above the kernel's pid_max ceiling).
    let o = Command::new(profdiff_bin())
        .args(["record", "--pid", "2147483647", "-o", out_s])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no such process: 2147483647"), "{err}");
    let o = Command::new(profdiff_bin())
        .args(["record", "--event", "bogus", "-o", out_s, "--", "true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cpu-clock"), "{err}");
    assert!(!out.exists());
}

#[test]
fn pid_recording_names_the_process_command_line() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_workload(dir.path(), "threads", &["-fno-omit-frame-pointer"]);
    let mut target = Command::new(&bin).args(["1", "forever"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let out = dir.path().join("pid.pb.gz");
    let o = Command::new(profdiff_bin())
        .args(["record", "--call-graph", "fp", "--duration", "0.5", "--pid"])
        .arg(target.id().to_string())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    target.kill().unwrap();
    let _ = target.wait();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let p = read_pprof(&out);
    assert_eq!(
        p.metadata["command"],
        format!("{} 1 forever", bin.display()),
        "{err}"
    );
    assert_eq!(p.metadata["pid"], target.id().to_string());
}

/// Disk full while the profile is written: an error naming the file (exit 2), and the file
/// that was there before is left intact. Needs a one-page tmpfs (root); skips otherwise.
#[test]
fn disk_full_is_an_error_and_the_previous_file_survives() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4k", "tmpfs"])
        .arg(&small)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("notice: skipping: cannot mount a small tmpfs here (needs root)");
        return;
    }
    let out = small.join("p.pb.gz");
    // The one page of the file system holds the previous profile: nothing else fits.
    std::fs::write(&out, b"previous").unwrap();
    let bin = build_workload(dir.path(), "threads", &["-fno-omit-frame-pointer"]);
    let o = Command::new(profdiff_bin())
        .args(["record", "--call-graph", "fp", "-o"])
        .arg(&out)
        .arg("--")
        .arg(&bin)
        .arg("5")
        .output();
    let previous = std::fs::read(&out);
    let leftovers = std::fs::read_dir(&small).map(|d| d.count());
    let _ = Command::new("umount").arg(&small).status();
    let o = o.unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(previous.unwrap(), b"previous");
    assert_eq!(leftovers.unwrap(), 1, "no temp file left behind");
}
