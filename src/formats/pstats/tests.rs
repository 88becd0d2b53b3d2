use super::*;

/// `marshal.dumps` (CPython 3.11) of a three-function stats dict: `exec` calls `main`
/// (self 0.25 s, cumulative 1 s), which calls `work` twice (0.75 s).
const TINY: &str = "fba903fa066170702e7079e903000000da046d61696e2905e9010000007205000000e70000\
    00000000d03fe7000000000000f03f7ba903fa017ee900000000fa1f3c6275696c742d696e206d6574686f64\
    206275696c74696e732e657865633ea904720500000072050000007206000000720700000030a9037202000000\
    e90a000000da04776f726b2905e9020000007210000000e7000000000000e83f72110000007b7201000000a904\
    7210000000721000000072110000007211000000307208000000290572050000007205000000e70000000000\
    00000072070000007b3030";

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// (folded stack root first, wall ns, calls) of every sample, sorted.
fn stacks(p: &Profile) -> Vec<(String, i64, i64)> {
    let mut out: Vec<_> = p
        .samples
        .iter()
        .map(|s| {
            let names: Vec<&str> = s
                .locations
                .iter()
                .rev()
                .map(|&l| p.function_name(p.locations[l as usize].lines[0].function))
                .collect();
            (names.join(";"), s.values[0], s.values[1])
        })
        .collect();
    out.sort();
    out
}

#[test]
fn reads_cpython_marshal_exactly() {
    let data = hex(TINY);
    assert_eq!(
        crate::formats::detect(&data),
        Some(crate::formats::Format::Pstats)
    );
    let p = parse(&data).unwrap();
    let exec = "<built-in method builtins.exec>";
    assert_eq!(
        stacks(&p),
        vec![
            (exec.to_string(), 0, 1),
            (format!("{exec};main (app.py:3)"), 250_000_000, 1),
            (
                format!("{exec};main (app.py:3);work (app.py:10)"),
                750_000_000,
                2
            ),
        ]
    );
    assert_eq!(p.sample_types[0], ValueType::new("wall", "nanoseconds"));
    assert_eq!(p.metadata.get("clock").map(String::as_str), Some("wall"));
    assert!(!p.metadata.contains_key("deterministic"));
}

#[test]
fn every_truncation_is_an_error() {
    let data = hex(TINY);
    for n in 0..data.len() {
        let e = parse(&data[..n]).unwrap_err();
        assert!(e.0.starts_with("marshal data:"), "{n}: {}", e.0);
    }
}

#[test]
fn every_corrupted_byte_is_handled() {
    let data = hex(TINY);
    for i in 0..data.len() {
        for b in [0u8, 0x29, 0x7b, 0x72, 0xff, 0x80] {
            let mut d = data.clone();
            d[i] = b;
            let _ = parse(&d);
        }
    }
}

#[test]
fn wrong_types_are_named() {
    // A list of pstats' shape is not a dict; a key that is an int is not a function key.
    let e = parse(b"N").unwrap_err();
    assert!(e.0.contains("holds a dict, this one a None"), "{}", e.0);
    let e = parse(b"{i\x01\x00\x00\x00N0").unwrap_err();
    assert!(e.0.contains("a function key is a int"), "{}", e.0);
}

#[test]
fn callers_with_only_call_counts_split_the_cumulative_time() {
    // The `profile` module's shape: `work` (cumtime 0.75 s) called 1 time by `a`, 2 by `b`.
    let key = |n: &[u8]| [b")\x03z\x01fi\x01\x00\x00\x00z\x01".as_slice(), n].concat();
    let float = |x: f64| [b"g".as_slice(), &x.to_le_bytes()].concat();
    let int = |n: u8| vec![b'i', n, 0, 0, 0];
    let stats = |nc: u8, tt: f64, ct: f64, callers: &[(&[u8], u8)]| {
        let mut d = [
            b")\x05".as_slice(),
            &int(nc),
            &int(nc),
            &float(tt),
            &float(ct),
            b"{",
        ]
        .concat();
        for (k, n) in callers {
            d.extend(key(k));
            d.extend(int(*n));
        }
        d.push(b'0');
        d
    };
    let mut d = b"{".to_vec();
    for (k, v) in [
        (key(b"a"), stats(1, 0.125, 0.375, &[])),
        (key(b"b"), stats(1, 0.25, 0.75, &[])),
        (key(b"w"), stats(3, 0.75, 0.75, &[(b"a", 1), (b"b", 2)])),
    ] {
        d.extend(k);
        d.extend(v);
    }
    d.push(b'0');
    let p = parse(&d).unwrap();
    assert_eq!(
        stacks(&p),
        vec![
            ("a (f:1)".to_string(), 125_000_000, 1),
            ("a (f:1);w (f:1)".to_string(), 250_000_000, 1),
            ("b (f:1)".to_string(), 250_000_000, 1),
            ("b (f:1);w (f:1)".to_string(), 500_000_000, 2),
        ]
    );
}

#[test]
fn deep_nesting_and_huge_lengths_are_errors() {
    let deep = [b')', 1].repeat(100_000);
    let e = parse(&deep).unwrap_err();
    assert!(e.0.contains("nested deeper"), "{}", e.0);
    let e = parse(b"(\xff\xff\xff\x7f").unwrap_err();
    assert!(e.0.contains("declares length 2147483647"), "{}", e.0);
    let e = parse(b"u\xff\xff\xff\xff").unwrap_err();
    assert!(e.0.contains("declares length -1"), "{}", e.0);
    let e = parse(b"r\x05\x00\x00\x00").unwrap_err();
    assert!(e.0.contains("names no earlier object"), "{}", e.0);
    // A container referring to itself before it is complete.
    let e = parse(b"\xa9\x01r\x00\x00\x00\x00").unwrap_err();
    assert!(e.0.contains("names no earlier object"), "{}", e.0);
    let e = parse(b"l\x06\x00\x00\x00").unwrap_err();
    assert!(e.0.contains("does not fit 64 bits"), "{}", e.0);
}

