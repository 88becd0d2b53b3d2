//! `profdiff top` against `go tool pprof -top`: run both and compare the summary lines and
//! every row (flat, flat%, sum%, cum, cum%, function with its inline mark).

use profdiff::render::top::percentage;
use std::path::Path;
use std::process::Command;

/// `go tool pprof -top ARGS FILE` (`None`, with a notice, when go is missing).
pub fn go_top(file: &Path, args: &[&str]) -> Option<String> {
    go_top_with(&[], file, args)
}

/// [`go_top`] with more files before the profile (the binary, as in `go tool pprof -top BIN
/// PROF`); `-symbolize=none` is only added when no binary is given.
pub fn go_top_with(before: &[&Path], file: &Path, args: &[&str]) -> Option<String> {
    if !super::have("go") {
        if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!("PROFDIFF_REQUIRE_FIXTURES=1 but `go` is not installed");
        }
        super::skip_log::skipped(
            "`go` not found (install golang-go for the pprof conformance test)",
        );
        return None;
    }
    let symbolize: &[&str] = if before.is_empty() {
        &["-symbolize=none"]
    } else {
        &[]
    };
    let out = Command::new("go")
        .args(["tool", "pprof", "-top"])
        .args(symbolize)
        .args(args)
        .args(before)
        .arg(file)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run go tool pprof");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

/// `profdiff top ARGS FILE`'s standard output.
pub fn profdiff(file: &Path, args: &[&str]) -> String {
    let out = Command::new(super::profdiff_bin())
        .arg("top")
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// profdiff's `top --format json` of one sample type, every row: function → (flat, cum).
pub fn profdiff_flat_cum(
    file: &Path,
    sample_type: &str,
) -> std::collections::BTreeMap<String, (u64, u64)> {
    let args = [
        "--format",
        "json",
        "-n",
        "0",
        "--node-fraction",
        "0",
        "-t",
        sample_type,
    ];
    let v: serde_json::Value = serde_json::from_str(&profdiff(file, &args)).unwrap();
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

/// go's rows: the five number columns and the function (with its inline mark).
pub fn go_rows(out: &str) -> Vec<[String; 6]> {
    out.lines()
        .skip_while(|l| !l.trim_start().starts_with("flat  flat%"))
        .skip(1)
        .map(|l| {
            let mut rest = l.trim_start();
            let mut cols: Vec<String> = Vec::new();
            for _ in 0..5 {
                let end = rest.find(' ').unwrap_or(rest.len());
                cols.push(rest[..end].to_string());
                rest = rest[end..].trim_start();
            }
            cols.push(rest.to_string());
            cols.try_into().unwrap()
        })
        .collect()
}

/// profdiff's rows, built from its JSON with pprof's percentage format.
pub fn our_rows(json: &str) -> Vec<[String; 6]> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["schema"], "profdiff.top");
    assert_eq!(v["schema_version"], 2);
    let total = v["total"].as_i64().unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let name = match r["inline"].as_str() {
                Some(m) => format!("{} ({m})", r["function"].as_str().unwrap()),
                None => r["function"].as_str().unwrap().to_string(),
            };
            let pct = |k: &str| {
                let x = r[k].as_f64().unwrap() / 100.0 * total as f64;
                percentage(x.round() as i64, total).trim().to_string()
            };
            [
                r["flat_display"].as_str().unwrap().to_string(),
                pct("flat_percent"),
                pct("sum_percent"),
                r["cum_display"].as_str().unwrap().to_string(),
                pct("cum_percent"),
                name,
            ]
        })
        .collect()
}

/// The lines from `Type:` up to the column header (summary, dropped, showing top).
pub fn summary(out: &str) -> Vec<&str> {
    out.lines()
        .skip_while(|l| !l.starts_with("Type:"))
        .take_while(|l| !l.trim_start().starts_with("flat  flat%"))
        .collect()
}

/// The table's rows (after the column header), trailing spaces trimmed.
pub fn table_rows(out: &str) -> Vec<&str> {
    out.lines()
        .skip_while(|l| !l.trim_start().starts_with("flat  flat%"))
        .skip(1)
        .map(str::trim_end)
        .collect()
}

/// Compare both tables; returns the number of rows (0 when go is missing).
pub fn check(file: &Path, go_args: &[&str], our_args: &[&str]) -> usize {
    check_with(&[], file, go_args, our_args)
}

/// [`check`] with files before the profile on go's command line (see [`go_top_with`]).
pub fn check_with(before: &[&Path], file: &Path, go_args: &[&str], our_args: &[&str]) -> usize {
    let Some(go) = go_top_with(before, file, go_args) else {
        return 0;
    };
    let table = profdiff(file, our_args);
    assert_eq!(
        summary(&table),
        summary(&go),
        "summary differs for {go_args:?} on {}",
        file.display()
    );
    // Issue 14 bug 10: the table itself, name column included, is pprof's line for line (go
    // symbolizing a binary may leave rows unnamed that profdiff names: rows checked below).
    if before.is_empty() {
        assert_eq!(
            table_rows(&table),
            table_rows(&go),
            "table differs for {go_args:?} on {}",
            file.display()
        );
    }
    let mut json_args = our_args.to_vec();
    json_args.extend(["--format", "json"]);
    let ours = our_rows(&profdiff(file, &json_args));
    let theirs = go_rows(&go);
    assert!(!theirs.is_empty());
    assert_eq!(ours.len(), theirs.len(), "row count for {go_args:?}");
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "row {i} for {go_args:?} on {}", file.display());
    }
    theirs.len()
}
