//! Hand-checked callgrind files: each number below was worked out from the file by hand (and
//! agrees with `callgrind_annotate` on the same text).

use super::*;
use crate::analysis::top::{top, TopOptions};

/// (name, flat, cum) of every function for event `e`.
fn table(text: &str, e: usize) -> Vec<(String, i64, i64)> {
    let p = parse(text.as_bytes()).unwrap();
    p.validate().unwrap();
    let t = top(
        &p,
        &TopOptions {
            sample_index: e,
            node_count: 0,
            node_fraction: 0.0,
            ..Default::default()
        },
    );
    let mut rows: Vec<_> = t
        .rows
        .iter()
        .map(|r| (r.name.clone(), r.flat, r.cum))
        .collect();
    rows.sort();
    rows
}

fn row(name: &str, flat: i64, cum: i64) -> (String, i64, i64) {
    (name.to_string(), flat, cum)
}

const COMPRESSED: &str = "# callgrind format
events: Ir Dr
positions: instr line
fl=(1) a.c
fn=(1) main
0x10 3 5 1
+4 * 2
cfn=(2) work
calls=2 0x40 9
+2 -1 100 10
fn=(2)
0x40 9 60 6
fi=(2) inl.h
+8 +1 30 3
fe=(1)
cfi=(3) lib.c
cfn=(3) leaf
calls=1 0x90 1
* * 10 1
fl=(3)
fn=(3)
0x90 1 10 1
totals: 107 11
";

#[test]
fn compression_subpositions_and_inclusive_costs() {
    // main: self 5+2 = 7, calls work 100 → cum 107; work: self 60+30 = 90, calls leaf 10,
    // called for 100; leaf: 10.
    assert_eq!(
        table(COMPRESSED, 0),
        vec![
            row("leaf", 10, 10),
            row("main", 7, 107),
            row("work", 90, 100)
        ]
    );
    assert_eq!(
        table(COMPRESSED, 1),
        vec![row("leaf", 1, 1), row("main", 1, 11), row("work", 9, 10)]
    );
    let p = parse(COMPRESSED.as_bytes()).unwrap();
    assert_eq!(p.sample_types[0], ValueType::new("Ir", "count"));
    assert_eq!(p.default_value_index(), 0);
}

#[test]
fn callee_file_applies_to_one_call_only() {
    // `cfl=beta.c` names beta's file; gamma, called next without one, is in alpha.c.
    let text = "events: Ir
fl=alpha.c
fn=alpha
1 10
cfl=beta.c
cfn=beta
calls=1 1
1 10
cfn=gamma
calls=1 1
1 10
fn=gamma
1 10
fl=beta.c
fn=beta
1 10
";
    assert_eq!(
        table(text, 0),
        vec![
            row("alpha", 10, 30),
            row("beta", 10, 10),
            row("gamma", 10, 10)
        ]
    );
    let p = parse(text.as_bytes()).unwrap();
    assert_eq!(p.functions.len(), 3, "gamma must not appear twice");
}

#[test]
fn shared_callee_is_split_by_call_cost() {
    // f is called by a (30) and b (10); f's self 40 goes 3:1 onto main;a;f and main;b;f.
    let text = "events: Ir
fl=x.c
fn=main
1 0
cfn=a
calls=1 1
1 30
cfn=b
calls=1 1
1 10
fn=a
1 0
cfn=f
calls=1 1
1 30
fn=b
1 0
cfn=f
calls=1 1
1 10
fn=f
1 40
";
    let p = parse(text.as_bytes()).unwrap();
    let mut stacks: Vec<(String, i64)> = p
        .samples
        .iter()
        .map(|s| (p.stack_names(s).join(";"), s.values[0]))
        .collect();
    stacks.sort();
    assert_eq!(
        stacks,
        vec![("main;a;f".into(), 30), ("main;b;f".into(), 10)]
    );
}

#[test]
fn recursion_counts_once() {
    // fact calls itself for 50 of its 60: callgrind_annotate's inclusive is 110 (60 + 50);
    // on stacks fact is one frame, cum 60.
    let text = "events: Ir
fl=x.c
fn=main
1 5
cfn=fact
calls=1 1
1 60
fn=fact
1 60
cfn=fact
calls=4 1
1 50
";
    assert_eq!(
        table(text, 0),
        vec![row("fact", 60, 60), row("main", 5, 65)]
    );
}

#[test]
fn parts_add_up_and_cachegrind_reads() {
    let text = "desc: I1 cache: 32768 B, 64 B, 8-way associative
cmd: ./prog
events: Ir I1mr
fl=p.c
fn=main
3 10 1
fn=f
4 5
summary: 15 1
";
    assert_eq!(table(text, 0), vec![row("f", 5, 5), row("main", 10, 10)]);
    let two = "events: Ir
part: 1
fl=p.c
fn=main
1 4
part: 2
fl=p.c
fn=main
1 6
";
    assert_eq!(table(two, 0), vec![row("main", 10, 10)]);
}

#[test]
fn detected_by_content() {
    assert!(sniff(COMPRESSED.as_bytes()));
    assert!(sniff(b"version: 1\ncreator: callgrind-3.19.0\npid: 1\ncmd: x\npart: 1\n\n\npositions: line\nevents: Ir\n"));
    assert!(sniff(b"desc: I1 cache:\ncmd: ./a\nevents: Ir\n"));
    assert!(!sniff(b"main;f 10\n"));
    assert!(!sniff(b"perf 123 1.0: cycles:\n\tffff f (/bin/x)\n"));
    assert_eq!(
        crate::formats::detect(COMPRESSED.as_bytes()),
        Some(crate::formats::Format::Callgrind)
    );
}

#[test]
fn bad_files_say_what_is_wrong() {
    let err = |t: &str| parse(t.as_bytes()).unwrap_err().0;
    assert!(err("events: Ir\nfn=(3)\n1 2\n").contains("line 2: name id (3) is used before"));
    assert!(err("events: Ir\nfl=a\nfn=f\n1 x\n").contains("line 4: bad cost"));
    assert!(err("events: Ir\nfl=a\nfn=f\n1 2 3\n").contains("more costs"));
    assert!(err("events: Ir\nfl=a\nfn=f\ncfn=g\ncalls=1 1\n").contains("ends after `calls=`"));
    assert!(err("events: Ir\nfl=a\nfn=f\n1 2\ntotals: 5\n").contains("add up to 2"));
    assert!(err("events: Ir\n").contains("no cost lines"));
    assert!(err("fl=a\n").contains("before the `events:` line"));
    assert!(err("desc: x\nevents: Ir\nfl=a\nfn=f\n1 2").contains("ends mid-line"));
    let cut = "creator: callgrind-3.19.0\nevents: Ir\nsummary: 5\nfl=a\nfn=f\n1 2\n";
    assert!(err(cut).contains("no `totals:` line"));
    assert!(err("desc: I1 cache:\nevents: Ir\nfl=a\nfn=f\n1 2\n").contains("no `summary:` line"));
}

/// `--collect-systime`: the summary's sysTime exceeds what the functions hold; the gap is
/// noted, the functions' costs are the total.
#[test]
fn summary_beyond_the_functions_is_noted() {
    let t = "creator: callgrind-3.19.0\nevents: Ir sysTime\nsummary: 10 500\n\
fl=a.c\nfn=f\n1 10 300\ntotals: 10 300\n";
    let p = parse(t.as_bytes()).unwrap();
    assert_eq!(p.total(1), 300);
    assert_eq!(p.quality.notes.len(), 1, "{:?}", p.quality.notes);
    assert!(p.quality.notes[0].contains("counts 500 sysTime, 66.7% more"));
}
