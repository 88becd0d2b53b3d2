//! Austin 3 collapsed samples (`austin -o`, `austin -f`, `austin -m`) are read with the units
//! of their `# mode:` header, not as folded stack counts: totals per sample type as Austin's
//! own converter (austin2speedscope) gives them. The recorded files under tests/data are
//! checked against sums taken here from their text; when austin and austin2speedscope are
//! installed, a fresh recording is checked against austin2speedscope's output.

mod common;

use profdiff::formats::{self, Format, ReadOptions};
use std::collections::BTreeMap;

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Per metric, the total of a full-mode file as austin2speedscope counts it: wall = time,
/// cpu = time of samples not idle, alloc/dealloc = positive/negative memory deltas; samples
/// without frames (`P1;T0:1 5075`) are left out.
fn full_mode_totals(text: &str) -> BTreeMap<&'static str, i64> {
    let mut t = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with('P')) {
        let (head, metrics) = line.rsplit_once(' ').unwrap();
        if head.split(';').count() <= 2 {
            continue;
        }
        let m: Vec<i64> = metrics.split(',').map(|v| v.parse().unwrap()).collect();
        *t.entry("wall").or_insert(0) += m[0];
        *t.entry("cpu").or_insert(0) += if m[1] == 1 { 0 } else { m[0] };
        *t.entry("alloc").or_insert(0) += m[2].max(0);
        *t.entry("dealloc").or_insert(0) += (-m[2]).max(0);
    }
    t
}

fn our_totals(path: &str) -> BTreeMap<String, i64> {
    let p = formats::read_path(path, &ReadOptions::default()).unwrap();
    p.sample_types
        .iter()
        .enumerate()
        .map(|(i, t)| (t.kind.clone(), p.total(i)))
        .collect()
}

#[test]
fn full_mode_file_has_its_four_metrics() {
    let path = data("austin-full.austin");
    let raw = std::fs::read(&path).unwrap();
    assert_eq!(formats::detect(&raw), Some(Format::Austin));
    let p = formats::read_path(&path, &ReadOptions::default()).unwrap();
    assert_eq!(p.sample_types[p.default_value_index()].kind, "wall");
    assert_eq!(p.sample_types[1].unit, "microseconds");
    let want = full_mode_totals(std::str::from_utf8(&raw).unwrap());
    let got = our_totals(&path);
    for (k, v) in &want {
        assert_eq!(got[*k], *v, "{k}");
    }
    assert!(want["wall"] > 1_000_000, "{want:?}");
    // One sample per line with frames.
    assert_eq!(got["samples"], 128);
}

#[test]
fn memory_mode_file_is_bytes() {
    let path = data("austin-memory.austin");
    let text = std::fs::read_to_string(&path).unwrap();
    let (mut alloc, mut dealloc) = (0i64, 0i64);
    for line in text
        .lines()
        .filter(|l| l.starts_with('P') && l.contains(";T"))
    {
        let (head, m) = line.rsplit_once(' ').unwrap();
        if head.split(';').count() > 2 {
            let m: i64 = m.parse().unwrap();
            alloc += m.max(0);
            dealloc += (-m).max(0);
        }
    }
    let got = our_totals(&path);
    assert_eq!((got["alloc"], got["dealloc"]), (alloc, dealloc));
    let out = std::process::Command::new(common::profdiff_bin())
        .args(["top", "-n", "1", &path])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Type: alloc"));
}

/// A fresh `austin -f` recording against austin2speedscope's totals per metric.
#[test]
fn fresh_recording_matches_austin2speedscope() {
    for tool in ["austin", "austin2speedscope", "python3"] {
        if !common::have(tool) {
            if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
                panic!("{tool} is missing");
            }
            common::skip_log::skipped(&format!("{tool} not installed"));
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.py");
    std::fs::write(
        &script,
        "import threading, time\n\
         def spin(n):\n    s = 0\n    for i in range(n): s += i * 0.5\n    return s\n\
         t = threading.Thread(target=time.sleep, args=(0.3,)); t.start()\n\
         spin(3000000)\nt.join()\n",
    )
    .unwrap();
    let out = dir.path().join("out.austin");
    let st = std::process::Command::new("austin")
        .args(["-i", "2ms", "-f", "-o"])
        .arg(&out)
        .arg("python3")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let ss = dir.path().join("out.json");
    let st = std::process::Command::new("austin2speedscope")
        .arg(&out)
        .arg(&ss)
        .status()
        .unwrap();
    assert!(st.success());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&ss).unwrap()).unwrap();
    let mut want: BTreeMap<&str, i64> = BTreeMap::new();
    for p in json["profiles"].as_array().unwrap() {
        let kind = match p["name"]
            .as_str()
            .unwrap()
            .split(" profile")
            .next()
            .unwrap()
        {
            "CPU time" => "cpu",
            "Wall time" => "wall",
            "Memory allocation" => "alloc",
            "Memory deallocation" => "dealloc",
            other => panic!("{other}"),
        };
        let w: i64 = p["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_i64().unwrap())
            .sum();
        *want.entry(kind).or_insert(0) += w;
    }
    let got = our_totals(out.to_str().unwrap());
    for (k, v) in &want {
        assert_eq!(got[*k], *v, "{k}: {got:?} vs austin2speedscope {want:?}");
    }
    assert!(want["wall"] > 0 && want["cpu"] > 0, "{want:?}");
}
