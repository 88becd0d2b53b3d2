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
