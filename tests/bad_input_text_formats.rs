//! CLI-level bad input for the text/JSON readers (perf script, speedscope, V8 cpuprofile):
//! `profdiff flamegraph BAD -o x.svg` must print exactly one line naming the file and the
//! problem, exit 2, never panic, and leave no x.svg behind.

use assert_cmd::Command;
use std::io::Write;

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

const PERF: &str = "app 10 1.0: 1000 cpu-clock:\n\t 10 f (/bin/app)\n\t 20 main (/bin/app)\n\n";
const SPEEDSCOPE: &str = r#"{"$schema":"https://www.speedscope.app/file-format-schema.json","shared":{"frames":[{"name":"f"}]},"profiles":[{"type":"sampled","unit":"none","samples":[[0]],"weights":[1]}]}"#;
const V8: &str = r#"{"nodes":[{"id":1,"callFrame":{"functionName":"(root)"},"children":[2]},{"id":2,"callFrame":{"functionName":"f"}}],"startTime":0,"endTime":10,"samples":[2],"timeDeltas":[1]}"#;

/// (case name, file bytes, text the error must contain)
fn cases() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut gz_cut = gz(PERF.as_bytes());
    gz_cut.truncate(gz_cut.len() - 8);
    vec![
        ("empty", Vec::new(), "file is empty"),
        (
            "binary garbage",
            vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0x01],
            "unrecognized profile format",
        ),
        (
            "prose",
            b"hello world\nthis is prose\n".to_vec(),
            "unrecognized profile format",
        ),
        ("truncated gzip", gz_cut, "gzip"),
        (
            "perf script NaN period",
            PERF.replace("1000", "NaN").into_bytes(),
            "invalid sample period",
        ),
        (
            "perf script negative period",
            PERF.replace("1000", "-1000").into_bytes(),
            "invalid sample period",
        ),
        (
            "perf script of another event",
            PERF.replace("cpu-clock", "page-faults").into_bytes(),
            "no samples of event",
        ),
        (
            "perf script without stacks",
            b"app 10 1.0: 1000 cpu-clock:\n\tgarbage\n\n".to_vec(),
            "no samples found",
        ),
        (
            "speedscope truncated",
            SPEEDSCOPE.as_bytes()[..SPEEDSCOPE.len() - 20].to_vec(),
            "not a valid speedscope",
        ),
        (
            "speedscope bad frame index",
            SPEEDSCOPE.replace("[[0]]", "[[7]]").into_bytes(),
            "frame index 7 out of range",
        ),
        (
            "speedscope negative weight",
            SPEEDSCOPE.replace("[1]}", "[-1]}").into_bytes(),
            "negative",
        ),
        (
            "speedscope invalid utf-8",
            {
                let mut v = SPEEDSCOPE.as_bytes().to_vec();
                let i = SPEEDSCOPE.find("\"f\"").unwrap() + 1;
                v[i] = 0xff;
                v
            },
            "not a valid speedscope",
        ),
        (
            "v8 truncated",
            V8.as_bytes()[..V8.len() - 30].to_vec(),
            "not a valid V8 cpuprofile",
        ),
        (
            "v8 missing node",
            V8.replace("\"samples\":[2]", "\"samples\":[9]")
                .into_bytes(),
            "missing node 9",
        ),
        (
            "v8 wrong type",
            V8.replace("\"samples\":[2]", "\"samples\":\"x\"")
                .into_bytes(),
            "not a valid V8",
        ),
    ]
}

#[test]
fn bad_inputs_fail_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, want) in cases() {
        let input = dir.path().join(format!("{}.in", name.replace(' ', "_")));
        std::fs::write(&input, &bytes).unwrap();
        let svg = dir.path().join("x.svg");
        let out = Command::cargo_bin("profdiff")
            .unwrap()
            .arg("flamegraph")
            .arg(&input)
            .args(["--event", "cpu-clock", "-o"])
            .arg(&svg)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.contains(input.to_str().unwrap()),
            "{name}: error does not name the file: {stderr}"
        );
        assert!(
            stderr.contains(want),
            "{name}: expected {want:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(!svg.exists(), "{name}: x.svg was written");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".in"))
            .collect();
        assert!(leftovers.is_empty(), "{name}: left {leftovers:?}");
    }
}

#[test]
fn good_inputs_render() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [("perf", PERF), ("speedscope", SPEEDSCOPE), ("v8", V8)] {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        let svg = dir.path().join(format!("{name}.svg"));
        Command::cargo_bin("profdiff")
            .unwrap()
            .arg("flamegraph")
            .arg(&input)
            .arg("-o")
            .arg(&svg)
            .assert()
            .success();
        let s = std::fs::read_to_string(&svg).unwrap();
        assert!(
            s.contains("<svg") && s.trim_end().ends_with("</svg>"),
            "{name}"
        );
    }
}
