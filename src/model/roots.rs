//! Process and thread root frames: the outermost frame some readers put above every stack to
//! say which process or thread ran it (perf's `comm`, `comm-PID/TID`, py-spy's
//! `Thread 28294 "MainThread"`, speedscope profile names, `profdiff record`'s thread names).
//!
//! They are labels, not code: a rebuilt binary gets another name (`bench` → `bench-2`) and
//! every run gets new thread ids, so they must never decide which stacks are "the same" across
//! runs or builds. Readers that add such a frame say so in the profile's metadata
//! ([`THREAD_ROOTS_KEY`]). For inputs that cannot say (folded stacks from
//! `stackcollapse-perf`, files written before the mark existed), root frames shaped like the
//! labels above count, and so do roots sitting right above a process or thread entry point
//! (`_start`, `start_thread`, `clone3`, …), which nothing but a label can call. `compare` leaves them out
//! of function identity; `flamegraph` and `merge` of several inputs drop their ids
//! ([`normalize_thread_roots`]) so runs of one program line up.

use super::{Location, Profile};

/// Metadata key a reader sets (to [`THREAD_ROOTS_VALUE`]) when it puts a process or thread
/// frame at the root of every stack.
pub const THREAD_ROOTS_KEY: &str = "root_frames";
/// The value of [`THREAD_ROOTS_KEY`].
pub const THREAD_ROOTS_VALUE: &str = "process/thread";

/// Mark `p` as having a process/thread frame at the root of every stack.
pub fn mark_thread_roots(p: &mut Profile) {
    p.metadata
        .insert(THREAD_ROOTS_KEY.into(), THREAD_ROOTS_VALUE.into());
}

/// Whether the root frames of `p` are process/thread labels: its reader said so, or most
/// stacks have a process or thread entry point right under their root.
pub fn has_thread_roots(p: &Profile) -> bool {
    if p.metadata.get(THREAD_ROOTS_KEY).map(String::as_str) == Some(THREAD_ROOTS_VALUE) {
        return true;
    }
    let (mut deep, mut under_label) = (0usize, 0usize);
    for s in &p.samples {
        let [.., below, root] = s.locations.as_slice() else {
            continue;
        };
        deep += 1;
        let is_entry = |loc: u32| {
            p.locations[loc as usize]
                .lines
                .last()
                .is_some_and(|l| ENTRY_POINTS.contains(&p.function_name(l.function)))
        };
        if is_entry(*below) && !is_entry(*root) {
            under_label += 1;
        }
    }
    deep > 0 && under_label * 2 >= deep
}

/// Outermost frames of a process or a thread: only a label can sit above them.
const ENTRY_POINTS: [&str; 12] = [
    "_start",
    "__libc_start_main",
    "__libc_start_main_impl",
    "__libc_start_call_main",
    "start_thread",
    "clone",
    "clone3",
    "__clone",
    "__clone3",
    "__GI___clone3",
    "thread_start",
    "_dl_start_user",
];

/// Whether location `loc` is a process/thread label by its name alone (see [`without_ids`]),
/// for inputs whose reader could not say.
pub fn is_label_location(p: &Profile, loc: u32) -> bool {
    root_name(p, loc).is_some_and(|n| without_ids(n).is_some())
}

/// The single name of a one-frame location, `None` for anything else (code with inline
/// frames, addresses).
fn root_name(p: &Profile, loc: u32) -> Option<&str> {
    match p.locations.get(loc as usize)?.lines.as_slice() {
        [line] => Some(p.function_name(line.function)),
        _ => None,
    }
}

/// A thread label without the ids that change from run to run: py-spy's
/// `Thread 28294 "worker"` → `Thread "worker"` (with `--subprocesses`, `Process 28290 Thread
/// 28294 "worker"` → the same), Austin's `Process 20639 Thread 20642` → `Thread`,
/// `comm-PID/TID` and `comm-PID` → `comm`, and py-spy's frames for `--subprocesses` and
/// `--threads` ([`py_spy_label`]), and labels ending in their run's time
/// ([`without_timestamp`]). `None` when `name` has no such ids.
pub fn without_ids(name: &str) -> Option<String> {
    if let Some(label) = py_spy_label(name).or_else(|| without_timestamp(name)) {
        return Some(label);
    }
    if let Some(rest) = name.strip_prefix("Process ") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let thread = rest[digits..].strip_prefix(' ').filter(|_| digits > 0)?;
        return without_ids(thread).or_else(|| unnamed_thread(thread));
    }
    if let Some(rest) = name.strip_prefix("Thread ") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let tail = &rest[digits..];
        if digits > 0 && tail.starts_with(" \"") && tail.ends_with('"') {
            return Some(format!("Thread{tail}"));
        }
        return None;
    }
    let (comm, ids) = name.rsplit_once('-')?;
    let mut parts = ids.splitn(2, '/');
    let numeric =
        |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    let pid = parts.next();
    let tid = parts.next();
    // A lone number is a pid only when it could be one after start-up (Linux hands out pids
    // from 300 on when it wraps): `worker-1` … `worker-16` are thread names, not comm-PID.
    let pid_like = |s: Option<&str>| {
        s.and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|n| n >= 300)
    };
    let ids_ok = match tid {
        None => numeric(pid) && pid_like(pid),
        Some(_) => numeric(pid) && numeric(tid),
    };
    (!comm.is_empty() && ids_ok).then(|| comm.to_string())
}

