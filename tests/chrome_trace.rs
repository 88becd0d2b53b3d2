//! Chrome trace-event files against their references:
//! - speedscope's sample trace-event files (incl. the malformed ones it tolerates) must give
//!   the stacks and times speedscope's own importer gives (the expected tables are speedscope's
//!   jest snapshots, `src/import/__snapshots__/trace-event.test.ts.snap`, with the arguments
//!   speedscope appends to frame names removed: profdiff names a frame by the event name);
//! - DevTools performance traces with CPU profiles (`Chrome/`): each named function's self
//!   time must equal speedscope's (`chrome.test.ts.snap`) within 1% (speedscope clamps
//!   out-of-order samples where profdiff sorts them, so a few samples differ);
//! - a real trace of a busy page recorded by headless Chromium must give the busy function
//!   the share of time the page itself measured (skipped with a notice without chromium).

mod common;

use profdiff::formats::{self, folded, Format, ReadOptions};
use std::collections::BTreeMap;

/// speedscope's stacks per file (root first, without the thread root), in µs.
const SPEEDSCOPE_TRACE_EVENTS: &[(&str, &[(&str, f64)])] = &[
    (
        "bex-interaction.json",
        &[
            ("A;B", 2.0),
            ("D;C", 2.0),
            ("F", 1.0),
            ("F;E", 1.0),
            ("G", 1.0),
            ("G;H", 1.0),
            ("J", 1.0),
            ("J;I", 1.0),
            ("K", 1.0),
            ("K;L", 1.0),
        ],
    ),
    (
        "end-non-top-of-stack.json",
        &[("A", 1.0), ("A;B", 9.0), ("A;B;Z", 1.0)],
    ),
    (
        "matching-x.json",
        &[
            ("alpha", 8.0),
            ("alpha;beta;gamma", 1.0),
            ("alpha;gamma;beta", 1.0),
        ],
    ),
    (
        "multiprocess.json",
        &[
            ("alpha", 1.0),
            ("beta", 1.0),
            ("gamma", 1.0),
            ("delta", 1.0),
            ("epsilon", 1.0),
            ("phi", 1.0),
            ("zeta", 1.0),
            ("eta", 1.0),
        ],
    ),
    (
        "not-enough-end-events.json",
        &[("A", 1.0), ("A;A", 9.0), ("A;A;A", 1.0)],
    ),
    (
        "out-of-order-unbalanced-name.json",
        &[("alpha", 1.0), ("alpha;beta", 9.0)],
    ),
    (
        "simple-hermes.json",
        &[("[root]", 2.0), ("[root];beta", 12.0)],
    ),
    (
        "simple-partial-trailing-comma.json",
        &[
            ("alpha", 2.0),
            ("alpha;beta", 3.0),
            ("alpha;beta;epsilon", 4.0),
            ("alpha;beta;gamma", 5.0),
        ],
    ),
    (
        "simple-partial.json",
        &[
            ("alpha", 2.0),
            ("alpha;beta", 3.0),
            ("alpha;beta;epsilon", 4.0),
            ("alpha;beta;gamma", 5.0),
        ],
    ),
    (
        "simple.json",
        &[
            ("alpha", 2.0),
            ("alpha;beta", 3.0),
            ("alpha;beta;epsilon", 4.0),
            ("alpha;beta;gamma", 5.0),
        ],
    ),
    (
        "too-many-end-events.json",
        &[("alpha", 2.0), ("alpha;beta", 12.0)],
    ),
    (
        "unbalanced-name.json",
        &[("alpha", 1.0), ("alpha;beta", 9.0)],
    ),
    (
        "x-events-matching-start.json",
        &[
            ("alpha", 12.0),
            ("alpha;beta", 2.0),
            ("alpha;beta;gamma", 2.0),
            ("alpha;gamma", 2.0),
            ("alpha;gamma;beta", 2.0),
        ],
    ),
];

