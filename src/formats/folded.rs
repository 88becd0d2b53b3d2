//! Folded stacks: one line per unique stack, frames root first separated by `;`, then a space
//! and a count — `main;parse;read 12`. Written by inferno's and FlameGraph's collapsers and by
//! py-spy `--format raw`.
//!
//! Counts may be fractional (`12.5`); profile values are integers, so fractional counts are
//! truncated toward zero, as inferno does, with a warning saying how much weight that lost; a
//! file whose weight is mostly fractions (`0.013`) is refused. Lines that do not end in a count are
//! skipped with a warning giving their count and the first one's line number (as inferno and
//! speedscope skip them); a file where they are the majority is refused. Empty frames
//! (`a;;b`) are kept as `[unknown]`. A line with a count and no frames (py-spy writes ` 7`
//! for samples without Python frames) is a sample with an empty stack: it counts in the
//! total, as in flamegraph.pl (inferno-flamegraph skips it). Two counts per line (`stack
//! BEFORE AFTER`, inferno's `diff-folded` output) make a differential file with `before` and
//! `after` sample types. A file whose every stack reads as `key: value` (run metadata, YAML,
//! headers: `wall_seconds: 2.234`) is refused: it only looks like folded stacks.

use crate::error::ParseError;
use crate::model::ops::{MergeError, Merger};
use crate::model::{roots, DataQuality, Profile, ProfileBuilder, StackSink, ValueType};
use std::io::{self, Write};

/// Largest stack depth accepted; deeper stacks are truncated (and counted) to bound memory.
pub const MAX_DEPTH: usize = 16 * 1024;

/// Split one folded line into (stack, count). `None` when the line has no trailing count.
/// The stack may be empty (py-spy `--format raw` writes ` 7` for samples without frames).
pub fn parse_line(line: &str) -> Option<(&str, f64)> {
    let line = line.trim_end();
    let (stack, count) = match line.rsplit_once([' ', '\t']) {
        Some((stack, count)) => (stack.trim_end(), count),
        None => ("", line),
    };
    if stack.is_empty() && line.len() == count.len() {
        // A bare number with nothing before it is not a folded line.
        return None;
    }
    let c = parse_count(count)?;
    Some((stack, c))
}

/// A count: digits with an optional fraction, finite.
fn parse_count(count: &str) -> Option<f64> {
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    count.parse().ok().filter(|c: &f64| c.is_finite())
}

/// Split a differential line (`stack BEFORE AFTER`, inferno's `diff-folded` output) into
/// (stack, before, after).
pub fn parse_differential_line(line: &str) -> Option<(&str, f64, f64)> {
    let (rest, after) = parse_line(line)?;
    let (stack, before) = parse_line(rest)?;
    Some((stack, before, after))
}

/// True when the file's folded lines carry two counts (a differential file, as inferno's
/// `diff-folded` writes): the first lines with a count all have two.
pub fn is_differential(text: &str) -> bool {
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter(|l| parse_line(l).is_some())
        .take(100)
        .peekable();
    lines.peek().is_some() && lines.all(|l| parse_differential_line(l).is_some())
}

/// The sample types of a folded file: one count, or a differential file's `before` and
/// `after` (the default, as inferno-flamegraph sizes frames by the second count).
fn sample_types(differential: bool) -> Vec<ValueType> {
    if differential {
        vec![
            ValueType::new("before", "count"),
            ValueType::new("after", "count"),
        ]
    } else {
        vec![ValueType::samples()]
    }
}

/// Parse folded stacks into a profile with one sample type, `samples`/`count`, or `before`
/// and `after` for a differential file.
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let text = as_text(data)?;
    let differential = is_differential(text);
    let mut b = ProfileBuilder::new(sample_types(differential));
    let quality = parse_into(data, &mut b)?;
    let p = b.profile_mut();
    p.quality = quality;
    if differential {
        p.default_sample_type = Some(1);
    }
    let mut p = b.finish();
    mark_python_sampler_clock(&mut p);
    Ok(p)
}

