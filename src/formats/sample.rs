//! macOS `sample` output (`sample PID -file out.txt`, also what Activity Monitor's "Sample
//! Process" saves): a header, then `Call graph:` and one indented tree per thread, each line
//! `COUNT function  (in module) + offset [address]` and deeper calls indented by two more
//! characters (spaces or `+ | : !` guides), until `Total number in stack`.
//!
//! Stacks are folded as inferno's `collapse-sample` folds them, so folded output equals
//! inferno's: frames are `module`function` (`.dylib` dropped), every leaf of the tree is a stack
//! with its own count, and stacks whose leaf is an idle wait (`__psynch_cvwait`, `mach_msg_trap`,
//! `kevent`, ...) are left out, as waiting threads would hide what runs. Where one call path
//! appears twice (the same function at two offsets), its counts are summed.

use crate::error::ParseError;
use crate::formats::folded::{truncate_for_message, MAX_DEPTH};
use crate::formats::perf_script::fix_rust_symbol;
use crate::model::{LocationId, Profile, ProfileBuilder, ValueType};

/// Leaf functions of threads that wait: their stacks are left out (as inferno does).
const IDLE_LEAVES: &[&str] = &[
    "__psynch_cvwait",
    "__select",
    "__semwait_signal",
    "__ulock_wait",
    "__wait4",
    "__workq_kernreturn",
    "kevent",
    "mach_msg_trap",
    "read",
    "semaphore_wait_trap",
];

const START: &str = "Call graph:";
const END: &str = "Total number in stack";

/// True for `sample` output: its `Analysis of sampling` header, or a `Call graph:` line
/// followed by an indented `COUNT name` line.
pub fn sniff(text: &str) -> bool {
    if text.starts_with("Analysis of sampling ") {
        return true;
    }
    let mut lines = text.lines();
    lines.by_ref().find(|l| l.starts_with(START)).is_some()
        && lines.find(|l| !l.trim().is_empty()).is_some_and(|l| {
            l.starts_with("    ")
                && l.split_whitespace()
                    .next()
                    .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Parse `sample` text into a profile of `samples`/`count`.
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines().enumerate();
    if !lines.by_ref().any(|(_, l)| l.starts_with(START)) {
        return Err(ParseError::new(format!(
            "no call graph: the file ends before its `{START}` line"
        )));
    }
    let mut tree = Tree::new();
    for (n, line) in lines {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if line.starts_with(END) {
            return tree.finish();
        }
        if !line.starts_with("    ") {
            return Err(bad_line(
                n,
                "a call graph line must start with 4 spaces",
                line,
            ));
        }
        tree.line(&line[4..])
            .map_err(|why| bad_line(n, why, line))?;
    }
    Err(ParseError::new(format!(
        "the file ends inside the call graph (no `{END}` line after it)"
    )))
}

fn bad_line(n: usize, why: &str, line: &str) -> ParseError {
    ParseError::new(format!(
        "line {}: {why}: {:?}",
        n + 1,
        truncate_for_message(line)
    ))
}

/// The call tree read so far: the path to the current line and its count.
struct Tree {
    b: ProfileBuilder,
    /// Frame names from the thread down to the current line.
    path: Vec<String>,
    /// Count of the current (deepest) line.
    count: i64,
    stacks: u64,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            b: ProfileBuilder::new(vec![ValueType::samples()]),
            path: Vec::new(),
            count: 0,
            stacks: 0,
        }
    }

    /// One line after the 4-space margin: indent guides, then `COUNT name  (in module) ...`.
    fn line(&mut self, line: &str) -> Result<(), &'static str> {
        let guide = |c: char| matches!(c, ' ' | '+' | '|' | ':' | '!');
        let indent = line
            .find(|c| !guide(c))
            .ok_or("a stack line with only indent characters")?;
        if indent % 2 != 0 {
            return Err("odd number of indentation characters");
        }
        let depth = indent / 2 + 1;
        let prev = self.path.len();
        if depth <= prev {
            // The previous line was a leaf of the tree.
            self.emit();
            self.path.truncate(depth - 1);
        } else if depth > prev + 1 {
            return Err("skipped indentation level");
        }
        let (count, name) = entry(&line[indent..]).ok_or("unable to parse stack line")?;
        self.count = count.parse().map_err(|_| "invalid samples field")?;
        self.path.push(name);
        Ok(())
    }

    /// The current path is a leaf: add it as a stack, unless it is an idle wait.
    fn emit(&mut self) {
        let Some(leaf) = self.path.last() else {
            return;
        };
        if IDLE_LEAVES.iter().any(|s| leaf.ends_with(s)) || self.count == 0 {
            return;
        }
        let stack: Vec<LocationId> = self
            .path
            .iter()
            .rev()
            .take(MAX_DEPTH)
            .map(|name| self.b.frame(name))
            .collect();
        self.b.add_sample(&stack, &[self.count]);
        self.stacks += 1;
    }

    fn finish(mut self) -> Result<Profile, ParseError> {
        self.emit();
        if self.stacks == 0 {
            return Err(ParseError::new("the call graph holds no stacks"));
        }
        self.b
            .profile_mut()
            .metadata
            .insert("tool".into(), "sample".into());
        Ok(self.b.finish())
    }
}

