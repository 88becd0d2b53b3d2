//! Austin's collapsed samples: what Austin 3 (the CPython frame stack sampler) writes with
//! `austin -o FILE` or to a pipe, and what `mojo2austin` makes of Austin 4's binary output.
//! `# key: value` metadata lines (`# austin: 3.7.0`, `# interval: 5000`, `# mode: wall`, at
//! the end `# duration: 1003721`) surround one sample per line:
//! `P<pid>;T<interpreter>:<tid>;<file>:<function>:<line>;... <metrics>`, root frame first.
//!
//! The metrics depend on the mode, so a file without its `# mode:` header is refused rather
//! than guessed at. Sample types follow Austin's own converters (austin2speedscope,
//! austin2pprof): `wall` or `cpu` (`-s`/`-c`) microseconds per sample; `-m` memory deltas
//! in bytes, split into `alloc` (positive deltas) and `dealloc` (negated negative ones); `-f`
//! full metrics `time,idle,memory`, giving `cpu` (the time of samples not idle), `wall`,
//! `alloc` and `dealloc`, with `wall` the default. `samples`/`count` counts the lines (one
//! per sample), which sampling noise depends on; in files merged by `austin-compress` (no
//! stack on two lines) a line counts `time / interval` samples. As the folded reader would read it, the
//! microseconds would be taken for sample counts.
//!
//! Each stack sits under a `Process <pid> Thread <tid>` root frame, a thread label like
//! py-spy's. Samples without Python frames (a thread seen between frames) are left out, as
//! austin2speedscope does, and counted in a note.

use crate::analysis::diff::CLOCK_KEY;
use crate::error::ParseError;
use crate::formats::folded::{truncate_for_message, MAX_DEPTH};
use crate::model::{Function, Line, Location, LocationId, Profile, ProfileBuilder, ValueType};
use rustc_hash::FxHashMap;

/// True for Austin output: its `# austin: VERSION` header, or (headerless) a first line
/// shaped like a sample, `P<pid>;T...`.
pub fn sniff(text: &str) -> bool {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    first.starts_with("# austin: ") || is_sample(first)
}

/// `P<digits>;T` at the start of a line.
fn is_sample(line: &str) -> bool {
    line.strip_prefix('P')
        .and_then(|rest| rest.split_once(";T"))
        .is_some_and(|(pid, _)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Wall,
    Cpu,
    Memory,
    Full,
}

impl Mode {
    fn from_header(value: &str) -> Option<Mode> {
        Some(match value.trim() {
            "wall" => Mode::Wall,
            "cpu" => Mode::Cpu,
            "memory" => Mode::Memory,
            "full" => Mode::Full,
            _ => return None,
        })
    }

    /// The sample types of this mode and the index of the default one: `samples`/`count`
    /// (one per line) first, then the metrics.
    fn sample_types(self) -> (Vec<ValueType>, usize) {
        let us = |k: &str| ValueType::new(k, "microseconds");
        let bytes = |k: &str| ValueType::new(k, "bytes");
        let (metrics, default) = match self {
            Mode::Wall => (vec![us("wall")], 0),
            Mode::Cpu => (vec![us("cpu")], 0),
            Mode::Memory => (vec![bytes("alloc"), bytes("dealloc")], 0),
            Mode::Full => (
                vec![us("cpu"), us("wall"), bytes("alloc"), bytes("dealloc")],
                1,
            ),
        };
        let mut types = vec![ValueType::samples()];
        types.extend(metrics);
        (types, default + 1)
    }

    /// The (wall) time of a sample's values, in modes that measure time.
    fn time(self, values: &[i64]) -> Option<i64> {
        match self {
            Mode::Wall | Mode::Cpu => Some(values[1]),
            Mode::Full => Some(values[3]),
            Mode::Memory => None,
        }
    }

    /// A sample's values from its metrics field, in the order of [`Mode::sample_types`].
    fn values(self, metrics: &str) -> Option<Vec<i64>> {
        let int = |s: &str| s.trim().parse::<i64>().ok();
        let split = |m: i64| [m.max(0), m.checked_neg().unwrap_or(i64::MAX).max(0)];
        match self {
            Mode::Wall | Mode::Cpu => int(metrics).filter(|&t| t >= 0).map(|t| vec![1, t]),
            Mode::Memory => int(metrics).map(|m| [[1].as_slice(), &split(m)].concat()),
            Mode::Full => {
                let mut it = metrics.split(',');
                let (t, idle, m) = (int(it.next()?)?, int(it.next()?)?, int(it.next()?)?);
                if it.next().is_some() || t < 0 || !(0..=1).contains(&idle) {
                    return None;
                }
                let [alloc, dealloc] = split(m);
                Some(vec![1, if idle == 1 { 0 } else { t }, t, alloc, dealloc])
            }
        }
    }
}

struct Reader<'a> {
    mode: Option<Mode>,
    b: Option<ProfileBuilder>,
    frames: FxHashMap<&'a str, LocationId>,
    roots: FxHashMap<(&'a str, &'a str), LocationId>,
    stack: Vec<LocationId>,
    samples: u64,
    frameless: u64,
    truncated: u64,
    duration_us: Option<i64>,
    interval_us: Option<i64>,
    /// Stacks merged into one line each (`austin-compress`): a line holds many samples.
    aggregated: bool,
}

