//! Function names are data from the profiled program (or from whoever made the file): every
//! output that shows them must escape them for its medium. Terminal tables show control
//! characters as escapes, Markdown cannot open code spans or tables, SVG and HTML cannot open
//! tags or attributes, JSON stays valid and carries the name exactly.

mod common;

use std::path::Path;
use std::process::Command;

/// Hostile names: an OSC title change and a screen clear, a bell and a carriage return that
/// would hide the row, a script tag, quotes, a table pipe, backticks, a bidi override.
const NAMES: &[&str] = &[
    "evil\x1b]0;pwned\x07title",
    "clear\x1b[2Jscreen",
    "cr\rhidden",
    "<script>alert(1)</script>",
    "quote\"'&amp;",
    "pipe|cell",
    "tick```code`",
    "bidi\u{202e}desrever",
];

/// Speedscope files (JSON can carry any character in a name, folded text cannot).
fn write_profiles(dir: &Path) -> (String, String) {
    let profile = |base: usize, step: usize| {
        let mut frames = vec![serde_json::json!({"name": "main"})];
        frames.extend(NAMES.iter().map(|n| serde_json::json!({ "name": n })));
        let samples: Vec<Vec<usize>> = (1..=NAMES.len()).map(|i| vec![0, i]).collect();
        let weights: Vec<usize> = (0..NAMES.len()).map(|i| base + step * i).collect();
        serde_json::json!({
            "$schema": "https://www.speedscope.app/file-format-schema.json",
            "shared": { "frames": frames },
            "profiles": [{
                "type": "sampled", "name": "cpu", "unit": "milliseconds",
                "startValue": 0, "endValue": weights.iter().sum::<usize>(),
                "samples": samples, "weights": weights
            }]
        })
        .to_string()
    };
    let (o, n) = (dir.join("old.json"), dir.join("new.json"));
    std::fs::write(&o, profile(10, 1)).unwrap();
    std::fs::write(&n, profile(100, 20)).unwrap();
    (o.display().to_string(), n.display().to_string())
}

fn run(args: &[&str]) -> String {
    let out = Command::new(common::profdiff_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("output is UTF-8")
}

/// No raw control character other than newline; no bidi override where a terminal shows it.
fn assert_no_raw_controls(what: &str, s: &str) {
    let json = what.starts_with("json");
    for c in s.chars() {
        assert!(
            !(c.is_control() && c != '\n') && (json || c != '\u{202e}'),
            "{what}: raw control character U+{:04X} in output:\n{s}",
            c as u32
        );
    }
}

#[test]
fn terminal_tables_show_control_characters_as_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = write_profiles(dir.path());
    let top = run(&["top", &new]);
    assert_no_raw_controls("top", &top);
    assert!(top.contains("evil\\x1b]0;pwned\\x07title"), "{top}");
    assert!(top.contains("cr\\rhidden"), "{top}");
    assert!(top.contains("bidi\\u{202e}desrever"), "{top}");
    let cmp = run(&["compare", "--old", &old, "--new", &new, "-n", "20"]);
    assert_no_raw_controls("compare", &cmp);
    assert!(cmp.contains("clear\\x1b[2Jscreen"), "{cmp}");
}

#[test]
fn markdown_escapes_tables_code_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = write_profiles(dir.path());
    for md in [
        run(&["top", "--format", "markdown", &new]),
        run(&[
            "compare", "--format", "markdown", "--old", &old, "--new", &new, "-n", "20",
        ]),
    ] {
        assert_no_raw_controls("markdown", &md);
        for line in md.lines() {
            // A tag is inert only inside a code span (an odd number of backticks before it).
            if let Some(i) = line.find("<script>") {
                let ticks = line[..i].matches('`').count();
                assert!(ticks % 2 == 1, "raw tag in Markdown: {line}");
            }
            if line.contains("pipe") && line.starts_with('|') {
                assert!(line.contains("pipe\\|cell"), "unescaped pipe: {line}");
            }
        }
        assert!(!md.contains("tick```"), "{md}");
    }
}

/// Every string in a JSON document, recursively.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[test]
fn json_outputs_are_valid_and_carry_names_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = write_profiles(dir.path());
    for (what, json) in [
        ("json top", run(&["top", "--format", "json", &new])),
        (
            "json compare",
            run(&[
                "compare", "--format", "json", "--old", &old, "--new", &new, "-n", "20",
            ]),
        ),
    ] {
        // Raw control characters are invalid inside JSON strings: serde escapes them.
        assert_no_raw_controls(what, &json);
        let doc: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        let mut all = Vec::new();
        strings(&doc, &mut all);
        for n in NAMES {
            assert!(all.iter().any(|s| s == n), "{what}: {n:?} missing");
        }
    }
}

#[test]
fn svg_and_html_escape_names() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = write_profiles(dir.path());
    let svg = dir.path().join("f.svg");
    let html = dir.path().join("c.html");
    let dsvg = dir.path().join("d.svg");
    run(&["flamegraph", &new, "-o", svg.to_str().unwrap()]);
    run(&[
        "compare",
        "--old",
        &old,
        "--new",
        &new,
        "--html",
        html.to_str().unwrap(),
        "--svg",
        dsvg.to_str().unwrap(),
    ]);
    for f in [&svg, &html, &dsvg] {
        let s = std::fs::read_to_string(f).unwrap();
        assert!(!s.contains("<script>alert"), "{}", f.display());
        assert!(s.contains("&lt;script&gt;"), "{}", f.display());
        assert!(!s.contains("quote\"'"), "{}: raw quote", f.display());
        // XML cannot hold control characters at all (the file would not open).
        assert!(
            !s.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')),
            "{}",
            f.display()
        );
    }
}
