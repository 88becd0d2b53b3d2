//! Function identity across runs and builds: frame names normalized into keys
//! ([`normalize_name`]), keys interned once for all runs ([`Keys`]), and each run reduced to
//! key stacks with values ([`reduce`]) — the only form of a profile the rest of the diff sees.
//!
//! Addresses differ between builds, so frames are matched by a key made from the function
//! name: demangled, Rust `::h<16 hex>` hash suffixes removed, bare hex addresses and
//! `[module+0x…]` collapsed to `[module]` (or `[unknown]`). With [`MatchBy::NameFile`] the
//! source file is part of the key. A leaf `runtime.asyncPreempt` (Go's preemption trampoline)
//! is attributed to its caller.
//!
//! **The function a user can change.** A location's inline frames from a toolchain, the
//! system or a dependency (std iterator adapters, `wrapping_add`, … compiled into the caller)
//! are not functions the user can open: with [`Inlines::Fold`] (the default) they count as
//! the function they were inlined into, and the inlined callee that was executing is kept
//! beside the stack as detail ([`Run::inline_leaf`], [`inline_detail`]). Inlined functions of
//! the user's own code ([`is_user_file`]) stay functions of their own, except closures and
//! lambdas, which are code of the function that defines them. [`Inlines::Keep`] keeps every
//! inline frame a function of its own, as pprof does.
//!
//! **Process and thread roots** (`comm`, executable names, py-spy's `Thread N "…"`, see
//! [`crate::model::roots`]) are labels that change between runs and builds: they are left out
//! of the key stacks, so `old/bench` and `new/bench-2` line up.

use super::{FunctionDiff, InlinedCallee, MatchBy};
use crate::model::{roots, Profile};
use rustc_hash::FxHashMap;

/// How inline frames count for function identity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Inlines {
    /// An inlined callee's time is its enclosing real function's (detail keeps the callee).
    #[default]
    Fold,
    /// Every inline frame is a function of its own (pprof's default).
    Keep,
}

/// Normalize a function name for matching across builds. `module` is the file of the mapping
/// the frame belongs to, when known.
pub fn normalize_name(name: &str, module: Option<&str>) -> String {
    let collapsed = |module: Option<&str>| match module.map(basename).filter(|m| !m.is_empty()) {
        Some(m) => format!("[{m}]"),
        None => crate::model::UNKNOWN.to_string(),
    };
    let name = name.trim();
    if name.is_empty() || name == crate::model::UNKNOWN {
        return collapsed(module);
    }
    if is_bare_hex(name) {
        return collapsed(module);
    }
    // `[module+0x1234]` / `[module]` as written for unsymbolized frames.
    if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        if let Some((m, off)) = inner.rsplit_once('+') {
            if off.starts_with("0x") && is_bare_hex(off) {
                return format!("[{}]", basename(m));
            }
        }
    }
    let demangled = demangle(name);
    strip_recursion_level(strip_rust_hash(&demangled)).to_string()
}

/// Remove callgrind's recursion-level suffix: with its default `--separate-recs=2` a function
/// calling itself is written `walk_tree'2` from the second level on. It is the same function.
fn strip_recursion_level(name: &str) -> &str {
    match name.rsplit_once('\'') {
        Some((base, level))
            if !base.is_empty()
                && !level.is_empty()
                && level.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => name,
    }
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn is_bare_hex(s: &str) -> bool {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    !h.is_empty() && s.len() != h.len() && h.bytes().all(|b| b.is_ascii_hexdigit())
}

fn demangle(name: &str) -> std::borrow::Cow<'_, str> {
    if name.starts_with("_R") || name.starts_with("_ZN") {
        if let Ok(d) = rustc_demangle::try_demangle(name) {
            return format!("{d:#}").into();
        }
    }
    if name.starts_with("_Z") {
        if let Ok(sym) = cpp_demangle::Symbol::new(name.as_bytes()) {
            if let Ok(s) = sym.demangle(&cpp_demangle::DemangleOptions::default()) {
                return s.into();
            }
        }
    }
    name.into()
}

