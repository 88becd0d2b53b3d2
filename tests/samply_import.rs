//! samply profiles (Firefox Profiler processed format, unsymbolicated) against `perf report`
//! of the same recording: a C workload is recorded with `perf record -g`, converted with
//! `samply import perf.data --save-only`, and profdiff, symbolizing samply's addresses itself,
//! must give every function above 1% the self share `perf report --no-children` gives
//! (within 0.5 percentage points), and the same inclusive share as profdiff's own reading
//! of the perf.data (which tests/perf_data_report.rs checks against perf). Skipped with a
//! notice without perf, gcc or samply.

mod common;
mod perf_data_util;

use perf_data_util::*;
use profdiff::formats::{self, Format, ReadOptions};
use profdiff::model::Profile;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

fn samply() -> Option<PathBuf> {
    if common::have("samply") {
        return Some(PathBuf::from("samply"));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let p = home.join(".cargo/bin/samply");
    p.is_file().then_some(p)
}

/// Function name of a location's outermost line (perf's `sym`), or its unknown-frame name.
fn loc_name(p: &Profile, loc: u32) -> String {
    let l = &p.locations[loc as usize];
    match l.lines.last() {
        Some(line) => p.function_name(line.function).to_string(),
        None => p.unknown_frame_name(l),
    }
}

/// (self %, total %) per function.
fn shares(p: &Profile) -> HashMap<String, (f64, f64)> {
    let vi = p.default_value_index();
    let total = p.total(vi) as f64;
    let mut m: HashMap<String, (f64, f64)> = HashMap::new();
    for s in &p.samples {
        let v = s.values[vi] as f64 * 100.0 / total;
        if let Some(&leaf) = s.locations.first() {
            m.entry(loc_name(p, leaf)).or_default().0 += v;
        }
        let names: HashSet<String> = s.locations.iter().map(|&l| loc_name(p, l)).collect();
        for n in names {
            m.entry(n).or_default().1 += v;
        }
    }
    m
}

/// Build and record the workload, convert it with samply: (binary, perf.data, samply file).
/// `unique`: a fresh build id, kept out of perf's build-id cache (`-N`), so the binary can
/// only be found where the test puts it.
fn record(dir: &Path, unique: bool) -> Option<(PathBuf, PathBuf, PathBuf)> {
    if !perf_usable() {
        return None;
    }
    let Some(samply) = samply() else {
        if require() {
            panic!("samply is missing");
        }
        eprintln!("notice: skipping: samply not installed (cargo install samply)");
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let build_id = format!("-Wl,--build-id=0x{nanos:040x}");
    let mut flags = vec!["-fno-omit-frame-pointer"];
    if unique {
        flags.push(&build_id);
    }
    let bin = build_c(dir, "hot", &flags);
    let data = dir.join("perf.data");
    let mode: &[&str] = if unique { &["-g", "-N"] } else { &["-g"] };
    perf_record(&data, mode, &bin, &["150"]);
    let json = dir.join("samply.json.gz");
    let out = std::process::Command::new(samply)
        .args(["import", "--save-only", "-o"])
        .arg(&json)
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "samply import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((bin, data, json))
}

#[test]
fn samply_import_matches_perf_report() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_, data, json)) = record(dir.path(), false) else {
        return;
    };
    let json = json.to_str().unwrap();
    let bytes = formats::load(json, &ReadOptions::default()).unwrap();
    assert_eq!(formats::detect(&bytes), Some(Format::Firefox));
    let p = formats::read_path(json, &ReadOptions::default()).unwrap();
    let ours = shares(&p);
    let truth = perf_report_self(&data, &[]);
    let mut checked = 0;
    for (name, pct) in &truth {
        if *pct < 1.0 {
            continue;
        }
        let got = ours.get(name).map_or(0.0, |s| s.0);
        eprintln!("{name:30} perf report self {pct:6.2}%  profdiff (samply) {got:6.2}%");
        assert!(
            (got - pct).abs() <= 0.5,
            "{name}: perf {pct:.2}% vs {got:.2}%"
        );
        checked += 1;
    }
    assert!(checked >= 3, "too few functions above 1%: {truth:?}");
    // Inclusive shares against profdiff's reading of the perf.data itself.
    let direct =
        shares(&formats::read_path(data.to_str().unwrap(), &ReadOptions::default()).unwrap());
    let mut compared = 0;
    for (f, &(_, b)) in direct.iter().filter(|(_, s)| s.1 >= 1.0) {
        let a = ours.get(f).map_or(0.0, |s| s.1);
        eprintln!("{f:30} total: perf.data {b:6.2}%  samply {a:6.2}%");
        assert!(
            (a - b).abs() <= 0.5,
            "{f}: total {a:.2}% (samply) vs {b:.2}% (perf.data)"
        );
        compared += 1;
    }
    assert!(compared >= 4, "{direct:?}");
}

