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
