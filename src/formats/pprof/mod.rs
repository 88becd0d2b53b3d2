//! pprof `profile.proto` in and out: what Go's runtime/pprof, pprof-rs, Pyroscope and Parca
//! write, and what `go tool pprof` reads.
//!
//! Reading ([`parse`]) accepts raw or gzipped bytes. It walks the top-level fields itself in
//! a few passes (strings and scalars; mappings and functions; locations; samples) and decodes
//! one small message at a time with the prost types of [`proto`], so memory stays proportional
//! to the input and to the number of unique stacks: nothing is preallocated from a length or
//! count found in the input, and samples with the same stack and labels are summed as they are
//! read (pprof's own `Merge`/`Compact` do the same; every report `go tool pprof` prints is
//! unchanged by it).
//!
//! Everything `go tool pprof` shows survives a round trip through [`Profile`]: sample types and
//! the default sample type, samples with labels (string, numeric, numeric with unit), mappings,
//! locations (address, mapping, inline lines with columns, `is_folded`), functions, drop/keep
//! frames, time, duration, period type and period, comments. Ids are renumbered densely
//! (1, 2, …), which pprof treats as equivalent. profdiff's own `metadata` and `quality` travel as
//! comments with the prefixes [`META_PREFIX`] and [`QUALITY_PREFIX`] and are parsed back.
//!
//! Bad input is one [`ParseError`] naming what is wrong: corrupt or truncated protobuf, string
//! indexes out of range, a first string that is not empty, ids that are 0, duplicated or refer
//! to nothing, samples whose value count does not match the sample types.

pub mod proto;

use crate::error::ParseError;
use crate::model::{
    DataQuality, Function, Label, Line, Location, Mapping, Profile, Sample, ValueType,
};
use prost::encoding::{decode_key, decode_varint, encode_key, encode_varint, WireType};
use prost::Message;
use rustc_hash::{FxHashMap, FxHasher};
use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};

/// Comment prefix carrying one `metadata` entry: `profdiff: key=value`.
pub const META_PREFIX: &str = "profdiff: ";
/// Comment prefix carrying one data-quality field: `profdiff-quality: lost_samples=3`.
pub const QUALITY_PREFIX: &str = "profdiff-quality: ";

// Field numbers of `message Profile`.
const F_SAMPLE_TYPE: u32 = 1;
const F_SAMPLE: u32 = 2;
const F_MAPPING: u32 = 3;
const F_LOCATION: u32 = 4;
const F_FUNCTION: u32 = 5;
const F_STRING_TABLE: u32 = 6;
const F_DROP_FRAMES: u32 = 7;
const F_KEEP_FRAMES: u32 = 8;
const F_TIME_NANOS: u32 = 9;
const F_DURATION_NANOS: u32 = 10;
const F_PERIOD_TYPE: u32 = 11;
const F_PERIOD: u32 = 12;
const F_COMMENT: u32 = 13;
const F_DEFAULT_SAMPLE_TYPE: u32 = 14;

/// Parse a pprof profile, raw or gzipped (decompressed up to the default limit of
/// [`super::ReadOptions`], see [`super::decompression_limit`]).
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    if super::is_gzip(data) {
        let raw = super::gunzip(data, super::ReadOptions::default().max_decompressed)?;
        return parse_raw(&raw);
    }
    parse_raw(data)
}

/// One top-level field of the encoded `Profile`.
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// Walk the top-level fields of an encoded message, calling `f(field, offset, value)`.
fn for_each_field<'a>(
    data: &'a [u8],
    mut f: impl FnMut(u32, usize, Value<'a>) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut buf = data;
    while !buf.is_empty() {
        let offset = data.len() - buf.len();
        let corrupt = |e: prost::DecodeError| {
            ParseError::new(format!("corrupt protobuf at byte {offset}: {e}"))
        };
        let (field, wire) = decode_key(&mut buf).map_err(corrupt)?;
        match wire {
            WireType::Varint => {
                let v = decode_varint(&mut buf).map_err(corrupt)?;
                f(field, offset, Value::Varint(v))?;
            }
            WireType::LengthDelimited => {
                let len = decode_varint(&mut buf).map_err(corrupt)?;
                if len > buf.len() as u64 {
                    return Err(ParseError::new(format!(
                        "truncated protobuf: field {field} at byte {offset} claims {len} bytes but only {} remain",
                        buf.len()
                    )));
                }
                let (body, rest) = buf.split_at(len as usize);
                buf = rest;
                f(field, offset, Value::Bytes(body))?;
            }
            other => {
                prost::encoding::skip_field(other, field, &mut buf, Default::default())
                    .map_err(corrupt)?;
            }
        }
    }
    Ok(())
}