/// pyinstrument's speedscope profile name, `CPU profile for 'Program: app.py' at
/// 2026-12-06T03-43-18` → `CPU profile for 'Program: app.py'`: a label ending in the time of
/// its run (` at ` a date and time, `-` or `:` between hours, minutes and seconds).
fn without_timestamp(name: &str) -> Option<String> {
    let (label, when) = name.rsplit_once(" at ")?;
    let shape: String = when
        .chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect();
    let stamp = shape == "0000-00-00T00-00-00" || shape == "0000-00-00T00:00:00";
    (stamp && !label.is_empty()).then(|| label.to_string())
}

/// py-spy's label frames: `process 26076:"python3 app.py"` → `process "python3 app.py"` (a
/// child process's frame sits under its parent's), `thread (26442): MainThread` → `thread:
/// MainThread`, `thread (0x7F3A)` → `thread`.
fn py_spy_label(name: &str) -> Option<String> {
    if let Some(rest) = name.strip_prefix("process ") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let cmd = rest[digits..].strip_prefix(':').filter(|_| digits > 0)?;
        return (cmd.len() >= 2 && cmd.starts_with('"') && cmd.ends_with('"'))
            .then(|| format!("process {cmd}"));
    }
    let rest = name.strip_prefix("thread (")?;
    let (id, tail) = rest.split_once(')')?;
    let hex = id.strip_prefix("0x").or_else(|| id.strip_prefix("0X"));
    let id_ok = match hex {
        Some(h) => !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
    };
    (id_ok && (tail.is_empty() || tail.starts_with(": "))).then(|| format!("thread{tail}"))
}

/// The number of label frames at the outer end of a root-last stack: the root when `marked`
/// (its reader said so) or shaped like a label, and the labels right under it (py-spy puts a
/// child process's frame under its parent's, and thread frames under those).
pub fn outer_labels(p: &Profile, locations: &[u32], marked: bool) -> usize {
    let mut n = 0;
    for &loc in locations.iter().rev() {
        if !((n == 0 && marked) || is_label_location(p, loc)) {
            break;
        }
        n += 1;
    }
    n
}

/// `Thread 20642`, or `Thread 20642 (interpreter 1)`: `Thread` and what follows the id.
fn unnamed_thread(name: &str) -> Option<String> {
    let rest = name.strip_prefix("Thread ")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let tail = &rest[digits..];
    (digits > 0 && (tail.is_empty() || tail.starts_with(" ("))).then(|| format!("Thread{tail}"))
}

/// Drop the run-specific ids from the label frames at the outer end of every stack (the root,
/// and py-spy's child process and thread frames under it), so several runs of a program merge
/// into one tree. Renamed frames get a location of their own (the function may also be called
/// elsewhere); identical stacks are not re-aggregated here. Returns whether anything changed.
pub fn normalize_thread_roots(p: &mut Profile) -> bool {
    let marked = has_thread_roots(p);
    let mut renamed: rustc_hash::FxHashMap<u32, u32> = Default::default();
    let mut changed = false;
    for i in 0..p.samples.len() {
        let depth = p.samples[i].locations.len();
        // From the root inwards, while the frames are labels (a marked root may have no ids
        // to drop).
        for j in (0..depth).rev() {
            let loc = p.samples[i].locations[j];
            let new_loc = *renamed.entry(loc).or_insert_with(|| {
                match root_name(p, loc).and_then(without_ids) {
                    Some(name) => add_named_location(p, loc, &name),
                    None => loc,
                }
            });
            if new_loc == loc && !(j + 1 == depth && marked) {
                break;
            }
            p.samples[i].locations[j] = new_loc;
            changed |= new_loc != loc;
        }
    }
    changed
}

