//! pprof reader/writer against real profiles: the google/pprof fixtures round-trip through
//! profdiff's model, and what profdiff writes is read by `go tool pprof` with the same numbers.

mod common;

use profdiff::formats::{self, pprof, ReadOptions};
use std::process::Command;

fn fixture(name: &str) -> Option<std::path::PathBuf> {
    Some(common::fixtures()?.join("pprof").join(name))
}

#[test]
fn fixtures_round_trip_semantically() {
    for name in ["sample.cpu.pb.gz", "large.cpu.pb.gz"] {
        let Some(path) = fixture(name) else { return };
        let p = formats::read_path(path.to_str().unwrap(), &ReadOptions::default()).unwrap();
        assert!(!p.samples.is_empty(), "{name}");
        let mut gz = Vec::new();
        pprof::write_gz(&p, &mut gz).unwrap();
        let q = formats::parse(
            &formats::gunzip(&gz, Some(1 << 30)).unwrap(),
            formats::Format::Pprof,
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(q, p, "{name}: parse(write(p)) != p");
    }
}

#[test]
fn fixture_facts_match_go_raw_listing() {
    // Hand-checked against `go tool pprof -raw sample.cpu.pb.gz`: period 10ms, duration 2.00s,
    // sample types samples/count + cpu/nanoseconds, total 176 samples = 1.76s.
    let Some(path) = fixture("sample.cpu.pb.gz") else {
        return;
    };
    let p = formats::read_path(path.to_str().unwrap(), &ReadOptions::default()).unwrap();
    assert_eq!(p.period, 10_000_000);
    // go prints "Duration: 2.00" (seconds, two decimals); the exact value is 2002012950 ns.
    assert_eq!(format!("{:.2}", p.duration_nanos as f64 / 1e9), "2.00");
    assert_eq!(
        p.period_type,
        Some(profdiff::model::ValueType::new("cpu", "nanoseconds"))
    );
    assert_eq!(p.sample_types[0], profdiff::model::ValueType::samples());
    assert_eq!(p.sample_types[1].unit, "nanoseconds");
    assert_eq!(p.total(0), 176);
    assert_eq!(p.total(1), 1_760_000_000);
}

/// Run `go tool pprof ARGS FILE`, or None (with a notice) when go is missing.
pub fn go_pprof(args: &[&str], file: &std::path::Path) -> Option<String> {
    if !common::have("go") {
        if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!("PROFDIFF_REQUIRE_FIXTURES=1 but `go` is not installed");
        }
        common::skip_log::skipped(
            "`go` not found (install golang-go for the pprof conformance test)",
        );
        return None;
    }
    let out = Command::new("go")
        .args(["tool", "pprof", "-symbolize=none"])
        .args(args)
        .arg(file)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run go tool pprof");
    assert!(
        out.status.success(),
        "go tool pprof failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn go_reads_what_we_write_from_folded() {
    // A hand-built folded profile: main 10 total; f flat 6, g flat 3 (g under f for 1),
    // main flat 1. Expected -top (counts): f 6 flat / 7 cum, g 3 / 3, main 1 / 10.
    let p = formats::folded::parse(b"main;f 6\nmain;g 2\nmain;f;g 1\nmain 1\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("folded.pb.gz");
    let mut gz = Vec::new();
    pprof::write_gz(&p, &mut gz).unwrap();
    std::fs::write(&file, gz).unwrap();
    let Some(out) = go_pprof(&["-top"], &file) else {
        return;
    };
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec!["6", "60.00%", "60.00%", "7", "70.00%", "f"],
            vec!["3", "30.00%", "90.00%", "3", "30.00%", "g"],
            vec!["1", "10.00%", "100%", "10", "100%", "main"],
        ],
        "{out}"
    );
    assert!(out.contains("Type: samples"), "{out}");
}

#[test]
fn go_reads_what_we_write_from_pprof_fixture() {
    // Re-encoding the fixture must not change a single number go prints.
    let Some(path) = fixture("sample.cpu.pb.gz") else {
        return;
    };
    let p = formats::read_path(path.to_str().unwrap(), &ReadOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("again.pb.gz");
    let mut gz = Vec::new();
    pprof::write_gz(&p, &mut gz).unwrap();
    std::fs::write(&file, gz).unwrap();
    let Some(theirs) = go_pprof(&["-top"], &path) else {
        return;
    };
    let ours = go_pprof(&["-top"], &file).unwrap();
    let table = |s: &str| -> Vec<String> {
        s.lines()
            .skip_while(|l| !l.starts_with("Type:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(table(&ours), table(&theirs));
    // The metadata we add travels as a comment go prints in its header.
    assert!(ours.contains("profdiff: format=pprof"), "{ours}");
}

/// `profdiff convert IN -o OUT --to pprof`; Err(stderr) on failure.
fn convert_to_pprof(input: &std::path::Path, out: &std::path::Path) -> Result<(), String> {
    let o = Command::new(common::profdiff_bin())
        .args(["convert", "--to", "pprof", "-o"])
        .arg(out)
        .arg(input)
        .output()
        .unwrap();
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

#[test]
fn go_reads_pprof_converted_from_perf_script() {
    // Truth: stackcollapse-perf.pl's folded output for the same perf script input. go must print
    // the same -top table for the pprof profdiff wrote from the perf script text as for the
    // pprof written from stackcollapse's folded stacks.
    let Some(fx) = common::fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "inferno/go-stacks.txt",
            "inferno/results/go-stacks-collapsed.txt",
        ),
        (
            "flamegraph-pl/example-perf-stacks.txt.gz",
            "inferno/results/example-perf-stacks-collapsed.txt",
        ),
    ];
    for (input, expected) in cases {
        let input = fx.join("perf-script").join(input);
        let expected = fx.join("perf-script").join(expected);
        let ours = dir.path().join("from-perf-script.pb.gz");
        let truth = dir.path().join("from-collapsed.pb.gz");
        if let Err(e) = convert_to_pprof(&input, &ours) {
            panic!("convert {}: {e}", input.display());
        }
        // The truth side is read with the folded reader directly (no format detection).
        let folded = formats::folded::parse(&std::fs::read(&expected).unwrap()).unwrap();
        let mut gz = Vec::new();
        pprof::write_gz(&folded, &mut gz).unwrap();
        std::fs::write(&truth, gz).unwrap();
        let Some(a) = go_pprof(&["-top", "-nodefraction=0"], &ours) else {
            return;
        };
        let b = go_pprof(&["-top", "-nodefraction=0"], &truth).unwrap();
        // stackcollapse writes perf's sample periods as plain numbers while profdiff knows they
        // are nanoseconds of cpu-clock, so go prints `500us` on one side and `500000` on the
        // other: compare the unit-free columns (flat%, sum%, cum%, function) and row order.
        let table = |s: &str| -> Vec<String> {
            s.lines()
                .skip_while(|l| !l.trim_start().starts_with("flat  flat%"))
                .skip(1)
                .map(|l| {
                    let cols: Vec<&str> = l.split_whitespace().collect();
                    let pct = |c: &str| c.to_string();
                    // flat flat% sum% cum cum% name...; `100%` may stand alone.
                    format!(
                        "{} {} {} {}",
                        pct(cols[1]),
                        pct(cols[2]),
                        pct(cols[4]),
                        cols[5..].join(" ")
                    )
                })
                .collect()
        };
        assert!(table(&a).len() > 3, "{a}");
        assert_eq!(table(&a), table(&b), "{}", input.display());
    }
}
