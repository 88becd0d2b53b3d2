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
    // Old pstats: per-caller statistics were a bare count.
    let key = b")\x03z\x01ai\x01\x00\x00\x00z\x01f";
    let mut d = b"{".to_vec();
    d.extend_from_slice(key);
    d.extend_from_slice(b")\x05i\x01\x00\x00\x00i\x01\x00\x00\x00g");
    d.extend_from_slice(&0.5f64.to_le_bytes());
    d.extend_from_slice(b"g");
    d.extend_from_slice(&0.5f64.to_le_bytes());
    d.extend_from_slice(b"{");
    d.extend_from_slice(key);
    d.extend_from_slice(b"i\x01\x00\x00\x000");
    d.push(b'0');
    let e = parse(&d).unwrap_err();
    assert!(e.0.contains("only call counts per caller"), "{}", e.0);
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
