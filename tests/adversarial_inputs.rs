//! Adversarial shapes of input: declared sizes far beyond the file, a pprof with a million
//! locations, 100k-deep JSON nesting, megabyte function names, stacks 100k frames deep, a
//! gzip bomb. Each gives a result or one error line with exit 2, in bounded memory and time:
//! never an abort, a stack overflow or an out-of-memory kill.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn profdiff(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(common::profdiff_bin());
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// Exit 0, or exit 2 with one line naming `file`; never a signal.
fn ok_or_one_line_error(out: &Output, file: &Path) -> bool {
    let err = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => true,
        Some(2) => {
            assert_eq!(err.trim().lines().count(), 1, "{err}");
            assert!(err.contains(&*file.to_string_lossy()), "{err}");
            false
        }
        _ => panic!("{}: {:?}: {err}", file.display(), out.status),
    }
}

fn seed(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fuzz-seeds")
            .join(name),
    )
    .unwrap()
}

#[test]
fn perf_data_declaring_terabyte_sections_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = seed("perf-data+fp/busy.data");
    let u = |d: &[u8], at: usize| u64::from_le_bytes(d[at..at + 8].try_into().unwrap());
    // The first feature section's size (the table follows the data section).
    let table = (u(&data, 40) + u(&data, 48)) as usize;
    data[table + 8..table + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let f = dir.path().join("huge-feature.data");
    std::fs::write(&f, &data).unwrap();
    let out = profdiff(&["top", f.to_str().unwrap()], &[]);
    assert!(!ok_or_one_line_error(&out, &f));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ends beyond the file"));
}

fn varint(mut x: u64, out: &mut Vec<u8>) {
    loop {
        let b = (x & 0x7f) as u8;
        x >>= 7;
        if x == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn field(n: u64, payload: &[u8], out: &mut Vec<u8>) {
    varint(n << 3 | 2, out);
    varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

fn uint_field(n: u64, v: u64, out: &mut Vec<u8>) {
    varint(n << 3, out);
    varint(v, out);
}

/// profile.proto with `n` locations (one function), sampled in stacks of 1000 locations.
fn pprof_with_locations(n: u64) -> Vec<u8> {
    let mut p = Vec::new();
    let mut m = Vec::new();
    uint_field(1, 1, &mut m);
    uint_field(2, 2, &mut m);
    field(1, &m, &mut p);
    m.clear();
    uint_field(1, 1, &mut m);
    uint_field(2, 3, &mut m);
    field(5, &m, &mut p);
    for i in 1..=n {
        let (mut loc, mut line) = (Vec::new(), Vec::new());
        uint_field(1, i, &mut loc);
        uint_field(3, 0x1000 + i, &mut loc);
        uint_field(1, 1, &mut line);
        uint_field(2, i % 5000, &mut line);
        field(4, &line, &mut loc);
        field(4, &loc, &mut p);
    }
    for start in (1..=n).step_by(1000) {
        let (mut s, mut ids) = (Vec::new(), Vec::new());
        for i in start..(start + 1000).min(n + 1) {
            varint(i, &mut ids);
        }
        field(1, &ids, &mut s);
        field(2, &[1], &mut s);
        field(2, &s, &mut p);
    }
    for s in ["", "cpu", "nanoseconds", "deep_function"] {
        field(6, s.as_bytes(), &mut p);
    }
    p
}

#[test]
fn pprof_with_a_million_locations_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("many.pb");
    std::fs::write(&f, pprof_with_locations(1_000_000)).unwrap();
    let out = profdiff(&["top", f.to_str().unwrap()], &[]);
    assert!(ok_or_one_line_error(&out, &f));
    let top = String::from_utf8_lossy(&out.stdout);
    // 1000 samples of 1 ns, every one through deep_function.
    assert!(top.contains("deep_function"), "{top}");
    assert!(
        top.contains("Total samples = 1us") || top.contains("of 1us total"),
        "{top}"
    );
}

#[test]
fn json_nested_100k_deep_is_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let deep =
        |open: &str, close: &str| format!("{}{}", open.repeat(100_000), close.repeat(100_000));
    let cases = [
        (
            "deep.speedscope.json",
            format!(
                r#"{{"$schema":"https://www.speedscope.app/file-format-schema.json","exporter":{},"shared":{{"frames":[]}},"profiles":[]}}"#,
                deep("[", "]")
            ),
        ),
        (
            "deep.cpuprofile",
            format!(
                r#"{{"nodes":[{{"id":1,"callFrame":{{"functionName":"f","extra":{}}}}}],"samples":[1],"timeDeltas":[0],"startTime":0,"endTime":1}}"#,
                deep(r#"{"a":"#, "}")
            ),
        ),
    ];
    for (name, text) in cases {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        for cmd in ["top", "flamegraph"] {
            let out = profdiff(
                &[cmd, f.to_str().unwrap(), "-o", "/dev/null"][..if cmd == "top" { 2 } else { 4 }],
                &[],
            );
            ok_or_one_line_error(&out, &f);
        }
    }
}

#[test]
fn megabyte_names_and_100k_deep_stacks_render() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long-names.folded");
    let mut text = format!("main;{} 5\n", "x".repeat(1 << 20));
    text.push_str(&format!("main;{};leaf 3\n", "y".repeat(1 << 20)));
    std::fs::write(&long, text).unwrap();
    let deep = dir.path().join("deep.folded");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&deep).unwrap());
    writeln!(f, "{} 7", vec!["recurse"; 100_000].join(";")).unwrap();
    let distinct: Vec<String> = (0..100_000).map(|i| format!("f{i}")).collect();
    writeln!(f, "{} 3", distinct.join(";")).unwrap();
    drop(f);
    for file in [&long, &deep] {
        let svg = dir.path().join("out.svg");
        let out = profdiff(
            &[
                "flamegraph",
                file.to_str().unwrap(),
                "-o",
                svg.to_str().unwrap(),
            ],
            &[],
        );
        assert!(ok_or_one_line_error(&out, file));
        let s = std::fs::read_to_string(&svg).unwrap();
        assert!(s.trim_end().ends_with("</svg>"));
        let out = profdiff(&["top", file.to_str().unwrap()], &[]);
        assert!(ok_or_one_line_error(&out, file));
    }
    let top = String::from_utf8_lossy(&profdiff(&["top", deep.to_str().unwrap()], &[]).stdout)
        .into_owned();
    // `recurse` is on the stack of 7 of the 10 samples, once per sample however deep.
    assert!(top.contains("recurse"), "{top}");
}

#[test]
fn gzip_bomb_stops_at_the_limit() {
    use flate2::{write::GzEncoder, Compression};
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bomb.gz");
    let mut e = GzEncoder::new(std::fs::File::create(&f).unwrap(), Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        e.write_all(&zeros).unwrap();
    }
    e.finish().unwrap();
    let out = profdiff(
        &["top", f.to_str().unwrap()],
        &[("PROFDIFF_MAX_DECOMPRESSED", "16777216")],
    );
    assert!(!ok_or_one_line_error(&out, &f));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expands beyond 16777216 bytes"));
}