/// Folded stacks cannot say what their sampler's clock measures, but Python frames written
/// `name (file.py:line)` come from py-spy's `--format raw` (or Austin): samplers that see a
/// thread whether or not it runs on a CPU. Marked `clock=wall` like their speedscope output, so
/// `compare` uses the wall-clock noise floor for them too.
fn mark_python_sampler_clock(p: &mut Profile) {
    let python = p
        .functions
        .iter()
        .filter(|f| is_python_frame(&f.name))
        .count();
    let labels = p
        .functions
        .iter()
        .filter(|f| f.name == crate::model::UNKNOWN || roots::without_ids(&f.name).is_some())
        .count();
    if python > 0 && (python + labels) * 20 >= p.functions.len() * 19 {
        p.metadata
            .insert(crate::analysis::diff::CLOCK_KEY.into(), "wall".into());
    }
}

/// `name (file.py:12)`, `name (<frozen importlib._bootstrap>:1176)`, or with py-spy's
/// `--nolineno` `name (file.py)`.
fn is_python_frame(name: &str) -> bool {
    let Some(inner) = name
        .strip_suffix(')')
        .and_then(|n| n.rsplit_once(" ("))
        .map(|(_, i)| i)
    else {
        return false;
    };
    let file = match inner.rsplit_once(':') {
        Some((f, line)) if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) => f,
        _ => inner,
    };
    file.ends_with(".py") || (file.starts_with("<frozen ") && file.ends_with('>'))
}

