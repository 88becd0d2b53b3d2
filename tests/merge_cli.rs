//! `profdiff merge`: many inputs (mixed formats) merge into the hand-computed sum; bad inputs
//! fail with exit 2 naming the file and leave no output behind.

mod common;
use assert_cmd::Command;
use std::collections::BTreeMap;

fn folded_map(s: &str) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for l in s.lines().filter(|l| !l.trim().is_empty()) {
        let (stack, n) = l.rsplit_once(' ').unwrap();
        *m.entry(stack.to_string()).or_insert(0.0) += n.parse::<f64>().unwrap();
    }
    m
}

/// `profdiff merge INPUTS -j JOBS -o OUT`, which must succeed.
fn merge_with_jobs<P: AsRef<std::ffi::OsStr>>(inputs: &[P], jobs: &str, out: &std::path::Path) {
    Command::new(common::profdiff_bin())
        .arg("merge")
        .args(inputs)
        .args(["-j", jobs, "-o"])
        .arg(out)
        .assert()
        .success();
}

#[test]
fn merges_many_inputs_into_the_sum() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    let mut expected: BTreeMap<String, f64> = BTreeMap::new();
    // 40 inputs: every one has main;work;hot i+1 and main;idle 1; every third one a unique
    // stack. Totals are known by construction.
    for i in 0..40u32 {
        let mut text = format!("main;work;hot {}\nmain;idle 1\n", i + 1);
        *expected.entry("main;work;hot".into()).or_default() += (i + 1) as f64;
        *expected.entry("main;idle".into()).or_default() += 1.0;
        if i % 3 == 0 {
            text.push_str(&format!("main;only_{i} 2\n"));
            *expected.entry(format!("main;only_{i}")).or_default() += 2.0;
        }
        let p = dir.path().join(format!("in{i}.folded"));
        std::fs::write(&p, text).unwrap();
        inputs.push(p.to_string_lossy().into_owned());
    }
    for jobs in ["1", "2", "4"] {
        let out = dir.path().join(format!("merged-{jobs}.folded"));
        merge_with_jobs(&inputs, jobs, &out);
        let got = folded_map(&std::fs::read_to_string(&out).unwrap());
        assert_eq!(got, expected, "with -j {jobs}");
    }
}

#[test]
fn bad_input_is_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.folded");
    std::fs::write(&good, "main;f 3\n").unwrap();
    let bad = dir.path().join("bad.data");
    let mut perf = b"PERFILE2".to_vec();
    perf.extend_from_slice(&104u64.to_le_bytes());
    perf.extend_from_slice(&[0xee; 50]);
    std::fs::write(&bad, perf).unwrap();
    let out = dir.path().join("out.folded");
    let a = Command::new(common::profdiff_bin())
        .arg("merge")
        .arg(&good)
        .arg(&bad)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("bad.data"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!out.exists());
}

#[test]
fn merge_to_pprof_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.folded");
    let b = dir.path().join("b.folded");
    std::fs::write(&a, "main;f 3\nmain;g 1\n").unwrap();
    std::fs::write(&b, "main;f 2\nmain;h 5\n").unwrap();
    let pb = dir.path().join("m.pb.gz");
    Command::new(common::profdiff_bin())
        .arg("merge")
        .arg(&a)
        .arg(&b)
        .arg("-o")
        .arg(&pb)
        .assert()
        .success();
    let o = Command::new(common::profdiff_bin())
        .arg("convert")
        .arg(&pb)
        .args(["--to", "folded", "-o", "-"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let got = folded_map(&String::from_utf8_lossy(&o.stdout));
    let want: BTreeMap<String, f64> = [("main;f", 5.0), ("main;g", 1.0), ("main;h", 5.0)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(got, want);
}

/// Workers take inputs as they come, so which worker merges which input varies from run to
/// run; the output must not: the same bytes with any -j, for pprof inputs and for folded and
/// pprof inputs mixed.
#[test]
fn output_is_the_same_with_any_number_of_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let recorded: Vec<_> = (1..=4)
        .flat_map(|i| {
            [
                samples.join(format!("base-{i}.pb.gz")),
                samples.join(format!("slow-{i}.pb.gz")),
            ]
        })
        .collect();
    let mut mixed = Vec::new();
    for i in 1..=6 {
        let f = dir.path().join(format!("f{i}.folded"));
        let text = format!("main;work;f{} {i}\nmain;idle 2\nmain;work;g{i} 1\n", i % 3);
        std::fs::write(&f, text).unwrap();
        if i % 2 == 0 {
            let pb = dir.path().join(format!("p{i}.pb.gz"));
            Command::new(common::profdiff_bin())
                .arg("convert")
                .arg(&f)
                .arg("-o")
                .arg(&pb)
                .assert()
                .success();
            mixed.push(pb);
        } else {
            mixed.push(f);
        }
    }
    for (name, inputs) in [("recorded", recorded), ("mixed", mixed)] {
        let mut outputs = Vec::new();
        for jobs in ["1", "2", "3", "8"] {
            let out = dir.path().join(format!("{name}-{jobs}.pb"));
            merge_with_jobs(&inputs, jobs, &out);
            outputs.push((jobs, std::fs::read(&out).unwrap()));
        }
        for (jobs, bytes) in &outputs[1..] {
            assert!(
                bytes == &outputs[0].1,
                "{name}: -j {jobs} differs from -j 1"
            );
        }
    }
}