/// Folded stacks of the default sample type without the thread root, values scaled to µs.
fn stacks_without_root(path: &str, per_micro: f64) -> BTreeMap<String, f64> {
    let p =
        formats::read_path(path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = BTreeMap::new();
    for (stack, v) in folded::fold(&p, p.default_value_index()) {
        let (_, rest) = stack.split_once(';').unwrap_or(("", ""));
        *out.entry(rest.to_string()).or_insert(0.0) += v as f64 / per_micro;
    }
    out
}

#[test]
fn trace_events_match_speedscope() {
    let Some(fx) = common::fixtures() else { return };
    let dir = fx.join("foreign/speedscope/trace-event");
    for (file, expected) in SPEEDSCOPE_TRACE_EVENTS {
        let path = dir.join(file);
        let path = path.to_str().unwrap();
        let data = formats::load(path, &ReadOptions::default()).unwrap();
        assert_eq!(formats::detect(&data), Some(Format::ChromeTrace), "{file}");
        let got = stacks_without_root(path, 1000.0);
        let want: BTreeMap<String, f64> =
            expected.iter().map(|(s, v)| (s.to_string(), *v)).collect();
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn hermes_nesting_is_hand_checked() {
    let Some(fx) = common::fixtures() else { return };
    // No speedscope snapshot for this file. [root] 0-14; beta 1-2; gamma and beta both begin
    // at 4 (file order: gamma encloses beta), beta ends at 10, gamma at 13.
    let path = fx.join("foreign/speedscope/trace-event/hermes-multiple-frames.json");
    let got = stacks_without_root(path.to_str().unwrap(), 1000.0);
    let want: BTreeMap<String, f64> = [
        ("[root]", 4.0),
        ("[root];beta", 1.0),
        ("[root];gamma", 3.0),
        ("[root];gamma;beta", 6.0),
    ]
    .iter()
    .map(|(s, v)| (s.to_string(), *v))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn trace_events_that_enclose_no_time_are_refused() {
    let Some(fx) = common::fixtures() else { return };
    // speedscope shows an empty profile: the only E event closes a different name.
    let path = fx.join("foreign/speedscope/trace-event/mismatched-name.json");
    let err = formats::read_path(path.to_str().unwrap(), &ReadOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("mismatched-name.json") && msg.contains("never enclose any time"),
        "{msg}"
    );
}

/// Function self times (µs) in speedscope's snapshots of the `Chrome/` files.
const SPEEDSCOPE_CHROME_SELF: &[(&str, &[(&str, f64)])] = &[
    (
        "chrome69-simple.json",
        &[
            ("gamma", 20018.0),
            ("beta", 7552.0),
            ("delta", 7179.0),
            ("alpha", 873.0),
            ("(program)", 6862.0),
        ],
    ),
    (
        "chrome116-Trace-20230603T221323.json",
        &[
            ("gamma", 8593.0),
            ("beta", 8028.0),
            ("delta", 8169.0),
            ("alpha", 426.0),
        ],
    ),
    (
        "chrome66-worker.json",
        &[
            ("banana", 50635.0),
            ("apple", 5474.0),
            ("worker.onmessage", 1221.0),
            ("gamma", 22197.0),
            ("alpha", 19976.0),
            ("onmessage", 639.0),
        ],
    ),
];

fn self_micros(path: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for (stack, v) in stacks_without_root(path, 1.0) {
        let leaf = stack.rsplit(';').next().unwrap_or("").to_string();
        *out.entry(leaf).or_insert(0.0) += v;
    }
    out
}

#[test]
fn devtools_cpu_profiles_match_speedscope() {
    let Some(fx) = common::fixtures() else { return };
    for (file, expected) in SPEEDSCOPE_CHROME_SELF {
        let path = fx.join("foreign/speedscope/Chrome").join(file);
        let path = path.to_str().unwrap();
        let data = formats::load(path, &ReadOptions::default()).unwrap();
        assert_eq!(formats::detect(&data), Some(Format::ChromeTrace), "{file}");
        let got = self_micros(path);
        for (name, want) in *expected {
            let have = got.get(*name).copied().unwrap_or(0.0);
            assert!(
                (have - want).abs() <= want * 0.01 + 1.0,
                "{file}: {name} self {have} µs, speedscope {want} µs"
            );
        }
    }
    // The worker trace has two sampled threads: each under its own root.
    let path = fx.join("foreign/speedscope/Chrome/chrome66-worker.json");
    let p = formats::read_path(path.to_str().unwrap(), &ReadOptions::default()).unwrap();
    let roots: std::collections::BTreeSet<String> = folded::fold(&p, 1)
        .into_iter()
        .map(|(s, _)| s.split(';').next().unwrap().to_string())
        .collect();
    assert!(
        roots.contains("CrRendererMain") && roots.contains("DedicatedWorker thread"),
        "{roots:?}"
    );
}

#[test]
fn chrome_tracing_export_is_read_as_wall_time() {
    let Some(fx) = common::fixtures() else { return };
    // Gzipped, no CPU samples: the duration events of every thread.
    let path = fx.join("foreign/firefox-profiler/chrome-tracing.json.gz");
    let p = formats::read_path(path.to_str().unwrap(), &ReadOptions::default()).unwrap();
    assert_eq!(p.sample_types[0].kind, "wall");
    let got = stacks_without_root(path.to_str().unwrap(), 1000.0);
    assert!(
        got.get("SequenceManager::DoIdleWork")
            .is_some_and(|&v| v > 0.0),
        "{got:?}"
    );
}

const BUSY_PAGE: &str = r#"<!doctype html><html><body><script>
function spinHot(ms) { const end = performance.now() + ms; let x = 0; while (performance.now() < end) { x += Math.sqrt(x + 1); } return x; }
function spinCold(ms) { const end = performance.now() + ms; let y = 0; while (performance.now() < end) { y ^= (y << 1) + 7; } return y; }
function runWorkload() {
  let hot = 0, cold = 0, r = 0;
  for (let i = 0; i < 30; i++) {
    let t = performance.now(); r += spinHot(30); hot += performance.now() - t;
    t = performance.now(); r += spinCold(10); cold += performance.now() - t;
  }
  return 'hot=' + hot.toFixed(1) + ' cold=' + cold.toFixed(1) + ' ok=' + (r > 0);
}
document.title = runWorkload();
</script></body></html>"#;

/// Record a startup trace of the busy page with headless Chromium; returns the trace path
/// and the page's own (hot, cold) milliseconds.
fn record_chromium(dir: &std::path::Path) -> (std::path::PathBuf, f64, f64) {
    let page = dir.join("busy.html");
    std::fs::write(&page, BUSY_PAGE).unwrap();
    let trace = dir.join("trace.json");
    let profile_dir = dir.join("user-data");
    // `timeout`: a wedged browser fails the test instead of hanging it. The trace is written
    // when the browser exits after the page loaded, well within the startup duration.
    let out = std::process::Command::new("timeout")
        .args(["120", "chromium"])
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--trace-startup=disabled-by-default-v8.cpu_profiler,v8",
            "--trace-startup-format=json",
            "--trace-startup-duration=30",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .arg(format!("--trace-startup-file={}", trace.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_else(|| panic!("no title in chromium's DOM dump: {dom}"));
    let ms = |key: &str| -> f64 {
        title
            .split(' ')
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} missing in {title}"))
    };
    (trace, ms("hot="), ms("cold="))
}

#[test]
fn chromium_trace_gives_the_busy_function_its_share() {
    if !common::have("chromium") {
        if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!("chromium is missing");
        }
        eprintln!("notice: skipping: chromium not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (trace, hot, cold) = record_chromium(dir.path());
    let path = trace.to_str().unwrap();
    let data = formats::load(path, &ReadOptions::default()).unwrap();
    assert_eq!(formats::detect(&data), Some(Format::ChromeTrace));
    let p = formats::read_path(path, &ReadOptions::default()).unwrap();
    let selfs = self_micros(path);
    let (spin_hot, spin_cold) = (selfs["spinHot"] / 1e3, selfs["spinCold"] / 1e3);
    // The profiler may start a little after the page: most, not all, of the measured time.
    assert!(
        spin_hot > 0.7 * hot && spin_hot < 1.05 * hot,
        "spinHot {spin_hot} ms in the profile, {hot} ms measured by the page"
    );
    let share = spin_hot / (spin_hot + spin_cold);
    let measured = hot / (hot + cold);
    assert!(
        (share - measured).abs() < 0.05,
        "spinHot share {share:.3} of the workload, measured {measured:.3}"
    );
    // The busy page runs on the renderer's main thread, rooted by its name.
    assert!(folded::fold(&p, 1)
        .iter()
        .any(|(s, _)| s.starts_with("CrRendererMain;") && s.ends_with(";spinHot")));
}
