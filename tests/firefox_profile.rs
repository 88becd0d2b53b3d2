//! Firefox Profiler and Firefox DevTools files of the shared fixtures: detected by content and
//! read with the sample counts the files hold. The expected numbers were counted from the raw
//! JSON independently of profdiff (a short script walking sample → stack → frame → name);
//! `processed-1.json` and `gecko-1.json` are the Firefox Profiler's upgrade fixtures for one
//! and the same profile in its two formats, so they must read alike.

mod common;

use profdiff::formats::{self, folded, Format, ReadOptions};
use profdiff::model::Profile;
use std::collections::BTreeMap;

fn read(rel: &str) -> Option<Profile> {
    let fx = common::fixtures()?;
    let path = fx.join(rel);
    let path = path.to_str().unwrap();
    let data = formats::load(path, &ReadOptions::default()).unwrap();
    assert_eq!(formats::detect(&data), Some(Format::Firefox), "{rel}");
    let p = formats::read_path(path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    p.validate().unwrap();
    Some(p)
}

/// Samples per leaf frame.
fn leaves(p: &Profile) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for (stack, v) in folded::fold(p, 0) {
        *m.entry(stack.rsplit(';').next().unwrap().to_string())
            .or_insert(0) += v;
    }
    m
}

/// Folded stacks without the thread root (the two formats name one thread differently).
fn without_roots(p: &Profile) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for (stack, v) in folded::fold(p, 0) {
        *m.entry(stack.split_once(';').map_or("", |s| s.1).to_string())
            .or_insert(0) += v;
    }
    m
}

#[test]
fn processed_and_gecko_forms_of_one_profile_read_alike() {
    let (Some(processed), Some(gecko)) = (
        read("foreign/firefox-profiler/processed-1.json"),
        read("foreign/firefox-profiler/gecko-1.json"),
    ) else {
        return;
    };
    assert_eq!(without_roots(&processed), without_roots(&gecko));
    assert_eq!(processed.total(0), 21);
    let l = leaves(&gecko);
    assert_eq!(l["Startup::XRE_Main"], 3);
    assert_eq!(l["frobnicate"], 3);
    assert_eq!(l["(root)"], 3);
    // The macOS binaries are not here: addresses stay unknown frames of their library.
    assert_eq!(l["[firefox+0x1a45]"] + l["[firefox-webcontent+0x1a45]"], 6);
    assert_eq!(l["[firefox+0xf84]"] + l["[firefox-webcontent+0xf84]"], 6);
    assert!(gecko
        .quality
        .notes
        .iter()
        .any(|n| n.contains("binary not found")));
}

#[test]
fn samply_fixture_keeps_unresolved_addresses() {
    // Recorded on aarch64: none of its binaries is on this machine (or has its build id).
    let Some(p) = read("foreign/samply/ls-profile.json") else {
        return;
    };
    assert_eq!(p.total(0), 13069);
    let l = leaves(&p);
    assert_eq!(l["[libc.so.6+0xb27a8]"], 11938);
    assert!(p
        .quality
        .notes
        .iter()
        .any(|n| n.contains("11 samples without a stack")));
    assert!(p
        .quality
        .notes
        .iter()
        .any(|n| n.starts_with("/usr/bin/ls: not symbolized")));
}

#[test]
fn firefox_devtools_exports_read_their_gecko_profile() {
    let Some(p) = read("foreign/speedscope/Firefox/firefox61-recursion.json") else {
        return;
    };
    assert_eq!(p.total(0), 15);
    assert_eq!(leaves(&p)["gamma"], 10);
    let gamma = p.functions.iter().find(|f| f.name == "gamma").unwrap();
    assert!(
        gamma.filename.ends_with("recursion.js"),
        "{}",
        gamma.filename
    );
    let Some(p) = read("foreign/speedscope/Firefox/firefox59.json") else {
        return;
    };
    assert_eq!(p.total(0), 10161);
    assert_eq!(leaves(&p)["XRE_InitChildProcess"], 9013);
}
