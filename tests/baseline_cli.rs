//! Baselines end to end in a temporary `PROFDIFF_BASELINE_DIR`: saved from `record --runs`,
//! from files and from a folder, listed, compared against, replaced, and a warning when the
//! baseline comes from another machine.

mod record_util;
use record_util::*;
use std::path::Path;
use std::process::{Command, Output};

fn profdiff(store: &Path, args: &[&str]) -> Output {
    Command::new(profdiff_bin())
        .args(args)
        .env("PROFDIFF_BASELINE_DIR", store)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn recorded_runs_saved_listed_and_compared_against() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let bin = build_c(dir.path(), "twofuncs.c", "tf", &["-fno-omit-frame-pointer"]);
    let bin2 = build_c(
        dir.path(),
        "twofuncs.c",
        "tf2",
        &["-fno-omit-frame-pointer", "-DSCALE=2"],
    );
    let runs = dir.path().join("runs");
    let cmd = format!("{} 40", bin.display());
    let o = profdiff(
        &store,
        &[
            "record",
            "--call-graph",
            "fp",
            "--runs",
            "3",
            "--save-baseline",
            "main",
            "-o",
            runs.to_str().unwrap(),
            "--",
            bin.to_str().unwrap(),
            "40",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(err(&o).contains("saved baseline main"), "{}", err(&o));

    // Plain files: the profiles byte for byte, and a manifest saying where they come from.
    let saved = store.join("main");
    for f in ["run-01.pb.gz", "run-02.pb.gz", "run-03.pb.gz"] {
        assert_eq!(
            std::fs::read(saved.join(f)).unwrap(),
            std::fs::read(runs.join(f)).unwrap()
        );
    }
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["name"], "main");
    assert_eq!(m["command"], cmd.as_str());
    assert_eq!(m["runs"].as_array().unwrap().len(), 3);
    assert_eq!(m["profdiff_version"], env!("CARGO_PKG_VERSION"));
    for key in ["date", "host", "cpu_model", "kernel"] {
        assert!(m[key].is_string(), "{key}: {m}");
    }
    // This test runs inside the project's git checkout.
    if have("git") {
        assert_eq!(m["git"]["commit"].as_str().unwrap().len(), 40, "{m}");
        assert!(m["git"]["dirty"].is_boolean(), "{m}");
    }

    // Listed.
    let o = profdiff(&store, &["baseline", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let list = out(&o);
    assert!(list.starts_with("NAME"), "{list}");
    assert!(
        list.lines()
            .any(|l| l.starts_with("main ") && l.contains(" 3 ")),
        "{list}"
    );

    // The same build against the baseline: no regression. A build whose `scaled` does twice
    // the work: the gate trips and names it.
    let o = profdiff(
        &store,
        &[
            "compare",
            "--baseline",
            "main",
            runs.to_str().unwrap(),
            "--fail-on",
            "5%",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(!err(&o).contains("different machines"), "{}", err(&o));
    let runs2 = dir.path().join("runs2");
    let o = profdiff(
        &store,
        &[
            "record",
            "--call-graph",
            "fp",
            "--runs",
            "3",
            "-o",
            runs2.to_str().unwrap(),
            "--",
            bin2.to_str().unwrap(),
            "40",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = profdiff(
        &store,
        &[
            "compare",
            "--baseline",
            "main",
            runs2.to_str().unwrap(),
            "--fail-on",
            "5%",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    let report = out(&o);
    let first = report
        .lines()
        .skip_while(|l| !l.starts_with("Regressions"))
        .nth(2)
        .unwrap_or_default();
    assert!(first.starts_with("scaled "), "{report}");

    // A baseline from another machine warns.
    let mut m2 = m.clone();
    m2["host"] = "build-server-7".into();
    std::fs::write(
        saved.join("manifest.json"),
        serde_json::to_string_pretty(&m2).unwrap(),
    )
    .unwrap();
    let o = profdiff(
        &store,
        &["compare", "--baseline", "main", runs.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        err(&o).contains("different machines (host build-server-7 vs"),
        "{}",
        err(&o)
    );

    // Saving again replaces it atomically: nothing else is left in the store.
    let o = profdiff(
        &store,
        &["baseline", "save", "main", runs2.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let names: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["main"]);
    let o = profdiff(
        &store,
        &[
            "compare",
            "--baseline",
            "main",
            runs2.to_str().unwrap(),
            "--fail-on",
            "5%",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
}

#[test]
fn baseline_save_from_files_and_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let a = dir.path().join("a.folded");
    let b = dir.path().join("b.folded");
    std::fs::write(&a, "main;work 10\n").unwrap();
    std::fs::write(&b, "main;work 12\n").unwrap();
    let o = profdiff(
        &store,
        &[
            "baseline",
            "save",
            "v1",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(
        std::fs::read(store.join("v1/b.folded")).unwrap(),
        b"main;work 12\n"
    );

    // Not a profile: nothing saved, exit 2 naming the file.
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, [0xffu8, 0x00, 0x13, 0x37, 0xff, 0xfe]).unwrap();
    let o = profdiff(&store, &["baseline", "save", "v2", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("junk.bin"), "{}", err(&o));
    assert!(!store.join("v2").exists());

    // Bad names, unknown baselines, and --baseline without NEW.
    let o = profdiff(&store, &["baseline", "save", "../up", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("invalid baseline name"), "{}", err(&o));
    let o = profdiff(
        &store,
        &["compare", "--baseline", "nope", a.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("it holds: v1"), "{}", err(&o));
    let o = profdiff(&store, &["compare", "--baseline", "v1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("give the NEW profiles"), "{}", err(&o));

    // An empty store lists nothing, without failing.
    let empty = dir.path().join("none");
    let o = profdiff(&empty, &["baseline", "list"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(err(&o).contains("no baselines"), "{}", err(&o));
}
