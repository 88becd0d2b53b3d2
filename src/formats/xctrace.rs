//! `xctrace export` XML: Instruments' command-line export of a Time Profiler table
//! (`xctrace export --input run.trace --xpath '//trace-toc/run/data/table[@schema="time-profile"]'`).
//! A `<trace-query-result>` holds `<row>`s; each row's `<backtrace>` lists `<frame>`s leaf
//! first. Repeated values are written once with an `id` and later as `<... ref="id"/>`, so a
//! backtrace or frame seen before is only a reference.
//!
//! As in inferno's `collapse-xctrace` (the reference), each row is one sample and frame names
//! have their partial Rust demangling fixed, so folded output equals inferno's.

use crate::error::ParseError;
use crate::formats::folded::MAX_DEPTH;
use crate::formats::perf_script::fix_rust_symbol;
use crate::model::{LocationId, Profile, ProfileBuilder, ValueType};
use quick_xml::events::{BytesStart, Event};
use rustc_hash::FxHashMap;

/// True for an xctrace export: XML with a `<trace-query-result>` element.
pub fn sniff(text: &str) -> bool {
    text.trim_start().starts_with('<') && text.contains("<trace-query-result")
}

/// What is being read.
#[derive(Default)]
struct Export {
    /// Frame id → name.
    frames: FxHashMap<u64, String>,
    /// Backtrace id → frame ids, leaf first.
    backtraces: FxHashMap<u64, Vec<u64>>,
    /// Backtrace ids in order of first use, with their row counts.
    counts: Vec<(u64, i64)>,
    count_index: FxHashMap<u64, usize>,
    /// Inside a `<row>`: the backtrace it refers to, once seen.
    row: Option<Option<u64>>,
    /// The `<backtrace>` being defined, and its frames.
    open_backtrace: Option<(u64, Vec<u64>)>,
    /// The `<frame>` being defined (its id), while inside it.
    open_frame: Option<u64>,
    seen_root: bool,
}

/// Parse an xctrace XML export into a profile of `samples`/`count`.
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let text = String::from_utf8_lossy(data);
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut x = Export::default();
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| ParseError::new(format!("malformed XML near byte {pos}: {e}")))?;
        let r = match event {
            Event::Start(e) => x.start(&e, false),
            Event::Empty(e) => x.start(&e, true),
            Event::End(e) => x.end(e.name().as_ref()),
            Event::Eof => break,
            _ => Ok(()),
        };
        r.map_err(|m| ParseError::new(format!("near byte {pos}: {m}")))?;
    }
    if !x.seen_root {
        return Err(ParseError::new(
            "no <trace-query-result> element: not an xctrace export",
        ));
    }
    x.finish()
}