/// Parse Austin collapsed samples.
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let text = std::str::from_utf8(data)
        .map_err(|e| ParseError::new(format!("Austin output that is not UTF-8: {e}")))?;
    let mut r = Reader {
        mode: None,
        b: None,
        frames: FxHashMap::default(),
        roots: FxHashMap::default(),
        stack: Vec::new(),
        samples: 0,
        frameless: 0,
        truncated: 0,
        duration_us: None,
        interval_us: None,
        aggregated: is_aggregated(text),
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if let Some(meta) = line.strip_prefix("# ") {
            r.metadata(meta, i + 1)?;
        } else if !line.trim().is_empty() {
            r.sample(line, i + 1)?;
        }
    }
    r.finish()
}

impl<'a> Reader<'a> {
    fn metadata(&mut self, meta: &str, lineno: usize) -> Result<(), ParseError> {
        let (key, value) = meta.split_once(": ").unwrap_or((meta, ""));
        match key.trim() {
            "mode" if self.b.is_none() => {
                let mode = Mode::from_header(value).ok_or_else(|| {
                    ParseError::new(format!(
                        "line {lineno}: unknown Austin mode {:?}",
                        truncate_for_message(value)
                    ))
                })?;
                let (types, default) = mode.sample_types();
                let mut b = ProfileBuilder::new(types);
                b.profile_mut().default_sample_type = Some(default);
                self.mode = Some(mode);
                self.b = Some(b);
            }
            "duration" => self.duration_us = value.trim().parse().ok(),
            "interval" => self.interval_us = value.trim().parse().ok().filter(|&i: &i64| i > 0),
            _ => {}
        }
        Ok(())
    }

    fn sample(&mut self, line: &'a str, lineno: usize) -> Result<(), ParseError> {
        let bad = |what: &str| {
            ParseError::new(format!(
                "line {lineno}: {what}: {:?}",
                truncate_for_message(line)
            ))
        };
        let (Some(mode), Some(b)) = (self.mode, self.b.as_mut()) else {
            return Err(bad(
                "an Austin sample before any '# mode:' header (Austin before 3.0, or a cut \
                 file): its metric could be microseconds or bytes, so it is not read",
            ));
        };
        let (head, metrics) = line.rsplit_once(' ').ok_or_else(|| bad("no metrics"))?;
        let mut values = mode
            .values(metrics)
            .ok_or_else(|| bad(&format!("metrics that do not fit {mode:?} mode")))?;
        if let (true, Some(interval), Some(t)) =
            (self.aggregated, self.interval_us, mode.time(&values))
        {
            values[0] = ((t as f64 / interval as f64).round() as i64).max(1);
        }
        let mut parts = head.split(';');
        let pid = parts.next().and_then(|p| p.strip_prefix('P'));
        let thread = parts.next().and_then(|t| t.strip_prefix('T'));
        let (Some(pid), Some(thread)) = (pid, thread) else {
            return Err(bad(
                "not an Austin sample (P<pid>;T<thread>;frames metrics)",
            ));
        };
        self.stack.clear();
        for frame in parts {
            let loc = match self.frames.get(frame) {
                Some(&l) => l,
                None => {
                    let l = frame_location(b, frame)
                        .ok_or_else(|| bad("a frame that is not file:function:line"))?;
                    self.frames.insert(frame, l);
                    l
                }
            };
            self.stack.push(loc);
        }
        if self.stack.is_empty() {
            self.frameless += 1;
            return Ok(());
        }
        // Leaf first; past the depth limit the outermost frames go.
        self.stack.reverse();
        let cut = self.stack.len() > MAX_DEPTH;
        self.stack.truncate(MAX_DEPTH);
        let root = *self
            .roots
            .entry((pid, thread))
            .or_insert_with(|| b.frame(&thread_label(pid, thread)));
        self.stack.push(root);
        b.add_sample(&self.stack, &values);
        self.samples += 1;
        self.truncated += u64::from(cut);
        Ok(())
    }