/// `COUNT function  (in module) + off [addr]` → (COUNT, `module`function`).
fn entry(text: &str) -> Option<(&str, String)> {
    let (count, rest) = text.split_once(' ')?;
    let func = rest.find('(').map_or(rest, |i| &rest[..i]).trim_end();
    let module = rest
        .rsplit_once("(in ")
        .and_then(|(_, m)| m.split_once(')'))
        .map(|(m, _)| m.strip_suffix(".dylib").unwrap_or(m))
        .unwrap_or("");
    let func = fix_rust_symbol(func);
    let name = if module.is_empty() {
        func.into_owned()
    } else {
        format!("{module}`{func}")
    };
    Some((count.trim_end(), name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded::fold;

    const SMALL: &str = "Analysis of sampling app (pid 1) every 1 millisecond\n\nCall graph:\n    10 Thread_1   DispatchQueue_1: com.apple.main-thread  (serial)\n    + 10 start  (in libdyld.dylib) + 1  [0x1]\n    +   7 main  (in app) + 2  [0x2]\n    +   ! 5 work  (in app) + 3  [0x3]\n    +   3 main  (in app) + 9  [0x9]\n    +     3 __psynch_cvwait  (in libsystem_kernel.dylib) + 4  [0x4]\n    4 Thread_2\n    + 4 worker  (in app) + 1  [0x5]\n\nTotal number in stack (recursive counted multiple times):\n";

    #[test]
    fn folds_like_inferno() {
        assert!(sniff(SMALL));
        let p = parse(SMALL.as_bytes()).unwrap();
        assert_eq!(
            fold(&p, 0),
            vec![
                (
                    "Thread_1   DispatchQueue_1: com.apple.main-thread;libdyld`start;app`main;app`work"
                        .to_string(),
                    5
                ),
                ("Thread_2;app`worker".to_string(), 4),
            ]
        );
    }

    #[test]
    fn malformed_call_graphs_name_the_line() {
        let e = |t: &str| parse(t.as_bytes()).unwrap_err().0;
        assert!(e("Analysis of sampling x\n").contains("no call graph"));
        assert!(e("Call graph:\n    3 Thread_1\n").contains("ends inside"));
        assert!(e("Call graph:\n  3 Thread_1\nTotal number in stack\n").contains("4 spaces"));
        assert!(
            e("Call graph:\n    3 T\n    +     2 f\nTotal number in stack\n")
                .contains("skipped indentation")
        );
        assert!(e("Call graph:\n    3 T\n     2 f\nTotal number in stack\n").contains("odd"));
        assert!(e("Call graph:\n    x T\nTotal number in stack\n").contains("samples field"));
    }
}
