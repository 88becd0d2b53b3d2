//! perf.data ingest: the unwound address stacks equal those `perf script` prints for the same
//! recording (frame-pointer callchains, and DWARF stacks unwound by framehop vs perf's libdw).

mod perf_data_util;
use perf_data_util::*;
use profdiff::formats::{perf_data, ReadOptions};
use std::collections::HashMap;

type Stack = Vec<(String, u64)>;

/// Samples per (tid, user stack as (dso, file offset) leaf first) from `perf script`.
fn perf_script_stacks(data: &std::path::Path) -> HashMap<(u32, Stack), u64> {
    let out = perf(&[
        "script",
        "-F",
        "tid,ip,dso",
        "--no-inline",
        "-i",
        data.to_str().unwrap(),
    ]);
    let mut m = HashMap::new();
    for block in out.split("\n\n") {
        let mut lines = block.lines().filter(|l| !l.trim().is_empty());
        let Some(head) = lines.next() else { continue };
        let tid: u32 = head.trim().parse().unwrap();
        let mut stack = Vec::new();
        for l in lines {
            let l = l.trim();
            // `addr [sym] (dso)`: perf adds the symbol for piped input even with -F.
            let addr = l.split_whitespace().next().unwrap();
            let dso = &l[l.rfind('(').unwrap() + 1..l.len() - 1];
            if dso.starts_with("[kernel") {
                continue;
            }
            stack.push((dso.to_string(), u64::from_str_radix(addr, 16).unwrap()));
        }
        *m.entry((tid, stack)).or_insert(0) += 1;
    }
    m
}

/// The same view of profdiff's raw recording. perf prints return addresses as they are for
/// frame-pointer chains and minus one for DWARF-unwound frames (libdw's "caller" pc).
fn profdiff_stacks(data: &std::path::Path, dwarf: bool) -> HashMap<(u32, Stack), u64> {
    let bytes = std::fs::read(data).unwrap();
    let rec = perf_data::read_raw(&bytes, &ReadOptions::default()).unwrap();
    let mut m = HashMap::new();
    for (k, t) in rec.stacks.iter() {
        let maps = &rec.processes[&k.pid];
        let stack: Stack = k
            .user
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                let adj = if dwarf && i > 0 { a - 1 } else { a };
                match maps.find(adj) {
                    Some(r) => (r.path.clone(), r.file_offset_of(adj)),
                    None => ("[unknown]".to_string(), adj),
                }
            })
            .collect();
        *m.entry((k.tid, stack)).or_insert(0) += t.count;
    }
    m
}

fn compare(dwarf: bool, extra: &[&str], pipe: bool) {
    if !perf_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (bin, mut mode): (_, Vec<&str>) = if dwarf {
        (
            build_c(dir.path(), "hot_nofp", &[]),
            vec!["--call-graph", "dwarf"],
        )
    } else {
        (
            build_c(dir.path(), "hot_fp", &["-fno-omit-frame-pointer"]),
            vec!["-g"],
        )
    };
    mode.extend_from_slice(extra);
    let data = dir.path().join("perf.data");
    perf_record_to(&data, &mode, &bin, &["150"], pipe);
    let truth = perf_script_stacks(&data);
    let ours = profdiff_stacks(&data, dwarf);
    // Records borrowed in order from the file give the recording linux-perf-data's reader
    // gives (same stacks in the same order, same maps, threads, counts and notes).
    let bytes = std::fs::read(&data).unwrap();
    let opts = ReadOptions::default();
    let walked = perf_data::read_raw(&bytes, &opts).unwrap();
    let read = perf_data::read_raw_through_reader(&bytes, &opts).unwrap();
    assert!(
        format!("{walked:?}") == format!("{read:?}"),
        "the in-order walk and the reader disagree"
    );
    let total: u64 = truth.values().sum();
    let ours_total: u64 = ours.values().sum();
    assert_eq!(total, ours_total, "sample counts differ");
    assert!(total > 200, "too few samples recorded ({total})");
    let mut agree = 0;
    let mut shown = 0;
    for (k, &n) in &truth {
        let m = ours.get(k).copied().unwrap_or(0);
        agree += n.min(m);
        if m < n && shown < 5 {
            shown += 1;
            eprintln!("perf script has {n}x, profdiff {m}x: {k:?}");
        }
    }
    let share = agree as f64 / total as f64;
    eprintln!(
        "{} {extra:?} pipe={pipe}: {agree} of {total} samples have identical stacks ({:.2}%)",
        if dwarf { "dwarf" } else { "fp" },
        share * 100.0
    );
    assert!(share >= 0.99, "only {:.2}% of stacks agree", share * 100.0);
}

#[test]
fn fp_stacks_equal_perf_script() {
    compare(false, &[], false);
}

#[test]
fn dwarf_stacks_equal_perf_script() {
    compare(true, &[], false);
}

#[test]
fn zstd_compressed_stacks_equal_perf_script() {
    compare(false, &["-z"], false);
    compare(true, &["-z"], false);
}

#[test]
fn piped_stacks_equal_perf_script() {
    compare(false, &[], true);
    compare(true, &[], true);
}
