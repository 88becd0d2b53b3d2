//! A real speedscope file: py-spy records a small two-threaded Python program inside the test
//! (skipped with a notice when py-spy or python3 is missing, unless
//! PROFDIFF_REQUIRE_FIXTURES=1), and profdiff must find both threads and the hot function.

mod common;

use profdiff::formats::{self, folded, ReadOptions};

const SCRIPT: &str = r#"
import threading, time
def hot_loop(n):
    s = 0
    for i in range(n):
        s += i * i
    return s
def worker():
    time.sleep(0.5)
    for _ in range(20):
        hot_loop(200000)
t = threading.Thread(target=worker, name="worker")
t.start()
time.sleep(0.5)
for _ in range(20):
    hot_loop(200000)
t.join()
"#;

/// py-spy and python3 are installed; else a printed skip (a failure under
/// PROFDIFF_REQUIRE_FIXTURES=1).
fn pyspy_available() -> bool {
    if common::have("py-spy") && common::have("python3") {
        return true;
    }
    if std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!("py-spy or python3 missing (pip install py-spy)");
    }
    common::skip_log::skipped("py-spy or python3 not installed (pip install py-spy)");
    false
}

#[test]
fn pyspy_speedscope_is_read() {
    if !pyspy_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = dir.path().join("profile.json");
    // py-spy attaches once both threads exist (they idle for 0.5 s first): started together
    // with the interpreter, it can name threads before `threading` has registered them and
    // then reports every thread unnamed.
    let mut app = std::process::Command::new("python3")
        .arg(&script)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let st = std::process::Command::new("py-spy")
        .args(["record", "--format", "speedscope", "-r", "200", "-o"])
        .arg(&out)
        .arg("--pid")
        .arg(app.id().to_string())
        .output()
        .unwrap();
    let _ = app.wait();
    if !st.status.success() {
        let msg = String::from_utf8_lossy(&st.stderr);
        if msg.contains("ermission") && std::env::var("PROFDIFF_REQUIRE_FIXTURES").is_err() {
            common::skip_log::skipped(&format!("py-spy may not ptrace here: {msg}"));
            return;
        }
        panic!("py-spy failed: {msg}");
    }
    let path = out.to_str().unwrap();
    let data = formats::load(path, &ReadOptions::default()).unwrap();
    assert_eq!(formats::detect(&data), Some(formats::Format::Speedscope));
    let p = formats::read_path(path, &ReadOptions::default()).unwrap();
    assert_eq!(p.sample_types[0].kind, "samples");
    assert_eq!(p.sample_types[1].kind, "wall");
    let v = p.default_value_index();
    assert_eq!(v, 1);
    let total = p.total(v) as f64;
    assert!(total > 0.0);
    let stacks = folded::fold(&p, v);
    let hot: i64 = stacks
        .iter()
        .filter(|(s, _)| s.ends_with(";hot_loop"))
        .map(|(_, n)| n)
        .sum();
    // Both threads spend nearly all their time in hot_loop; allow generous slack.
    assert!(
        hot as f64 / total > 0.5,
        "hot_loop share {}",
        hot as f64 / total
    );
    let roots: std::collections::BTreeSet<&str> = stacks
        .iter()
        .map(|(s, _)| s.split(';').next().unwrap())
        .collect();
    assert!(roots.iter().any(|r| r.contains("worker")), "{roots:?}");
    assert!(roots.len() >= 2, "{roots:?}");
    let f = p.functions.iter().find(|f| f.name == "hot_loop").unwrap();
    assert!(f.filename.ends_with("app.py"), "{}", f.filename);
}

