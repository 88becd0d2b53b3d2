//! The last test target of `cargo test` (targets run in name order), built without the test
//! harness so its output is always shown: one line saying which conformance checks this run
//! skipped (missing fixtures or tools), as recorded by `common::skip_log`, and where to get
//! them. Skip notices of passing tests are otherwise invisible without `--nocapture`.

#[path = "common/skip_log.rs"]
mod skip_log;

use std::collections::BTreeMap;

fn main() {
    let run = std::os::unix::process::parent_id().to_string();
    let path = skip_log::log_path();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    // reason → tests that skipped for it, this run only.
    let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut count = 0usize;
    for line in text.lines() {
        let mut cols = line.splitn(3, '\t');
        let (Some(ppid), Some(test), Some(why)) = (cols.next(), cols.next(), cols.next()) else {
            continue;
        };
        if ppid != run {
            continue;
        }
        count += 1;
        let tests = reasons.entry(why).or_default();
        if !tests.contains(&test) {
            tests.push(test);
        }
    }
    // Older runs' lines are dropped.
    let _ = std::fs::remove_file(&path);
    if count == 0 {
        eprintln!("conformance: no checks skipped");
        return;
    }
    eprintln!(
        "conformance: {count} check(s) skipped ({} reason(s)); see README \"Conformance fixtures and tools\":",
        reasons.len()
    );
    for (why, tests) in &reasons {
        eprintln!("  skipped: {why} [{}]", tests.join(", "));
    }
}
