//! Unit tests of the pprof reader and writer: round trips and every kind of bad input.

use super::*;
use crate::model::{ProfileBuilder, UNKNOWN};

/// A small valid profile.proto: strings ["", "samples", "count", "main", "f", "m.go", "/bin/app"],
/// one mapping, two functions, two locations, one sample main→f.
fn base() -> proto::Profile {
    proto::Profile {
        sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
        sample: vec![proto::Sample {
            location_id: vec![2, 1],
            value: vec![5],
            label: vec![],
        }],
        mapping: vec![proto::Mapping {
            id: 1,
            memory_start: 0x1000,
            memory_limit: 0x2000,
            filename: 6,
            has_functions: true,
            ..Default::default()
        }],
        location: vec![
            proto::Location {
                id: 1,
                mapping_id: 1,
                address: 0x1010,
                line: vec![proto::Line {
                    function_id: 1,
                    line: 3,
                    column: 0,
                }],
                is_folded: false,
            },
            proto::Location {
                id: 2,
                mapping_id: 1,
                address: 0x1020,
                line: vec![proto::Line {
                    function_id: 2,
                    line: 7,
                    column: 2,
                }],
                is_folded: false,
            },
        ],
        function: vec![
            proto::Function {
                id: 1,
                name: 3,
                system_name: 3,
                filename: 5,
                start_line: 1,
            },
            proto::Function {
                id: 2,
                name: 4,
                system_name: 4,
                filename: 5,
                start_line: 6,
            },
        ],
        string_table: ["", "samples", "count", "main", "f", "m.go", "/bin/app"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..Default::default()
    }
}

fn err_of(p: proto::Profile) -> String {
    parse(&p.encode_to_vec()).unwrap_err().0
}

#[test]
fn parses_a_small_profile() {
    let p = parse(&base().encode_to_vec()).unwrap();
    p.validate().unwrap();
    assert_eq!(p.sample_types, vec![ValueType::samples()]);
    assert_eq!(p.samples.len(), 1);
    assert_eq!(p.stack_names(&p.samples[0]), vec!["main", "f"]);
    assert_eq!(p.locations[1].lines[0].column, 2);
    assert_eq!(p.mappings[0].file, "/bin/app");
    assert!(p.mappings[0].has_functions);
}

/// A profile with every field pprof has set to something non-default.
fn everything() -> Profile {
    let mut b = ProfileBuilder::new(vec![
        ValueType::samples(),
        ValueType::new("cpu", "nanoseconds"),
    ]);
    let m = b.mapping(Mapping {
        start: 0x400000,
        limit: 0x500000,
        offset: 0x1000,
        file: "/usr/bin/app".into(),
        build_id: "abcdef0123".into(),
        has_functions: true,
        has_filenames: true,
        has_line_numbers: true,
        has_inline_frames: true,
    });
    let main = b.function(Function {
        name: "main".into(),
        system_name: "main".into(),
        filename: "main.c".into(),
        start_line: 10,
    });
    let inl = b.function(Function {
        name: "inlined".into(),
        system_name: "_Z7inlinedv".into(),
        filename: "x.h".into(),
        start_line: 3,
    });
    let l1 = b.location(Location {
        mapping: Some(m),
        address: 0x400100,
        lines: vec![
            Line {
                function: inl,
                line: 4,
                column: 9,
            },
            Line {
                function: main,
                line: 12,
                column: 1,
            },
        ],
        is_folded: true,
    });
    let l2 = b.location(Location {
        mapping: Some(m),
        address: 0x400200,
        lines: vec![],
        is_folded: false,
    });
    let l3 = b.location(Location {
        mapping: None,
        address: 0,
        lines: vec![Line {
            function: main,
            line: 0,
            column: 0,
        }],
        is_folded: false,
    });
    b.add_sample(&[l1, l3], &[3, 30_000_000]);
    b.add_sample(&[l2, l3], &[1, 10_000_000]);
    b.add_labeled_sample(
        vec![l1, l3],
        vec![2, 20_000_000],
        vec![
            Label {
                key: "thread".into(),
                str: Some("worker-1".into()),
                num: None,
                num_unit: None,
            },
            Label {
                key: "bytes".into(),
                str: None,
                num: Some(4096),
                num_unit: Some("bytes".into()),
            },
            Label {
                key: "id".into(),
                str: None,
                num: Some(-7),
                num_unit: None,
            },
        ],
    );
    let p = b.profile_mut();
    p.default_sample_type = Some(0);
    p.drop_frames = "runtime\\..*".into();
    p.keep_frames = "main".into();
    p.time_nanos = 1_700_000_000_123_456_789;
    p.duration_nanos = 2_000_000_000;
    p.period_type = Some(ValueType::new("cpu", "nanoseconds"));
    p.period = 10_000_000;
    p.comments = vec!["hello".into(), "# hidden".into()];
    p.metadata
        .insert("command".into(), "./app --x=1\nsecond line".into());
    p.metadata.insert("we=ird\\key".into(), "v".into());
    p.quality.lost_samples = 4;
    p.quality.unknown_frames = 1;
    p.quality.total_frames = 9;
    p.quality.truncated_stacks = 2;
    p.quality.notes = vec!["kernel frames not permitted".into()];
    b.finish()
}

#[test]
fn round_trip_keeps_everything() {
    let p = everything();
    p.validate().unwrap();
    let mut raw = Vec::new();
    write(&p, &mut raw).unwrap();
    assert_eq!(parse(&raw).unwrap(), p);
    let mut gz = Vec::new();
    write_gz(&p, &mut gz).unwrap();
    assert!(crate::formats::is_gzip(&gz));
    assert_eq!(parse(&gz).unwrap(), p);
}

#[test]
fn written_profile_is_detected_as_pprof() {
    let raw = encode(&everything());
    assert_eq!(
        crate::formats::detect(&raw),
        Some(crate::formats::Format::Pprof)
    );
}

#[test]
fn our_comments_are_plain_pprof_comments() {
    let raw = encode(&everything());
    let decoded = proto::Profile::decode(raw.as_slice()).unwrap();
    let comments: Vec<&str> = decoded
        .comment
        .iter()
        .map(|&i| decoded.string_table[i as usize].as_str())
        .collect();
    assert!(comments.contains(&"hello"));
    assert!(comments.contains(&"profdiff: command=./app --x=1\\nsecond line"));
    assert!(comments.contains(&"profdiff-quality: lost_samples=4"));
}

#[test]
fn identical_samples_are_summed_labeled_ones_kept_apart() {
    let mut pp = base();
    pp.sample.push(pp.sample[0].clone());
    pp.string_table.push("k".into());
    pp.string_table.push("v".into());
    let mut labeled = pp.sample[0].clone();
    labeled.label.push(proto::Label {
        key: 7,
        str: 8,
        ..Default::default()
    });
    pp.sample.push(labeled);
    let p = parse(&pp.encode_to_vec()).unwrap();
    assert_eq!(p.samples.len(), 2);
    assert_eq!(p.samples[0].values, vec![10]);
    assert_eq!(p.samples[1].labels[0].str.as_deref(), Some("v"));
}

#[test]
fn unpacked_repeated_fields_are_read() {
    // Go's encoder writes short repeated fields unpacked: location_id 2, then 1, as varints.
    let mut pp = base();
    pp.sample.clear();
    let mut bytes = pp.encode_to_vec();
    let sample: Vec<u8> = vec![0x08, 0x02, 0x08, 0x01, 0x10, 0x05];
    bytes.push(0x12);
    bytes.push(sample.len() as u8);
    bytes.extend(sample);
    let p = parse(&bytes).unwrap();
    assert_eq!(p.stack_names(&p.samples[0]), vec!["main", "f"]);
    assert_eq!(p.samples[0].values, vec![5]);
}

#[test]
fn line_without_function_is_nameless() {
    let mut pp = base();
    pp.location[0].line[0].function_id = 0;
    let p = parse(&pp.encode_to_vec()).unwrap();
    p.validate().unwrap();
    assert_eq!(p.stack_names(&p.samples[0])[0], "");
}

#[test]
fn huge_ids_are_fine() {
    let mut pp = base();
    pp.location[0].id = u64::MAX;
    pp.sample[0].location_id = vec![2, u64::MAX];
    let p = parse(&pp.encode_to_vec()).unwrap();
    assert_eq!(p.stack_names(&p.samples[0]), vec!["main", "f"]);
}

#[test]
fn bad_input_empty() {
    assert!(parse(b"").unwrap_err().0.contains("empty"));
    // A message with no string table at all.
    let e = parse(&proto::Profile::default().encode_to_vec()).unwrap_err();
    assert!(e.0.contains("empty"), "{e}");
    let e = parse(&[0x48, 0x01]).unwrap_err();
    assert!(e.0.contains("no string table"), "{e}");
}

#[test]
fn bad_input_first_string_not_empty() {
    let mut pp = base();
    pp.string_table[0] = "oops".into();
    assert!(err_of(pp).contains("first string"));
}

#[test]
fn bad_input_string_index_out_of_range() {
    let mut pp = base();
    pp.function[1].name = 99;
    let e = err_of(pp);
    assert!(
        e.contains("function 2 name") && e.contains("out of range"),
        "{e}"
    );
    let mut pp = base();
    pp.sample_type[0].unit = -1;
    assert!(err_of(pp).contains("out of range"));
    let mut pp = base();
    pp.mapping[0].build_id = 1000;
    assert!(err_of(pp).contains("mapping 1 build_id"));
    let mut pp = base();
    pp.comment = vec![50];
    assert!(err_of(pp).contains("comment #0"));
    let mut pp = base();
    pp.drop_frames = 8;
    assert!(err_of(pp).contains("drop_frames"));
    let mut pp = base();
    pp.sample[0].label.push(proto::Label {
        key: 77,
        str: 1,
        ..Default::default()
    });
    assert!(err_of(pp).contains("sample #0 label #0"));
}

#[test]
fn bad_input_missing_entities() {
    let mut pp = base();
    pp.sample[0].location_id.push(42);
    assert!(err_of(pp).contains("missing location id 42"));
    let mut pp = base();
    pp.location[0].line[0].function_id = 9;
    assert!(err_of(pp).contains("missing function id 9"));
    let mut pp = base();
    pp.location[0].mapping_id = 3;
    assert!(err_of(pp).contains("missing mapping id 3"));
    let mut pp = base();
    pp.sample[0].location_id.push(0);
    assert!(err_of(pp).contains("missing location id 0"));
}

#[test]
fn bad_input_zero_ids() {
    let mut pp = base();
    pp.location[0].id = 0;
    assert!(err_of(pp).contains("location #0 has id 0"));
    let mut pp = base();
    pp.function[0].id = 0;
    assert!(err_of(pp).contains("function #0 has id 0"));
    let mut pp = base();
    pp.mapping[0].id = 0;
    assert!(err_of(pp).contains("mapping #0 has id 0"));
}

#[test]
fn bad_input_duplicate_ids() {
    let mut pp = base();
    pp.location[1].id = 1;
    assert!(err_of(pp).contains("duplicate location id 1"));
    let mut pp = base();
    pp.function[1].id = 1;
    assert!(err_of(pp).contains("duplicate function id 1"));
    let mut pp = base();
    pp.mapping.push(pp.mapping[0].clone());
    assert!(err_of(pp).contains("duplicate mapping id 1"));
}

#[test]
fn bad_input_value_count_mismatch() {
    let mut pp = base();
    pp.sample[0].value.push(1);
    let e = err_of(pp);
    assert!(
        e.contains("2 values") && e.contains("1 sample types"),
        "{e}"
    );
    let mut pp = base();
    pp.sample[0].value.clear();
    assert!(err_of(pp).contains("0 values"));
}

#[test]
fn bad_input_truncated_never_panics() {
    let full = encode(&everything());
    let mut errors = 0;
    for n in 0..full.len() {
        if parse(&full[..n]).is_err() {
            errors += 1;
        }
    }
    // Most cuts land inside a field; all must be clean errors or (at field boundaries) a
    // smaller valid profile, never a panic.
    assert!(errors > full.len() / 2, "{errors} of {}", full.len());
    let e = parse(&full[..full.len() - 3]).unwrap_err();
    assert!(
        e.0.contains("truncated") || e.0.contains("corrupt") || e.0.contains("out of range"),
        "{e}"
    );
}

#[test]
fn bad_input_corrupt_never_panics() {
    let full = encode(&everything());
    // Deterministic pseudo-random byte flips.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for _ in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut data = full.clone();
        let i = (x as usize) % data.len();
        data[i] ^= (x >> 32) as u8 | 1;
        if let Ok(p) = parse(&data) {
            // Whatever parses must be internally consistent.
            p.validate().unwrap();
        }
    }
}

