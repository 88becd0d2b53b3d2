//! Small hand-made legacy profiles; the fixtures of google/pprof are checked against
//! `go tool pprof` in tests/pprof_legacy_conformance.rs.

use super::*;

#[test]
fn detected_by_content() {
    use crate::formats::{detect, Format};
    for text in [
        "heap profile:    1:  2 [ 1: 2] @ heap_v2/524288\n",
        "--- contentionz 1 ---\ncycles/second = 3\n",
        "--- mutex:\n",
        "--- threadz 1 ---\n",
        "goroutine profile: total 7\n1 @ 0x1 0x2\n",
        "--- heapz 1 ---\nformat = java\n",
    ] {
        assert_eq!(detect(text.as_bytes()), Some(Format::PprofLegacy), "{text}");
    }
    assert!(!sniff(b"main;f 1\n"));
    assert!(!sniff(b"heap profile here 1\n"));
}

#[test]
fn go_count_profile() {
    let p = parse(
        b"goroutine profile: total 3\n2 @ 0x10 0x20\n1 @ 0x30\n",
        &crate::formats::ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(p.sample_types, vec![ValueType::new("goroutine", "count")]);
    assert_eq!(p.total(0), 3);
    // Callers' return addresses are moved back onto the call.
    let addrs: Vec<u64> = p.samples[0]
        .locations
        .iter()
        .map(|&l| p.locations[l as usize].address)
        .collect();
    assert_eq!(addrs, vec![0xf, 0x1f]);
}

#[test]
fn broken_files_say_what_is_wrong() {
    let opts = crate::formats::ReadOptions::default();
    let err = |d: &[u8]| parse(d, &opts).unwrap_err().0;
    assert!(err(b"heap profile: 1: 2 [1: 2] @ heap_v2/524288\nnot a sample\n").contains("line 2"));
    assert!(err(b"goroutine profile: total 1\n1 @ zz\n").contains("expected `COUNT @"));
    assert!(err(b"heap profile: 0: 0 [0: 0] @ heap_v2/524288\n").contains("no samples"));
}