#[test]
fn long_ints_decode() {
    // 2**40 + 5 as a marshal long: 3 digits of 15 bits.
    let v = (1i64 << 40) + 5;
    let mut d = b"l\x03\x00\x00\x00".to_vec();
    for i in 0..3 {
        d.extend_from_slice(&(((v >> (15 * i)) & 0x7fff) as u16).to_le_bytes());
    }
    assert_eq!(*marshal::decode(&d).unwrap(), Value::Int(v));
}

#[test]
fn absurd_times_are_errors() {
    let data = hex(TINY);
    let quarter = 0.25f64.to_le_bytes();
    let at = data.windows(8).position(|w| w == quarter).unwrap();
    for bad in [1e300, f64::INFINITY, f64::NAN] {
        let mut d = data.clone();
        d[at..at + 8].copy_from_slice(&bad.to_le_bytes());
        let e = parse(&d).unwrap_err();
        assert!(
            e.0.contains("2^63 nanoseconds") || e.0.contains("a time of"),
            "{}",
            e.0
        );
    }
}

/// A code object for `<module>` in app.py (line 7), marshalled in one Python version's layout:
/// `ints` counts, then bytecode, constants, names, the version's `middle` objects, filename,
/// name, `before_line` more, the first line, and `after` objects.
fn code_object(ints: usize, middle: &[&[u8]], before_line: &[&[u8]], after: &[&[u8]]) -> Vec<u8> {
    let mut d = b"c".to_vec();
    d.extend(vec![0u8; 4 * ints]);
    d.extend(b"s\x02\x00\x00\x00\x97\x00"); // bytecode
    d.extend(b")\x01N"); // constants: (None,)
    d.extend(b")\x00"); // names
    for m in middle {
        d.extend(*m);
    }
    d.extend(b"z\x06app.pyz\x08<module>");
    for m in before_line {
        d.extend(*m);
    }
    d.extend(7i32.to_le_bytes());
    for a in after {
        d.extend(*a);
    }
    d
}

#[test]
fn code_objects_of_every_python_layout_decode() {
    let tuple: &[u8] = b")\x00";
    let bytes: &[u8] = b"s\x00\x00\x00\x00";
    let want = Value::Code {
        name: "<module>".into(),
        filename: "app.py".into(),
        line: 7,
    };
    let layouts = [
        (
            "3.11+",
            code_object(5, &[tuple, bytes], &[b"z\x08<module>"], &[bytes, bytes]),
        ),
        (
            "3.8-3.10",
            code_object(6, &[tuple, tuple, tuple], &[], &[bytes]),
        ),
        (
            "3.0-3.7",
            code_object(5, &[tuple, tuple, tuple], &[], &[bytes]),
        ),
        ("2", code_object(4, &[tuple, tuple, tuple], &[], &[bytes])),
    ];
    for (python, code) in layouts {
        // Twice in a tuple: the second one is read with the layout the first one settled.
        let mut d = b")\x02".to_vec();
        d.extend(&code);
        d.extend(&code);
        let v = marshal::decode(&d).unwrap_or_else(|e| panic!("{python}: {e}"));
        let Value::Tuple(items) = &*v else {
            panic!("{python}: {v:?}")
        };
        assert!(items.iter().all(|c| **c == want), "{python}: {v:?}");
    }
    // One that fits no layout is an error naming them.
    let e = marshal::decode(&code_object(5, &[], &[], &[])).unwrap_err();
    assert!(e.contains("no known Python layout (3.11+, 3.8-3.10"), "{e}");
}

#[test]
fn profile_module_keys_are_named_without_addresses() {
    let code = code_object(
        5,
        &[b")\x00", b"s\x00\x00\x00\x00"],
        &[b"z\x08<module>"],
        &[b"N", b"N"],
    );
    let mut k = b")\x03z\x07profilei\x00\x00\x00\x00".to_vec();
    k.extend(&code);
    let v = marshal::decode(&k).unwrap();
    assert_eq!(
        key(&v).unwrap(),
        (
            "profile".to_string(),
            0,
            "<code object <module>, file \"app.py\", line 7>".to_string()
        )
    );
    assert_eq!(display("", 0, "exec"), "exec");
}

#[test]
fn python_2_marshal_is_read() {
    // Marshal version 2 (Python 2 and 3.0-3.3): sized tuples, byte strings, no references.
    let key = |n: &[u8]| {
        [
            b"(\x03\x00\x00\x00s\x06\x00\x00\x00app.pyi\x01\x00\x00\x00s\x01\x00\x00\x00"
                .as_slice(),
            n,
        ]
        .concat()
    };
    let mut d = b"{".to_vec();
    d.extend(key(b"m"));
    d.extend(b"(\x05\x00\x00\x00i\x01\x00\x00\x00i\x01\x00\x00\x00g");
    d.extend(0.5f64.to_le_bytes());
    d.extend(b"g");
    d.extend(0.5f64.to_le_bytes());
    d.extend(b"{00");
    assert!(sniff(&d));
    let p = parse(&d).unwrap();
    assert_eq!(
        stacks(&p),
        vec![("m (app.py:1)".to_string(), 500_000_000, 1)]
    );
}