#[test]
fn bad_input_wrong_wire_type() {
    // sample_type (field 1) as a varint instead of a message.
    let e = parse(&[0x08, 0x01, 0x32, 0x00]).unwrap_err();
    assert!(e.0.contains("sample_type"), "{e}");
}

#[test]
fn bad_input_huge_lengths_are_not_trusted() {
    // string_table entry claiming 2^62 bytes.
    let mut data = vec![0x32];
    encode_varint(1 << 62, &mut data);
    data.extend_from_slice(b"abc");
    let e = parse(&data).unwrap_err();
    assert!(e.0.contains("claims"), "{e}");
    // A sample whose packed location_id claims more bytes than the sample has.
    let mut pp = base();
    pp.sample.clear();
    let mut data = pp.encode_to_vec();
    let body = [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01];
    data.push(0x12);
    data.push(body.len() as u8);
    data.extend_from_slice(&body);
    let e = parse(&data).unwrap_err();
    assert!(e.0.contains("sample #0") && e.0.contains("corrupt"), "{e}");
}

#[test]
fn many_samples_of_few_stacks_stay_small() {
    // 200k samples of the same stack aggregate into one.
    let mut pp = base();
    let s = pp.sample[0].clone();
    pp.sample = vec![s; 200_000];
    let p = parse(&pp.encode_to_vec()).unwrap();
    assert_eq!(p.samples.len(), 1);
    assert_eq!(p.samples[0].values, vec![1_000_000]);
}

