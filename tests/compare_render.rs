//! How `compare` reports read, on the project's recorded samples (samples/base-N, slow-N):
//! every significance carries its interval (`±`) next to p, Markdown folds long detail into
//! `<details>`, and the HTML tables draw "explains" bars only for significant rows.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn samples() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    if dir.join("base-1.pb.gz").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() != Ok("1"),
        "samples/ missing"
    );
    eprintln!("notice: skipping: samples/base-1.pb.gz not found");
    None
}

/// `compare` of base-1..3 against slow-1..3 with extra options; returns stdout.
fn compare(dir: &Path, extra: &[&str]) -> String {
    let mut cmd = Command::new(common::profdiff_bin());
    cmd.arg("compare").args(extra);
    for n in ["base-1", "base-2", "base-3"] {
        cmd.arg(dir.join(format!("{n}.pb.gz")));
    }
    cmd.arg("--");
    for n in ["slow-1", "slow-2", "slow-3"] {
        cmd.arg(dir.join(format!("{n}.pb.gz")));
    }
    let o = cmd.output().unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn terminal_shows_interval_next_to_p() {
    let Some(dir) = samples() else { return };
    let out = compare(&dir, &[]);
    let total = out
        .lines()
        .find(|l| l.starts_with("total per run"))
        .unwrap();
    assert!(total.contains("ms p=") && total.contains('±'), "{total}");
    // Every table row with a p has an interval in the same cell.
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("p=")).collect();
    assert!(rows.len() > 5, "{out}");
    for r in rows {
        assert!(r.contains('±'), "row without interval: {r}");
    }
}

#[test]
fn markdown_folds_long_detail() {
    let Some(dir) = samples() else { return };
    let md = compare(&dir, &["--format", "markdown", "-n", "12"]);
    // Regressions and improvements: 5 rows shown, 7 folded, each table.
    assert_eq!(
        md.matches("<details><summary>7 more</summary>").count(),
        2,
        "{md}"
    );
    // The first hot path is shown, any others are folded.
    let hot = &md[md.find("#### Hot paths").unwrap()..md.find("Data quality").unwrap()];
    assert!(hot.contains("1.\n```"), "{hot}");
    if let Some(second) = hot.find("2.\n```") {
        let fold = hot.find("more hot paths</summary>").expect(hot);
        assert!(fold < second, "{hot}");
    }
    // Every `<details>` is closed, and tables inside start after a blank line (GitHub
    // renders Markdown inside `<details>` only then).
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    for (i, _) in md.match_indices("</summary>\n") {
        assert!(md[i..].starts_with("</summary>\n\n"), "{md}");
    }
    assert!(md.contains("±"), "{md}");
}

#[test]
fn html_bars_only_for_significant_rows() {
    let Some(dir) = samples() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let html = tmp.path().join("r.html");
    compare(&dir, &["--html", html.to_str().unwrap()]);
    let html = std::fs::read_to_string(html).unwrap();
    let rows: Vec<&str> = html
        .lines()
        .filter(|l| l.starts_with("<tr class="))
        .collect();
    let noise = rows.iter().filter(|r| r.starts_with("<tr class=\"noise\""));
    let sig = rows.iter().filter(|r| r.starts_with("<tr class=\"sig\""));
    assert!(
        noise.clone().count() > 5 && sig.clone().count() >= 1,
        "{html}"
    );
    for r in noise {
        assert!(!r.contains("class=\"bar"), "noise row with a bar: {r}");
    }
    for r in sig {
        assert!(
            r.contains("class=\"bar"),
            "significant row without a bar: {r}"
        );
    }
    // Tables scroll inside their box rather than widening the page.
    assert!(html.contains("<div class=\"scroll\"><table>"));
}
