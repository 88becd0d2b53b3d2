//! speedscope JSON (<https://www.speedscope.app/file-format-schema.json>), as py-spy
//! (`--format speedscope`), rbspy and many exporters write it: `shared.frames` (name, file,
//! line, col) and `profiles[]`, each either
//! - `"sampled"`: `samples` (stacks of frame indexes, root first) with `weights`, or
//! - `"evented"`: `events` opening (`O`) and closing (`C`) frames `at` a time; the weight of a
//!   stack is the time between consecutive events while it is the open stack.
//!
//! The profile's `unit` becomes the sample type: `nanoseconds`/`microseconds`/`milliseconds`/
//! `seconds` → `wall/<unit>` (converted to `wall/nanoseconds` when weights are fractional, as
//! profile values are integers), `none` → `samples/count`, `bytes` → `space/bytes`. Sampled
//! profiles also get `samples/count` (one per sample). Several profiles (py-spy writes one per
//! thread) are merged, each under a root frame carrying the profile's name.

use crate::analysis::diff::CLOCK_KEY;
use crate::error::ParseError;
use crate::formats::folded::MAX_DEPTH;
use crate::model::{
    unit_nanos, Function, Line, Location, LocationId, Profile, ProfileBuilder, ValueType,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    shared: Shared,
    profiles: Vec<SProfile>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    exporter: Option<String>,
}

#[derive(Deserialize, Default)]
struct Shared {
    #[serde(default)]
    frames: Vec<Frame>,
}

#[derive(Deserialize)]
struct Frame {
    name: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<i64>,
    #[serde(default)]
    col: Option<i64>,
}

#[derive(Deserialize)]
struct SProfile {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default = "none_unit")]
    unit: String,
    #[serde(default, rename = "startValue")]
    start_value: Option<f64>,
    #[serde(default, rename = "endValue")]
    end_value: Option<f64>,
    #[serde(default)]
    samples: Vec<Vec<i64>>,
    #[serde(default)]
    weights: Vec<f64>,
    #[serde(default)]
    events: Vec<Event>,
}

fn none_unit() -> String {
    "none".into()
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    frame: i64,
    at: f64,
}

/// One weighted stack (frame indexes, root first) of one profile.
struct Stack {
    frames: Vec<usize>,
    weight: f64,
    counted: bool,
}

/// True for JSON text that looks like a speedscope file: its `$schema` URL, or the
/// `shared` frames and `profiles` keys. (The word "speedscope" alone is no sign: Chrome
/// traces recorded on speedscope's site are full of it.)
pub fn sniff(text: &str) -> bool {
    text.contains("speedscope.app/file-format-schema")
        || (text.contains("\"shared\"") && text.contains("\"profiles\""))
}

/// austin2speedscope writes one profile per thread and metric (`CPU time profile for 1:0:1`,
/// `Wall time profile for ...`, `Memory allocation ...`, `Memory deallocation ...`): merged,
/// CPU and wall time (or allocations and releases) would be added up. Such a file with more
/// than one metric is refused; Austin's own text output has them as separate sample types.
/// The one metric of the others is returned.
fn austin_metric(file: &File) -> Result<Option<&str>, ParseError> {
    if !file
        .exporter
        .as_deref()
        .is_some_and(|e| e.starts_with("Austin2Speedscope"))
    {
        return Ok(None);
    }
    let mut metrics: Vec<&str> = file
        .profiles
        .iter()
        .filter_map(|p| p.name.as_deref()?.split_once(" profile for "))
        .map(|(metric, _)| metric)
        .collect();
    metrics.sort_unstable();
    metrics.dedup();
    if metrics.len() > 1 {
        return Err(ParseError::new(format!(
            "austin2speedscope output with several metrics ({}), which would add up if \
             merged; give profdiff Austin's own output, where each is a sample type",
            metrics.join(", ")
        )));
    }
    Ok(metrics.first().copied())
}

