//! A real `.cpuprofile`: node profiles a small script inside the test (`node --cpu-prof`;
//! skipped with a notice when node is missing, unless PROFDIFF_REQUIRE_FIXTURES=1), and
//! profdiff must read it, find the known hot functions, and convert it to folded stacks.

mod common;

use profdiff::formats::{self, folded, ReadOptions};

const SCRIPT: &str = r#"
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
function busyHash(rounds) {
  let h = 0;
  for (let i = 0; i < rounds; i++) { h = (h * 31 + i) | 0; }
  return h;
}
let out = 0;
const end = Date.now() + 600;
while (Date.now() < end) { out += fib(22); out += busyHash(200000); }
console.log(out > 0 ? "ok" : "?");
"#;

#[test]
fn node_cpu_prof_is_read() {
    if !common::have("node") {
        if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!("node is missing");
        }
        common::skip_log::skipped("node not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.js");
    std::fs::write(&script, SCRIPT).unwrap();
    let st = std::process::Command::new("node")
        .arg("--cpu-prof")
        .arg("--cpu-prof-dir")
        .arg(dir.path())
        .arg(&script)
        .status()
        .unwrap();
    assert!(st.success());
    let prof = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cpuprofile"))
        .expect("node wrote no .cpuprofile");
    let path = prof.to_str().unwrap();
    let data = formats::load(path, &ReadOptions::default()).unwrap();
    assert_eq!(formats::detect(&data), Some(formats::Format::V8CpuProfile));
    let p = formats::read_path(path, &ReadOptions::default()).unwrap();
    assert_eq!(p.sample_types[1].unit, "microseconds");
    let total = p.total(1) as f64;
    // The script busy-loops for ~600 ms; the profile spans at least that (no upper bound).
    assert!(total >= 300_000.0, "total {total} µs");
    let self_share = |name: &str| {
        folded::fold(&p, 1)
            .iter()
            .filter(|(s, _)| s.rsplit(';').next() == Some(name))
            .map(|(_, v)| *v)
            .sum::<i64>() as f64
            / total
    };
    let (fib, hash) = (self_share("fib"), self_share("busyHash"));
    assert!(fib + hash > 0.5, "fib {fib} busyHash {hash}");
    assert!(fib > 0.05 && hash > 0.05, "fib {fib} busyHash {hash}");
    let f = p.functions.iter().find(|f| f.name == "fib").unwrap();
    assert!(f.filename.ends_with("app.js") && f.start_line == 2, "{f:?}");
    assert!(p
        .functions
        .iter()
        .any(|f| f.name == "(program)" || f.name == "(idle)"));
}

/// Bytes per function as the heap profile itself says: the sum of `selfSize` over the tree's
/// nodes of that name, read here with plain serde_json (DevTools' Self Size column).
fn heap_self_sizes(data: &[u8]) -> std::collections::BTreeMap<String, i64> {
    let mut de = serde_json::Deserializer::from_slice(data);
    de.disable_recursion_limit();
    let v: serde_json::Value = serde::Deserialize::deserialize(&mut de).unwrap();
    let mut out = std::collections::BTreeMap::new();
    let mut pending = vec![&v["head"]];
    while let Some(n) = pending.pop() {
        let name = n["callFrame"]["functionName"].as_str().unwrap();
        let name = if name.is_empty() { "(anonymous)" } else { name };
        let size = n["selfSize"].as_f64().unwrap() as i64;
        if size > 0 {
            *out.entry(name.to_string()).or_insert(0) += size;
        }
        pending.extend(n["children"].as_array().unwrap());
    }
    out
}

/// profdiff's flat bytes per function (leaf frames of the folded stacks).
fn our_flat(p: &profdiff::model::Profile) -> std::collections::BTreeMap<String, i64> {
    let mut out = std::collections::BTreeMap::new();
    for (stack, v) in folded::fold(p, p.default_value_index()) {
        *out.entry(stack.rsplit(';').next().unwrap().to_string())
            .or_insert(0) += v;
    }
    out
}

/// A sampling heap profile (`HeapProfiler.stopSampling` through node's inspector, 112 frames
/// deep) is read as bytes per function, equal to the file's own `selfSize` sums, not refused
/// by the JSON nesting limit nor misread as the old cpuprofile `head` format.
#[test]
fn heap_profile_is_read_as_bytes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/node-heap-deep.heapprofile"
    );
    let data = std::fs::read(path).unwrap();
    let p = formats::read_path(path, &ReadOptions::default()).unwrap();
    let i = p.default_value_index();
    assert_eq!(p.sample_types[i].kind, "space");
    assert_eq!(p.sample_types[i].unit, "bytes");
    // Every one of the file's 893 sampled objects sits on a node of the tree.
    assert_eq!(p.total(p.value_index(Some("samples")).unwrap()), 893);
    let truth = heap_self_sizes(&data);
    assert_eq!(truth["rec"], 13_400_544);
    assert_eq!(our_flat(&p), truth);
    let out = common::profdiff_bin();
    let top = std::process::Command::new(out)
        .args(["top", "-n", "2", path])
        .output()
        .unwrap();
    let top = String::from_utf8(top.stdout).unwrap();
    assert!(top.starts_with("Type: space"), "{top}");
    assert!(top.contains("12.78MB 86.94%"), "{top}");
}

/// `node --heap-prof` (written at exit) is read the same way.
#[test]
fn node_heap_prof_is_read() {
    if !common::have("node") {
        if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!("node is missing");
        }
        common::skip_log::skipped("node not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("heap.js");
    std::fs::write(
        &script,
        "const keep = [];\nfor (let i = 0; i < 20000; i++) keep.push({ i });\n",
    )
    .unwrap();
    let st = std::process::Command::new("node")
        .args([
            "--heap-prof",
            "--heap-prof-interval=4096",
            "--heap-prof-name=h.heapprofile",
        ])
        .arg("--heap-prof-dir")
        .arg(dir.path())
        .arg(&script)
        .status()
        .unwrap();
    assert!(st.success());
    let path = dir.path().join("h.heapprofile");
    let data = std::fs::read(&path).unwrap();
    let p = formats::read_path(path.to_str().unwrap(), &ReadOptions::default()).unwrap();
    assert_eq!(p.sample_types[p.default_value_index()].unit, "bytes");
    assert_eq!(our_flat(&p), heap_self_sizes(&data));
}