/// A copy of location `like` whose one function is named `name` (a function of that name is
/// reused when there is one).
fn add_named_location(p: &mut Profile, like: u32, name: &str) -> u32 {
    let function = match p.functions.iter().position(|f| f.name == name) {
        Some(f) => f as u32,
        None => {
            p.functions.push(super::Function {
                name: name.to_string(),
                system_name: name.to_string(),
                ..Default::default()
            });
            (p.functions.len() - 1) as u32
        }
    };
    let mut loc: Location = p.locations[like as usize].clone();
    loc.lines[0].function = function;
    p.locations.push(loc);
    (p.locations.len() - 1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyinstrument_profile_names_lose_their_time() {
        assert_eq!(
            without_ids("CPU profile for 'Program: app.py' at 2026-12-06T03-43-18").as_deref(),
            Some("CPU profile for 'Program: app.py'")
        );
        assert_eq!(
            without_ids("run at 2026-12-06T03:43:18").as_deref(),
            Some("run")
        );
        for not_a_stamp in [
            "look at 2026",
            "at 2026-12-06T03-43-18",
            "x at 2026-12-06T03-43:18",
        ] {
            assert_eq!(without_ids(not_a_stamp), None, "{not_a_stamp}");
        }
    }

    #[test]
    fn ids_are_dropped_from_thread_labels() {
        assert_eq!(
            without_ids("Thread 28294 \"worker\"").as_deref(),
            Some("Thread \"worker\"")
        );
        assert_eq!(
            without_ids("Thread 28294 \"\"").as_deref(),
            Some("Thread \"\"")
        );
        assert_eq!(without_ids("bench-1234").as_deref(), Some("bench"));
        assert_eq!(
            without_ids("V8 Worker-24636/25607").as_deref(),
            Some("V8 Worker")
        );
        assert_eq!(
            without_ids("Process 28290 Thread 28294 \"worker\"").as_deref(),
            Some("Thread \"worker\"")
        );
        assert_eq!(
            without_ids("Process 20639 Thread 20642").as_deref(),
            Some("Thread")
        );
        assert_eq!(
            without_ids("Process 20639 Thread 20642 (interpreter 1)").as_deref(),
            Some("Thread (interpreter 1)")
        );
        // py-spy --subprocesses / --threads frames.
        assert_eq!(
            without_ids("process 26076:\"python3 app.py\"").as_deref(),
            Some("process \"python3 app.py\"")
        );
        assert_eq!(
            without_ids("thread (26442): MainThread").as_deref(),
            Some("thread: MainThread")
        );
        assert_eq!(without_ids("thread (0x7F3A2B)").as_deref(), Some("thread"));
        // Code and plain names keep their names.
        for name in [
            "process",
            "process 12",
            "process 12:x",
            "process x:\"y\"",
            "thread (x)",
            "thread (12) x",
            "Process 12",
            "Process x Thread 1",
            "Thread 12",
            "main",
            "Thread.run",
            "Thread x \"y\"",
            "foo-bar",
            "x-",
            "-12",
            "a-1/b",
            "worker-1",
            "worker-16",
        ] {
            assert_eq!(without_ids(name), None, "{name}");
        }
    }

    #[test]
    fn roots_above_entry_points_are_labels() {
        let p = |text: &str| crate::formats::folded::parse(text.as_bytes()).unwrap();
        // stackcollapse-perf output: comm roots over `_start` / `clone3`.
        assert!(has_thread_roots(&p(
            "bench;_start;main;work 5\nbench;clone3;start_thread;w 2\n"
        )));
        // Code roots (Go, py-spy without labels, hand-written stacks).
        assert!(!has_thread_roots(&p("runtime.main;main.main;work 5\n")));
        assert!(!has_thread_roots(&p("main;work 5\nmain 1\n")));
        // Unlabelled native stacks start at an entry point themselves.
        assert!(!has_thread_roots(&p(
            "_start;__libc_start_main;main 5\nclone3;start_thread;w 2\n"
        )));
    }

    #[test]
    fn runs_of_one_program_share_their_roots() {
        let mut b = crate::model::ProfileBuilder::new(vec![crate::model::ValueType::samples()]);
        for (tid, n) in [("11", 2), ("12", 3)] {
            let root = b.frame(&format!("Thread {tid} \"\""));
            let main = b.frame("main");
            b.add_sample(&[main, root], &[n]);
        }
        let mut p = b.finish();
        assert!(normalize_thread_roots(&mut p));
        let stacks: Vec<String> = p
            .samples
            .iter()
            .map(|s| p.stack_names(s).join(";"))
            .collect();
        assert_eq!(stacks, ["Thread \"\";main", "Thread \"\";main"]);
        assert!(!normalize_thread_roots(&mut p), "idempotent");
    }

    /// py-spy `--subprocesses --threads --format raw`: a child's process frame sits under its
    /// parent's, thread frames under those; code frames shaped like labels stay.
    #[test]
    fn py_spy_child_process_frames_lose_their_ids() {
        let p = |text: &str| crate::formats::folded::parse(text.as_bytes()).unwrap();
        let mut run = p(concat!(
            "process 26442:\"python3 app.py\";process 26444:\"python3 app.py child\";",
            "thread (26444): MainThread;<module> (app.py:7);work (app.py:4) 5\n",
            "process 26442:\"python3 app.py\";<module> (app.py:10);bench-1234 (app.py:2) 3\n",
        ));
        assert!(normalize_thread_roots(&mut run));
        let stacks: Vec<String> = run
            .samples
            .iter()
            .map(|s| run.stack_names(s).join(";"))
            .collect();
        assert_eq!(
            stacks,
            [
                "process \"python3 app.py\";process \"python3 app.py child\";thread: MainThread;\
                 <module> (app.py:7);work (app.py:4)",
                "process \"python3 app.py\";<module> (app.py:10);bench-1234 (app.py:2)"
            ]
        );
        let code = run.samples[0].locations.clone();
        assert_eq!(
            outer_labels(&run, &code, false),
            0,
            "renamed labels are code now"
        );
        let raw = p("process 1:\"a\";process 2:\"b\";thread (2);main 1\n");
        assert_eq!(outer_labels(&raw, &raw.samples[0].locations, false), 3);
    }
}
