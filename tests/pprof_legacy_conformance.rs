//! Legacy pprof profiles against `go tool pprof`: every file of google/pprof's legacy test
//! data (`../shared/fixtures/pprof-legacy/`) and real gperftools CPU profiles made here.
//!
//! - `top` must print what `go tool pprof -top` prints, summary and rows, for every sample type
//!   and several option sets;
//! - sample types, period type, period and the total of every sample type must equal the
//!   fixture's `X.string` (google/pprof's own dump of the parsed profile);
//! - real gperftools profiles (`CPUPROFILE=… LD_PRELOAD=libprofiler.so`) of a small C program
//!   are symbolized from the binary by both tools: same functions, same numbers.

mod common;

use common::pprof_top::check_with;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Option sets: go's arguments, profdiff's.
const CASES: &[(&[&str], &[&str])] = &[
    (&[], &["-n", "0"]),
    (
        &["-nodecount=200", "-nodefraction=0"],
        &["-n", "200", "--node-fraction", "0"],
    ),
    (
        &["-nodecount=200", "-nodefraction=0", "-cum"],
        &["-n", "200", "--node-fraction", "0", "--cum"],
    ),
];

/// What the `.string` dump says: sample types, `PeriodType`, `Period`, totals per type.
struct Dump {
    types: Vec<String>,
    period_type: String,
    period: i64,
    totals: Vec<i64>,
}

fn dump(path: &Path) -> Dump {
    let text = std::fs::read_to_string(path).unwrap();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut lines = text.lines().skip_while(|l| *l != "Samples:").skip(1);
    let types: Vec<String> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|t| {
            t.split('/')
                .next()
                .unwrap()
                .trim_end_matches("[dflt]")
                .to_string()
        })
        .collect();
    let mut totals = vec![0i64; types.len()];
    for l in lines.take_while(|l| !l.starts_with("Locations")) {
        let Some((values, _)) = l.split_once(':') else {
            continue;
        };
        let nums: Option<Vec<i64>> = values.split_whitespace().map(|v| v.parse().ok()).collect();
        match nums {
            Some(n) if n.len() == types.len() => {
                for (t, v) in totals.iter_mut().zip(n) {
                    *t += v;
                }
            }
            _ => {}
        }
    }
    Dump {
        types,
        period_type: field("PeriodType:"),
        period: field("Period:").parse().unwrap_or(0),
        totals,
    }
}

fn top_json(file: &Path, sample_type: &str) -> serde_json::Value {
    let out = Command::new(common::profdiff_bin())
        .args(["top", "--format", "json", "-n", "1", "-t", sample_type])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn fixtures_match_go_pprof() {
    let Some(dir) = common::fixtures() else {
        return;
    };
    let dir = dir.join("pprof-legacy");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|e| e != "string"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 14);
    for file in &files {
        let d = dump(&file.with_file_name(format!(
            "{}.string",
            file.file_name().unwrap().to_str().unwrap()
        )));
        let mut rows = 0;
        for (i, kind) in d.types.iter().enumerate() {
            let v = top_json(file, &i.to_string());
            assert_eq!(
                v["sample_type"]["type"],
                kind.as_str(),
                "{}",
                file.display()
            );
            assert_eq!(
                v["total"],
                d.totals[i].abs(),
                "{}: total of {kind}",
                file.display()
            );
            assert_eq!(
                v["profile"]["period"].as_i64().unwrap_or(0),
                d.period,
                "{}",
                file.display()
            );
            let pt = &v["profile"]["period_type"];
            let pt = format!(
                "{} {}",
                pt["type"].as_str().unwrap_or(""),
                pt["unit"].as_str().unwrap_or("")
            );
            assert_eq!(pt.trim(), d.period_type, "{}", file.display());
            let index = format!("-sample_index={i}");
            for (go, ours) in CASES {
                let mut go = go.to_vec();
                go.push(&index);
                let n = i.to_string();
                let mut ours = ours.to_vec();
                ours.extend(["--sample-type", &n]);
                rows += check_with(&[], file, &go, &ours);
            }
        }
        eprintln!(
            "{}: {} sample types, totals and period as in the .string dump, {rows} top rows identical to go",
            file.file_name().unwrap().to_string_lossy(),
            d.types.len()
        );
    }
}