#[test]
fn invalid_utf8_is_replaced_and_noted() {
    // prost refuses invalid UTF-8 in `string` fields, so append the raw bytes by hand:
    // string #7 = "f\xffg" and function 3 named by it.
    let mut bytes = base().encode_to_vec();
    bytes.extend_from_slice(&[0x32, 3, b'f', 0xff, b'g']);
    let f = proto::Function {
        id: 3,
        name: 7,
        ..Default::default()
    };
    prost::encoding::message::encode(5, &f, &mut bytes);
    let p = parse(&bytes).unwrap();
    assert_eq!(p.functions[2].name, "f\u{fffd}g");
    assert!(p.quality.notes[0].contains("not valid UTF-8"));
}

#[test]
fn deep_stack_is_fine() {
    let mut pp = base();
    pp.sample[0].location_id = (0..100_000).map(|i| 1 + (i % 2)).collect();
    let p = parse(&pp.encode_to_vec()).unwrap();
    assert_eq!(p.samples[0].locations.len(), 100_000);
}

#[test]
fn unknown_fields_are_skipped() {
    let mut bytes = base().encode_to_vec();
    // doc_url (field 15, string) from newer profile.proto, and a fixed64 field 20.
    bytes.extend_from_slice(&[0x7a, 0x01, b'x']);
    bytes.extend_from_slice(&[0xa1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]);
    parse(&bytes).unwrap();
}

#[test]
fn folded_profile_round_trips() {
    let p = crate::formats::folded::parse(b"main;a;b 3\nmain;[unknown];c 2\n").unwrap();
    let q = parse(&encode(&p)).unwrap();
    assert_eq!(q, p);
    assert_eq!(q.stack_names(&q.samples[1])[1], UNKNOWN);
}
