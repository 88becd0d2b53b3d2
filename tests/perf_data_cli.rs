//! perf.data through the CLI: binaries moved off the recording path are found with --symfs;
//! a missing binary is a warning and `[unknown]` frames, not an error; truncated and corrupt
//! files are one clear error line, exit 2, no panic, no output file.

mod common;
mod perf_data_util;
use assert_cmd::Command;
use perf_data_util::*;

fn folded_of(data: &std::path::Path, extra: &[&str]) -> (String, String) {
    let o = Command::new(common::profdiff_bin())
        .arg("convert")
        .arg(data)
        .args(["--to", "folded", "-o", "-"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "convert failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn share_of(folded: &str, leaf: &str) -> f64 {
    let (mut hit, mut total) = (0.0, 0.0);
    for l in folded.lines() {
        let (stack, n) = l.rsplit_once(' ').unwrap();
        let n: f64 = n.parse().unwrap();
        total += n;
        if stack.rsplit(';').next() == Some(leaf) {
            hit += n;
        }
    }
    hit / total
}

#[test]
fn moved_binary_needs_symfs_and_missing_binary_is_a_warning() {
    if !perf_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rec_dir = dir.path().join("build");
    std::fs::create_dir(&rec_dir).unwrap();
    // A build id of its own, so no copy of an identical binary in perf's build-id cache
    // (~/.debug, filled by earlier recordings) can stand in for the moved one.
    let id = format!(
        "-Wl,--build-id=0x{:032x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            ^ ((std::process::id() as u128) << 64)
    );
    let bin = build_c(&rec_dir, "hot", &[&id]);
    let data = dir.path().join("perf.data");
    // -N: no copy in perf's build-id cache (~/.debug), so the binary is really gone.
    perf_record(&data, &["--call-graph", "dwarf", "-N"], &bin, &["100"]);

    // Move the binary away: the recorded path no longer exists.
    let sym = dir.path().join("symfs");
    std::fs::create_dir(&sym).unwrap();
    std::fs::rename(&bin, sym.join("hot")).unwrap();

    // Without --symfs: still a profile, with a warning naming the binary, unknown frames.
    let (folded, err) = folded_of(&data, &[]);
    assert!(err.contains("warning") && err.contains("hot"), "{err}");
    assert!(!folded.contains("spin_a"), "{folded}");
    // Unknown frames keep their module and offset (`[hot+0x1204]`) for later re-symbolization.
    assert!(folded.contains("[hot+0x"), "{folded}");

    // With --symfs DIR (the binary is found by file name under DIR): symbols are back and the
    // DWARF stacks unwind through the binary's .eh_frame again.
    let (folded, _) = folded_of(&data, &["--symfs", sym.to_str().unwrap()]);
    assert!(share_of(&folded, "spin_a") > 0.3, "{folded}");
    assert!(
        folded.contains("worker;outer;middle;spin_a"),
        "full stacks expected: {folded}"
    );
}

#[test]
fn truncated_and_corrupt_files_are_exit_2() {
    if !perf_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_c(dir.path(), "hot", &["-fno-omit-frame-pointer"]);
    let data = dir.path().join("perf.data");
    perf_record(&data, &["-g"], &bin, &["30"]);
    let bytes = std::fs::read(&data).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [
        20usize,
        104,
        300,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 7,
    ] {
        cases.push((format!("cut at {cut}"), bytes[..cut].to_vec()));
    }
    // Corrupt: overwrite the data section offset/size in the header, then scribble records.
    let mut c = bytes.clone();
    c[40..56].copy_from_slice(&[0xff; 16]);
    cases.push(("bad data section".into(), c));
    let mut c = bytes.clone();
    let mid = c.len() / 2;
    let end = (mid + 4096).min(c.len());
    for b in &mut c[mid..end] {
        *b = 0xa5;
    }
    cases.push(("scribbled records".into(), c));
    for (what, content) in cases {
        let p = dir.path().join("bad.data");
        std::fs::write(&p, &content).unwrap();
        let out = dir.path().join("out.svg");
        let o = Command::new(common::profdiff_bin())
            .arg("flamegraph")
            .arg(&p)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(err.contains("bad.data"), "{what}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{what}: {err}");
        assert!(!out.exists(), "{what}: output written");
    }
}

#[test]
fn event_selection() {
    if !perf_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_c(dir.path(), "hot", &["-fno-omit-frame-pointer"]);
    let data = dir.path().join("perf.data");
    let o = std::process::Command::new("perf")
        .args([
            "record",
            "-q",
            "-e",
            "cpu-clock,task-clock",
            "-F",
            "499",
            "-g",
            "-o",
        ])
        .arg(&data)
        .arg("--")
        .arg(&bin)
        .arg("40")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Default: the first event; a note says the other was skipped.
    let (folded, err) = folded_of(&data, &[]);
    assert!(folded.contains("spin_a"));
    assert!(err.contains("task-clock"), "{err}");
    let (folded, _) = folded_of(&data, &["--event", "task-clock"]);
    assert!(folded.contains("spin_a"));
    // Unknown event: exit 2, listing the events the file has.
    let o = Command::new(common::profdiff_bin())
        .arg("convert")
        .arg(&data)
        .args(["--event", "cycles", "--to", "folded", "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cpu-clock") && err.contains("task-clock"),
        "{err}"
    );
}

#[test]
fn converted_perf_data_opens_in_go_pprof() {
    if !perf_usable() {
        return;
    }
    if !common::have("go") {
        if perf_data_util::require() {
            panic!("PROFDIFF_REQUIRE_FIXTURES=1 but go is missing");
        }
        common::skip_log::skipped("go not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_c(dir.path(), "hot", &[]);
    let data = dir.path().join("perf.data");
    perf_record(&data, &["--call-graph", "dwarf"], &bin, &["60"]);
    let pb = dir.path().join("out.pb.gz");
    Command::new(common::profdiff_bin())
        .arg("convert")
        .arg(&data)
        .arg("-o")
        .arg(&pb)
        .assert()
        .success();
    let o = std::process::Command::new("go")
        .args(["tool", "pprof", "-top", "-nodecount=3"])
        .arg(&pb)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // spin_a does about half the work and is first in the flat column.
    let first = out
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .nth(1)
        .unwrap_or("");
    assert!(first.ends_with("spin_a"), "{out}");
}

/// `--no-inline`: symbol tables only, as `perf script` prints. The hot functions (all
/// `noinline`) get the same shares as with DWARF, the stacks are the same, and the pprof says
/// it carries no line numbers.
#[test]
fn no_inline_reads_symbol_tables_only() {
    if !perf_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = build_c(dir.path(), "hot", &["-fno-omit-frame-pointer"]);
    let data = dir.path().join("perf.data");
    perf_record(&data, &["-g"], &bin, &["60"]);
    let (with_dwarf, _) = folded_of(&data, &[]);
    let (symbols, _) = folded_of(&data, &["--no-inline"]);
    for f in ["spin_a", "spin_b", "spin_c"] {
        let (a, b) = (share_of(&with_dwarf, f), share_of(&symbols, f));
        assert!(a > 0.05, "{f}: {a}");
        assert!((a - b).abs() < 0.005, "{f}: {a} with DWARF, {b} without");
    }
    assert!(symbols.contains(";worker;outer;"), "{symbols}");

    let pb = dir.path().join("p.pb.gz");
    let o = Command::new(common::profdiff_bin())
        .arg("convert")
        .arg(&data)
        .args(["--no-inline", "-o"])
        .arg(&pb)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = profdiff::formats::read_path(
        pb.to_str().unwrap(),
        &profdiff::formats::ReadOptions::default(),
    )
    .unwrap();
    let m = p
        .mappings
        .iter()
        .find(|m| m.file.ends_with("/hot"))
        .expect("the workload's mapping");
    assert!(m.has_functions && !m.has_line_numbers && !m.has_inline_frames);
    assert!(p
        .locations
        .iter()
        .flat_map(|l| &l.lines)
        .all(|l| l.line == 0));
}

#[test]
fn flamegraph_streams_the_stacks_and_draws_what_the_profile_draws() {
    if !perf_usable() {
        return;
    }
    // `flamegraph` of one perf.data hands the stacks straight to the call tree (no samples
    // are kept); the SVG must be the one drawn from the whole profile, default and icicle,
    // frame-pointer and DWARF, with several threads of one name (stacks recorded apart that
    // merge by name).
    let dir = tempfile::tempdir().unwrap();
    let bin = build_c(dir.path(), "hot", &["-fno-omit-frame-pointer"]);
    for (i, mode) in [&["-g"][..], &["--call-graph", "dwarf"][..]]
        .iter()
        .enumerate()
    {
        let data = dir.path().join(format!("perf{i}.data"));
        perf_record(&data, mode, &bin, &["40"]);
        for extra in [&[][..], &["--icicle", "--minwidth", "0"][..]] {
            let svg = dir.path().join("streamed.svg");
            let o = Command::new(common::profdiff_bin())
                .arg("flamegraph")
                .arg(&data)
                .args(extra)
                .arg("-o")
                .arg(&svg)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let read = profdiff::formats::ReadOptions {
                line_info: false,
                ..Default::default()
            };
            let p = profdiff::formats::read_path(data.to_str().unwrap(), &read).unwrap();
            assert!(p.samples.len() > 10, "{} samples", p.samples.len());
            let opts = profdiff::render::flamegraph::FlamegraphOptions {
                icicle: !extra.is_empty(),
                min_width: if extra.is_empty() { 0.1 } else { 0.0 },
                ..Default::default()
            };
            let mut whole = Vec::new();
            profdiff::render::flamegraph::write_svg(&p, p.default_value_index(), &opts, &mut whole)
                .unwrap();
            let streamed = std::fs::read(&svg).unwrap();
            assert!(
                streamed == whole,
                "mode {mode:?} {extra:?}: the streamed SVG differs from the profile's"
            );
            assert!(String::from_utf8_lossy(&streamed).contains("spin_a"));
        }
    }
}