/// Parse a speedscope file.
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let file: File = serde_json::from_slice(data)
        .map_err(|e| ParseError::new(format!("not a valid speedscope JSON file: {e}")))?;
    if file.profiles.is_empty() {
        return Err(ParseError::new("no profiles in the file"));
    }
    let austin_metric = austin_metric(&file)?;
    let nframes = file.shared.frames.len();
    // All profiles are brought to the first one's unit.
    let unit = file.profiles[0].unit.as_str();
    let is_time = unit_nanos(unit).is_some();
    for p in &file.profiles {
        let other_time = unit_nanos(&p.unit).is_some();
        if other_time != is_time || (!is_time && p.unit != unit) {
            return Err(ParseError::new(format!(
                "profiles use incompatible units {unit:?} and {:?}",
                p.unit
            )));
        }
    }
    let mut per_profile: Vec<(String, Vec<Stack>, f64)> = Vec::new();
    let mut fractional = false;
    let mut any_sampled = false;
    let mut truncated = 0u64;
    for (pi, p) in file.profiles.iter().enumerate() {
        let pname = p
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("profile {pi}"));
        let scale = if is_time {
            unit_nanos(&p.unit).unwrap() / unit_nanos(unit).unwrap()
        } else {
            1.0
        };
        let stacks = match p.kind.as_str() {
            "sampled" => {
                any_sampled = true;
                sampled(p, pi, nframes, scale, &mut truncated)?
            }
            "evented" => evented(p, pi, nframes, scale, &mut truncated)?,
            other => {
                return Err(ParseError::new(format!(
                    "profile {pi}: unknown profile type {other:?} (expected \"sampled\" or \"evented\")"
                )))
            }
        };
        fractional |= stacks.iter().any(|s| s.weight.fract() != 0.0);
        let span = match (p.start_value, p.end_value) {
            (Some(a), Some(b)) if b.is_finite() && a.is_finite() && b >= a => (b - a) * scale,
            _ => 0.0,
        };
        per_profile.push((pname, stacks, span));
    }

    // Sample types and the factor turning weights into values.
    let (weight_type, factor) = match unit {
        "none" | "" => (None, 1.0),
        "bytes" => (Some(ValueType::new("space", "bytes")), 1.0),
        u if is_time && fractional => (
            Some(ValueType::new("wall", "nanoseconds")),
            unit_nanos(u).unwrap(),
        ),
        u if is_time => (Some(ValueType::new("wall", u)), 1.0),
        u => (Some(ValueType::new("weight", u)), 1.0),
    };
    // austin2speedscope's on-CPU time (`austin -s`, `-c`) is no wall-clock time.
    let weight_type = match (weight_type, austin_metric) {
        (Some(t), Some("CPU time")) if is_time => Some(ValueType::new("cpu", t.unit)),
        (t, _) => t,
    };
    let mut types = Vec::new();
    if any_sampled || weight_type.is_none() {
        types.push(ValueType::samples());
    }
    let weight_idx = weight_type.as_ref().map(|t| {
        types.push(t.clone());
        types.len() - 1
    });
    let count_idx = (types[0] == ValueType::samples()).then_some(0);

    let mut b = ProfileBuilder::new(types.clone());
    let mut locs: Vec<Option<LocationId>> = vec![None; nframes];
    let self_frames = self_time_frames(&file);
    let mut stack: Vec<LocationId> = Vec::new();
    let mut values = vec![0i64; types.len()];
    let mut max_span = 0f64;
    for (pname, stacks, span) in &per_profile {
        max_span = max_span.max(*span);
        let root = b.frame(pname);
        for s in stacks {
            stack.clear();
            for &f in s.frames.iter().rev() {
                if self_frames[f] {
                    continue;
                }
                let loc = match locs[f] {
                    Some(l) => l,
                    None => {
                        let fr = &file.shared.frames[f];
                        let func = b.function(Function {
                            name: fr.name.clone(),
                            system_name: fr.name.clone(),
                            filename: fr.file.clone().unwrap_or_default(),
                            start_line: 0,
                        });
                        let l = b.location(Location {
                            lines: vec![Line {
                                function: func,
                                line: fr.line.unwrap_or(0),
                                column: fr.col.unwrap_or(0),
                            }],
                            ..Default::default()
                        });
                        locs[f] = Some(l);
                        l
                    }
                };
                stack.push(loc);
            }
            stack.push(root);
            values.iter_mut().for_each(|v| *v = 0);
            // Unit `none`: the weights (sampled or evented) are the counts themselves.
            // Otherwise a sampled stack counts one sample; evented time spans count none.
            if let Some(i) = count_idx {
                if weight_idx.is_none() {
                    values[i] = to_i64(s.weight)?;
                } else if s.counted {
                    values[i] = 1;
                }
            }
            if let Some(i) = weight_idx {
                values[i] = to_i64(s.weight * factor)?;
            }
            if values.iter().any(|&v| v != 0) {
                b.add_sample(&stack, &values);
            }
        }
    }
    let p = b.profile_mut();
    if let Some(i) = weight_idx {
        p.default_sample_type = Some(i);
    }
    if is_time {
        p.duration_nanos = (max_span * unit_nanos(unit).unwrap()).min(i64::MAX as f64) as i64;
    }
    p.quality.truncated_stacks = truncated;
    if let Some(n) = file.name.filter(|n| !n.is_empty()) {
        p.metadata.insert("command".into(), n);
    }
    if let Some(e) = file.exporter.filter(|n| !n.is_empty()) {
        if samples_wall_clock(&e) {
            p.metadata.insert(CLOCK_KEY.into(), "wall".into());
        }
        p.metadata.insert("tool".into(), e);
    }
    // Every stack sits under its profile's name (a thread, for py-spy).
    crate::model::roots::mark_thread_roots(p);
    Ok(b.finish())
}

