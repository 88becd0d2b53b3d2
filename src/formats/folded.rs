//! Folded stacks: one line per unique stack, frames root first separated by `;`, then a space
//! and a count — `main;parse;read 12`. Written by inferno's and FlameGraph's collapsers and by
//! py-spy `--format raw`.
//!
//! Counts may be fractional (`12.5`); profile values are integers, so fractional counts are
//! truncated toward zero, as inferno's `diff-folded` does. Lines that do not end in a count are
//! an error naming the line. Empty frames (`a;;b`) are kept as `[unknown]`.

use crate::error::ParseError;
use crate::model::ops::{MergeError, Merger};
use crate::model::{DataQuality, Profile, ProfileBuilder, StackSink, ValueType};
use std::io::{self, Write};

/// Largest stack depth accepted; deeper stacks are truncated (and counted) to bound memory.
pub const MAX_DEPTH: usize = 16 * 1024;

/// Split one folded line into (stack, count). `None` when the line has no trailing count.
pub fn parse_line(line: &str) -> Option<(&str, f64)> {
    let line = line.trim_end();
    let (stack, count) = line.rsplit_once([' ', '\t'])?;
    let stack = stack.trim_end();
    if stack.is_empty() {
        return None;
    }
    let c: f64 = count.parse().ok()?;
    if !c.is_finite() || !count.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    Some((stack, c))
}

/// Parse folded stacks into a profile with one sample type, `samples`/`count`.
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
    let truncated = parse_into(data, &mut b)?;
    let p = b.profile_mut();
    p.quality.truncated_stacks = truncated;
    Ok(b.finish())
}

/// What a folded profile is besides its stacks: the header for [`Merger::add_stacks`].
pub fn header() -> Profile {
    let mut p = Profile {
        sample_types: vec![ValueType::samples()],
        ..Profile::default()
    };
    p.metadata
        .insert("format".into(), super::Format::Folded.name().to_string());
    p
}

/// Parse folded stacks straight into a merger: the same result as [`Merger::add`] of
/// [`parse`]'s profile (with `metadata["format"]` set as [`super::parse`] sets it), without
/// building that profile. `Err` is an input that does not parse (the merger then holds part
/// of it) or cannot be merged.
pub fn merge_into(data: &[u8], m: &mut Merger) -> Result<(), MergeFoldedError> {
    let r = m.add_stacks(&header(), |sink| {
        parse_into(data, sink).map(|truncated| DataQuality {
            truncated_stacks: truncated,
            ..DataQuality::default()
        })
    })?;
    Ok(r?)
}

/// Why [`merge_into`] failed.
#[derive(Debug, thiserror::Error)]
pub enum MergeFoldedError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Merge(#[from] MergeError),
}

/// Parse folded stacks into `sink`; returns the number of stacks cut at [`MAX_DEPTH`].
pub fn parse_into<S: StackSink + ?Sized>(data: &[u8], sink: &mut S) -> Result<u64, ParseError> {
    let text = std::str::from_utf8(data).map_err(|e| {
        ParseError::new(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let mut stack = Vec::new();
    let mut truncated = 0u64;
    let mut any = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((frames, count)) = parse_line(line) else {
            return Err(ParseError::new(format!(
                "line {}: expected `frame;frame;... COUNT`, got {:?}",
                n + 1,
                truncate_for_message(line)
            )));
        };
        any = true;
        stack.clear();
        let mut from = 0usize;
        let ends =
            memchr::memchr_iter(b';', frames.as_bytes()).chain(std::iter::once(frames.len()));
        for i in ends {
            if stack.len() >= MAX_DEPTH {
                truncated += 1;
                break;
            }
            // `;` is ASCII, so both ends are char boundaries.
            stack.push(sink.frame(&frames[from..i]));
            from = i + 1;
        }
        stack.reverse();
        sink.add_sample(&stack, &[count.trunc() as i64]);
    }
    if !any {
        return Err(ParseError::new("no stacks found"));
    }
    Ok(truncated)
}

/// Cut a line for an error message (hostile inputs can have megabyte-long lines).
pub fn truncate_for_message(line: &str) -> String {
    if line.len() <= 120 {
        line.to_string()
    } else {
        let mut end = 120;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &line[..end])
    }
}

/// Write `profile`'s sample type `value` as folded stacks, one line per unique stack (stacks
/// that fold to the same names are summed), sorted by stack for deterministic output.
/// Frame names containing `;` or newlines have them replaced so the output stays parseable.
pub fn write(profile: &Profile, value: usize, w: &mut dyn Write) -> io::Result<()> {
    for (stack, v) in fold(profile, value) {
        writeln!(w, "{stack} {v}")?;
    }
    Ok(())
}

/// The folded projection: (`root;...;leaf`, value) per unique name stack, sorted, zero values
/// dropped.
pub fn fold(profile: &Profile, value: usize) -> Vec<(String, i64)> {
    // Each location's frames (caller before inlined callees, sanitized, `;`-joined) are
    // rendered once, lazily; a stack is then the concatenation of its locations' strings.
    let mut loc_names: Vec<Option<String>> = vec![None; profile.locations.len()];
    let mut out: Vec<(String, i64)> = Vec::with_capacity(profile.samples.len());
    for s in &profile.samples {
        let v = s.values.get(value).copied().unwrap_or(0);
        if v == 0 {
            continue;
        }
        let mut key = String::new();
        for &loc in s.locations.iter().rev() {
            let Some(slot) = loc_names.get_mut(loc as usize) else {
                continue;
            };
            let name = slot.get_or_insert_with(|| location_name(profile, loc));
            if !key.is_empty() {
                key.push(';');
            }
            key.push_str(name);
        }
        if key.is_empty() {
            key.push_str(crate::model::UNKNOWN);
        }
        out.push((key, v));
    }
    // Sorting brings equal name stacks (different locations, same names) together: sum them.
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|later, first| {
        if later.0 == first.0 {
            first.1 += later.1;
            true
        } else {
            false
        }
    });
    out.retain(|(_, v)| *v != 0);
    out
}