#[test]
fn samply_binaries_are_found_through_symfs() {
    let dir = tempfile::tempdir().unwrap();
    let Some((bin, _, json)) = record(dir.path(), true) else {
        return;
    };
    // Move the binary away: unresolved, with a note; found again under --symfs.
    let symfs = dir.path().join("symfs");
    let moved = symfs.join(bin.strip_prefix("/").unwrap());
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&bin, &moved).unwrap();
    let json = json.to_str().unwrap();
    let lost = formats::read_path(json, &ReadOptions::default()).unwrap();
    assert!(!shares(&lost).contains_key("spin_a"));
    assert!(
        lost.quality
            .notes
            .iter()
            .any(|n| n.contains("binary not found")),
        "{:?}",
        lost.quality.notes
    );
    let opts = ReadOptions {
        symfs: vec![symfs],
        ..Default::default()
    };
    let found = formats::read_path(json, &opts).unwrap();
    assert!(shares(&found)["spin_a"].0 > 5.0);
}

/// Older samply versions left kernel frames as hex addresses too: rewrite this recording's
/// kernel functions (named by samply) to their addresses, and profdiff must name them as
/// samply did, from `/proc/kallsyms`.
#[test]
fn kernel_addresses_are_named_like_samply_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_, _, json)) = record(dir.path(), false) else {
        return;
    };
    let opts = ReadOptions::default();
    let original = formats::load(json.to_str().unwrap(), &opts).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let kernel_lib = v["libs"]
        .as_array()
        .unwrap()
        .iter()
        .position(|l| l["path"] == "[kernel.kallsyms]");
    let Some(kernel_lib) = kernel_lib else {
        eprintln!("notice: skipping: no kernel frames in the recording");
        return;
    };
    let mut rewritten = 0;
    for t in v["threads"].as_array_mut().unwrap() {
        let t = t.as_object_mut().unwrap();
        let frames = t["frameTable"].clone();
        let mut funcs = t["funcTable"].clone();
        let resources = t["resourceTable"].clone();
        let mut strings = t["stringArray"].as_array().unwrap().clone();
        let mut frame_func = frames["func"].as_array().unwrap().clone();
        for (i, f) in frames["func"].as_array().unwrap().iter().enumerate() {
            let f = f.as_u64().unwrap() as usize;
            let res = funcs["resource"][f].as_i64().unwrap_or(-1);
            if res < 0 || resources["lib"][res as usize] != kernel_lib {
                continue;
            }
            // A function of its own per kernel frame, named by the frame's address.
            let addr = frames["address"][i].as_u64().unwrap();
            let new = funcs["length"].as_u64().unwrap() as usize;
            for col in funcs.as_object_mut().unwrap().values_mut() {
                if let Some(a) = col.as_array_mut() {
                    let copy = a[f].clone();
                    a.push(copy);
                }
            }
            funcs["length"] = new.saturating_add(1).into();
            funcs["name"][new] = strings.len().into();
            strings.push(format!("{addr:#x}").into());
            frame_func[i] = new.into();
            rewritten += 1;
        }
        t.insert("funcTable".into(), funcs);
        t.insert("stringArray".into(), strings.into());
        t.get_mut("frameTable").unwrap()["func"] = frame_func.into();
    }
    if rewritten == 0 {
        eprintln!("notice: skipping: no kernel frames in the recording");
        return;
    }
    eprintln!("{rewritten} kernel frames rewritten to addresses");
    let hex = dir.path().join("hex.json");
    std::fs::write(&hex, serde_json::to_vec(&v).unwrap()).unwrap();
    let fold = |p: &Path| {
        let prof = formats::read_path(p.to_str().unwrap(), &opts).unwrap();
        profdiff::formats::folded::fold(&prof, 0)
    };
    assert_eq!(
        fold(&hex),
        fold(&json),
        "{rewritten} kernel frames rewritten"
    );
}