    fn finish(self) -> Result<Profile, ParseError> {
        let Some(mut b) = self.b else {
            return Err(ParseError::new(
                "Austin output without samples or a '# mode:' header",
            ));
        };
        if self.samples == 0 {
            return Err(ParseError::new("no Austin samples with Python frames"));
        }
        let mode = self.mode.unwrap_or(Mode::Wall);
        let p = b.profile_mut();
        p.quality.truncated_stacks = self.truncated;
        if self.frameless > 0 {
            p.quality.notes.push(format!(
                "{} Austin samples without Python frames left out (as austin2speedscope does)",
                self.frameless
            ));
        }
        if let Some(us) = self.duration_us.filter(|&d| d > 0) {
            p.duration_nanos = us.saturating_mul(1000);
        }
        p.metadata.insert("tool".into(), "austin".into());
        p.metadata
            .insert("mode".into(), format!("{mode:?}").to_lowercase());
        if matches!(mode, Mode::Wall | Mode::Full) {
            p.metadata.insert(CLOCK_KEY.into(), "wall".into());
        }
        crate::model::roots::mark_thread_roots(p);
        Ok(b.finish())
    }
}

/// Whether no stack appears on two lines: Austin writes one line per sample, so stacks
/// repeat; `austin-compress` merges each stack into one line, summing its metrics. Such a
/// line holds about `time / interval` samples.
fn is_aggregated(text: &str) -> bool {
    let mut seen = rustc_hash::FxHashSet::default();
    let mut lines = 0usize;
    for line in text.lines().filter(|l| l.starts_with('P')) {
        let head = line.rsplit_once(' ').map_or(line, |(h, _)| h);
        if !seen.insert(head) {
            return false;
        }
        lines += 1;
    }
    lines > 1
}

/// `Process 123 Thread 456`, with the interpreter when it is not the main one (`T1:456`).
fn thread_label(pid: &str, thread: &str) -> String {
    match thread.split_once(':') {
        Some(("0", tid)) => format!("Process {pid} Thread {tid}"),
        Some((iid, tid)) => format!("Process {pid} Thread {tid} (interpreter {iid})"),
        None => format!("Process {pid} Thread {thread}"),
    }
}