/// Maps pprof ids (arbitrary non-zero u64) to our dense indexes. Small ids use a vector,
/// others a hash map, so a hostile id of 2^63 costs nothing.
#[derive(Default)]
struct IdMap {
    dense: Vec<u32>,
    sparse: FxHashMap<u64, u32>,
}

const DENSE_IDS: u64 = 1 << 20;

impl IdMap {
    /// Record `id → index`; false if the id was already there.
    fn insert(&mut self, id: u64, index: u32) -> bool {
        if id < DENSE_IDS {
            let i = id as usize;
            if i >= self.dense.len() {
                self.dense.resize(i + 1, u32::MAX);
            }
            if self.dense[i] != u32::MAX {
                return false;
            }
            self.dense[i] = index;
            true
        } else {
            self.sparse.insert(id, index).is_none()
        }
    }
    fn get(&self, id: u64) -> Option<u32> {
        if id < DENSE_IDS {
            self.dense
                .get(id as usize)
                .copied()
                .filter(|&i| i != u32::MAX)
        } else {
            self.sparse.get(&id).copied()
        }
    }
}

/// The string table, borrowed from the input; converted to `String` on use.
struct Strings<'a> {
    table: Vec<&'a [u8]>,
    invalid_utf8: std::cell::Cell<u64>,
}

impl<'a> Strings<'a> {
    fn get(&self, idx: i64, what: impl FnOnce() -> String) -> Result<Cow<'a, str>, ParseError> {
        let Some(bytes) = usize::try_from(idx).ok().and_then(|i| self.table.get(i)) else {
            return Err(ParseError::new(format!(
                "{}: string index {idx} is out of range (the string table has {} entries)",
                what(),
                self.table.len()
            )));
        };
        Ok(match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => {
                self.invalid_utf8.set(self.invalid_utf8.get() + 1);
                String::from_utf8_lossy(bytes)
            }
        })
    }
    fn owned(&self, idx: i64, what: impl FnOnce() -> String) -> Result<String, ParseError> {
        self.get(idx, what).map(Cow::into_owned)
    }
}

fn decode_msg<M: Message + Default>(
    body: &[u8],
    what: &str,
    n: usize,
    offset: usize,
) -> Result<M, ParseError> {
    M::decode(body).map_err(|e| {
        ParseError::new(format!(
            "{what} #{n} (at byte {offset}): corrupt protobuf: {e}"
        ))
    })
}

fn expect_bytes<'a>(field: &str, offset: usize, v: Value<'a>) -> Result<&'a [u8], ParseError> {
    match v {
        Value::Bytes(b) => Ok(b),
        Value::Varint(_) => Err(ParseError::new(format!(
            "corrupt protobuf: {field} at byte {offset} has wire type varint, expected a message"
        ))),
    }
}

fn expect_varint(field: &str, offset: usize, v: Value<'_>) -> Result<u64, ParseError> {
    match v {
        Value::Varint(x) => Ok(x),
        Value::Bytes(_) => Err(ParseError::new(format!(
            "corrupt protobuf: {field} at byte {offset} is length-delimited, expected a number"
        ))),
    }
}