/// A frame name as folded stacks can carry it: `;` replaced, line breaks as spaces, other
/// control characters shown as escapes (`\x1b`: folded text with them is not read back, and
/// SVG cannot hold them), empty names `[unknown]`.
pub fn sanitized(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    push_sanitized(&mut out, name);
    out
}

/// One location's frames, root-most first, sanitized and joined with `;`.
fn location_name(profile: &Profile, loc: crate::model::LocationId) -> String {
    let frames: Vec<_> = profile.location_frames(loc).collect();
    let mut out = String::new();
    for (i, name) in frames.iter().rev().enumerate() {
        if i > 0 {
            out.push(';');
        }
        push_sanitized(&mut out, name);
    }
    out
}

fn push_sanitized(out: &mut String, name: &str) {
    if name.is_empty() {
        out.push_str(crate::model::UNKNOWN);
        return;
    }
    // 0xc2 starts the UTF-8 of the C1 controls (U+0080..U+009F), among others.
    if !name
        .bytes()
        .any(|b| b < 0x20 || b == b';' || b == 0x7f || b == 0xc2)
    {
        out.push_str(name);
        return;
    }
    for c in name.chars() {
        match c {
            ';' => out.push(':'),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push_str(&crate::render::terminal::visible(&c.to_string())),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = parse(b"main;a;b 3\nmain;a 2\nmain;a;b 1\n").unwrap();
        let mut out = Vec::new();
        write(&p, 0, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "main;a 2\nmain;a;b 4\n");
    }

    #[test]
    fn fractional_counts_truncate() {
        let p = parse(b"main;a 14.9\n").unwrap();
        assert_eq!(p.total(0), 14);
    }

    #[test]
    fn bad_lines_name_the_line() {
        let e = parse(b"main;a 1\nmain;b\n").unwrap_err();
        assert!(e.0.starts_with("line 2:"), "{e}");
        assert!(parse(b"").is_err());
        assert!(parse(b"\xff\xfe 1").is_err());
        assert!(parse(b"main;a -3\n").is_err());
        assert!(parse(b"main;a NaN\n").is_err());
    }

    #[test]
    fn deep_stacks_are_truncated_not_fatal() {
        let line = format!("{} 1\n", vec!["f"; MAX_DEPTH + 10].join(";"));
        let p = parse(line.as_bytes()).unwrap();
        assert_eq!(p.quality.truncated_stacks, 1);
        assert_eq!(p.samples[0].locations.len(), MAX_DEPTH);
    }

    /// Streaming folded text into a merger gives the very profile (ids, order, values,
    /// metadata) that adding its parsed profile gives, also after other formats' inputs.
    #[test]
    fn streamed_merge_equals_merge_of_parsed_profiles() {
        use crate::model::{Function, Line, Location};
        let texts: [&[u8]; 3] = [
            b"main;a;b 3\nmain;a 2\n;[unknown];x 1\n",
            b"main;a;b 1\nmain;c 4\n",
            b"other;a 7\nmain;a;b 1\n",
        ];
        // A pprof-like input whose location equals the folded frame `a`, and one that does not.
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        let fa = b.function(Function {
            name: "a".into(),
            system_name: "a".into(),
            ..Default::default()
        });
        let la = b.location(Location {
            lines: vec![Line {
                function: fa,
                line: 0,
                column: 0,
            }],
            ..Default::default()
        });
        let lx = b.location(Location {
            address: 0x10,
            ..Default::default()
        });
        b.add_sample(&[lx, la], &[5]);
        let structured = b.finish();

        let mut want = Merger::new();
        let mut got = Merger::new();
        for (i, t) in texts.iter().enumerate() {
            let mut p = parse(t).unwrap();
            p.metadata.insert("format".into(), "folded stacks".into());
            want.add(&p).unwrap();
            merge_into(t, &mut got).unwrap();
            if i == 0 {
                want.add(&structured).unwrap();
                got.add(&structured).unwrap();
            }
        }
        assert_eq!(got.finish().unwrap(), want.finish().unwrap());
    }

    #[test]
    fn streamed_merge_reports_parse_and_type_errors() {
        let mut m = Merger::new();
        assert!(matches!(
            merge_into(b"main;a 1\nmain;b\n", &mut m),
            Err(MergeFoldedError::Parse(_))
        ));
        let mut m = Merger::new();
        let mut p = parse(b"main 1\n").unwrap();
        p.sample_types[0] = ValueType::new("cpu", "nanoseconds");
        m.add(&p).unwrap();
        assert!(matches!(
            merge_into(b"main 1\n", &mut m),
            Err(MergeFoldedError::Merge(_))
        ));
    }

    #[test]
    fn hostile_names_stay_parseable() {
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        let f = b.frame("evil;name\nwith newline");
        b.add_sample(&[f], &[1]);
        let mut out = Vec::new();
        write(&b.finish(), 0, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "evil:name with newline 1\n"
        );
    }
}