/// The location of a `file:function:line` frame (the file may hold `:`, as `C:\a.py`);
/// Austin's own markers (`:INVALID:`, `:GC:`) have no file or line.
fn frame_location(b: &mut ProfileBuilder, frame: &str) -> Option<LocationId> {
    let mut it = frame.rsplitn(3, ':');
    let (line, function, file) = (it.next()?, it.next()?, it.next()?);
    let line = match line {
        "" => 0,
        l => l.parse::<i64>().ok()?,
    };
    let f = b.function(Function {
        name: function.to_string(),
        system_name: function.to_string(),
        filename: file.to_string(),
        start_line: 0,
    });
    Some(b.location(Location {
        lines: vec![Line {
            function: f,
            line,
            column: 0,
        }],
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded::fold;

    const WALL: &str = "# austin: 3.7.0\n# interval: 5000\n# mode: wall\n\n\
P10;T0:10;/a/app.py:<module>:15;/a/app.py:main:13;/a/app.py:spin:4 5000\n\
P10;T0:11;/a/app.py:worker:7;/a/app.py:spin:4 4990\n\
P10;T0:10;/a/app.py:<module>:15;/a/app.py:main:13;/a/app.py:spin:4 5010\n\
P10;T0:10 5075\n\n# duration: 20075\n";

    #[test]
    fn wall_mode_is_microseconds_under_thread_roots() {
        assert!(sniff(WALL));
        let p = parse(WALL.as_bytes()).unwrap();
        p.validate().unwrap();
        assert_eq!(
            p.sample_types,
            vec![ValueType::samples(), ValueType::new("wall", "microseconds")]
        );
        assert_eq!(p.default_value_index(), 1);
        assert_eq!(p.total(0), 3);
        assert_eq!(
            fold(&p, 1),
            vec![
                ("Process 10 Thread 10;<module>;main;spin".to_string(), 10010),
                ("Process 10 Thread 11;worker;spin".to_string(), 4990),
            ]
        );
        assert_eq!(p.duration_nanos, 20_075_000);
        assert_eq!(p.metadata[CLOCK_KEY], "wall");
        assert!(p.quality.notes[0].starts_with("1 Austin samples without Python frames"));
        let spin = p.functions.iter().find(|f| f.name == "spin").unwrap();
        assert_eq!(spin.filename, "/a/app.py");
    }

    #[test]
    fn full_mode_splits_cpu_wall_and_memory() {
        let t = "# austin: 3.7.0\n# mode: full\n\
P1;T0:1;a.py:f:1 100,0,4096\nP1;T0:1;a.py:f:1 200,1,-1024\nP1;T0:1;C:\\w\\b.py:g:2;:GC: 50,0,0\n";
        let p = parse(t.as_bytes()).unwrap();
        let kinds: Vec<&str> = p.sample_types.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(kinds, ["samples", "cpu", "wall", "alloc", "dealloc"]);
        assert_eq!(p.default_value_index(), 2);
        assert_eq!(
            [p.total(0), p.total(1), p.total(2), p.total(3), p.total(4)],
            [3, 150, 350, 4096, 1024]
        );
        let g = p.functions.iter().find(|f| f.name == "g").unwrap();
        assert_eq!(g.filename, "C:\\w\\b.py");
        assert!(p.functions.iter().any(|f| f.name == "GC"));
    }

    /// `austin-compress` output: one line per stack, its time summed over its samples.
    #[test]
    fn compressed_lines_count_their_samples() {
        let t = "# interval: 5000\n# mode: wall\nP1;T0:1;a.py:f:1 50000\nP1;T0:1;a.py:g:2 4900\n";
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!((p.total(0), p.total(1)), (11, 54900));
        // Uncompressed files count their lines, late samples too.
        let t = "# interval: 5000\n# mode: wall\nP1;T0:1;a.py:f:1 50000\nP1;T0:1;a.py:f:1 4900\n";
        assert_eq!(parse(t.as_bytes()).unwrap().total(0), 2);
    }

    #[test]
    fn memory_mode_is_bytes_allocated_and_released() {
        let t = "# mode: memory\nP1;T0:1;a.py:f:1 4096\nP1;T0:1;a.py:g:2 -512\n";
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(p.sample_types[1], ValueType::new("alloc", "bytes"));
        assert_eq!(p.default_value_index(), 1);
        assert_eq!((p.total(1), p.total(2)), (4096, 512));
        assert!(!p.metadata.contains_key(CLOCK_KEY));
    }

    #[test]
    fn unclear_or_broken_files_are_refused() {
        let err = |t: &str| parse(t.as_bytes()).unwrap_err().0;
        assert!(sniff("P1;T1;a.py:f:1 10\n"));
        assert!(err("P1;T1;a.py:f:1 10\n").contains("before any '# mode:' header"));
        assert!(err("# mode: cpu\nP1;T0:1;a.py:f:1 10,0,3\n").contains("do not fit Cpu mode"));
        assert!(err("# mode: full\nP1;T0:1;a.py:f:1 10\n").contains("do not fit Full mode"));
        assert!(err("# mode: wall\nP1;T0:1;a.py:f:x 10\n").contains("not file:function:line"));
        assert!(err("# mode: wall\nP1;T0:1;f 10\n").contains("not file:function:line"));
        assert!(err("# mode: wall\nP1;T0:1 10\n").contains("no Austin samples"));
        assert!(err("# mode: sideways\n").contains("unknown Austin mode"));
        assert!(err("# austin: 3.7.0\n").contains("without samples"));
        assert!(err("# mode: wall\nQ1;T0:1;a.py:f:1 10\n").contains("not an Austin sample"));
    }
}