impl Export {
    fn start(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), String> {
        match e.name().as_ref() {
            b"trace-query-result" => self.seen_root = true,
            b"row" if !empty => self.row = Some(None),
            b"backtrace" if self.row.is_some() && self.open_backtrace.is_none() => {
                if let Some(r) = attr_u64(e, b"ref")? {
                    if !self.backtraces.contains_key(&r) {
                        return Err(format!("backtrace ref={r} before its definition"));
                    }
                    self.row = Some(Some(r));
                } else {
                    let id = attr_u64(e, b"id")?.ok_or("a <backtrace> without id or ref")?;
                    if empty {
                        self.define_backtrace(id, Vec::new())?;
                    } else {
                        self.open_backtrace = Some((id, Vec::new()));
                    }
                }
            }
            b"frame" if self.open_backtrace.is_some() && self.open_frame.is_none() => {
                let id = if let Some(r) = attr_u64(e, b"ref")? {
                    if !self.frames.contains_key(&r) {
                        return Err(format!("frame ref={r} before its definition"));
                    }
                    r
                } else {
                    let id = attr_u64(e, b"id")?.ok_or("a <frame> without id or ref")?;
                    let name = attr(e, b"name")?.ok_or("a <frame> without a name")?;
                    if self.frames.insert(id, name).is_some() {
                        return Err(format!("frame id={id} defined twice"));
                    }
                    if !empty {
                        self.open_frame = Some(id);
                    }
                    id
                };
                if let Some((_, frames)) = &mut self.open_backtrace {
                    frames.push(id);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8]) -> Result<(), String> {
        match name {
            b"frame" => self.open_frame = None,
            b"backtrace" if self.open_frame.is_none() => {
                if let Some((id, frames)) = self.open_backtrace.take() {
                    self.define_backtrace(id, frames)?;
                }
            }
            b"row" => {
                if let Some(Some(bt)) = self.row.take() {
                    let next = self.counts.len();
                    let i = *self.count_index.entry(bt).or_insert(next);
                    if i == next {
                        self.counts.push((bt, 0));
                    }
                    self.counts[i].1 += 1;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn define_backtrace(&mut self, id: u64, frames: Vec<u64>) -> Result<(), String> {
        if self.backtraces.insert(id, frames).is_some() {
            return Err(format!("backtrace id={id} defined twice"));
        }
        if let Some(row) = &mut self.row {
            *row = Some(id);
        }
        Ok(())
    }

    fn finish(self) -> Result<Profile, ParseError> {
        if self.counts.is_empty() {
            return Err(ParseError::new("no rows with a backtrace"));
        }
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        let mut locs: FxHashMap<u64, LocationId> = FxHashMap::default();
        let mut truncated = 0u64;
        for (bt, count) in &self.counts {
            let frames = &self.backtraces[bt];
            if frames.len() > MAX_DEPTH {
                truncated += 1;
            }
            let stack: Vec<LocationId> = frames
                .iter()
                .take(MAX_DEPTH)
                .map(|f| {
                    *locs
                        .entry(*f)
                        .or_insert_with(|| b.frame(&fix_rust_symbol(&self.frames[f])))
                })
                .collect();
            b.add_sample(&stack, &[*count]);
        }
        let p = b.profile_mut();
        p.quality.truncated_stacks = truncated;
        p.metadata.insert("tool".into(), "xctrace".into());
        Ok(b.finish())
    }
}

fn attr(e: &BytesStart<'_>, key: &[u8]) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|err| format!("bad attribute: {err}"))?;
        if a.key.as_ref() == key {
            let raw = String::from_utf8_lossy(&a.value);
            let v = quick_xml::escape::unescape(&raw)
                .map_err(|err| format!("bad attribute value: {err}"))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn attr_u64(e: &BytesStart<'_>, key: &[u8]) -> Result<Option<u64>, String> {
    match attr(e, key)? {
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("{}={v:?} is not a number", String::from_utf8_lossy(key))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded::fold;

    const SMALL: &str = r#"<?xml version="1.0"?>
<trace-query-result><node>
<row><backtrace id="1"><frame id="2" name="foo::h0123456789abcdef" addr="0x1"/><frame id="3" name="main" addr="0x2"></frame></backtrace></row>
<row><backtrace ref="1"/></row>
<row><backtrace id="4"><frame id="5" name="a&amp;b" addr="0x3"/><frame ref="3"/></backtrace></row>
<row><sample-time>1</sample-time></row>
</node></trace-query-result>"#;

    #[test]
    fn rows_are_samples_and_refs_resolve() {
        assert!(sniff(SMALL));
        let p = parse(SMALL.as_bytes()).unwrap();
        assert_eq!(
            fold(&p, 0),
            vec![("main;a&b".to_string(), 1), ("main;foo".to_string(), 2)]
        );
    }

    #[test]
    fn malformed_exports_are_errors() {
        let e = |t: &str| parse(t.as_bytes()).unwrap_err().0;
        assert!(
            e("<trace-query-result><row><backtrace ref=\"9\"/></row></trace-query-result>")
                .contains("before its definition")
        );
        assert!(e("<trace-query-result><row><backtrace id=\"1\"><frame id=\"2\"/></backtrace></row></trace-query-result>")
            .contains("without a name"));
        assert!(e("<trace-query-result><row></row></trace-query-result>").contains("no rows"));
        assert!(
            e("<trace-query-result><row><backtrace").contains("malformed XML")
                || e("<trace-query-result><row><backtrace").contains("no rows")
        );
        assert!(e("<other/>").contains("not an xctrace export"));
    }
}
