//! cProfile / pstats input against Python's own `pstats`: a small program is profiled with
//! `python3 -m cProfile -o`, and every function's `flat` in `profdiff top` must equal its
//! `tottime` (rounded to whole nanoseconds) and its `cum` its `cumtime`, to 1 µs, for every
//! function that is not recursive (`ncalls` equal to primitive calls). A recursive function's
//! `cum` counts the outermost calls once, as a stack does; it is checked to be no larger.
//! The `calls` sample type's `flat` must equal `ncalls`. Skipped with a notice when python3
//! is missing.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const PROGRAM: &str = r#"
def leaf(n):
    return sum(i * i for i in range(n))

def middle(n):
    return leaf(n) + leaf(n // 2)

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def other():
    s = []
    for i in range(20000):
        s.append(str(i))
    return len(s)

def main():
    for _ in range(30):
        middle(20000)
    leaf(5000)
    other()
    fib(16)

main()
"#;

/// pstats' table: name as profdiff shows it → (ncalls, primitive calls, tottime ns, cumtime ns).
const DUMP: &str = r#"
import pstats, sys
for (f, l, n), (cc, nc, tt, ct, _) in pstats.Stats(sys.argv[1]).stats.items():
    name = n if (f, l) == ("~", 0) else f"{n} ({f}:{l})"
    print(f"{nc}\t{cc}\t{round(tt * 1e9)}\t{round(ct * 1e9)}\t{name}")
"#;

type Table = BTreeMap<String, (u64, u64, u64, u64)>;

fn pstats_table(prof: &Path) -> Table {
    let out = Command::new("python3")
        .args(["-c", DUMP])
        .arg(prof)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .map(|l| {
            let c: Vec<&str> = l.splitn(5, '\t').collect();
            let n = |i: usize| c[i].parse::<u64>().unwrap();
            (c[4].to_string(), (n(0), n(1), n(2), n(3)))
        })
        .collect()
}

/// profdiff's `top` of one sample type: function → (flat, cum).
fn profdiff_top(file: &Path, sample_type: &str) -> BTreeMap<String, (u64, u64)> {
    let out = Command::new(common::profdiff_bin())
        .args(["top", "--format", "json", "-n", "0", "--node-fraction", "0"])
        .args(["-t", sample_type])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let name = r["function"].as_str().unwrap().to_string();
            (
                name,
                (r["flat"].as_u64().unwrap(), r["cum"].as_u64().unwrap()),
            )
        })
        .collect()
}

#[test]
fn top_equals_pstats() {
    if !common::have("python3") {
        if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!("PROFDIFF_REQUIRE_FIXTURES=1 but python3 is not installed");
        }
        common::skip_log::skipped("python3 not found (pstats conformance test)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let prog = dir.path().join("prog.py");
    let prof = dir.path().join("prog.prof");
    std::fs::write(&prog, PROGRAM).unwrap();
    let st = Command::new("python3")
        .args(["-m", "cProfile", "-o"])
        .arg(&prof)
        .arg(&prog)
        .status()
        .unwrap();
    assert!(st.success());
    let want = pstats_table(&prof);
    let time = profdiff_top(&prof, "wall");
    let calls = profdiff_top(&prof, "calls");
    let mut cum_checked = 0;
    for (name, &(nc, cc, tt, ct)) in &want {
        let (flat, cum) = time.get(name).copied().unwrap_or((0, 0));
        assert_eq!(flat, tt, "{name}: flat vs tottime");
        if nc == cc {
            assert!(
                cum.abs_diff(ct) <= 1000,
                "{name}: cum {cum} vs cumtime {ct}"
            );
            cum_checked += 1;
        } else {
            assert!(
                cum <= ct + 1000,
                "{name} (recursive): cum {cum} vs cumtime {ct}"
            );
        }
        assert_eq!(
            calls.get(name).map_or(0, |c| c.0),
            nc,
            "{name}: calls vs ncalls"
        );
    }
    assert!(time.keys().all(|k| want.contains_key(k)), "{time:?}");
    assert!(want.contains_key(&format!("fib ({}:8)", prog.display())));
    eprintln!(
        "pstats conformance: {} functions, flat = tottime (ns), cum = cumtime to 1 µs for {cum_checked}",
        want.len()
    );
}
