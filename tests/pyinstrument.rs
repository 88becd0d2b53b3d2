//! pyinstrument's files against each other: one recorded session (`-r pyisession`) is
//! rendered by pyinstrument itself as speedscope and as pstats, and profdiff must read the
//! same time for every function from both: each function's `cum` equal to 1 µs, the totals
//! equal. pyinstrument's speedscope holds `[self]` frames (a parent's own time beside its
//! children: `parent` here): they must not become functions. Skipped with a notice when pyinstrument is
//! missing (`pip install pyinstrument`), unless PROFDIFF_REQUIRE_FIXTURES=1.

mod common;

use common::pprof_top::profdiff_flat_cum;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const PROGRAM: &str = r#"
def crc(n):
    s = 0
    for i in range(n):
        s = (s * 31 + i) % 1000003
    return s

def sort_work(n):
    return sorted([(i * 7919) % n for i in range(n)])

def parent(n):
    s = 0
    for i in range(n):
        s += i * i
    return s + crc(n)

def main():
    for _ in range(15):
        crc(100000)
        sort_work(50000)
        parent(100000)

main()
"#;

fn pyinstrument(dir: &Path, args: &[&str]) {
    let out = Command::new("pyinstrument")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyinstrument {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Function name (without pstats' ` (file:line)`) → cum in ns.
fn cum_by_name(rows: BTreeMap<String, (u64, u64)>) -> BTreeMap<String, u64> {
    rows.into_iter()
        .map(|(f, (_, cum))| {
            let name = match f.rfind(" (") {
                Some(i) if f.ends_with(')') => f[..i].to_string(),
                _ => f,
            };
            (name, cum)
        })
        .collect()
}

#[test]
fn speedscope_and_pstats_of_one_session_agree() {
    if !common::have("pyinstrument") {
        if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!("pyinstrument missing (pip install pyinstrument)");
        }
        common::skip_log::skipped("pyinstrument not installed (pip install pyinstrument)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), PROGRAM).unwrap();
    pyinstrument(
        dir.path(),
        &["-r", "pyisession", "-o", "s.pyisession", "app.py"],
    );
    let load = ["--load", "s.pyisession"];
    pyinstrument(
        dir.path(),
        &[&load[..], &["-r", "speedscope", "-o", "s.json"]].concat(),
    );
    pyinstrument(
        dir.path(),
        &[&load[..], &["-r", "pstats", "-o", "s.pstats"]].concat(),
    );
    let speedscope = std::fs::read_to_string(dir.path().join("s.json")).unwrap();
    assert!(
        speedscope.contains("\"[self]\""),
        "no [self] frame to check"
    );

    let ours = profdiff_flat_cum(&dir.path().join("s.json"), "wall");
    assert!(!ours.contains_key("[self]"), "{ours:?}");
    let flat_sum: u64 = ours.values().map(|v| v.0).sum();
    let ours = cum_by_name(ours);
    let theirs = cum_by_name(profdiff_flat_cum(&dir.path().join("s.pstats"), "wall"));
    for f in ["<module>", "main", "crc", "sort_work", "parent"] {
        let (a, b) = (ours[f], theirs[f]);
        assert!(
            a.abs_diff(b) <= 1000,
            "{f}: speedscope {a} ns, pstats {b} ns"
        );
    }
    assert!(flat_sum.abs_diff(theirs["<module>"]) <= 1000);
}