/// Parse raw (not gzipped) profile.proto bytes.
pub fn parse_raw(data: &[u8]) -> Result<Profile, ParseError> {
    if data.is_empty() {
        return Err(ParseError::new("empty input: no profile"));
    }
    let mut p = Profile::default();

    // Pass 1: string table and scalars.
    let mut table: Vec<&[u8]> = Vec::new();
    let mut sample_types_raw: Vec<proto::ValueType> = Vec::new();
    let mut period_type_raw: Option<proto::ValueType> = None;
    let (mut drop_x, mut keep_x, mut default_x) = (0i64, 0i64, 0i64);
    let mut comments_x: Vec<i64> = Vec::new();
    for_each_field(data, |field, offset, v| {
        match field {
            F_STRING_TABLE => table.push(expect_bytes("string_table", offset, v)?),
            F_SAMPLE_TYPE => {
                let body = expect_bytes("sample_type", offset, v)?;
                let n = sample_types_raw.len();
                sample_types_raw.push(decode_msg(body, "sample_type", n, offset)?);
            }
            F_PERIOD_TYPE => {
                let body = expect_bytes("period_type", offset, v)?;
                period_type_raw = Some(decode_msg(body, "period_type", 0, offset)?);
            }
            F_DROP_FRAMES => drop_x = expect_varint("drop_frames", offset, v)? as i64,
            F_KEEP_FRAMES => keep_x = expect_varint("keep_frames", offset, v)? as i64,
            F_TIME_NANOS => p.time_nanos = expect_varint("time_nanos", offset, v)? as i64,
            F_DURATION_NANOS => {
                p.duration_nanos = expect_varint("duration_nanos", offset, v)? as i64
            }
            F_PERIOD => p.period = expect_varint("period", offset, v)? as i64,
            F_DEFAULT_SAMPLE_TYPE => {
                default_x = expect_varint("default_sample_type", offset, v)? as i64
            }
            F_COMMENT => match v {
                Value::Varint(x) => comments_x.push(x as i64),
                Value::Bytes(mut b) => {
                    while !b.is_empty() {
                        let x = decode_varint(&mut b).map_err(|e| {
                            ParseError::new(format!(
                                "corrupt protobuf in comments at byte {offset}: {e}"
                            ))
                        })?;
                        comments_x.push(x as i64);
                    }
                }
            },
            _ => {}
        }
        Ok(())
    })?;
    if table.is_empty() {
        return Err(ParseError::new(
            "no string table: not a pprof profile (or an empty one)",
        ));
    }
    if !table[0].is_empty() {
        return Err(ParseError::new(format!(
            "the first string of the string table must be empty, found {:?}",
            crate::formats::folded::truncate_for_message(&String::from_utf8_lossy(table[0]))
        )));
    }
    let strings = Strings {
        table,
        invalid_utf8: Default::default(),
    };
    for (i, t) in sample_types_raw.iter().enumerate() {
        p.sample_types.push(ValueType {
            kind: strings.owned(t.r#type, || format!("sample_type #{i} type"))?,
            unit: strings.owned(t.unit, || format!("sample_type #{i} unit"))?,
        });
    }
    if let Some(t) = &period_type_raw {
        p.period_type = Some(ValueType {
            kind: strings.owned(t.r#type, || "period_type type".into())?,
            unit: strings.owned(t.unit, || "period_type unit".into())?,
        });
    }
    p.drop_frames = strings.owned(drop_x, || "drop_frames".into())?;
    p.keep_frames = strings.owned(keep_x, || "keep_frames".into())?;
    if default_x != 0 {
        let name = strings.get(default_x, || "default_sample_type".into())?;
        p.default_sample_type = p.sample_types.iter().position(|t| t.kind == name);
    }
    for (i, &c) in comments_x.iter().enumerate() {
        let text = strings.owned(c, || format!("comment #{i}"))?;
        if !absorb_comment(&mut p, &text) {
            p.comments.push(text);
        }
    }

    // Pass 2: mappings and functions.
    let mut mapping_ids = IdMap::default();
    let mut function_ids = IdMap::default();
    for_each_field(data, |field, offset, v| {
        match field {
            F_MAPPING => {
                let n = p.mappings.len();
                let m: proto::Mapping =
                    decode_msg(expect_bytes("mapping", offset, v)?, "mapping", n, offset)?;
                if m.id == 0 {
                    return Err(ParseError::new(format!("mapping #{n} has id 0")));
                }
                if !mapping_ids.insert(m.id, n as u32) {
                    return Err(ParseError::new(format!("duplicate mapping id {}", m.id)));
                }
                p.mappings.push(Mapping {
                    start: m.memory_start,
                    limit: m.memory_limit,
                    offset: m.file_offset,
                    file: strings.owned(m.filename, || format!("mapping {} filename", m.id))?,
                    build_id: strings.owned(m.build_id, || format!("mapping {} build_id", m.id))?,
                    has_functions: m.has_functions,
                    has_filenames: m.has_filenames,
                    has_line_numbers: m.has_line_numbers,
                    has_inline_frames: m.has_inline_frames,
                });
            }
            F_FUNCTION => {
                let n = p.functions.len();
                let f: proto::Function =
                    decode_msg(expect_bytes("function", offset, v)?, "function", n, offset)?;
                if f.id == 0 {
                    return Err(ParseError::new(format!("function #{n} has id 0")));
                }
                if !function_ids.insert(f.id, n as u32) {
                    return Err(ParseError::new(format!("duplicate function id {}", f.id)));
                }
                p.functions.push(Function {
                    name: strings.owned(f.name, || format!("function {} name", f.id))?,
                    system_name: strings
                        .owned(f.system_name, || format!("function {} system_name", f.id))?,
                    filename: strings
                        .owned(f.filename, || format!("function {} filename", f.id))?,
                    start_line: f.start_line,
                });
            }
            _ => {}
        }
        Ok(())
    })?;

    // Pass 3: locations. A line without a function (function_id 0, which pprof allows)
    // points at one shared nameless function.
    let mut location_ids = IdMap::default();
    let mut nameless: Option<u32> = None;
    for_each_field(data, |field, offset, v| {
        if field != F_LOCATION {
            return Ok(());
        }
        let n = p.locations.len();
        let l: proto::Location =
            decode_msg(expect_bytes("location", offset, v)?, "location", n, offset)?;
        if l.id == 0 {
            return Err(ParseError::new(format!("location #{n} has id 0")));
        }
        if !location_ids.insert(l.id, n as u32) {
            return Err(ParseError::new(format!("duplicate location id {}", l.id)));
        }
        let mapping = match l.mapping_id {
            0 => None,
            id => Some(mapping_ids.get(id).ok_or_else(|| {
                ParseError::new(format!(
                    "location {} refers to missing mapping id {id}",
                    l.id
                ))
            })?),
        };
        let mut lines = Vec::new();
        for line in &l.line {
            let function = match line.function_id {
                0 => *nameless.get_or_insert_with(|| {
                    p.functions.push(Function::default());
                    (p.functions.len() - 1) as u32
                }),
                id => function_ids.get(id).ok_or_else(|| {
                    ParseError::new(format!(
                        "location {} refers to missing function id {id}",
                        l.id
                    ))
                })?,
            };
            lines.push(Line {
                function,
                line: line.line,
                column: line.column,
            });
        }
        p.locations.push(Location {
            mapping,
            address: l.address,
            lines,
            is_folded: l.is_folded,
        });
        Ok(())
    })?;

    // Pass 4: samples, summed by (stack, labels).
    let ntypes = p.sample_types.len();
    let mut agg = SampleIndex::default();
    let mut raw = proto::Sample::default();
    let mut count = 0usize;
    for_each_field(data, |field, offset, v| {
        if field != F_SAMPLE {
            return Ok(());
        }
        let n = count;
        count += 1;
        raw.location_id.clear();
        raw.value.clear();
        raw.label.clear();
        raw.merge(expect_bytes("sample", offset, v)?).map_err(|e| {
            ParseError::new(format!(
                "sample #{n} (at byte {offset}): corrupt protobuf: {e}"
            ))
        })?;
        if raw.value.len() != ntypes {
            return Err(ParseError::new(format!(
                "sample #{n} has {} values but the profile has {ntypes} sample types",
                raw.value.len()
            )));
        }
        let mut locations = Vec::with_capacity(raw.location_id.len());
        for &id in &raw.location_id {
            locations.push(location_ids.get(id).ok_or_else(|| {
                ParseError::new(format!("sample #{n} refers to missing location id {id}"))
            })?);
        }
        let mut labels = Vec::new();
        for (i, l) in raw.label.iter().enumerate() {
            let what = || format!("sample #{n} label #{i}");
            let key = strings.owned(l.key, what)?;
            if l.str != 0 {
                labels.push(Label {
                    key,
                    str: Some(strings.owned(l.str, what)?),
                    num: None,
                    num_unit: None,
                });
            } else if l.num != 0 || l.num_unit != 0 {
                let unit = match l.num_unit {
                    0 => None,
                    u => Some(strings.owned(u, what)?),
                };
                labels.push(Label {
                    key,
                    str: None,
                    num: Some(l.num),
                    num_unit: unit,
                });
            }
        }
        agg.add(&mut p.samples, locations, &raw.value, labels);
        Ok(())
    })?;

    let bad = strings.invalid_utf8.get();
    if bad > 0 {
        let note = format!(
            "pprof: {bad} string(s) were not valid UTF-8; invalid bytes were replaced with U+FFFD"
        );
        if !p.quality.notes.contains(&note) {
            p.quality.notes.push(note);
        }
    }
    Ok(p)
}

/// Finds the sample with an identical stack and labels so values can be summed.
#[derive(Default)]
struct SampleIndex {
    /// Hash of (stack, labels) → first sample with that hash.
    heads: FxHashMap<u64, u32>,
    /// Next sample with the same hash (`u32::MAX` = none), parallel to the samples.
    next: Vec<u32>,
}

impl SampleIndex {
    fn add(
        &mut self,
        samples: &mut Vec<Sample>,
        locations: Vec<u32>,
        values: &[i64],
        labels: Vec<Label>,
    ) {
        let mut h = FxHasher::default();
        locations.hash(&mut h);
        labels.hash(&mut h);
        let h = h.finish();
        let mut cur = self.heads.get(&h).copied().unwrap_or(u32::MAX);
        let mut last = u32::MAX;
        while cur != u32::MAX {
            let s = &mut samples[cur as usize];
            if s.locations == locations && s.labels == labels {
                for (a, b) in s.values.iter_mut().zip(values) {
                    *a = a.saturating_add(*b);
                }
                return;
            }
            last = cur;
            cur = self.next[cur as usize];
        }
        let idx = samples.len() as u32;
        samples.push(Sample {
            locations,
            values: values.to_vec(),
            labels,
        });
        self.next.push(u32::MAX);
        if last == u32::MAX {
            self.heads.insert(h, idx);
        } else {
            self.next[last as usize] = idx;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// metadata and quality as comments

fn escape(s: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '=' if is_key => out.push_str("\\="),
            c => out.push(c),
        }
    }
    out
}

/// Split `key=value` at the first unescaped `=` and unescape both sides.
fn split_escaped(s: &str) -> Option<(String, String)> {
    let mut key = String::new();
    let mut chars = s.chars();
    loop {
        match chars.next()? {
            '\\' => match chars.next()? {
                'n' => key.push('\n'),
                'r' => key.push('\r'),
                c => key.push(c),
            },
            '=' => break,
            c => key.push(c),
        }
    }
    let mut value = String::new();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => value.push('\n'),
                Some('r') => value.push('\r'),
                Some(c) => value.push(c),
                None => value.push('\\'),
            }
        } else {
            value.push(c);
        }
    }
    (!key.is_empty()).then_some((key, value))
}