/// Remove a trailing Rust legacy hash `::h0123456789abcdef`.
pub fn strip_rust_hash(name: &str) -> &str {
    if let Some(pos) = name.rfind("::h") {
        let tail = &name[pos + 3..];
        if tail.len() == 16 && tail.bytes().all(|b| b.is_ascii_hexdigit()) {
            return &name[..pos];
        }
    }
    name
}

/// Interned function keys shared by all runs.
#[derive(Default)]
pub(super) struct Keys {
    map: FxHashMap<String, u32>,
    pub(super) names: Vec<String>,
    pub(super) files: Vec<Option<String>>,
}

impl Keys {
    fn intern(&mut self, name: String, file: Option<String>, by: MatchBy) -> u32 {
        let key = match (by, &file) {
            (MatchBy::NameFile, Some(f)) => format!("{name}\u{0}{f}"),
            _ => name.clone(),
        };
        if let Some(&k) = self.map.get(&key) {
            return k;
        }
        let k = self.names.len() as u32;
        self.map.insert(key, k);
        self.names.push(name);
        self.files.push(file);
        k
    }
}

/// One run reduced to what the diff needs: per-key stacks with values.
pub(super) struct Run {
    /// (root-first key stack, value) per sample.
    pub(super) stacks: Vec<(Vec<u32>, f64)>,
    /// Per stack with folded inlines: the key of the inlined callee that was executing in the
    /// leaf function (`NO_INLINE` when the leaf's own code was).
    pub(super) inline_leaf: Vec<u32>,
    pub(super) total: f64,
    /// Value of one sample in the compared unit (for the Poisson model).
    pub(super) per_sample: f64,
}

/// No inlined callee: see [`Run::inline_leaf`].
pub(super) const NO_INLINE: u32 = u32::MAX;

/// Whether a source file is the user's own code rather than a toolchain's, the system's or a
/// dependency's: an absolute path outside the places those live in. Unknown and relative
/// files (glibc's `./csu/…`, Python's `<frozen …>`, `node:internal/…`) are not.
pub fn is_user_file(file: &str) -> bool {
    const SYSTEM_PREFIXES: [&str; 6] = ["/rustc/", "/usr/", "/lib/", "/lib64/", "/build/", "/opt/"];
    const DEPENDENCY_PARTS: [&str; 8] = [
        "/.cargo/registry/",
        "/.cargo/git/",
        "/.rustup/",
        "/site-packages/",
        "/dist-packages/",
        "/node_modules/",
        "/src/runtime/",
        "/pkg/mod/",
    ];
    file.starts_with('/')
        && !SYSTEM_PREFIXES.iter().any(|p| file.starts_with(p))
        && !DEPENDENCY_PARTS.iter().any(|p| file.contains(p))
}

/// Whether an inlined function is one of the user's own, to be shown as itself: its source
/// file is the user's and it is not a closure or lambda (code of the function defining it).
fn is_users_function(f: &crate::model::Function) -> bool {
    is_user_file(&f.filename) && !is_closure(&f.name)
}

