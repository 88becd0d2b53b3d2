//! perf.data → profile: per-function self shares agree with
//! `perf report --stdio --no-children --sort sym` within 0.5 percentage points for every
//! function above 1%, for a C and a Rust program, recorded with frame pointers and with DWARF.

mod perf_data_util;
use perf_data_util::*;
use profdiff::formats::{read_path, ReadOptions};
use std::collections::HashMap;

/// Self share (percent of the default value) per symbol: the outermost function of each
/// sample's leaf location (perf's `sym` is the ELF symbol, inline frames fold into it).
fn profdiff_self(data: &std::path::Path) -> HashMap<String, f64> {
    let p = read_path(data.to_str().unwrap(), &ReadOptions::default()).unwrap();
    // The reader skips validation for perf.data (ids made by the assembler): check them here.
    p.validate().expect("assembled ids are in range");
    let vi = p.default_value_index();
    let total = p.total(vi) as f64;
    let mut m: HashMap<String, f64> = HashMap::new();
    for s in &p.samples {
        let Some(&leaf) = s.locations.first() else {
            continue;
        };
        let loc = &p.locations[leaf as usize];
        let name = match loc.lines.last() {
            Some(l) => p.function_name(l.function).to_string(),
            None => p.unknown_frame_name(loc),
        };
        *m.entry(strip_hash(&name).to_string()).or_default() += s.values[vi] as f64;
    }
    m.values_mut().for_each(|v| *v = *v * 100.0 / total);
    m
}

fn check(data: &std::path::Path, expect_hot: &[&str]) {
    let truth = perf_report_self(data, &[]);
    let ours = profdiff_self(data);
    let mut checked = 0;
    for (name, pct) in &truth {
        if *pct < 1.0 {
            continue;
        }
        let name = strip_hash(name);
        let got = ours.get(name).copied().unwrap_or(0.0);
        eprintln!("{name:40} perf {pct:6.2}%  profdiff {got:6.2}%");
        assert!(
            (got - pct).abs() <= 0.5,
            "{name}: perf report {pct:.2}% vs profdiff {got:.2}%"
        );
        checked += 1;
    }
    assert!(checked >= expect_hot.len(), "too few functions above 1%");
    for h in expect_hot {
        assert!(
            truth.iter().any(|(n, p)| strip_hash(n) == *h && *p > 5.0),
            "{h} not hot in perf report: {truth:?}"
        );
    }
}

fn run(lang: &str, dwarf: bool) {
    if !perf_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (bin, args, hot): (_, &[&str], &[&str]) = match (lang, dwarf) {
        ("c", false) => (
            build_c(dir.path(), "hot", &["-fno-omit-frame-pointer"]),
            &["150"],
            &["spin_a", "spin_b", "spin_c"],
        ),
        ("c", true) => (
            build_c(dir.path(), "hot", &[]),
            &["150"],
            &["spin_a", "spin_b", "spin_c"],
        ),
        (_, false) => (
            build_rust(dir.path(), "hot", &["-C", "force-frame-pointers=yes"]),
            &["40"],
            &["hot::crunch_alpha", "hot::crunch_beta", "hot::crunch_gamma"],
        ),
        (_, true) => (
            build_rust(dir.path(), "hot", &[]),
            &["40"],
            &["hot::crunch_alpha", "hot::crunch_beta", "hot::crunch_gamma"],
        ),
    };
    let mode: &[&str] = if dwarf {
        &["--call-graph", "dwarf"]
    } else {
        &["-g"]
    };
    let data = dir.path().join("perf.data");
    perf_record(&data, mode, &bin, args);
    check(&data, hot);
}

#[test]
fn c_fp_self_shares_match_perf_report() {
    run("c", false);
}

#[test]
fn c_dwarf_self_shares_match_perf_report() {
    run("c", true);
}

#[test]
fn rust_fp_self_shares_match_perf_report() {
    run("rust", false);
}

#[test]
fn rust_dwarf_self_shares_match_perf_report() {
    run("rust", true);
}
