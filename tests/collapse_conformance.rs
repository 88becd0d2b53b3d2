//! DTrace, macOS `sample`, `xctrace export` and Instruments deep-copy inputs against their
//! references: inferno's expected folded output in `collapse/*/results` (what
//! `inferno-collapse-{dtrace,sample,xctrace}` print), inferno's own collapsers run live when
//! installed, and for Instruments the file's own `Self Weight` column (speedscope reads a
//! deep copy the same way: a node's own value is its weight minus its children's).

mod common;

use profdiff::formats::{self, folded, Format, ReadOptions};
use std::collections::BTreeMap;
use std::path::Path;

/// `profdiff convert IN --to folded`, through the library: detection, then folding.
fn fold(path: &Path) -> Result<(Format, BTreeMap<String, i64>), String> {
    let opts = ReadOptions::default();
    let data = formats::load(path.to_str().unwrap(), &opts).map_err(|e| e.to_string())?;
    let format = formats::detect(&data).ok_or("not detected")?;
    let p = formats::parse(&data, format, &opts).map_err(|e| e.0)?;
    let lines = folded::fold(&p, p.default_value_index());
    Ok((format, lines.into_iter().collect()))
}

fn expected(path: &Path) -> BTreeMap<String, i64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (s, c) = l.rsplit_once(' ').unwrap();
            (s.to_string(), c.parse().unwrap())
        })
        .collect()
}

/// (input, expected result, format) as inferno's tests pair them, default options only.
const MATCHING: &[(&str, &str, Format)] = &[
    (
        "dtrace/example-dtrace-stacks.txt",
        "dtrace/results/dtrace-example.txt",
        Format::Dtrace,
    ),
    (
        "dtrace/hex-addresses.txt",
        "dtrace/results/hex-addresses.txt",
        Format::Dtrace,
    ),
    (
        "dtrace/scope_with_no_argument_list.txt",
        "dtrace/results/scope_with_no_argument_list.txt",
        Format::Dtrace,
    ),
    (
        "dtrace/stack-ustack.txt",
        "dtrace/results/stack-ustack.txt",
        Format::Dtrace,
    ),
    (
        "xctrace/basic.xml",
        "xctrace/results/basic.folded",
        Format::Xctrace,
    ),
];

/// Inputs inferno rejects; profdiff refuses them too, naming the problem.
const REJECTED: &[(&str, &str)] = &[
    ("dtrace/only-header-lines.txt", "no blank line"),
    (
        "sample/bad-stack-line.txt",
        "line 22: unable to parse stack line",
    ),
    (
        "sample/end-before-call-graph-end.txt",
        "ends inside the call graph",
    ),
    ("sample/end-before-call-graph-start.txt", "no call graph"),
    (
        "sample/invalid-samples-field.txt",
        "line 22: invalid samples field",
    ),
    (
        "sample/no-four-spaces.txt",
        "line 22: a call graph line must start with 4 spaces",
    ),
    (
        "sample/odd-indentation.txt",
        "line 22: odd number of indentation characters",
    ),
    (
        "sample/skipped-indentation.txt",
        "line 23: skipped indentation level",
    ),
    (
        "sample/stack-line-only-indent-chars.txt",
        "line 22: a stack line with only indent",
    ),
];

#[test]
fn collapse_fixtures_fold_like_inferno() {
    let Some(fx) = common::fixtures() else { return };
    let dir = fx.join("collapse");
    for (input, result, format) in MATCHING {
        let (got_format, got) = fold(&dir.join(input)).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(got_format, *format, "{input} detected as {got_format:?}");
        assert_eq!(got, expected(&dir.join(result)), "{input} vs {result}");
    }
    for (input, why) in REJECTED {
        let e = fold(&dir.join(input)).expect_err(input);
        assert!(e.contains(why), "{input}: {e}");
    }
    eprintln!(
        "collapse conformance: {} inputs equal inferno's results, {} rejected like inferno",
        MATCHING.len(),
        REJECTED.len()
    );
}