/// Rust `{{closure}}` / `{closure#0}`, C++ `{lambda(...)#1}`, Go `pkg.fn.func1`.
fn is_closure(name: &str) -> bool {
    name.contains("{{closure}}")
        || name.contains("{closure#")
        || name.contains("{lambda(")
        || name.rsplit('.').next().is_some_and(|last| {
            last.strip_prefix("func")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Options of [`reduce`].
#[derive(Clone, Copy)]
pub(super) struct Identity {
    pub(super) by: MatchBy,
    pub(super) inlines: Inlines,
}

/// Keys of one location, root-first (outer function, then inlined callees when kept), and the
/// innermost inlined callee when inlines are folded.
struct LocKeys {
    keys: Vec<u32>,
    inlined: u32,
}

pub(super) fn reduce(p: &Profile, value: usize, keys: &mut Keys, id: Identity) -> Run {
    let mut loc_keys: Vec<Option<LocKeys>> = Vec::new();
    loc_keys.resize_with(p.locations.len(), || None);
    let marked_roots = roots::has_thread_roots(p);
    let mut stacks = Vec::with_capacity(p.samples.len());
    let mut inline_leaf = Vec::with_capacity(p.samples.len());
    let mut total = 0.0;
    for s in &p.samples {
        let v = s.values.get(value).copied().unwrap_or(0);
        if v == 0 {
            continue;
        }
        let v = v as f64;
        total += v;
        let labels = roots::outer_labels(p, &s.locations, marked_roots);
        let locs = &s.locations[..s.locations.len() - labels];
        let mut stack = Vec::with_capacity(locs.len());
        for &l in locs.iter().rev() {
            let entry = loc_keys[l as usize].get_or_insert_with(|| location_keys(p, l, keys, id));
            stack.extend_from_slice(&entry.keys);
        }
        let mut leaf_inline = locs
            .first()
            .and_then(|&l| loc_keys[l as usize].as_ref())
            .map_or(NO_INLINE, |e| e.inlined);
        // Go's async-preemption trampoline is injected into whatever loop was interrupted;
        // its samples are the caller's work (the trampoline only saves registers).
        if stack.len() > 1 && keys.names[*stack.last().unwrap() as usize] == "runtime.asyncPreempt"
        {
            stack.pop();
            leaf_inline = NO_INLINE;
        }
        if stack.is_empty() {
            stack.push(keys.intern(crate::model::UNKNOWN.into(), None, id.by));
        }
        stacks.push((stack, v));
        inline_leaf.push(leaf_inline);
    }
    Run {
        stacks,
        inline_leaf,
        total,
        per_sample: per_sample_value(p, value),
    }
}

/// The keys of location `l`; see [`LocKeys`].
fn location_keys(p: &Profile, l: u32, keys: &mut Keys, id: Identity) -> LocKeys {
    let loc = &p.locations[l as usize];
    let module = loc
        .mapping
        .and_then(|m| p.mappings.get(m as usize))
        .map(|m| m.file.as_str());
    let mut key_of = |line: &crate::model::Line| {
        let f = &p.functions[line.function as usize];
        let file = (!f.filename.is_empty()).then(|| f.filename.clone());
        let name = if f.name.is_empty() {
            &f.system_name
        } else {
            &f.name
        };
        keys.intern(normalize_name(name, module), file, id.by)
    };
    match (loc.lines.as_slice(), id.inlines) {
        ([], _) => {
            let raw = p.unknown_frame_name(loc);
            LocKeys {
                keys: vec![keys.intern(normalize_name(&raw, module), None, id.by)],
                inlined: NO_INLINE,
            }
        }
        (lines @ [innermost, .., _], Inlines::Fold) => {
            let last = lines.len() - 1;
            let stays =
                |i: usize| i == last || is_users_function(&p.functions[lines[i].function as usize]);
            let keys_kept = (0..lines.len())
                .rev()
                .filter(|&i| stays(i))
                .map(|i| key_of(&lines[i]))
                .collect();
            LocKeys {
                keys: keys_kept,
                inlined: if stays(0) {
                    NO_INLINE
                } else {
                    key_of(innermost)
                },
            }
        }
        (lines, _) => LocKeys {
            keys: lines.iter().rev().map(key_of).collect(),
            inlined: NO_INLINE,
        },
    }
}

/// For each row, the inlined callees its self-time change went through, largest change in the
/// row's direction first (at most three). Values in the compared quantity, per-run means.
pub(super) fn inline_detail(
    keys: &Keys,
    old: &[Run],
    new: &[Run],
    shares: bool,
    rows: &mut [FunctionDiff],
) {
    let side = |runs: &[Run]| {
        let mut m: FxHashMap<(u32, u32), f64> = FxHashMap::default();
        for r in runs {
            let w = if shares {
                1.0 / (r.total * runs.len() as f64)
            } else {
                1.0 / runs.len() as f64
            };
            for ((stack, v), &inl) in r.stacks.iter().zip(&r.inline_leaf) {
                // A function inlined into itself (recursion unrolled by the compiler) is
                // its own code, not a callee.
                if let (Some(&leaf), true) = (stack.last(), inl != NO_INLINE) {
                    if leaf == inl {
                        continue;
                    }
                    *m.entry((leaf, inl)).or_default() += v * w;
                }
            }
        }
        m
    };
    let (o, n) = (side(old), side(new));
    if o.is_empty() && n.is_empty() {
        return;
    }
    let mut by_fn: FxHashMap<u32, Vec<InlinedCallee>> = FxHashMap::default();
    for &(f, c) in o.keys().chain(n.keys()) {
        let list = by_fn.entry(f).or_default();
        if list.iter().any(|x| x.key == c) {
            continue;
        }
        let (ov, nv) = (
            o.get(&(f, c)).copied().unwrap_or(0.0),
            n.get(&(f, c)).copied().unwrap_or(0.0),
        );
        list.push(InlinedCallee {
            name: keys.names[c as usize].clone(),
            old: ov,
            new: nv,
            delta: nv - ov,
            key: c,
        });
    }
    for row in rows {
        let Some(list) = by_fn.get(&row.key) else {
            continue;
        };
        let sign = row.delta.signum();
        let mut l: Vec<InlinedCallee> = list
            .iter()
            .filter(|c| c.delta * sign > 0.0)
            .cloned()
            .collect();
        l.sort_by(|a, b| (b.delta * sign).total_cmp(&(a.delta * sign)));
        l.truncate(3);
        row.inlined = l;
    }
}

/// For counts estimated from byte sampling (a Go heap profile's `alloc_objects`: the runtime
/// samples an allocation every `period` bytes on average and scales up), the number of
/// sampled events behind them: the matching byte total (`alloc_space` for `alloc_objects`)
/// over the period. `None` for profiles that do not sample bytes.
fn sampled_events(p: &Profile, kind: &str) -> Option<f64> {
    let pt = p.period_type.as_ref()?;
    if pt.unit != "bytes" || p.period <= 0 {
        return None;
    }
    let prefix = kind.split('_').next().unwrap_or(kind);
    let bytes = p
        .sample_types
        .iter()
        .position(|t| t.unit == "bytes" && t.kind.split('_').next() == Some(prefix))
        .or_else(|| p.sample_types.iter().position(|t| t.unit == "bytes"))?;
    let events = p.total(bytes) as f64 / p.period as f64;
    (events > 0.0).then_some(events)
}

/// How much of `value` one sample represents.
fn per_sample_value(p: &Profile, value: usize) -> f64 {
    let t = &p.sample_types[value];
    if t.unit == "count" {
        if let Some(events) = sampled_events(p, &t.kind) {
            return p.total(value) as f64 / events;
        }
        if t.kind == "samples" {
            return 1.0;
        }
        // A count weighted by its period (perf `-e page-faults`): in frequency mode the period
        // changes from sample to sample, so the samples' own count says it best.
        if let Some(n) = sample_count(p) {
            return p.total(value) as f64 / n;
        }
    }
    if let Some(pt) = &p.period_type {
        if pt.unit == t.unit && p.period > 0 {
            return p.period as f64;
        }
    }
    if let Some(n) = sample_count(p) {
        return p.total(value) as f64 / n;
    }
    // A value measured per event, counted by another type (Go block and mutex profiles: the
    // delay of `contentions`): one event's share.
    if let Some(events) = counted_events(p, value) {
        return p.total(value) as f64 / events;
    }
    1.0
}

/// The events behind a profile's first `count` type other than `value` (scaled counts over
/// their own per-sample value), `None` without one.
fn counted_events(p: &Profile, value: usize) -> Option<f64> {
    let c = p.sample_types.iter().position(|t| t.unit == "count")?;
    if c == value {
        return None;
    }
    let events = p.total(c) as f64 / per_sample_value(p, c);
    (events > 0.0).then_some(events)
}

/// The number of samples, when the profile has a `samples/count` type.
fn sample_count(p: &Profile) -> Option<f64> {
    let si = p
        .sample_types
        .iter()
        .position(|t| t.kind == "samples" && t.unit == "count")?;
    let n = p.total(si);
    (n > 0).then_some(n as f64)
}

/// Per-key self and cum values of one run.
pub(super) fn per_key(
    run: &Run,
    nkeys: usize,
    seen: &mut Vec<u32>,
    epoch: &mut u32,
) -> (Vec<f64>, Vec<f64>) {
    let mut selfv = vec![0.0; nkeys];
    let mut cum = vec![0.0; nkeys];
    seen.resize(nkeys, 0);
    for (stack, v) in &run.stacks {
        *epoch += 1;
        if let Some(&leaf) = stack.last() {
            selfv[leaf as usize] += v;
        }
        for &k in stack {
            // Count recursion once per sample, as pprof does for cum.
            if seen[k as usize] != *epoch {
                seen[k as usize] = *epoch;
                cum[k as usize] += v;
            }
        }
    }
    (selfv, cum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callgrind_recursion_levels_are_one_function() {
        assert_eq!(normalize_name("walk_tree'2", None), "walk_tree");
        assert_eq!(normalize_name("walk_tree'13", None), "walk_tree");
        // Haskell-style primes and quotes elsewhere are names, not levels.
        assert_eq!(normalize_name("go'", None), "go'");
        assert_eq!(normalize_name("'2", None), "'2");
        assert_eq!(normalize_name("f'x", None), "f'x");
    }

    #[test]
    fn inlined_library_code_folds_user_functions_stay() {
        use crate::model::{Function, Line, Location, ProfileBuilder, ValueType};
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        let mut func = |name: &str, file: &str| {
            b.function(Function {
                name: name.into(),
                system_name: name.into(),
                filename: file.into(),
                start_line: 0,
            })
        };
        let lines: Vec<Line> = [
            (
                "<u64>::wrapping_add",
                "/rustc/abc/library/core/src/num/mod.rs",
            ),
            ("app::helper", "/home/u/app/src/lib.rs"),
            ("app::render::{{closure}}", "/home/u/app/src/lib.rs"),
            (
                "core::iter::Iterator::fold",
                "/rustc/abc/library/core/src/iter.rs",
            ),
            ("app::render", "/home/u/app/src/lib.rs"),
        ]
        .iter()
        .map(|(n, f)| Line {
            function: func(n, f),
            line: 1,
            column: 0,
        })
        .collect();
        let loc = b.location(Location {
            lines,
            ..Default::default()
        });
        let main = b.frame("main");
        b.add_sample(&[loc, main], &[7]);
        let p = b.finish();
        let names = |inlines| {
            let mut keys = Keys::default();
            let by = MatchBy::Name;
            let r = reduce(&p, 0, &mut keys, Identity { by, inlines });
            let stack: Vec<String> = r.stacks[0]
                .0
                .iter()
                .map(|&k| keys.names[k as usize].clone())
                .collect();
            let inl = r.inline_leaf[0];
            (
                stack,
                (inl != NO_INLINE).then(|| keys.names[inl as usize].clone()),
            )
        };
        // The user's inlined helper stays itself; the closure, std's fold and wrapping_add
        // are code of the functions they were compiled into; wrapping_add is the detail.
        assert_eq!(
            names(Inlines::Fold),
            (
                vec!["main".into(), "app::render".into(), "app::helper".into()],
                Some("<u64>::wrapping_add".into())
            )
        );
        assert_eq!(names(Inlines::Keep).0.len(), 6);
        assert!(is_closure("main.work.func1") && is_closure("f::{lambda(int)#1}::operator()"));
        assert!(!is_closure("main.funcs") && !is_closure("app::render"));
    }

    #[test]
    fn names_normalize_across_builds() {
        assert_eq!(
            normalize_name("app::parse::h0123456789abcdef", None),
            "app::parse"
        );
        assert_eq!(
            normalize_name("_ZN3app5parse17h0123456789abcdefE", None),
            "app::parse"
        );
        assert_eq!(normalize_name("_Z3fooi", None), "foo(int)");
        assert_eq!(
            normalize_name("0x7f3a12", Some("/lib/libc.so.6")),
            "[libc.so.6]"
        );
        assert_eq!(normalize_name("0x7f3a12", None), "[unknown]");
        assert_eq!(normalize_name("[app+0x1010]", None), "[app]");
        assert_eq!(normalize_name("[unknown]", Some("/usr/bin/app")), "[app]");
        assert_eq!(normalize_name("hash::h12", None), "hash::h12");
    }

    #[test]
    fn heap_counts_carry_the_noise_of_the_sampled_bytes() {
        use crate::model::{Sample, ValueType};
        // Go heap profile: 4000 objects and 10 MiB allocated, sampled every 512 KiB, i.e.
        // about 20 sampled events: one "sample" of objects stands for 200 objects, one of
        // bytes for 512 KiB.
        let p = Profile {
            sample_types: vec![
                ValueType::new("alloc_objects", "count"),
                ValueType::new("alloc_space", "bytes"),
            ],
            samples: vec![Sample {
                locations: vec![],
                values: vec![4000, 10 << 20],
                labels: vec![],
            }],
            period_type: Some(ValueType::new("space", "bytes")),
            period: 512 << 10,
            ..Default::default()
        };
        assert_eq!(per_sample_value(&p, 0), 200.0);
        assert_eq!(per_sample_value(&p, 1), (512 << 10) as f64);
        // A CPU profile's sample count stays one per sample.
        let cpu = Profile {
            sample_types: vec![ValueType::samples()],
            period_type: Some(ValueType::new("cpu", "nanoseconds")),
            period: 10_000_000,
            ..Default::default()
        };
        assert_eq!(per_sample_value(&cpu, 0), 1.0);
        // perf -e page-faults -F 999: 6 samples weighted by their periods, 253 faults; the
        // average period stands in the header (42).
        let faults = Profile {
            sample_types: vec![ValueType::samples(), ValueType::new("page-faults", "count")],
            samples: vec![Sample {
                locations: vec![],
                values: vec![6, 253],
                labels: vec![],
            }],
            period_type: Some(ValueType::new("page-faults", "count")),
            period: 42,
            ..Default::default()
        };
        assert_eq!(per_sample_value(&faults, 1), 253.0 / 6.0);
        assert_eq!(per_sample_value(&faults, 0), 1.0);
        // Go mutex profile at runtime.SetMutexProfileFraction(5): 40 contentions, scaled up
        // from 8 sampled events, and 4 s of delay: one event stands for 0.5 s of delay (not
        // 1 ns, which would make 4·10⁹ "samples" with no sampling noise).
        let mutex = Profile {
            sample_types: vec![
                ValueType::new("contentions", "count"),
                ValueType::new("delay", "nanoseconds"),
            ],
            samples: vec![Sample {
                locations: vec![],
                values: vec![40, 4_000_000_000],
                labels: vec![],
            }],
            period_type: Some(ValueType::new("contentions", "count")),
            period: 5,
            ..Default::default()
        };
        assert_eq!(per_sample_value(&mutex, 0), 5.0);
        assert_eq!(per_sample_value(&mutex, 1), 5e8);
    }
}