/// Issue 14 bug 1 on a real recording: `py-spy record --idle --format raw` output (which can
/// hold frameless ` N` lines) is read as folded stacks, every count kept: the total equals
/// the sum of the file's counts, as flamegraph.pl's "all" frame shows it.
#[test]
fn pyspy_raw_is_read_with_every_count() {
    if !pyspy_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = dir.path().join("profile.raw");
    let st = std::process::Command::new("py-spy")
        .args(["record", "--idle", "--format", "raw", "-r", "200", "-o"])
        .arg(&out)
        .arg("--")
        .arg("python3")
        .arg(&script)
        .output()
        .unwrap();
    if !st.status.success() {
        let msg = String::from_utf8_lossy(&st.stderr);
        if msg.contains("ermission") && std::env::var("PROFDIFF_REQUIRE_FIXTURES").is_err() {
            common::skip_log::skipped(&format!("py-spy may not ptrace here: {msg}"));
            return;
        }
        panic!("py-spy failed: {msg}");
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let sum: i64 = text
        .lines()
        .filter_map(|l| l.trim_end().rsplit(' ').next()?.parse::<i64>().ok())
        .sum();
    let path = out.to_str().unwrap();
    let data = formats::load(path, &ReadOptions::default()).unwrap();
    assert_eq!(formats::detect(&data), Some(formats::Format::Folded));
    let p = formats::read_path(path, &ReadOptions::default()).unwrap();
    assert!(sum > 0);
    assert_eq!(p.total(0), sum);
    assert!(p.quality.notes.is_empty(), "{:?}", p.quality.notes);
}

/// py-spy's option variants in speedscope form (`--gil`, `--idle --threads`, `--nolineno`,
/// `--subprocesses`): the profile's total is the file's own total weight over all its
/// profiles (one per thread or process), as the speedscope viewer adds them up.
#[test]
fn pyspy_speedscope_variants_total_like_the_file() {
    if !pyspy_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.py");
    std::fs::write(&script, SCRIPT).unwrap();
    for flags in [
        &["--gil"][..],
        &["--idle", "--threads"],
        &["--nolineno"],
        &["--subprocesses"],
    ] {
        let out = dir.path().join("variant.json");
        let st = std::process::Command::new("py-spy")
            .args(["record", "--format", "speedscope", "-r", "200"])
            .args(flags)
            .arg("-o")
            .arg(&out)
            .arg("--")
            .arg("python3")
            .arg(&script)
            .output()
            .unwrap();
        if !st.status.success() {
            let msg = String::from_utf8_lossy(&st.stderr);
            if msg.contains("ermission") && std::env::var("PROFDIFF_REQUIRE_FIXTURES").is_err() {
                common::skip_log::skipped(&format!("py-spy may not ptrace here: {msg}"));
                return;
            }
            panic!("py-spy {flags:?} failed: {msg}");
        }
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let mut seconds = 0.0;
        for p in json["profiles"].as_array().unwrap() {
            assert_eq!(p["unit"], "seconds");
            seconds += p["weights"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_f64().unwrap())
                .sum::<f64>();
        }
        let p = formats::read_path(out.to_str().unwrap(), &ReadOptions::default()).unwrap();
        let v = p.default_value_index();
        let nanos = profdiff::model::unit_nanos(&p.sample_types[v].unit).unwrap();
        let ours = p.total(v) as f64 * nanos / 1e9;
        assert!(
            (ours - seconds).abs() < 1e-6 * seconds.max(1.0),
            "{flags:?}: {ours} s, the file {seconds} s"
        );
        assert!(seconds > 0.0, "{flags:?}");
    }
}

/// `py-spy record --format chrometrace` writes each change of stack as `E … E B … B` at one
/// timestamp. Replayed in file order (the file is balanced), every stack's wall time is the
/// sum of the intervals it was open: profdiff's stacks must equal that replay, with no
/// "did not match" note.
#[test]
fn pyspy_chrometrace_equals_its_file_order_replay() {
    if !pyspy_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = dir.path().join("trace.json");
    let st = std::process::Command::new("py-spy")
        .args(["record", "--format", "chrometrace", "-r", "200", "-o"])
        .arg(&out)
        .arg("--")
        .arg("python3")
        .arg(&script)
        .output()
        .unwrap();
    if !st.status.success() {
        let msg = String::from_utf8_lossy(&st.stderr);
        if msg.contains("ermission") && std::env::var("PROFDIFF_REQUIRE_FIXTURES").is_err() {
            common::skip_log::skipped(&format!("py-spy may not ptrace here: {msg}"));
            return;
        }
        panic!("py-spy failed: {msg}");
    }
    let events: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let expected = file_order_replay(&events);
    let p = formats::read_path(out.to_str().unwrap(), &ReadOptions::default()).unwrap();
    assert!(p.quality.notes.is_empty(), "{:?}", p.quality.notes);
    // Thread roots are named differently; compare the stacks below them, in µs.
    let mut ours = std::collections::BTreeMap::<String, i64>::new();
    for (stack, ns) in folded::fold(&p, 0) {
        let below_root = stack.split_once(';').map_or("", |(_, s)| s).to_string();
        *ours.entry(below_root).or_default() += ns / 1000;
    }
    assert_eq!(ours, expected);
}

/// Stacks (`a;b;c`, root first) → µs open, from `B`/`E` events in file order per thread.
fn file_order_replay(events: &[serde_json::Value]) -> std::collections::BTreeMap<String, i64> {
    use std::collections::{BTreeMap, HashMap};
    let mut open: HashMap<String, (Vec<String>, i64)> = HashMap::new();
    let mut out = BTreeMap::<String, i64>::new();
    for e in events {
        let thread = format!("{}/{}", e["pid"], e["tid"]);
        let ts = e["ts"].as_i64().unwrap();
        let (stack, last) = open.entry(thread).or_default();
        if !stack.is_empty() && ts > *last {
            *out.entry(stack.join(";")).or_default() += ts - *last;
        }
        *last = ts;
        match e["ph"].as_str().unwrap() {
            "B" => stack.push(e["name"].as_str().unwrap().to_string()),
            "E" => assert_eq!(stack.pop().as_deref(), e["name"].as_str()),
            _ => {}
        }
    }
    out
}
