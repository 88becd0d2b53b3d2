//! CLI-level bad input for the Chrome trace and Firefox profile readers: `profdiff flamegraph
//! BAD -o x.svg` must print exactly one error line naming the file and the problem, exit 2,
//! never panic, and leave no x.svg behind. Deep stacks are cut, not a stack overflow.

use assert_cmd::Command;

const FIREFOX: &str = r#"{"meta":{"preprocessedProfileVersion":49,"interval":1},"libs":[],
  "threads":[{"name":"main","stringArray":["f","g"],
    "stackTable":{"length":2,"prefix":[null,0],"frame":[0,1]},
    "frameTable":{"length":2,"func":[0,1],"address":[-1,-1]},
    "funcTable":{"length":2,"name":[0,1],"resource":[-1,-1]},
    "samples":{"length":2,"stack":[1,1],"time":[0,1]}}]}"#;

const CHROME: &str = r#"{"traceEvents":[
  {"ph":"P","name":"Profile","id":"0x1","pid":1,"tid":1,"args":{"data":{"startTime":0}}},
  {"ph":"P","name":"ProfileChunk","id":"0x1","pid":1,"tid":1,"args":{"data":{"cpuProfile":{
    "nodes":[{"id":1,"callFrame":{"functionName":"(root)"}},{"id":2,"parent":1,"callFrame":{"functionName":"f"}}],
    "samples":[2,2]},"timeDeltas":[1,1]}}}]}"#;

fn cases() -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "chrome truncated object",
            CHROME[..CHROME.len() / 2].to_string(),
            "not a valid trace-event JSON",
        ),
        (
            "chrome metadata only",
            r#"[{"ph":"M","pid":1,"tid":1,"name":"thread_name","args":{"name":"x"}}]"#.into(),
            "nothing to profile",
        ),
        (
            "chrome chunks without profile",
            CHROME.replace("\"Profile\",", "\"Other\","),
            "no Profile event",
        ),
        (
            "chrome node cycle",
            CHROME.replace(r#""id":1,"callFrame""#, r#""id":1,"parent":2,"callFrame""#),
            "cycle",
        ),
        (
            "chrome bad time delta",
            CHROME.replace("[1,1]", "[1,\"x\"]"),
            "timeDelta",
        ),
        (
            "firefox truncated",
            FIREFOX[..FIREFOX.len() - 40].to_string(),
            "not a valid Firefox profile",
        ),
        (
            "firefox bad stack",
            FIREFOX.replace("\"stack\":[1,1]", "\"stack\":[1,7]"),
            "names stack 7",
        ),
        (
            "firefox missing frame",
            FIREFOX.replace("\"frame\":[0,1]", "\"frame\":[0,9]"),
            "missing frame 9",
        ),
        (
            "firefox prefix cycle",
            FIREFOX.replace("\"prefix\":[null,0]", "\"prefix\":[1,0]"),
            "cycle",
        ),
        (
            "firefox no strings",
            FIREFOX.replace("stringArray", "strings"),
            "no string table",
        ),
    ]
}

#[test]
fn bad_inputs_fail_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, want) in cases() {
        let input = dir.path().join("bad.json");
        std::fs::write(&input, &text).unwrap();
        let svg = dir.path().join("x.svg");
        let out = Command::cargo_bin("profdiff")
            .unwrap()
            .args(["flamegraph"])
            .arg(&input)
            .arg("-o")
            .arg(&svg)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
        assert!(
            err.contains("bad.json") && err.contains(want),
            "{name}: {err}"
        );
        assert!(!svg.exists(), "{name}: output written");
    }
}

#[test]
fn deep_stacks_are_cut() {
    let n = 100_000;
    // Firefox: a 100k-long prefix chain.
    let prefix: Vec<String> = (0..n)
        .map(|i| {
            if i == 0 {
                "null".into()
            } else {
                (i - 1).to_string()
            }
        })
        .collect();
    let zeros = vec!["0"; n].join(",");
    let ff = format!(
        r#"{{"meta":{{"preprocessedProfileVersion":49}},"threads":[{{"name":"t","stringArray":["f"],
        "stackTable":{{"length":{n},"prefix":[{}],"frame":[{zeros}]}},
        "frameTable":{{"length":1,"func":[0],"address":[-1]}},"funcTable":{{"length":1,"name":[0],"resource":[-1]}},
        "samples":{{"length":1,"stack":[{}],"time":[0]}}}}]}}"#,
        prefix.join(","),
        n - 1
    );
    // Chrome: a 100k-long node chain.
    let nodes: Vec<String> = (1..=n)
        .map(|i| {
            let parent = if i > 1 {
                format!(r#","parent":{}"#, i - 1)
            } else {
                String::new()
            };
            format!(r#"{{"id":{i}{parent},"callFrame":{{"functionName":"f"}}}}"#)
        })
        .collect();
    let chrome = format!(
        r#"{{"traceEvents":[{{"ph":"P","name":"Profile","id":"1","pid":1,"tid":1,"args":{{"data":{{"startTime":0}}}}}},
        {{"ph":"P","name":"ProfileChunk","id":"1","pid":1,"tid":1,"args":{{"data":{{"cpuProfile":{{"nodes":[{}],"samples":[{n},{n}]}},"timeDeltas":[1,1]}}}}}}]}}"#,
        nodes.join(",")
    );
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("firefox", ff), ("chrome", chrome)] {
        let input = dir.path().join(format!("{name}.json"));
        std::fs::write(&input, text).unwrap();
        let out = Command::cargo_bin("profdiff")
            .unwrap()
            .args(["convert", "--to", "folded", "-o", "-"])
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let folded = String::from_utf8_lossy(&out.stdout);
        let depth = folded.lines().next().unwrap().split(';').count();
        assert!(depth < n, "{name}: depth {depth}");
    }
}
