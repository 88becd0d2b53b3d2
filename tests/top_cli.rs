//! `profdiff top` as a user runs it: output formats on a hand-checked profile, several inputs
//! merged, `-o` written atomically, and bad input reported in one line with exit code 2.

mod common;

use profdiff::formats::{folded, pprof};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(common::profdiff_bin())
        .arg("top")
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

const FOLDED: &[u8] = b"main;f 6\nmain;g 2\nmain;f;g 1\nmain 1\n";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn table_on_a_hand_checked_profile() {
    // total 10: f flat 6 cum 7; g flat 3 cum 3; main flat 1 cum 10.
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "p.folded", FOLDED);
    let out = run(&[s(&f)]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "Type: samples\n\
         Showing nodes accounting for 10, 100% of 10 total\n      \
         flat  flat%   sum%        cum   cum%\n         \
         6 60.00% 60.00%          7 70.00%  f\n         \
         3 30.00% 90.00%          3 30.00%  g\n         \
         1 10.00%   100%         10   100%  main\n"
    );
}

#[test]
fn cum_sort_and_node_count() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "p.folded", FOLDED);
    let out = run(&[s(&f), "--cum", "-n", "2"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Showing top 2 nodes out of 3"), "{text}");
    let names: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("flat%"))
        .skip(1)
        .map(|l| l.split_whitespace().last().unwrap())
        .collect();
    assert_eq!(names, vec!["main", "f"]);
}

#[test]
fn markdown_table() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "p.folded", b"main;a|b 3\nmain 1\n");
    let out = run(&[s(&f), "--format", "markdown"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("| flat | flat% | sum% | cum | cum% | function | location |"));
    assert!(
        text.contains("| 3 | 75.00% | 75.00% | 3 | 75.00% | a\\|b |  |"),
        "{text}"
    );
    assert!(
        text.contains("| 1 | 25.00% | 100% | 4 | 100% | main |  |"),
        "{text}"
    );
}

#[test]
fn json_document() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "p.folded", FOLDED);
    let out = run(&[s(&f), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "profdiff.top");
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["sample_type"]["type"], "samples");
    assert_eq!(v["total"], 10);
    assert_eq!(v["sort"], "flat");
    let r = &v["rows"][0];
    assert_eq!(r["rank"], 1);
    assert_eq!(r["function"], "f");
    assert_eq!(r["flat"], 6);
    assert_eq!(r["cum"], 7);
    assert_eq!(r["flat_percent"], 60.0);
    assert_eq!(r["sum_percent"], 60.0);
    assert_eq!(r["cum_percent"], 70.0);
    assert_eq!(r["flat_display"], "6");
    assert!(r["inline"].is_null() && r["file"].is_null() && r["start_line"].is_null());
    assert_eq!(v["rows"][2]["sum_percent"], 100.0);
}

#[test]
fn inputs_are_merged_and_formats_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.folded", FOLDED);
    let p = folded::parse(b"main;f 4\n").unwrap();
    let mut gz = Vec::new();
    pprof::write_gz(&p, &mut gz).unwrap();
    let b = write(dir.path(), "b.pb.gz", &gz);
    let out = run(&[s(&a), s(&b), "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 14);
    assert_eq!(v["rows"][0]["function"], "f");
    assert_eq!(v["rows"][0]["flat"], 10);
}

#[test]
fn time_profiles_use_time_units() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = folded::parse(b"main;hot 150\nmain;cold 2\n").unwrap();
    p.sample_types = vec![profdiff::model::ValueType::new("cpu", "nanoseconds")];
    for s in &mut p.samples {
        s.values[0] *= 10_000_000; // 10 ms per sample
    }
    p.duration_nanos = 2_000_000_000;
    let mut gz = Vec::new();
    pprof::write_gz(&p, &mut gz).unwrap();
    let f = write(dir.path(), "cpu.pb.gz", &gz);
    let text = String::from_utf8(run(&[s(&f)]).stdout).unwrap();
    // pprof's unit choice: the smallest value (20ms) and the total (1.52s) have different
    // units, and 100 × 20ms = 2s is not below 1.52s, so everything is shown in ms.
    let expected = "Type: cpu\n\
         Duration: 2s, Total samples = 1520ms (76.00%)\n\
         Showing nodes accounting for 1520ms, 100% of 1520ms total\n      \
         flat  flat%   sum%        cum   cum%\n    \
         1500ms 98.68% 98.68%     1500ms 98.68%  hot\n      \
         20ms  1.32%   100%       20ms  1.32%  cold\n         \
         0     0%   100%     1520ms   100%  main\n";
    assert_eq!(text, expected);
    // And go agrees, line for line.
    if common::have("go") {
        let out = Command::new("go")
            .args(["tool", "pprof", "-symbolize=none", "-top"])
            .arg(&f)
            .env("HOME", std::env::temp_dir())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    }
}

#[test]
fn output_file_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "p.folded", FOLDED);
    let o = dir.path().join("top.json");
    let out = run(&[s(&f), "--format", "json", "-o", s(&o)]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&o).unwrap()).unwrap();
    assert_eq!(v["total"], 10);
    let missing = dir.path().join("no/such/dir/top.json");
    let out = run(&[s(&f), "-o", s(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!missing.exists());
}

/// Bad input: exit 2, one line on stderr naming the file and the problem, no panic.
fn assert_bad(args: &[&str], file_hint: &str, problem: &str) {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(file_hint), "{args:?}: {err}");
    assert!(err.contains(problem), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_inputs_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = pprof::encode(&folded::parse(FOLDED).unwrap());

    let empty = write(d, "empty.pb", b"");
    assert_bad(&[s(&empty)], "empty.pb", "empty");

    let missing = d.join("missing.pb.gz");
    assert_bad(&[s(&missing)], "missing.pb.gz", "No such file");

    let truncated = write(d, "truncated.pb", &good[..good.len() - 5]);
    assert_bad(&[s(&truncated)], "truncated.pb", "pprof");

    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::default());
        e.write_all(&good).unwrap();
        e.finish().unwrap();
    }
    let cut = write(d, "cut.pb.gz", &gz[..gz.len() / 2]);
    assert_bad(&[s(&cut)], "cut.pb.gz", "gzip");

    // A sample referring to a location that does not exist.
    use prost::Message;
    let mut bad = profdiff::formats::pprof::proto::Profile::decode(good.as_slice()).unwrap();
    bad.sample[0].location_id.push(999);
    let dangling = write(d, "dangling.pb", &bad.encode_to_vec());
    assert_bad(&[s(&dangling)], "dangling.pb", "missing location id 999");

    let garbage = write(d, "garbage.bin", &[0xff, 0x00, 0x13, 0x37, 0x00, 0x01]);
    assert_bad(&[s(&garbage)], "garbage.bin", "unrecognized");

    let ok = write(d, "ok.folded", FOLDED);
    assert_bad(&[s(&ok), "--sample-type", "cpu"], "cpu", "samples");
    assert_bad(
        &[s(&ok), "--node-fraction", "2"],
        "node-fraction",
        "between 0 and 1",
    );
}