/// What a folded profile is besides its stacks: the header for [`Merger::add_stacks`].
pub fn header(differential: bool) -> Profile {
    let mut p = Profile {
        sample_types: sample_types(differential),
        default_sample_type: differential.then_some(1),
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
    let differential = is_differential(as_text(data)?);
    let r = m.add_stacks(&header(differential), |sink| parse_into(data, sink))?;
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

fn as_text(data: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(data).map_err(|e| {
        ParseError::new(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// Lines that are not folded stacks (comments other than `#`, truncated lines, log output):
/// skipped with a warning, as inferno and speedscope do, unless they are most of the file.
#[derive(Default)]
struct Skipped {
    count: u64,
    first: Option<(usize, String)>,
}

impl Skipped {
    fn add(&mut self, lineno: usize, line: &str) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((lineno, truncate_for_message(line)));
        }
    }

    /// The warning for a readable file, or the error for a file that is mostly not folded.
    fn verdict(self, stacks: u64, differential: bool) -> Result<Option<String>, ParseError> {
        let Some((lineno, line)) = self.first else {
            return Ok(None);
        };
        let expected = if differential {
            "`frame;frame;... BEFORE AFTER`"
        } else {
            "`frame;frame;... COUNT`"
        };
        if stacks == 0 || self.count > stacks {
            return Err(ParseError::new(format!(
                "line {lineno}: expected {expected}, got {line:?} ({} of {} lines are not folded stacks)",
                self.count,
                self.count + stacks
            )));
        }
        Ok(Some(format!(
            "skipped {} line(s) that are not folded stacks (first: line {lineno}, {line:?})",
            self.count
        )))
    }
}

/// Parse folded stacks into `sink` (one value per sample, or before and after for a
/// [differential](is_differential) file): the returned quality counts the stacks cut at
/// [`MAX_DEPTH`] and warns about skipped lines.
pub fn parse_into<S: StackSink + ?Sized>(
    data: &[u8],
    sink: &mut S,
) -> Result<DataQuality, ParseError> {
    let text = as_text(data)?;
    let differential = is_differential(text);
    let mut stack = Vec::new();
    let mut truncated = 0u64;
    let mut stacks = 0u64;
    let mut skipped = Skipped::default();
    let mut weight = Fractions::default();
    let mut key_values = KeyValues::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = if differential {
            parse_differential_line(line).map(|(s, a, b)| (s, [weight.take(a), weight.take(b)]))
        } else {
            parse_line(line).map(|(s, c)| (s, [weight.take(c), 0]))
        };
        let Some((frames, values)) = parsed else {
            skipped.add(n + 1, line);
            continue;
        };
        stacks += 1;
        key_values.check(n + 1, frames);
        stack.clear();
        if !frames.is_empty() {
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
        }
        let values = if differential {
            &values[..]
        } else {
            &values[..1]
        };
        sink.add_sample(&stack, values);
    }
    if stacks == 0 && skipped.count == 0 {
        return Err(ParseError::new("no stacks found"));
    }
    let mut quality = DataQuality {
        truncated_stacks: truncated,
        ..DataQuality::default()
    };
    key_values.verdict(stacks)?;
    quality.notes.extend(skipped.verdict(stacks, differential)?);
    quality.notes.extend(weight.verdict()?);
    Ok(quality)
}

/// Whether the stack of a folded line reads as `key: value` text: one frame that starts with
/// a plain word and a colon followed by a space or nothing.
pub fn is_key_value(frames: &str) -> bool {
    let Some((key, rest)) = frames.split_once(':') else {
        return false;
    };
    let word = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    !frames.contains(';')
        && !key.is_empty()
        && key.bytes().all(word)
        && (rest.is_empty() || rest.starts_with(' '))
}

/// Stacks that read as `key: value` text: one frame that starts with a plain word and a
/// colon (`wall_seconds:`, `loadavg: 9.77 8.64`). Frames of real stacks are qualified names
/// (`a::b`, `pkg.f`, `f (file.py:12)`), so a file where every stack is one is not folded.
#[derive(Default)]
struct KeyValues {
    count: u64,
    first: Option<(usize, String)>,
}

impl KeyValues {
    fn check(&mut self, lineno: usize, frames: &str) {
        if !is_key_value(frames) {
            return;
        }
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((lineno, truncate_for_message(frames)));
        }
    }

    fn verdict(self, stacks: u64) -> Result<(), ParseError> {
        match self.first {
            Some((lineno, key)) if self.count == stacks => Err(ParseError::new(format!(
                "line {lineno}: {key:?} and every other line read as `key: value` text, not \
                 folded stacks (`frame;frame;... COUNT`)"
            ))),
            _ => Ok(()),
        }
    }
}

/// The weight fractional counts lose to truncation. Truncating is what inferno does (with
/// a warning); counts that are mostly fractions (seconds, `0.013`) would lose most of the
/// profile, so such a file is refused.
#[derive(Default)]
struct Fractions {
    total: f64,
    lost: f64,
    lines: u64,
}

impl Fractions {
    /// `count` truncated toward zero, its lost fraction noted.
    fn take(&mut self, count: f64) -> i64 {
        let kept = count.trunc();
        self.total += count;
        if kept != count {
            self.lost += count - kept;
            self.lines += 1;
        }
        kept as i64
    }

    fn verdict(self) -> Result<Option<String>, ParseError> {
        if self.lines == 0 {
            return Ok(None);
        }
        let share = self.lost / self.total.max(f64::MIN_POSITIVE);
        if share > 0.5 {
            return Err(ParseError::new(format!(
                "{} counts are fractions (their fractional parts are {:.0}% of the total \
                 weight), and profiles hold whole counts: scale the counts up (e.g. to \
                 microseconds) first",
                self.lines,
                share * 100.0
            )));
        }
        Ok(Some(format!(
            "{} fractional counts truncated to whole numbers ({:.2}% of the total weight)",
            self.lines,
            share * 100.0
        )))
    }
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

    /// py-spy `--format raw` frames mark the profile as wall-clock sampled; other folded stacks
    /// (perf, C++ names with parentheses) do not.
    #[test]
    fn python_sampler_frames_say_wall_clock() {
        let clock = |text: &str| {
            let p = parse(text.as_bytes()).unwrap();
            p.metadata.get(crate::analysis::diff::CLOCK_KEY).cloned()
        };
        let pyspy = "<module> (app.py:140);run (app.py:60);hash (app.py:18) 5\n\
                     _find_and_load (<frozen importlib._bootstrap>:1176) 1\n 2\n";
        assert_eq!(clock(pyspy).as_deref(), Some("wall"));
        assert_eq!(
            clock("main (app.py);work (app.py) 3\n").as_deref(),
            Some("wall")
        );
        assert_eq!(clock("main;foo(int) 3\nmain;bar (baz) 2\n"), None);
        assert_eq!(
            clock("python3;_PyEval_EvalFrameDefault;main (app.c:12) 4\n"),
            None
        );
    }

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
        assert!(p.quality.notes[0].contains("1 fractional counts truncated"));
        assert!(
            p.quality.notes[0].contains("6.04%"),
            "{:?}",
            p.quality.notes
        );
        let seconds = parse(b"main;a 0.013\nmain;b 0.5\nmain;c 0.9\n").unwrap_err();
        assert!(seconds.0.contains("3 counts are fractions"), "{seconds}");
    }

    #[test]
    fn mostly_invalid_files_name_the_line() {
        let e = parse(b"main;a 1\nmain;b\nmain;c\n").unwrap_err();
        assert!(e.0.starts_with("line 2:"), "{e}");
        assert!(e.0.contains("2 of 3 lines"), "{e}");
        assert!(parse(b"").is_err());
        assert!(parse(b"\xff\xfe 1").is_err());
        assert!(parse(b"main;a -3\n").is_err());
        assert!(parse(b"main;a NaN\n").is_err());
        assert!(parse(b"7\n").is_err());
    }

    /// Run metadata written beside profiles parses line by line as one-frame stacks with
    /// fractional counts; it is refused, naming the first line. Stacks of real profilers
    /// with colons in their frames are not.
    #[test]
    fn key_value_text_is_not_folded() {
        let meta = b"date: 2026-12-05T08:51:32Z\nloadavg_before: 9.77 8.64 6.30\n\
                     wall_seconds: 2.234\ncommand: ./prog -cpuprofile run-01.pb.gz\n";
        let e = parse(meta).unwrap_err();
        assert!(
            e.0.starts_with("line 2: \"loadavg_before: 9.77 8.64\""),
            "{e}"
        );
        assert!(parse(b"retries: 3\nworkers: 8\n").is_err());
        for real in [
            &b"std::rt::lang_start 3\n"[..],
            b"main;a: b 1\nfoo: 2\n",
            b"<module> (app.py:12) 4\n",
            b"[unknown] 1\nfoo: 2\n",
        ] {
            assert!(parse(real).is_ok(), "{}", String::from_utf8_lossy(real));
        }
    }

    /// Issue 14 bug 8: comments and a few malformed lines are skipped with a warning giving
    /// the count and the first line (inferno: "Ignored N lines with invalid format").
    #[test]
    fn a_few_bad_lines_are_skipped_with_a_warning() {
        let p = parse(b"// comment\nmain;a 1\nmain;b 2\ngarbage\nmain;c 3\n").unwrap();
        assert_eq!(p.total(0), 6);
        assert_eq!(p.quality.notes.len(), 1);
        let note = &p.quality.notes[0];
        assert!(
            note.contains("skipped 2 line(s)") && note.contains("line 1"),
            "{note}"
        );
    }

    /// Issue 14 bug 1: py-spy `--format raw` writes samples without frames as ` 7`.
    #[test]
    fn empty_stacks_keep_their_count() {
        let p = parse(b"main;a 3\n 7\n").unwrap();
        assert_eq!(p.total(0), 10);
        assert!(p.quality.notes.is_empty());
    }

    /// Issue 14 bug 5: two-count (differential) files are `before` and `after`, not a count
    /// glued onto the leaf.
    #[test]
    fn differential_files_have_before_and_after() {
        let p = parse(b"main;a 3 5\nmain;b 0 2\nmain;c 4 0\n").unwrap();
        assert_eq!(
            p.sample_types,
            vec![
                ValueType::new("before", "count"),
                ValueType::new("after", "count")
            ]
        );
        assert_eq!(p.default_sample_type, Some(1));
        assert_eq!(
            fold(&p, 0),
            vec![("main;a".into(), 3), ("main;c".into(), 4)]
        );
        assert_eq!(
            fold(&p, 1),
            vec![("main;a".into(), 5), ("main;b".into(), 2)]
        );
        // A frame name ending in a number is not a second count when other lines have one.
        let p = parse(b"main;vec 2 5\nmain;b 1\n").unwrap();
        assert_eq!(p.sample_types.len(), 1);
        assert_eq!(fold(&p, 0)[1], ("main;vec 2".into(), 5));
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
            merge_into(b"main;a 1\nmain;b\nmain;c\n", &mut m),
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