/// The comments that carry `metadata` and `quality`.
pub fn profdiff_comments(p: &Profile) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in &p.metadata {
        out.push(format!(
            "{META_PREFIX}{}={}",
            escape(k, true),
            escape(v, false)
        ));
    }
    let q = &p.quality;
    for (k, v) in [
        ("lost_samples", q.lost_samples),
        ("unknown_frames", q.unknown_frames),
        ("total_frames", q.total_frames),
        ("truncated_stacks", q.truncated_stacks),
    ] {
        if v != 0 {
            out.push(format!("{QUALITY_PREFIX}{k}={v}"));
        }
    }
    for n in &q.notes {
        out.push(format!("{QUALITY_PREFIX}note={}", escape(n, false)));
    }
    out
}

/// If `comment` is one of ours, put it into `p` and return true.
fn absorb_comment(p: &mut Profile, comment: &str) -> bool {
    if let Some(rest) = comment.strip_prefix(META_PREFIX) {
        if let Some((k, v)) = split_escaped(rest) {
            p.metadata.insert(k, v);
            return true;
        }
    } else if let Some(rest) = comment.strip_prefix(QUALITY_PREFIX) {
        if let Some((k, v)) = split_escaped(rest) {
            let q: &mut DataQuality = &mut p.quality;
            let num = || v.parse::<u64>().ok();
            match k.as_str() {
                "lost_samples" => q.lost_samples = num().unwrap_or(0),
                "unknown_frames" => q.unknown_frames = num().unwrap_or(0),
                "total_frames" => q.total_frames = num().unwrap_or(0),
                "truncated_stacks" => q.truncated_stacks = num().unwrap_or(0),
                "note" => q.notes.push(v),
                _ => return false,
            }
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// writing

/// Interns strings into a pprof string table (index 0 = "").
struct StringTable {
    index: FxHashMap<String, i64>,
    table: Vec<String>,
}

impl StringTable {
    fn new() -> Self {
        let mut t = StringTable {
            index: FxHashMap::default(),
            table: Vec::new(),
        };
        t.intern("");
        t
    }
    fn intern(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// Encode `profile` as (uncompressed) profile.proto bytes. Mapping, location and function ids
/// are their index + 1.
pub fn encode(profile: &Profile) -> Vec<u8> {
    let mut st = StringTable::new();
    let mut buf: Vec<u8> = Vec::new();
    for t in &profile.sample_types {
        let m = proto::ValueType {
            r#type: st.intern(&t.kind),
            unit: st.intern(&t.unit),
        };
        prost::encoding::message::encode(F_SAMPLE_TYPE, &m, &mut buf);
    }
    let mut s = proto::Sample::default();
    for sample in &profile.samples {
        s.location_id.clear();
        s.location_id
            .extend(sample.locations.iter().map(|&l| l as u64 + 1));
        s.value.clear();
        s.value.extend_from_slice(&sample.values);
        s.label.clear();
        for l in &sample.labels {
            s.label.push(proto::Label {
                key: st.intern(&l.key),
                str: l.str.as_deref().map_or(0, |x| st.intern(x)),
                num: l.num.unwrap_or(0),
                num_unit: l.num_unit.as_deref().map_or(0, |x| st.intern(x)),
            });
        }
        prost::encoding::message::encode(F_SAMPLE, &s, &mut buf);
    }
    for (i, m) in profile.mappings.iter().enumerate() {
        let pm = proto::Mapping {
            id: i as u64 + 1,
            memory_start: m.start,
            memory_limit: m.limit,
            file_offset: m.offset,
            filename: st.intern(&m.file),
            build_id: st.intern(&m.build_id),
            has_functions: m.has_functions,
            has_filenames: m.has_filenames,
            has_line_numbers: m.has_line_numbers,
            has_inline_frames: m.has_inline_frames,
        };
        prost::encoding::message::encode(F_MAPPING, &pm, &mut buf);
    }
    for (i, l) in profile.locations.iter().enumerate() {
        let pl = proto::Location {
            id: i as u64 + 1,
            mapping_id: l.mapping.map_or(0, |m| m as u64 + 1),
            address: l.address,
            line: l
                .lines
                .iter()
                .map(|ln| proto::Line {
                    function_id: ln.function as u64 + 1,
                    line: ln.line,
                    column: ln.column,
                })
                .collect(),
            is_folded: l.is_folded,
        };
        prost::encoding::message::encode(F_LOCATION, &pl, &mut buf);
    }
    for (i, f) in profile.functions.iter().enumerate() {
        let pf = proto::Function {
            id: i as u64 + 1,
            name: st.intern(&f.name),
            system_name: st.intern(&f.system_name),
            filename: st.intern(&f.filename),
            start_line: f.start_line,
        };
        prost::encoding::message::encode(F_FUNCTION, &pf, &mut buf);
    }
    let drop_x = st.intern(&profile.drop_frames);
    let keep_x = st.intern(&profile.keep_frames);
    let period_type = profile.period_type.as_ref().map(|t| proto::ValueType {
        r#type: st.intern(&t.kind),
        unit: st.intern(&t.unit),
    });
    let mut comments: Vec<i64> = profile.comments.iter().map(|c| st.intern(c)).collect();
    comments.extend(profdiff_comments(profile).iter().map(|c| st.intern(c)));
    let default_x = profile
        .default_sample_type
        .and_then(|i| profile.sample_types.get(i))
        .map_or(0, |t| st.intern(&t.kind));

    for s in &st.table {
        prost::encoding::string::encode(F_STRING_TABLE, s, &mut buf);
    }
    let varint = |field: u32, v: i64, buf: &mut Vec<u8>| {
        if v != 0 {
            encode_key(field, WireType::Varint, buf);
            encode_varint(v as u64, buf);
        }
    };
    varint(F_DROP_FRAMES, drop_x, &mut buf);
    varint(F_KEEP_FRAMES, keep_x, &mut buf);
    varint(F_TIME_NANOS, profile.time_nanos, &mut buf);
    varint(F_DURATION_NANOS, profile.duration_nanos, &mut buf);
    if let Some(pt) = &period_type {
        prost::encoding::message::encode(F_PERIOD_TYPE, pt, &mut buf);
    }
    varint(F_PERIOD, profile.period, &mut buf);
    if !comments.is_empty() {
        prost::encoding::int64::encode_packed(F_COMMENT, &comments, &mut buf);
    }
    varint(F_DEFAULT_SAMPLE_TYPE, default_x, &mut buf);
    buf
}

/// Write `profile` as raw (uncompressed) profile.proto.
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(&encode(profile))
}

/// Write `profile` as gzipped profile.proto (what `go tool pprof` and `.pb.gz` files expect).
pub fn write_gz(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    let mut e = flate2::write::GzEncoder::new(w, flate2::Compression::default());
    e.write_all(&encode(profile))?;
    e.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests;
