//! DTrace stack aggregations: what `dtrace -n 'profile-997 { @[ustack()] = count(); }'` (or
//! `stack()`, `jstack()`) prints at exit. A header (`CPU  ID  FUNCTION:NAME`, the probe lines)
//! ends at the first blank line; then each stack is its frames, leaf first, one per line
//! (`module`function+0xoff`, or a bare `0xaddr`), followed by a line holding only its count.
//!
//! Frames are named as inferno's `collapse-dtrace` (and FlameGraph's
//! `stackcollapse.pl`) name them, so folded output equals theirs: the `+0x..` offset goes, a
//! C++ name loses its argument list and template arguments after the first `::`, partially
//! demangled Rust symbols are fixed, `a->b` inline chains become `a;b_[i]` (Java's `L` class
//! prefix dropped) and `;` in a name becomes `:`. An empty frame is `-`.

use crate::error::ParseError;
use crate::formats::folded::MAX_DEPTH;
use crate::formats::perf_script::fix_rust_symbol;
use crate::model::{LocationId, Profile, ProfileBuilder, ValueType};
use std::borrow::Cow;

/// True for text shaped like a DTrace aggregation: dtrace's `CPU ID FUNCTION:NAME` header,
/// or after a header's blank line, stack lines (with a module backtick, or bare hex
/// addresses) and then a count line.
pub fn sniff(text: &str) -> bool {
    // dtrace's own header for probe output, even when no stack follows it.
    let first = text.lines().next().unwrap_or("");
    if first.split_whitespace().eq(["CPU", "ID", "FUNCTION:NAME"]) {
        return true;
    }
    let mut lines = text.lines().map(str::trim);
    if lines.by_ref().take_while(|l| !l.is_empty()).count() == 0 {
        return false;
    }
    let mut frames = 0usize;
    for l in lines.filter(|l| !l.is_empty()).take(200) {
        if is_count(l) {
            return frames > 0;
        } else if l.contains('`') || is_hex_address(l) {
            frames += 1;
        } else {
            return false;
        }
    }
    false
}

fn is_count(line: &str) -> bool {
    !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit())
}

fn is_hex_address(line: &str) -> bool {
    line.strip_prefix("0x")
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Parse a DTrace stack aggregation into a profile of `samples`/`count`.
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines().enumerate();
    // The header ends at the first blank line.
    if !lines.by_ref().any(|(_, l)| l.trim().is_empty()) {
        return Err(ParseError::new(
            "the file ends inside the header (no blank line before the first stack)",
        ));
    }
    let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
    // Frames of the current stack, leaf first (as DTrace prints them).
    let mut stack: Vec<LocationId> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut truncated = 0u64;
    let mut stacks = 0u64;
    let mut last_line = 0usize;
    for (n, line) in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        last_line = n + 1;
        if is_count(line) {
            let count: i64 = line.parse().map_err(|_| {
                ParseError::new(format!("line {}: count {line:?} is too large", n + 1))
            })?;
            if stack.is_empty() {
                return Err(ParseError::new(format!(
                    "line {}: a count without a stack before it",
                    n + 1
                )));
            }
            if stack.len() > MAX_DEPTH {
                stack.truncate(MAX_DEPTH);
                truncated += 1;
            }
            b.add_sample(&stack, &[count]);
            stacks += 1;
            stack.clear();
            continue;
        }
        names.clear();
        frame_names(line, &mut names);
        // An inline chain is written caller first; the stack is kept leaf first.
        for name in names.iter().rev() {
            stack.push(b.frame(name));
        }
    }
    if !stack.is_empty() {
        return Err(ParseError::new(format!(
            "the file ends in the middle of a stack (line {last_line}: no count after it)"
        )));
    }
    if stacks == 0 {
        return Err(ParseError::new("no stacks after the header"));
    }
    let p = b.profile_mut();
    p.quality.truncated_stacks = truncated;
    p.metadata.insert("tool".into(), "dtrace".into());
    Ok(b.finish())
}

/// The folded frame names of one stack line, caller first (more than one for an inline
/// chain `a->b`).
fn frame_names(line: &str, out: &mut Vec<String>) {
    let frame = without_offset(line);
    let frame = if frame.contains("::") {
        without_cpp_arguments(frame)
    } else {
        frame
    };
    let frame: Cow<'_, str> = if frame.is_empty() {
        Cow::Borrowed("-")
    } else {
        rust_fixed(frame)
    };
    if frame.contains("->") {
        for (i, part) in frame.split("->").enumerate() {
            let mut name = part.trim_start_matches('L').replace(';', ":");
            if i > 0 {
                name.push_str("_[i]");
            }
            out.push(name);
        }
    } else {
        out.push(frame.replace(';', ":"));
    }
}

/// Everything before the last `+` (`libc.so.1`strlen+0x12` → `libc.so.1`strlen`).
fn without_offset(line: &str) -> &str {
    line.rfind('+').map_or(line, |i| &line[..i])
}

/// A C++ frame cut at the last `(` or `<` after its first `::` (argument lists and template
/// arguments vary between call sites of one function).
fn without_cpp_arguments(frame: &str) -> &str {
    let Some(scope) = frame.find("::") else {
        return frame;
    };
    match frame[scope + 2..].rfind(['(', '<']) {
        Some(open) => &frame[..scope + 2 + open],
        None => frame,
    }
}

/// `module`symbol` with the symbol's partial Rust demangling fixed.
fn rust_fixed(frame: &str) -> Cow<'_, str> {
    let Some((module, func)) = frame.split_once('`') else {
        return Cow::Borrowed(frame);
    };
    match fix_rust_symbol(func.trim_end()) {
        Cow::Owned(fixed) => Cow::Owned(format!("{module}`{fixed}")),
        Cow::Borrowed(_) => Cow::Borrowed(frame),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded::fold;

    const SMALL: &str = "CPU     ID                    FUNCTION:NAME\n  0  64091                        :tick-60s\n\n\n              libc.so.1`__write+0x8\n              app`std::vector<int>::push_back(int const&)+0x1c\n              app`main+0x20\n                3\n\n              0xfffffd7fff2c1b2d\n              unix`sys_syscall+0x10e\n               12\n";

    #[test]
    fn folds_like_inferno() {
        assert!(sniff(SMALL));
        let p = parse(SMALL.as_bytes()).unwrap();
        assert_eq!(
            fold(&p, 0),
            vec![
                (
                    "app`main;app`std::vector<int>::push_back;libc.so.1`__write".to_string(),
                    3
                ),
                ("unix`sys_syscall;0xfffffd7fff2c1b2d".to_string(), 12),
            ]
        );
    }

    #[test]
    fn inline_chains_and_semicolons() {
        let mut v = Vec::new();
        frame_names("jvm`Lcom/foo;.bar->Lcom/baz;.qux+0x4", &mut v);
        // `L` goes only where a chain part starts with it (after the module it does not).
        assert_eq!(v, vec!["jvm`Lcom/foo:.bar", "com/baz:.qux_[i]"]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(parse(b"CPU ID FUNCTION:NAME\n")
            .unwrap_err()
            .0
            .contains("header"));
        let cut = "hdr\n\n  a`f+0x1\n  a`main+0x2\n";
        assert!(parse(cut.as_bytes())
            .unwrap_err()
            .0
            .contains("middle of a stack"));
        assert!(parse(b"hdr\n\n 5\n")
            .unwrap_err()
            .0
            .contains("without a stack"));
        assert!(!sniff("main;a 3\nmain;b 4\n"));
        assert!(!sniff("hdr\n\nsome prose here\n3\n"));
    }
}