fn to_i64(v: f64) -> Result<i64, ParseError> {
    if !v.is_finite() || v < 0.0 || v > i64::MAX as f64 {
        return Err(ParseError::new(format!("weight {v} out of range")));
    }
    Ok(v.round() as i64)
}

fn frame_index(f: i64, pi: usize, nframes: usize) -> Result<usize, ParseError> {
    if f < 0 || f as u64 >= nframes as u64 {
        return Err(ParseError::new(format!(
            "profile {pi}: frame index {f} out of range (there are {nframes} frames)"
        )));
    }
    Ok(f as usize)
}

fn check_weight(w: f64, pi: usize, what: &str) -> Result<f64, ParseError> {
    if !w.is_finite() || w < 0.0 {
        return Err(ParseError::new(format!(
            "profile {pi}: {what} {w} is negative or not a number"
        )));
    }
    Ok(w)
}

fn sampled(
    p: &SProfile,
    pi: usize,
    nframes: usize,
    scale: f64,
    truncated: &mut u64,
) -> Result<Vec<Stack>, ParseError> {
    if !p.weights.is_empty() && p.weights.len() != p.samples.len() {
        return Err(ParseError::new(format!(
            "profile {pi}: {} samples but {} weights",
            p.samples.len(),
            p.weights.len()
        )));
    }
    let mut out = Vec::with_capacity(p.samples.len());
    for (i, s) in p.samples.iter().enumerate() {
        let w = check_weight(p.weights.get(i).copied().unwrap_or(1.0), pi, "weight")?;
        let mut frames = Vec::with_capacity(s.len().min(MAX_DEPTH));
        for &f in s.iter().take(MAX_DEPTH) {
            frames.push(frame_index(f, pi, nframes)?);
        }
        if s.len() > MAX_DEPTH {
            *truncated += 1;
        }
        out.push(Stack {
            frames,
            weight: w * scale,
            counted: true,
        });
    }
    Ok(out)
}

