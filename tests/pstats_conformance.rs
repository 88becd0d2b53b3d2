//! cProfile / pstats input against Python's own `pstats`: a small program is profiled with
//! `python3 -m cProfile -o` (and with the pure-Python `python3 -m profile -o`), and every
//! function's `flat` in `profdiff top` must equal its `tottime` (rounded to whole nanoseconds)
//! and its `cum` its `cumtime`, to 1 µs, for every function that is not recursive (`ncalls`
//! equal to primitive calls). A recursive function's `cum` counts the outermost calls once, as
//! a stack does; it is checked to be no larger. `profile` records only call counts per caller,
//! so there `cum` is exact only where every function below has one caller: it is checked there. The
//! `calls` sample type's `flat` must equal `ncalls`. Skipped with a notice when python3 is
//! missing.

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

/// pstats' table: name as profdiff shows it → (ncalls, primitive calls, tottime ns, cumtime ns,
/// whether every function below it has one caller).
const DUMP: &str = r#"
import pstats, sys
stats = pstats.Stats(sys.argv[1]).stats
callees = {k: [g for g, (*_, c) in stats.items() if k in c] for k in stats}
def sole_below(k, seen=()):
    return k not in seen and all(
        len(stats[g][4]) == 1 and sole_below(g, seen + (k,)) for g in callees[k])
for key, (cc, nc, tt, ct, _) in stats.items():
    f, l, n = key
    if not isinstance(n, str):
        n = f'<code object {n.co_name}, file "{n.co_filename}", line {n.co_firstlineno}>'
    name = n if (f, l) in (("~", 0), ("", 0)) else f"{n} ({f}:{l})"
    sole = sole_below(key)
    print(f"{nc}\t{cc}\t{round(tt * 1e9)}\t{round(ct * 1e9)}\t{int(sole)}\t{name}")
"#;

type Table = BTreeMap<String, (u64, u64, u64, u64, bool)>;

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
            let c: Vec<&str> = l.splitn(6, '\t').collect();
            let n = |i: usize| c[i].parse::<u64>().unwrap();
            (c[5].to_string(), (n(0), n(1), n(2), n(3), n(4) == 1))
        })
        .collect()
}

#[test]
fn cprofile_top_equals_pstats() {
    check_against_pstats("cProfile");
}

#[test]
fn profile_module_top_equals_pstats() {
    check_against_pstats("profile");
}

/// Profile PROGRAM with `python3 -m <module> -o` and check `profdiff top` against pstats.
fn check_against_pstats(module: &str) {
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
        .args(["-m", module, "-o"])
        .arg(&prof)
        .arg(&prog)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let want = pstats_table(&prof);
    let time = common::pprof_top::profdiff_flat_cum(&prof, "wall");
    let calls = common::pprof_top::profdiff_flat_cum(&prof, "calls");
    let counts_only = module == "profile";
    let mut cum_checked = 0;
    for (name, &(nc, cc, tt, ct, sole)) in &want {
        let (flat, cum) = time.get(name).copied().unwrap_or((0, 0));
        assert_eq!(flat, tt, "{name}: flat vs tottime");
        if nc == cc && (sole || !counts_only) {
            assert!(
                cum.abs_diff(ct) <= 1000,
                "{name}: cum {cum} vs cumtime {ct}"
            );
            cum_checked += 1;
        } else if nc != cc {
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
    assert!(
        cum_checked * 2 >= want.len(),
        "{cum_checked} of {}",
        want.len()
    );
    eprintln!(
        "{module} conformance: {} functions, flat = tottime (ns), cum = cumtime to 1 µs for \
         {cum_checked}",
        want.len()
    );
}