/// sample.txt: every stack of inferno's result, with its count, except where a call path
/// appears more than once in the call graph (the same functions reached through different
/// offsets). inferno keeps only the last occurrence's count there; profdiff sums them, as
/// every occurrence is its own samples (hand-checked in sample.txt: 7 + 5 + 2 at lines
/// 79/86/102 and 4 + 2 + 2 at lines 166/174/182, where inferno has 2 and 2).
#[test]
fn sample_call_graph_folds_like_inferno_with_repeated_paths_summed() {
    let Some(fx) = common::fixtures() else { return };
    let dir = fx.join("collapse/sample");
    let (format, got) = fold(&dir.join("sample.txt")).unwrap();
    assert_eq!(format, Format::MacSample);
    let want = expected(&dir.join("results/sample-default.txt"));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    let mut differing: Vec<(i64, i64)> = got
        .iter()
        .filter(|(s, v)| want[*s] != **v)
        .map(|(s, v)| (want[s], *v))
        .collect();
    differing.sort();
    assert_eq!(differing, vec![(2, 8), (2, 14)]);
}

/// flamegraph-bug.txt and dtrace-example-offsets are inferno's results with `--includeoffset`,
/// which profdiff does not offer: without it, the stacks are the same with offsets removed.
#[test]
fn dtrace_offsets_results_equal_without_offsets() {
    let Some(fx) = common::fixtures() else { return };
    let dir = fx.join("collapse/dtrace");
    let strip = |m: BTreeMap<String, i64>| -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for (s, v) in m {
            let s: Vec<String> = s
                .split(';')
                .map(|f| f.rfind('+').map_or(f, |i| &f[..i]).to_string())
                .collect();
            *out.entry(s.join(";")).or_insert(0) += v;
        }
        out
    };
    let (_, got) = fold(&dir.join("flamegraph-bug.txt")).unwrap();
    assert_eq!(
        got,
        strip(expected(&dir.join("results/flamegraph-bug.txt")))
    );
}

/// The same inputs through inferno's collapsers themselves, when installed.
#[test]
fn collapse_fixtures_equal_live_inferno() {
    let Some(fx) = common::fixtures() else { return };
    let dir = fx.join("collapse");
    let mut checked = 0;
    for (input, _, format) in MATCHING {
        let tool = match format {
            Format::Dtrace => "inferno-collapse-dtrace",
            _ => "inferno-collapse-xctrace",
        };
        if !common::have(tool) {
            common::skip_log::skipped(&format!("{tool} not installed (cargo install inferno)"));
            continue;
        }
        let out = std::process::Command::new(tool)
            .arg(dir.join(input))
            .output()
            .unwrap();
        let live: BTreeMap<String, i64> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let (s, c) = l.rsplit_once(' ').unwrap();
                (s.to_string(), c.parse().unwrap())
            })
            .collect();
        assert_eq!(fold(&dir.join(input)).unwrap().1, live, "{input} vs {tool}");
        checked += 1;
    }
    eprintln!("collapse conformance: {checked} inputs equal live inferno output");
}

/// Instruments deep copy: each call-tree node's own value equals its `Self Weight` cell.
#[test]
fn instruments_deep_copy_self_weights() {
    let Some(fx) = common::fixtures() else { return };
    let path = fx.join("foreign/speedscope/Instruments/instruments16-deep-copy.txt");
    let (format, got) = fold(&path).unwrap();
    assert_eq!(format, Format::InstrumentsDeepCopy);
    // Independent reading of the file: path by indentation, Self Weight in ms.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut want: BTreeMap<String, i64> = BTreeMap::new();
    let mut path_names: Vec<(usize, String)> = Vec::new();
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split('\t').collect();
        let indent = cells[2].len() - cells[2].trim_start().len();
        path_names.retain(|(i, _)| *i < indent);
        path_names.push((indent, cells[2].trim().to_string()));
        let mut w = cells[1].split_whitespace();
        let (n, unit) = (w.next().unwrap(), w.next().unwrap());
        let ns = n.parse::<f64>().unwrap()
            * match unit {
                "s" => 1e9,
                "ms" => 1e6,
                other => panic!("unit {other}"),
            };
        if ns > 0.0 {
            let key: Vec<&str> = path_names.iter().map(|(_, n)| n.as_str()).collect();
            *want.entry(key.join(";")).or_insert(0) += ns.round() as i64;
        }
    }
    assert_eq!(got, want);
    let total: i64 = got.values().sum();
    // The root's weight is 4.93 s: the own values add up to it.
    assert!((total - 4_930_000_000).abs() <= 10_000_000, "{total}");
}