fn evented(
    p: &SProfile,
    pi: usize,
    nframes: usize,
    scale: f64,
    truncated: &mut u64,
) -> Result<Vec<Stack>, ParseError> {
    let mut out = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    // Frames opened beyond MAX_DEPTH: tracked by count only.
    let mut hidden = 0usize;
    let mut last_at = p.start_value.unwrap_or(f64::NAN);
    for (i, e) in p.events.iter().enumerate() {
        let at = check_weight(e.at, pi, "event time")?;
        if last_at.is_finite() && at < last_at {
            return Err(ParseError::new(format!(
                "profile {pi}: event {i} at {at} goes back in time (previous at {last_at})"
            )));
        }
        if !open.is_empty() && last_at.is_finite() && at > last_at {
            out.push(Stack {
                frames: open.clone(),
                weight: (at - last_at) * scale,
                counted: false,
            });
        }
        last_at = at;
        let f = frame_index(e.frame, pi, nframes)?;
        match e.kind.as_str() {
            "O" => {
                if open.len() >= MAX_DEPTH {
                    if hidden == 0 {
                        *truncated += 1;
                    }
                    hidden += 1;
                } else {
                    open.push(f);
                }
            }
            "C" => {
                if hidden > 0 {
                    hidden -= 1;
                    continue;
                }
                match open.last() {
                    Some(&top) if top == f => {
                        open.pop();
                    }
                    Some(&top) => {
                        return Err(ParseError::new(format!(
                            "profile {pi}: event {i} closes frame {f} but frame {top} is open"
                        )))
                    }
                    None => {
                        return Err(ParseError::new(format!(
                            "profile {pi}: event {i} closes frame {f} but no frame is open"
                        )))
                    }
                }
            }
            other => {
                return Err(ParseError::new(format!(
                    "profile {pi}: event {i} has unknown type {other:?} (expected \"O\" or \"C\")"
                )))
            }
        }
    }
    // Frames still open at the end run until endValue.
    if let (false, Some(end)) = (open.is_empty(), p.end_value) {
        if end.is_finite() && last_at.is_finite() && end > last_at {
            out.push(Stack {
                frames: open.clone(),
                weight: (end - last_at) * scale,
                counted: false,
            });
        }
    }
    Ok(out)
}

/// Exporters that sample by wall clock: py-spy and rbspy sample a running interpreter on a
/// timer, so a process waiting for the CPU is still sampled; pyinstrument times its samples
/// with the wall clock by default.
fn samples_wall_clock(exporter: &str) -> bool {
    let e = exporter.to_ascii_lowercase();
    e.starts_with("py-spy") || e.starts_with("rbspy") || e.starts_with("pyinstrument")
}

