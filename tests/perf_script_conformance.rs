//! Conformance: folding every `perf script` fixture with every option variant that has an
//! expected file must give exactly stackcollapse-perf.pl's / inferno's output (as a multiset of
//! lines). Where both projects ship an expected file for the same input and option, inferno's
//! wins: FlameGraph's Rust fixture results predate its own handling of half-demangled Rust
//! symbols (`::h<hash>`, `$LT$`), which inferno and profdiff decode.

mod common;

use profdiff::formats::{self, folded, perf_script, ReadOptions};
use std::path::Path;

fn options(opt: &str) -> perf_script::Options {
    let mut o = perf_script::Options::default();
    match opt {
        "" => {}
        "pid" => o.include_pid = true,
        "tid" => o.include_tid = true,
        "kernel" => o.annotate_kernel = true,
        "jit" => o.annotate_jit = true,
        "all" => {
            o.annotate_kernel = true;
            o.annotate_jit = true;
        }
        "addrs" => o.include_addrs = true,
        other => panic!("unknown option {other}"),
    }
    o
}

/// Fold `input` with option `opt`, through the same path the CLI uses (content detection,
/// gzip). An input without samples folds to nothing. With `perl_eof`, the input is cut after
/// its last blank line first: stackcollapse-perf.pl only records a sample when a blank line
/// follows it, so it ignores a last sample at end of file; inferno (and profdiff) keep it.
fn fold_file(input: &Path, opt: &str, perl_eof: bool) -> Vec<String> {
    let opts = ReadOptions {
        perf_script: options(opt),
        ..ReadOptions::default()
    };
    let path = input.to_str().unwrap();
    let data = formats::load(path, &opts).unwrap();
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Vec::new();
    }
    assert_eq!(
        formats::detect(&data),
        Some(formats::Format::PerfScript),
        "{path} mis-detected"
    );
    let p = if perl_eof {
        let cut = data
            .windows(2)
            .rposition(|w| w == b"\n\n")
            .map_or(data.len(), |i| i + 2);
        formats::parse(&data[..cut], formats::Format::PerfScript, &opts)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    } else {
        formats::read_path(path, &opts).unwrap_or_else(|e| panic!("{e}"))
    };
    let mut lines: Vec<String> = folded::fold(&p, p.default_value_index())
        .into_iter()
        .map(|(s, v)| format!("{s} {v}"))
        .collect();
    lines.sort();
    lines
}

fn expected(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// FlameGraph's own expected output for a Java input with `--pid` / `--tid` (stale, see the
/// caller).
fn stale_java_result(fg: &Path, opt: &str, exp: &Path) -> bool {
    exp.starts_with(fg)
        && matches!(opt, "pid" | "tid")
        && expected(exp).iter().any(|l| l.starts_with("java"))
}

/// `inferno-collapse-perf --OPT input`, sorted; `None` when inferno is not installed.
fn inferno_collapse(input: &Path, opt: &str) -> Option<Vec<String>> {
    if !common::have("inferno-collapse-perf") {
        return None;
    }
    let out = std::process::Command::new("inferno-collapse-perf")
        .arg(format!("--{opt}"))
        .arg(input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "inferno-collapse-perf failed on {}",
        input.display()
    );
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    lines.sort();
    Some(lines)
}

#[test]
fn perf_script_fixtures_fold_like_stackcollapse() {
    let Some(fx) = common::fixtures() else { return };
    let fg = fx.join("perf-script/flamegraph-pl");
    let inf = fx.join("perf-script/inferno");
    // (input, option, expected file)
    let mut cases = Vec::new();
    for dir in [&fg, &inf] {
        for e in std::fs::read_dir(dir).unwrap() {
            let input = e.unwrap().path();
            let file = input.file_name().unwrap().to_str().unwrap().to_string();
            let Some(name) = file
                .strip_suffix(".txt.gz")
                .or_else(|| file.strip_suffix(".txt"))
            else {
                continue;
            };
            for opt in ["", "pid", "tid", "kernel", "jit", "all", "addrs"] {
                let res = if opt.is_empty() {
                    format!("{name}-collapsed.txt")
                } else {
                    format!("{name}-collapsed-{opt}.txt")
                };
                let exp = if inf.join("results").join(&res).exists() {
                    inf.join("results").join(&res)
                } else if fg.join("results").join(&res).exists() {
                    fg.join("results").join(&res)
                } else {
                    continue;
                };
                cases.push((input.clone(), opt, exp));
            }
        }
    }
    cases.sort();
    let mut failures = Vec::new();
    let mut perl_eof_cases = 0;
    let mut stale_skipped = 0;
    for (input, opt, exp) in &cases {
        let want = if stale_java_result(&fg, opt, exp) {
            // FlameGraph's results for Java with --pid/--tid predate its 2017 fix (e54f142,
            // `$pname =~ m/^java/`): today's stackcollapse-perf.pl and inferno strip the `L`
            // class prefix there too. inferno-collapse-perf is the reference for these.
            match inferno_collapse(input, opt) {
                Some(w) => w,
                None => {
                    stale_skipped += 1;
                    continue;
                }
            }
        } else {
            expected(exp)
        };
        let mut got = fold_file(input, opt, false);
        if got != want && exp.starts_with(&fg) {
            got = fold_file(input, opt, true);
            if got == want {
                perl_eof_cases += 1;
            }
        }
        if got != want {
            let missing: Vec<_> = want.iter().filter(|l| !got.contains(l)).take(2).collect();
            let extra: Vec<_> = got.iter().filter(|l| !want.contains(l)).take(2).collect();
            failures.push(format!(
                "{} --{opt} vs {}: {} lines expected, {} got; missing {missing:?}; extra {extra:?}",
                input.display(),
                exp.display(),
                want.len(),
                got.len()
            ));
        }
    }
    eprintln!(
        "perf script conformance: {} matched of {} (input × option) cases \
         ({perl_eof_cases} of them once the last, unterminated sample is left out as \
         stackcollapse-perf.pl does)",
        cases.len() - failures.len(),
        cases.len()
    );
    if stale_skipped > 0 {
        common::skip_log::skipped(&format!(
            "{stale_skipped} Java --pid/--tid cases need inferno-collapse-perf \
             (cargo install inferno)"
        ));
    }
    assert!(cases.len() >= 80, "only {} cases found", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Inputs past 16 MiB are read in parallel chunks: six copies of example-perf-stacks must fold
/// to exactly six times inferno's expected counts.
#[test]
fn large_input_read_in_parallel_matches_expected() {
    let Some(fx) = common::fixtures() else { return };
    let src = fx.join("perf-script/flamegraph-pl/example-perf-stacks.txt.gz");
    let one = formats::load(src.to_str().unwrap(), &ReadOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("six.txt");
    let mut data = Vec::with_capacity(one.len() * 6);
    for _ in 0..6 {
        data.extend_from_slice(&one);
    }
    assert!(data.len() > 16 << 20);
    std::fs::write(&big, &data).unwrap();
    let got = fold_file(&big, "", false);
    let want: Vec<String> =
        expected(&fx.join("perf-script/inferno/results/example-perf-stacks-collapsed.txt"))
            .into_iter()
            .map(|l| {
                let (s, n) = l.rsplit_once(' ').unwrap();
                format!("{s} {}", n.parse::<i64>().unwrap() * 6)
            })
            .collect();
    let mut want = want;
    want.sort();
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "parallel read differs from 6x the expected counts"
    );
}