/// Per frame: whether it is pyinstrument's `[self]` frame, which stands for its parent's own
/// time (left under a function that also has children). Dropped from stacks, its time is
/// the parent's self time, as in pyinstrument's own views.
fn self_time_frames(file: &File) -> Vec<bool> {
    let pyinstrument = file
        .exporter
        .as_deref()
        .is_some_and(|e| e.to_ascii_lowercase().starts_with("pyinstrument"));
    file.shared
        .frames
        .iter()
        .map(|f| pyinstrument && f.name == "[self]" && f.file.as_deref().unwrap_or("").is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded::fold;

    /// Shaped like py-spy's output: two threads, seconds, integer weights.
    const SAMPLED: &str = r#"{
      "$schema": "https://www.speedscope.app/file-format-schema.json",
      "profiles": [
        {"type": "sampled", "name": "MainThread", "unit": "seconds", "startValue": 0,
         "endValue": 3, "samples": [[0, 1], [0, 1, 2], [0, 1]], "weights": [1, 1, 1]},
        {"type": "sampled", "name": "worker", "unit": "seconds", "startValue": 0,
         "endValue": 2, "samples": [[0, 2]], "weights": [2]}
      ],
      "shared": {"frames": [
        {"name": "<module>", "file": "app.py", "line": 1},
        {"name": "work", "file": "app.py", "line": 10},
        {"name": "hot", "file": "lib.py", "line": 3, "col": 4}
      ]},
      "activeProfileIndex": 0, "exporter": "py-spy@0.3.14", "name": "python3 app.py"
    }"#;

    #[test]
    fn austin2speedscope_metrics_are_not_added_up() {
        let t = |names: [&str; 2]| {
            format!(
                r#"{{"shared":{{"frames":[{{"name":"f","file":"a.py","line":1}}]}},"exporter":"Austin2Speedscope Converter 0.3.1",
                "profiles":[{{"type":"sampled","name":"{}","unit":"microseconds","samples":[[0]],"weights":[5]}},
                {{"type":"sampled","name":"{}","unit":"microseconds","samples":[[0]],"weights":[7]}}]}}"#,
                names[0], names[1]
            )
        };
        let mixed = t(["CPU time profile for 1:0:1", "Wall time profile for 1:0:1"]);
        let e = parse(mixed.as_bytes()).unwrap_err().0;
        assert!(e.contains("several metrics (CPU time, Wall time)"), "{e}");
        // One metric over several threads is read as usual.
        let threads = t(["Wall time profile for 1:0:1", "Wall time profile for 1:0:2"]);
        assert_eq!(parse(threads.as_bytes()).unwrap().total(1), 12);
        let cpu = t(["CPU time profile for 1:0:1", "CPU time profile for 1:0:2"]);
        let p = parse(cpu.as_bytes()).unwrap();
        assert_eq!(p.sample_types[1], ValueType::new("cpu", "microseconds"));
    }

    #[test]
    fn sampled_profiles_merge_with_thread_roots() {
        let p = parse(SAMPLED.as_bytes()).unwrap();
        p.validate().unwrap();
        assert_eq!(
            p.sample_types,
            vec![ValueType::samples(), ValueType::new("wall", "seconds")]
        );
        assert_eq!(
            fold(&p, 1),
            vec![
                ("MainThread;<module>;work".to_string(), 2),
                ("MainThread;<module>;work;hot".to_string(), 1),
                ("worker;<module>;hot".to_string(), 2),
            ]
        );
        assert_eq!(p.total(0), 4);
        assert_eq!(p.duration_nanos, 3_000_000_000);
        assert_eq!(p.metadata["tool"], "py-spy@0.3.14");
        assert_eq!(p.metadata[CLOCK_KEY], "wall");
        let hot = p.functions.iter().find(|f| f.name == "hot").unwrap();
        assert_eq!(hot.filename, "lib.py");
    }

    #[test]
    fn evented_weights_are_time_between_events() {
        let t = r#"{"shared":{"frames":[{"name":"main"},{"name":"a"},{"name":"b"}]},
          "profiles":[{"type":"evented","name":"t1","unit":"milliseconds","startValue":0,
          "endValue":20,"events":[
            {"type":"O","frame":0,"at":0},{"type":"O","frame":1,"at":2},
            {"type":"O","frame":2,"at":3},{"type":"C","frame":2,"at":7.5},
            {"type":"C","frame":1,"at":9},{"type":"C","frame":0,"at":12}]}]}"#;
        let p = parse(t.as_bytes()).unwrap();
        // 7.5 - 3 is fractional: converted to nanoseconds.
        assert_eq!(p.sample_types, vec![ValueType::new("wall", "nanoseconds")]);
        assert_eq!(
            fold(&p, 0),
            vec![
                ("t1;main".to_string(), 5_000_000),
                ("t1;main;a".to_string(), 2_500_000),
                ("t1;main;a;b".to_string(), 4_500_000),
            ]
        );
    }

    #[test]
    fn unit_none_is_sample_counts() {
        let t = r#"{"shared":{"frames":[{"name":"f"}]},"profiles":[{"type":"sampled",
          "unit":"none","samples":[[0],[0]],"weights":[3,4]}]}"#;
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(p.sample_types, vec![ValueType::samples()]);
        assert_eq!(fold(&p, 0), vec![("profile 0;f".to_string(), 7)]);
    }

    /// Issue 14 bug 2: an evented file with `"unit": "none"` read as 0 samples.
    #[test]
    fn evented_unit_none_counts_weights() {
        let t = r#"{"shared":{"frames":[{"name":"a"},{"name":"b"}]},"profiles":[{"type":"evented",
          "name":"t","unit":"none","startValue":0,"endValue":14,"events":[
          {"type":"O","frame":0,"at":0},{"type":"O","frame":1,"at":2},
          {"type":"C","frame":1,"at":6},{"type":"C","frame":0,"at":14}]}]}"#;
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(p.sample_types, vec![ValueType::samples()]);
        assert_eq!(
            fold(&p, 0),
            vec![("t;a".to_string(), 10), ("t;a;b".to_string(), 4)]
        );
    }

    // ---- bad input ----

    fn err(t: &[u8]) -> String {
        parse(t).unwrap_err().0
    }

    #[test]
    fn bad_inputs_are_one_line_errors() {
        assert!(err(b"").contains("not a valid speedscope"));
        assert!(err(&SAMPLED.as_bytes()[..200]).contains("not a valid speedscope"));
        assert!(err(b"{\"profiles\": 3}").contains("not a valid speedscope"));
        assert!(err(b"{\"shared\":{\"frames\":[]},\"profiles\":[]}").contains("no profiles"));
        let bad_idx = SAMPLED.replace("[0, 2]]", "[0, 9]]");
        assert!(err(bad_idx.as_bytes()).contains("frame index 9 out of range"));
        let neg = SAMPLED.replace("\"weights\": [2]", "\"weights\": [-2]");
        assert!(err(neg.as_bytes()).contains("negative"));
        // JSON has no NaN literal: it is a syntax error.
        let nan = SAMPLED.replace("\"weights\": [2]", "\"weights\": [NaN]");
        assert!(err(nan.as_bytes()).contains("not a valid speedscope"));
        let unbalanced = r#"{"shared":{"frames":[{"name":"a"},{"name":"b"}]},"profiles":[{"type":"evented","unit":"none","events":[{"type":"O","frame":0,"at":0},{"type":"C","frame":1,"at":1}]}]}"#;
        assert!(err(unbalanced.as_bytes()).contains("closes frame 1 but frame 0 is open"));
        let mut utf = SAMPLED.as_bytes().to_vec();
        let i = SAMPLED.find("hot").unwrap();
        utf[i] = 0xff;
        assert!(err(&utf).contains("not a valid speedscope"));
        for e in [
            err(b""),
            err(bad_idx.as_bytes()),
            err(unbalanced.as_bytes()),
        ] {
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn deep_and_huge_stacks_are_bounded() {
        let deep: Vec<String> = (0..100_000).map(|_| "0".to_string()).collect();
        let t = format!(
            r#"{{"shared":{{"frames":[{{"name":"f"}}]}},"profiles":[{{"type":"sampled","unit":"none","samples":[[{}]],"weights":[1]}}]}}"#,
            deep.join(",")
        );
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(p.quality.truncated_stacks, 1);
        assert_eq!(p.samples[0].locations.len(), MAX_DEPTH + 1);
        let long = format!(
            r#"{{"shared":{{"frames":[{{"name":"{}"}}]}},"profiles":[{{"type":"sampled","unit":"none","samples":[[0]],"weights":[1]}}]}}"#,
            "x".repeat(1 << 20)
        );
        assert!(parse(long.as_bytes())
            .unwrap()
            .functions
            .iter()
            .any(|f| f.name.len() == 1 << 20));
        // Deeply nested JSON hits serde_json's recursion limit: an error, not a stack overflow.
        let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(err(nested.as_bytes()).contains("not a valid speedscope"));
    }
}
