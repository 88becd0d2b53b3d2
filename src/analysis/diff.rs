//! `compare`'s analysis: two sets of profiles (OLD runs, NEW runs) in, a [`Diff`] out — which
//! functions changed, by how much, through which call path, and how sure we are.
//!
//! **Function identity.** Addresses differ between builds, so frames are matched by a key made
//! from the function name ([`normalize_name`]): demangled, Rust `::h<16 hex>` hash suffixes
//! removed, bare hex addresses and `[module+0x…]` collapsed to `[module]` (or `[unknown]`).
//! With [`MatchBy::NameFile`] the source file is part of the key. A leaf
//! `runtime.asyncPreempt` (Go's preemption trampoline) is attributed to its caller.
//!
//! **Normalization.** [`Normalize::None`] compares absolute values per run (mean over runs):
//! right for fixed-work benchmarks, where more time is the regression. [`Normalize::Total`]
//! compares shares of each run's total: right for fixed-duration captures, where the total is
//! set by the capture length. [`Normalize::Auto`] picks `total` when both sides know their
//! durations and those (per run) agree within 10 % (fixed-duration captures), else `none`.
//!
//! **Significance.** ≥ 2 runs per side: Mann-Whitney U over per-run values and a bootstrap
//! interval of the delta; when the runs are too few for U to ever reach `alpha` (3 vs 3), a
//! Welch t-test whose variances are floored at the Poisson sampling variance decides instead.
//! 1 run per side: the conditional binomial test of the two sample counts (exposures = the
//! run totals for shares, equal for absolute values) and a normal-approximation interval.

use super::stats;
use crate::model::{unit_nanos, Profile};
use rustc_hash::FxHashMap;
use serde::Serialize;

/// How per-run values are made comparable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Normalize {
    None,
    Total,
    Auto,
}

/// What makes two frames "the same function" across builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MatchBy {
    Name,
    NameFile,
}

/// Options of [`diff`].
#[derive(Clone, Debug)]
pub struct DiffOptions {
    pub normalize: Normalize,
    pub match_by: MatchBy,
    /// Sample type (kind or index); `None` = each profile's default.
    pub sample_type: Option<String>,
    /// Significance level.
    pub alpha: f64,
    /// Bootstrap resamples.
    pub bootstrap_rounds: usize,
    pub seed: u64,
    /// How many hot paths to report.
    pub hot_paths: usize,
    /// How many functions get the full statistics (bootstrap) in each direction.
    pub detail_limit: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            normalize: Normalize::Auto,
            match_by: MatchBy::Name,
            sample_type: None,
            alpha: 0.05,
            bootstrap_rounds: 2000,
            seed: 0x5EED,
            hot_paths: 3,
            detail_limit: 200,
        }
    }
}

/// Why a diff cannot be computed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DiffError(pub String);

/// Summary and data quality of one side.
#[derive(Clone, Debug, Serialize)]
pub struct SideSummary {
    pub runs: usize,
    /// Sample type compared, `kind/unit`.
    pub sample_type: String,
    /// Sum of the compared value over all runs, in `unit`.
    pub total: f64,
    /// Mean total per run.
    pub total_per_run: f64,
    /// Number of samples (estimated from the period when the profile only has time values).
    pub samples: f64,
    pub duration_seconds: Option<f64>,
    /// Samples per second, when the duration is known.
    pub sample_rate_hz: Option<f64>,
    pub unknown_frame_share: f64,
    pub lost_samples: u64,
    pub truncated_stacks: u64,
    pub notes: Vec<String>,
}

/// Which test decided significance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestKind {
    MannWhitney,
    WelchPoissonFloor,
    Binomial,
}

/// Significance of one delta.
#[derive(Clone, Debug, Serialize)]
pub struct Significance {
    pub test: TestKind,
    pub p: f64,
    /// Mann-Whitney p as well, when ≥ 2 runs per side (benchstat's number).
    pub p_mann_whitney: Option<f64>,
    /// `(1 - alpha)` interval of the delta, in the compared quantity.
    pub ci: Option<(f64, f64)>,
    pub significant: bool,
}

/// Whether a function exists on both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Both,
    New,
    Vanished,
}

/// One function's numbers. `*_abs` are mean per-run values in `unit`; `*_share` are fractions
/// of the mean per-run total; `delta` is in the compared quantity (`abs` for normalize none,
/// `share` for total).
#[derive(Clone, Debug, Serialize)]
pub struct FunctionDiff {
    pub name: String,
    pub file: Option<String>,
    pub presence: Presence,
    pub old_self_abs: f64,
    pub new_self_abs: f64,
    pub old_cum_abs: f64,
    pub new_cum_abs: f64,
    pub old_self_share: f64,
    pub new_self_share: f64,
    pub old_cum_share: f64,
    pub new_cum_share: f64,
    /// Self delta in the compared quantity.
    pub delta: f64,
    /// Self delta in absolute units per run (new - old).
    pub delta_abs: f64,
    /// Self delta in percentage points of the total.
    pub delta_pp: f64,
    /// new / old self (compared quantity); `None` when old is 0.
    pub ratio: Option<f64>,
    /// This function's share of the regression (sum of all positive self deltas), or of the
    /// improvement for improvements.
    pub explained: f64,
    /// Cumulative delta in the compared quantity.
    pub cum_delta: f64,
    pub significance: Option<Significance>,
    /// Index of the function key (internal).
    #[serde(skip)]
    key: u32,
}

/// One frame of a hot path.
#[derive(Clone, Debug, Serialize)]
pub struct HotFrame {
    pub name: String,
    /// Inclusive values of this call-tree node, compared quantity.
    pub old: f64,
    pub new: f64,
    pub delta: f64,
    pub self_delta: f64,
}

/// The total's change (always absolute per run: a share total is 1 on both sides).
#[derive(Clone, Debug, Serialize)]
pub struct TotalDiff {
    pub old: f64,
    pub new: f64,
    pub delta: f64,
    pub relative: Option<f64>,
    pub significance: Option<Significance>,
}

/// Everything `compare` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    /// Unit of absolute values (`nanoseconds`, `samples`, …).
    pub unit: String,
    pub unit_is_time: bool,
    /// Normalization actually used (`none` or `total`).
    pub normalize: Normalize,
    pub normalize_requested: Normalize,
    pub normalize_reason: String,
    pub match_by: MatchBy,
    pub alpha: f64,
    pub old: SideSummary,
    pub new: SideSummary,
    pub total: TotalDiff,
    /// Functions whose self value grew, largest contribution first.
    pub regressions: Vec<FunctionDiff>,
    /// Functions whose self value shrank, largest first.
    pub improvements: Vec<FunctionDiff>,
    pub hot_paths: Vec<Vec<HotFrame>>,
    pub warnings: Vec<String>,
    /// The call tree as two-column folded lines (`stack old new`, compared quantity), sorted.
    #[serde(skip)]
    pub tree_lines: Vec<(String, f64, f64)>,
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
    strip_rust_hash(&demangled).to_string()
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
struct Keys {
    map: FxHashMap<String, u32>,
    names: Vec<String>,
    files: Vec<Option<String>>,
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
struct Run {
    /// (root-first key stack, value) per sample.
    stacks: Vec<(Vec<u32>, f64)>,
    total: f64,
    /// Value of one sample in the compared unit (for the Poisson model).
    per_sample: f64,
}

fn reduce(p: &Profile, value: usize, keys: &mut Keys, by: MatchBy) -> Run {
    // Keys per location (root-first within the location: outer function, then inlined).
    let mut loc_keys: Vec<Option<Vec<u32>>> = vec![None; p.locations.len()];
    let mut stacks = Vec::with_capacity(p.samples.len());
    let mut total = 0.0;
    for s in &p.samples {
        let v = s.values.get(value).copied().unwrap_or(0);
        if v == 0 {
            continue;
        }
        let v = v as f64;
        total += v;
        let mut stack = Vec::with_capacity(s.locations.len());
        for &l in s.locations.iter().rev() {
            let entry = &mut loc_keys[l as usize];
            if entry.is_none() {
                let loc = &p.locations[l as usize];
                let module = loc
                    .mapping
                    .and_then(|m| p.mappings.get(m as usize))
                    .map(|m| m.file.as_str());
                let mut ks = Vec::with_capacity(loc.lines.len().max(1));
                if loc.lines.is_empty() {
                    let raw = p.unknown_frame_name(loc);
                    ks.push(keys.intern(normalize_name(&raw, module), None, by));
                } else {
                    for line in loc.lines.iter().rev() {
                        let f = &p.functions[line.function as usize];
                        let file = (!f.filename.is_empty()).then(|| f.filename.clone());
                        let name = if f.name.is_empty() {
                            &f.system_name
                        } else {
                            &f.name
                        };
                        ks.push(keys.intern(normalize_name(name, module), file, by));
                    }
                }
                *entry = Some(ks);
            }
            stack.extend_from_slice(entry.as_ref().unwrap());
        }
        // Go's async-preemption trampoline is injected into whatever loop was interrupted;
        // its samples are the caller's work (the trampoline only saves registers).
        if stack.len() > 1 && keys.names[*stack.last().unwrap() as usize] == "runtime.asyncPreempt"
        {
            stack.pop();
        }
        if stack.is_empty() {
            stack.push(keys.intern(crate::model::UNKNOWN.into(), None, by));
        }
        stacks.push((stack, v));
    }
    Run {
        stacks,
        total,
        per_sample: per_sample_value(p, value),
    }
}

/// How much of `value` one sample represents.
fn per_sample_value(p: &Profile, value: usize) -> f64 {
    let t = &p.sample_types[value];
    if t.unit == "count" {
        return 1.0;
    }
    if let Some(pt) = &p.period_type {
        if pt.unit == t.unit && p.period > 0 {
            return p.period as f64;
        }
    }
    if let Some(si) = p
        .sample_types
        .iter()
        .position(|t| t.kind == "samples" && t.unit == "count")
    {
        let n = p.total(si);
        if n > 0 {
            return p.total(value) as f64 / n as f64;
        }
    }
    1.0
}

fn summarize(runs: &[&Profile], reduced: &[Run], value: &[usize]) -> SideSummary {
    let t = &runs[0].sample_types[value[0]];
    let total: f64 = reduced.iter().map(|r| r.total).sum();
    let samples: f64 = reduced.iter().map(|r| r.total / r.per_sample).sum();
    let dur: i64 = runs.iter().map(|p| p.duration_nanos.max(0)).sum();
    let all_dur = runs.iter().all(|p| p.duration_nanos > 0);
    let mut q = crate::model::DataQuality::default();
    for p in runs {
        q.add(&p.quality);
    }
    let duration_seconds = all_dur.then_some(dur as f64 / 1e9);
    SideSummary {
        runs: runs.len(),
        sample_type: format!("{}/{}", t.kind, t.unit),
        total,
        total_per_run: total / runs.len() as f64,
        samples,
        duration_seconds,
        sample_rate_hz: duration_seconds.filter(|&d| d > 0.0).map(|d| samples / d),
        unknown_frame_share: q.unknown_share(),
        lost_samples: q.lost_samples,
        truncated_stacks: q.truncated_stacks,
        notes: q.notes,
    }
}

/// Per-key self and cum values of one run.
fn per_key(run: &Run, nkeys: usize, seen: &mut Vec<u32>, epoch: &mut u32) -> (Vec<f64>, Vec<f64>) {
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

/// Compare OLD runs against NEW runs.
pub fn diff(old: &[Profile], new: &[Profile], opts: &DiffOptions) -> Result<Diff, DiffError> {
    if old.is_empty() || new.is_empty() {
        return Err(DiffError("each side needs at least one profile".into()));
    }
    let pick = |p: &Profile, i: usize, side: &str| {
        p.value_index(opts.sample_type.as_deref()).ok_or_else(|| {
            DiffError(format!(
                "{side} profile {}: no sample type {}",
                i + 1,
                opts.sample_type
                    .as_deref()
                    .unwrap_or("(the profile has none)")
            ))
        })
    };
    let old_v: Vec<usize> = old
        .iter()
        .enumerate()
        .map(|(i, p)| pick(p, i, "old"))
        .collect::<Result<_, _>>()?;
    let new_v: Vec<usize> = new
        .iter()
        .enumerate()
        .map(|(i, p)| pick(p, i, "new"))
        .collect::<Result<_, _>>()?;
    // Units must agree (time units are converted to nanoseconds).
    let unit_of = |p: &Profile, v: usize| p.sample_types[v].unit.clone();
    let base_unit = unit_of(&old[0], old_v[0]);
    let to_ns = unit_nanos(&base_unit).is_some();
    let mut scale_old = Vec::new();
    let mut scale_new = Vec::new();
    for (side, ps, vs, sc) in [
        ("old", old, &old_v, &mut scale_old),
        ("new", new, &new_v, &mut scale_new),
    ] {
        for (i, (p, &v)) in ps.iter().zip(vs.iter()).enumerate() {
            let u = unit_of(p, v);
            let s = match (unit_nanos(&u), to_ns) {
                (Some(ns), true) => ns,
                (None, false) if u == base_unit => 1.0,
                _ => {
                    return Err(DiffError(format!(
                        "{side} profile {} measures {u} but the first old profile measures {base_unit}; choose a common --sample-type",
                        i + 1
                    )))
                }
            };
            sc.push(s);
        }
    }
    let unit = if to_ns {
        "nanoseconds".to_string()
    } else {
        base_unit
    };

    let mut keys = Keys::default();
    let mut reduce_side = |ps: &[Profile], vs: &[usize], sc: &[f64]| -> Vec<Run> {
        ps.iter()
            .zip(vs)
            .zip(sc)
            .map(|((p, &v), &s)| {
                let mut r = reduce(p, v, &mut keys, opts.match_by);
                if s != 1.0 {
                    for st in &mut r.stacks {
                        st.1 *= s;
                    }
                    r.total *= s;
                    r.per_sample *= s;
                }
                r
            })
            .collect()
    };
    let old_runs = reduce_side(old, &old_v, &scale_old);
    let new_runs = reduce_side(new, &new_v, &scale_new);
    let old_refs: Vec<&Profile> = old.iter().collect();
    let new_refs: Vec<&Profile> = new.iter().collect();
    let mut old_sum = summarize(&old_refs, &old_runs, &old_v);
    let mut new_sum = summarize(&new_refs, &new_runs, &new_v);
    old_sum.total = old_runs.iter().map(|r| r.total).sum();
    new_sum.total = new_runs.iter().map(|r| r.total).sum();
    old_sum.total_per_run = old_sum.total / old_runs.len() as f64;
    new_sum.total_per_run = new_sum.total / new_runs.len() as f64;
    if old_sum.total <= 0.0 || new_sum.total <= 0.0 {
        let side = if old_sum.total <= 0.0 { "old" } else { "new" };
        return Err(DiffError(format!(
            "the {side} side has no samples of the compared type"
        )));
    }

    // Normalization.
    let (normalize, normalize_reason) = match opts.normalize {
        Normalize::None => (Normalize::None, "requested".to_string()),
        Normalize::Total => (Normalize::Total, "requested".to_string()),
        Normalize::Auto => match (old_sum.duration_seconds, new_sum.duration_seconds) {
            (Some(a), Some(b))
                if (a / old_sum.runs as f64 - b / new_sum.runs as f64).abs()
                    <= 0.10 * (a / old_sum.runs as f64).max(b / new_sum.runs as f64) =>
            {
                (
                    Normalize::Total,
                    "auto: both sides have the same capture duration, so shares of the total are compared".to_string(),
                )
            }
            _ => (
                Normalize::None,
                "auto: capture durations differ or are unknown (fixed-work runs), so absolute values per run are compared".to_string(),
            ),
        },
    };
    let shares = normalize == Normalize::Total;

    // Per-run, per-key values.
    let nkeys = keys.names.len();
    let mut seen = Vec::new();
    let mut epoch = 0u32;
    let per_run =
        |runs: &[Run], seen: &mut Vec<u32>, epoch: &mut u32| -> Vec<(Vec<f64>, Vec<f64>)> {
            runs.iter()
                .map(|r| per_key(r, nkeys, seen, epoch))
                .collect()
        };
    let old_pk = per_run(&old_runs, &mut seen, &mut epoch);
    let new_pk = per_run(&new_runs, &mut seen, &mut epoch);
    let mean_of = |pk: &[(Vec<f64>, Vec<f64>)], k: usize, cum: bool| -> f64 {
        pk.iter()
            .map(|(s, c)| if cum { c[k] } else { s[k] })
            .sum::<f64>()
            / pk.len() as f64
    };
    let (ot, nt) = (old_sum.total_per_run, new_sum.total_per_run);
    let q = |abs: f64, tot: f64| if shares { abs / tot } else { abs };

    let mut funcs: Vec<FunctionDiff> = Vec::new();
    for k in 0..nkeys {
        let os = mean_of(&old_pk, k, false);
        let ns = mean_of(&new_pk, k, false);
        let oc = mean_of(&old_pk, k, true);
        let nc = mean_of(&new_pk, k, true);
        if oc == 0.0 && nc == 0.0 {
            continue;
        }
        let presence = match (oc > 0.0, nc > 0.0) {
            (true, true) => Presence::Both,
            (false, true) => Presence::New,
            _ => Presence::Vanished,
        };
        let (qo, qn) = (q(os, ot), q(ns, nt));
        funcs.push(FunctionDiff {
            name: keys.names[k].clone(),
            file: keys.files[k].clone(),
            presence,
            old_self_abs: os,
            new_self_abs: ns,
            old_cum_abs: oc,
            new_cum_abs: nc,
            old_self_share: os / ot,
            new_self_share: ns / nt,
            old_cum_share: oc / ot,
            new_cum_share: nc / nt,
            delta: qn - qo,
            delta_abs: ns - os,
            delta_pp: 100.0 * (ns / nt - os / ot),
            ratio: (qo > 0.0).then(|| qn / qo),
            explained: 0.0,
            cum_delta: q(nc, nt) - q(oc, ot),
            significance: None,
            key: k as u32,
        });
    }
    let pos_sum: f64 = funcs.iter().map(|f| f.delta.max(0.0)).sum();
    let neg_sum: f64 = funcs.iter().map(|f| (-f.delta).max(0.0)).sum();
    for f in &mut funcs {
        f.explained = if f.delta > 0.0 && pos_sum > 0.0 {
            f.delta / pos_sum
        } else if f.delta < 0.0 && neg_sum > 0.0 {
            -f.delta / neg_sum
        } else {
            0.0
        };
    }
    let by_delta = |a: &FunctionDiff, b: &FunctionDiff| {
        b.delta
            .abs()
            .total_cmp(&a.delta.abs())
            .then_with(|| a.name.cmp(&b.name))
    };
    let mut regressions: Vec<FunctionDiff> =
        funcs.iter().filter(|f| f.delta > 0.0).cloned().collect();
    let mut improvements: Vec<FunctionDiff> = funcs.into_iter().filter(|f| f.delta < 0.0).collect();
    regressions.sort_by(by_delta);
    improvements.sort_by(by_delta);

    // Statistics for the reported functions.
    let ctx = StatCtx {
        old_runs: &old_runs,
        new_runs: &new_runs,
        old_pk: &old_pk,
        new_pk: &new_pk,
        shares,
        opts,
    };
    for list in [&mut regressions, &mut improvements] {
        list.truncate(opts.detail_limit.max(1) * 4);
        for (i, f) in list.iter_mut().enumerate() {
            let k = f.key as usize;
            f.significance = if i < opts.detail_limit {
                Some(ctx.function(k))
            } else {
                None
            };
        }
    }

    let total = TotalDiff {
        old: ot,
        new: nt,
        delta: nt - ot,
        relative: (ot > 0.0).then(|| (nt - ot) / ot),
        significance: Some(ctx.total()),
    };

    // Call tree for the hot paths and the differential flamegraph.
    let tree = Tree::build(&old_runs, &new_runs, shares);
    let hot_paths = tree.hot_paths(&keys.names, opts.hot_paths);
    let tree_lines = tree.folded(&keys.names);

    let mut d = Diff {
        unit,
        unit_is_time: to_ns,
        normalize,
        normalize_requested: opts.normalize,
        normalize_reason,
        match_by: opts.match_by,
        alpha: opts.alpha,
        old: old_sum,
        new: new_sum,
        total,
        regressions,
        improvements,
        hot_paths,
        warnings: Vec::new(),
        tree_lines,
    };
    d.warnings = quality_warnings(&d);
    Ok(d)
}

struct StatCtx<'a> {
    old_runs: &'a [Run],
    new_runs: &'a [Run],
    old_pk: &'a [(Vec<f64>, Vec<f64>)],
    new_pk: &'a [(Vec<f64>, Vec<f64>)],
    shares: bool,
    opts: &'a DiffOptions,
}

impl StatCtx<'_> {
    fn function(&self, k: usize) -> Significance {
        let vals = |pk: &[(Vec<f64>, Vec<f64>)], runs: &[Run]| -> Vec<f64> {
            pk.iter()
                .zip(runs)
                .map(|((s, _), r)| if self.shares { s[k] / r.total } else { s[k] })
                .collect()
        };
        let x = vals(self.old_pk, self.old_runs);
        let y = vals(self.new_pk, self.new_runs);
        let counts = |pk: &[(Vec<f64>, Vec<f64>)], runs: &[Run]| -> Vec<f64> {
            pk.iter()
                .zip(runs)
                .map(|((s, _), r)| s[k] / r.per_sample)
                .collect()
        };
        self.test(
            &x,
            &y,
            &counts(self.old_pk, self.old_runs),
            &counts(self.new_pk, self.new_runs),
            k as u64,
        )
    }

    fn total(&self) -> Significance {
        // The total is compared in absolute values (its share is always 1).
        let x: Vec<f64> = self.old_runs.iter().map(|r| r.total).collect();
        let y: Vec<f64> = self.new_runs.iter().map(|r| r.total).collect();
        let cx: Vec<f64> = self
            .old_runs
            .iter()
            .map(|r| r.total / r.per_sample)
            .collect();
        let cy: Vec<f64> = self
            .new_runs
            .iter()
            .map(|r| r.total / r.per_sample)
            .collect();
        let me = StatCtx {
            shares: false,
            ..*self
        };
        me.test(&x, &y, &cx, &cy, u64::MAX)
    }

    /// `x`, `y`: per-run compared values; `cx`, `cy`: per-run sample counts.
    fn test(&self, x: &[f64], y: &[f64], cx: &[f64], cy: &[f64], salt: u64) -> Significance {
        let alpha = self.opts.alpha;
        if x.len() >= 2 && y.len() >= 2 {
            let mw = stats::mann_whitney_u(x, y).map(|r| r.p).unwrap_or(1.0);
            let ci = stats::bootstrap_mean_diff_ci(
                x,
                y,
                self.opts.bootstrap_rounds,
                alpha,
                self.opts.seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            if stats::mann_whitney_min_p(x.len(), y.len()) <= alpha {
                return Significance {
                    test: TestKind::MannWhitney,
                    p: mw,
                    p_mann_whitney: Some(mw),
                    ci,
                    significant: mw < alpha,
                };
            }
            // Too few runs for U: Welch with variances floored at the Poisson variance.
            let floor = |vals: &[f64], counts: &[f64]| {
                let (m, _) = stats::mean_var(vals);
                let (c, _) = stats::mean_var(counts);
                if c > 0.0 {
                    // Var of a Poisson count c, converted to the value scale (m / c per count);
                    // for shares, the binomial variance of a proportion.
                    let per = m / c;
                    if self.shares {
                        let n = c / m.max(1e-300);
                        let p = m.min(1.0);
                        p * (1.0 - p) / n.max(1.0)
                    } else {
                        c * per * per
                    }
                } else {
                    // Nothing observed: one sample's worth of uncertainty.
                    0.0
                }
            };
            let w = stats::welch_t(x, y, (floor(x, cx), floor(y, cy)));
            let p = w.map(|r| r.p).unwrap_or(1.0);
            return Significance {
                test: TestKind::WelchPoissonFloor,
                p,
                p_mann_whitney: Some(mw),
                ci,
                significant: p < alpha,
            };
        }
        // One side with several runs, the other with one: the run-to-run variance of the
        // side with several runs (floored at the Poisson variance) stands for both sides, in
        // a t-test with that side's degrees of freedom. Pooled counts alone would ignore
        // run-to-run noise.
        if x.len() >= 2 || y.len() >= 2 {
            let multi = if x.len() >= 2 { x } else { y };
            let (_, v) = stats::mean_var(multi);
            // Poisson floor from both sides pooled: (value per sample)² × mean count, the
            // same formula for shares (binomial variance p(1-p)/N ≈ p²/count).
            let all: Vec<f64> = x.iter().chain(y).copied().collect();
            let counts: Vec<f64> = cx.iter().chain(cy).copied().collect();
            let (m, _) = stats::mean_var(&all);
            let (c, _) = stats::mean_var(&counts);
            let poisson = if c > 0.0 { m * m / c } else { 0.0 };
            let var = v.max(poisson);
            let (nx, ny) = (x.len() as f64, y.len() as f64);
            let mx = x.iter().sum::<f64>() / nx;
            let my = y.iter().sum::<f64>() / ny;
            let se = (var / nx + var / ny).sqrt();
            let df = (multi.len() - 1) as f64;
            let p = if se > 0.0 {
                (2.0 * stats::student_t_sf(((my - mx) / se).abs(), df)).min(1.0)
            } else if my == mx {
                1.0
            } else {
                0.0
            };
            let t = stats::student_t_quantile_two_sided(alpha, df);
            return Significance {
                test: TestKind::WelchPoissonFloor,
                p,
                p_mann_whitney: None,
                ci: Some((my - mx - t * se, my - mx + t * se)),
                significant: p < alpha,
            };
        }
        // One run per side (or one side with one run): sampling-error model on pooled counts.
        let a: f64 = cx.iter().sum();
        let b: f64 = cy.iter().sum();
        let (na, nb) = (x.len() as f64, y.len() as f64);
        // Exposures: run totals (in samples) for shares; run counts for absolute values.
        let (ea, eb) = if self.shares {
            (
                self.old_runs
                    .iter()
                    .map(|r| r.total / r.per_sample)
                    .sum::<f64>(),
                self.new_runs
                    .iter()
                    .map(|r| r.total / r.per_sample)
                    .sum::<f64>(),
            )
        } else {
            (na, nb)
        };
        let p0 = ea / (ea + eb);
        let t = stats::binomial_two_sided(a.round() as u64, b.round() as u64, p0);
        // Normal-approximation interval of the delta in the compared quantity.
        let z = stats::normal_quantile_two_sided(alpha);
        let mx = x.iter().sum::<f64>() / na;
        let my = y.iter().sum::<f64>() / nb;
        let se = if self.shares {
            let (pa, pb) = (a / ea, b / eb);
            (pa * (1.0 - pa) / ea + pb * (1.0 - pb) / eb).sqrt()
        } else {
            // Poisson: var(count) = count; scaled to value units.
            let per_a = if a > 0.0 { mx * na / a } else { 0.0 };
            let per_b = if b > 0.0 { my * nb / b } else { 0.0 };
            let per = per_a.max(per_b);
            ((a / (na * na)) + (b / (nb * nb))).sqrt() * per
        };
        let d = my - mx;
        Significance {
            test: TestKind::Binomial,
            p: t.p,
            p_mann_whitney: None,
            ci: Some((d - z * se, d + z * se)),
            significant: t.p < alpha,
        }
    }
}

/// Merged call tree of both sides, values in the compared quantity (per-run means or shares).
struct Tree {
    key: Vec<u32>,
    parent: Vec<u32>,
    old: Vec<f64>,
    new: Vec<f64>,
    old_self: Vec<f64>,
    new_self: Vec<f64>,
    children: Vec<Vec<u32>>,
}

impl Tree {
    fn build(old: &[Run], new: &[Run], shares: bool) -> Tree {
        let mut t = Tree {
            key: vec![u32::MAX],
            parent: vec![0],
            old: vec![0.0],
            new: vec![0.0],
            old_self: vec![0.0],
            new_self: vec![0.0],
            children: vec![Vec::new()],
        };
        let mut index: FxHashMap<(u32, u32), u32> = FxHashMap::default();
        let mut path: Vec<u32> = Vec::new();
        for (side, runs) in [(0, old), (1, new)] {
            let nruns = runs.len() as f64;
            for r in runs {
                let w = if shares {
                    1.0 / (r.total * nruns)
                } else {
                    1.0 / nruns
                };
                // Visit stacks in sorted order so consecutive stacks share prefixes: the nodes
                // of the shared prefix are reused without hash lookups.
                let mut order: Vec<u32> = (0..r.stacks.len() as u32).collect();
                order
                    .sort_unstable_by(|&a, &b| r.stacks[a as usize].0.cmp(&r.stacks[b as usize].0));
                let mut prev: &[u32] = &[];
                path.clear();
                for &i in &order {
                    let (stack, v) = &r.stacks[i as usize];
                    let v = v * w;
                    let lcp = stack.iter().zip(prev).take_while(|(a, b)| a == b).count();
                    path.truncate(lcp);
                    let mut node = path.last().copied().unwrap_or(0);
                    for &k in &stack[lcp..] {
                        node = *index.entry((node, k)).or_insert_with(|| {
                            let id = t.key.len() as u32;
                            t.key.push(k);
                            t.parent.push(node);
                            t.old.push(0.0);
                            t.new.push(0.0);
                            t.old_self.push(0.0);
                            t.new_self.push(0.0);
                            t.children.push(Vec::new());
                            t.children[node as usize].push(id);
                            id
                        });
                        path.push(node);
                    }
                    let (incl, selfv) = if side == 0 {
                        (&mut t.old, &mut t.old_self)
                    } else {
                        (&mut t.new, &mut t.new_self)
                    };
                    incl[0] += v;
                    for &n in &path {
                        incl[n as usize] += v;
                    }
                    selfv[node as usize] += v;
                    prev = stack;
                }
            }
        }
        t
    }

    fn delta(&self, n: u32) -> f64 {
        self.new[n as usize] - self.old[n as usize]
    }
    fn self_delta(&self, n: u32) -> f64 {
        self.new_self[n as usize] - self.old_self[n as usize]
    }

    /// Greedy descent from the roots along the child whose score is largest, until the
    /// increase sits in self time. A child's score is the larger of its inclusive increase
    /// and the largest self increase anywhere below it: in absolute mode that is the
    /// inclusive increase, in shares mode (where inclusive shares near the root barely move)
    /// it still leads to where the share grew. Siblings scoring at least a quarter of the
    /// best start further paths.
    fn hot_paths(&self, names: &[String], max: usize) -> Vec<Vec<HotFrame>> {
        let n = self.key.len();
        let mut below = vec![f64::NEG_INFINITY; n];
        for id in (1..n).rev() {
            let v = below[id].max(self.self_delta(id as u32));
            below[id] = v;
            let p = self.parent[id] as usize;
            if p != 0 {
                below[p] = below[p].max(v);
            }
        }
        let score = |c: u32| self.delta(c).max(below[c as usize]);
        let mut starts: Vec<(u32, f64)> = vec![(0, f64::INFINITY)];
        let mut paths: Vec<(f64, Vec<u32>)> = Vec::new();
        let mut done = 0;
        while let Some((start, _)) = starts.pop() {
            if done >= max.max(1) * 4 {
                break;
            }
            done += 1;
            let mut path: Vec<u32> = Vec::new();
            let mut up = start;
            while up != 0 {
                path.push(up);
                up = self.parent[up as usize];
            }
            path.reverse();
            let mut node = start;
            loop {
                let mut kids: Vec<u32> = self.children[node as usize]
                    .iter()
                    .copied()
                    .filter(|&c| score(c) > 0.0)
                    .collect();
                kids.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
                let Some(&best) = kids.first() else { break };
                let bs = score(best);
                if node != 0 && self.self_delta(node) >= bs {
                    break;
                }
                for &alt in kids.iter().skip(1).take(max) {
                    if score(alt) >= 0.25 * bs {
                        starts.push((alt, score(alt)));
                    }
                }
                path.push(best);
                node = best;
            }
            if let Some(&end) = path.last() {
                let end_score = self.self_delta(end).max(self.delta(end) * 0.5);
                if end_score > 0.0 {
                    paths.push((end_score, path));
                }
            }
            starts.sort_by(|a, b| a.1.total_cmp(&b.1));
        }
        paths.sort_by(|a, b| b.0.total_cmp(&a.0));
        paths.truncate(max);
        paths
            .into_iter()
            .map(|(_, p)| {
                p.into_iter()
                    .map(|n| HotFrame {
                        name: names[self.key[n as usize] as usize].clone(),
                        old: self.old[n as usize],
                        new: self.new[n as usize],
                        delta: self.delta(n),
                        self_delta: self.self_delta(n),
                    })
                    .collect()
            })
            .collect()
    }

    /// Leaf-self values as `stack old new` folded lines.
    fn folded(&self, names: &[String]) -> Vec<(String, f64, f64)> {
        let mut out = Vec::new();
        let mut stack: Vec<(u32, usize)> = vec![(0, 0)];
        let mut path = String::new();
        let mut lens: Vec<usize> = Vec::new();
        // Iterative DFS keeping the textual path.
        while let Some((n, depth)) = stack.pop() {
            lens.truncate(depth);
            path.truncate(lens.last().copied().unwrap_or(0));
            if n != 0 {
                if !path.is_empty() {
                    path.push(';');
                }
                path.push_str(&crate::formats::folded::sanitized(
                    &names[self.key[n as usize] as usize],
                ));
                lens.push(path.len());
                let (o, w) = (self.old_self[n as usize], self.new_self[n as usize]);
                if o != 0.0 || w != 0.0 {
                    out.push((path.clone(), o, w));
                }
            }
            let d = if n == 0 { 0 } else { depth + 1 };
            for &c in &self.children[n as usize] {
                stack.push((c, d));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Warnings when the two sides differ enough in quality to distort the verdict.
fn quality_warnings(d: &Diff) -> Vec<String> {
    let mut w = Vec::new();
    let (o, n) = (&d.old, &d.new);
    let uo = o.unknown_frame_share * 100.0;
    let un = n.unknown_frame_share * 100.0;
    if (uo - un).abs() >= 5.0 {
        w.push(format!(
            "unknown frames differ: {uo:.1}% old vs {un:.1}% new; functions may look new or vanished only because symbols are missing on one side"
        ));
    }
    let lost_share = |s: &SideSummary| {
        if s.samples > 0.0 {
            s.lost_samples as f64 / (s.samples + s.lost_samples as f64)
        } else {
            0.0
        }
    };
    for (name, s) in [("old", o), ("new", n)] {
        if lost_share(s) >= 0.01 {
            w.push(format!(
                "{name} side lost {:.1}% of its samples ({} lost)",
                lost_share(s) * 100.0,
                s.lost_samples
            ));
        }
        if s.samples > 0.0 && s.truncated_stacks as f64 / s.samples >= 0.01 {
            w.push(format!(
                "{name} side has {} truncated stacks; inclusive (cum) values and hot paths are understated",
                s.truncated_stacks
            ));
        }
        if s.samples < 100.0 {
            w.push(format!(
                "{name} side has only {:.0} samples; small changes cannot be distinguished from noise",
                s.samples
            ));
        }
    }
    if let (Some(a), Some(b)) = (o.sample_rate_hz, n.sample_rate_hz) {
        if (a - b).abs() > 0.2 * a.max(b) {
            w.push(format!(
                "sample rates differ ({a:.0} Hz old vs {b:.0} Hz new); compare time values, not sample counts"
            ));
        }
    }
    if o.sample_type != n.sample_type {
        w.push(format!(
            "sample types differ ({} vs {}); values were converted to a common unit",
            o.sample_type, n.sample_type
        ));
    }
    if o.runs >= 2 && n.runs >= 2 && stats::mann_whitney_min_p(o.runs, n.runs) > d.alpha {
        w.push(format!(
            "{} vs {} runs are too few for the Mann-Whitney test to reach p < {} (smallest possible p = {:.3}); significance comes from a Welch t-test with Poisson-floored variances. Use ≥ 4 runs per side for the rank test",
            o.runs,
            n.runs,
            d.alpha,
            stats::mann_whitney_min_p(o.runs, n.runs)
        ));
    }
    w
}

/// The `diff-folded` projection (inferno `diff-folded` / FlameGraph `difffolded.pl`
/// compatible): per raw folded stack, OLD and NEW values summed over runs. With `normalize`,
/// OLD counts are scaled to NEW's total (truncated, as `diff-folded -n` does); without it, OLD
/// is scaled only when the sides have different numbers of runs. `strip_hex` replaces hex
/// digits after `0x` with `...` (`diff-folded -s`). Sorted by stack.
pub fn diff_folded(
    old: &[(&Profile, usize)],
    new: &[(&Profile, usize)],
    normalize: bool,
    strip_hex: bool,
) -> Vec<(String, u64, u64)> {
    let mut map: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    let mut totals = [0u64; 2];
    for (side, ps) in [(0usize, old), (1, new)] {
        for &(p, v) in ps {
            for (stack, val) in crate::formats::folded::fold(p, v) {
                let key = if strip_hex {
                    strip_hex_digits(&stack)
                } else {
                    stack
                };
                let val = val.max(0) as u64;
                totals[side] += val;
                let e = map.entry(key).or_insert((0, 0));
                if side == 0 {
                    e.0 += val;
                } else {
                    e.1 += val;
                }
            }
        }
    }
    let factor = if normalize {
        if totals[0] > 0 {
            totals[1] as f64 / totals[0] as f64
        } else {
            1.0
        }
    } else if old.len() != new.len() && !old.is_empty() {
        new.len() as f64 / old.len() as f64
    } else {
        1.0
    };
    map.into_iter()
        .map(|(k, (o, n))| {
            let o = if factor == 1.0 {
                o
            } else {
                (o as f64 * factor) as u64
            };
            (k, o, n)
        })
        .filter(|(_, o, n)| *o != 0 || *n != 0)
        .collect()
}

/// `0x1234abcd` → `0x...` everywhere in a stack.
pub fn strip_hex_digits(stack: &str) -> String {
    let mut out = String::with_capacity(stack.len());
    let mut rest = stack;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i + 2]);
        let after = &rest[i + 2..];
        let n = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        if n > 0 {
            out.push_str("...");
        }
        rest = &after[n..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded;

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

    fn p(text: &str) -> Profile {
        folded::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn attribution_hand_checked() {
        // old: main;a 50, main;b 50   new: main;a 50, main;b 80, main;c 20
        let d = diff(
            &[p("main;a 50\nmain;b 50\n")],
            &[p("main;a 50\nmain;b 80\nmain;c 20\n")],
            &DiffOptions {
                normalize: Normalize::None,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(d.total.old, 100.0);
        assert_eq!(d.total.new, 150.0);
        assert_eq!(d.regressions[0].name, "b");
        assert_eq!(d.regressions[0].delta, 30.0);
        assert!((d.regressions[0].explained - 0.6).abs() < 1e-12);
        assert_eq!(d.regressions[1].name, "c");
        assert_eq!(d.regressions[1].presence, Presence::New);
        assert!(d.improvements.is_empty());
        // b: 50 vs 80 with equal exposure: binomtest(50, 130, 0.5) p = 0.010851...
        let s = d.regressions[0].significance.as_ref().unwrap();
        assert_eq!(s.test, TestKind::Binomial);
        assert!(s.significant);
        // Hot path: main → b (b's +30 is larger than c's +20).
        assert_eq!(d.hot_paths[0].len(), 2);
        assert_eq!(d.hot_paths[0][0].name, "main");
        assert_eq!(d.hot_paths[0][1].name, "b");
        assert_eq!(d.hot_paths[0][0].delta, 50.0);
    }

    #[test]
    fn shares_mode_uses_percentage_points() {
        let d = diff(
            &[p("main;a 50\nmain;b 50\n")],
            &[p("main;a 100\nmain;b 300\n")],
            &DiffOptions {
                normalize: Normalize::Total,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(d.regressions[0].name, "b");
        assert!((d.regressions[0].delta - 0.25).abs() < 1e-12);
        assert!((d.regressions[0].delta_pp - 25.0).abs() < 1e-9);
        assert_eq!(d.improvements[0].name, "a");
    }

    #[test]
    fn identical_runs_are_not_significant() {
        let runs = || {
            vec![
                p("main;a 100\nmain;b 100\n"),
                p("main;a 104\nmain;b 97\n"),
                p("main;a 98\nmain;b 103\n"),
            ]
        };
        let d = diff(&runs(), &runs(), &DiffOptions::default()).unwrap();
        assert!(d.regressions.iter().chain(&d.improvements).all(|f| !f
            .significance
            .as_ref()
            .unwrap()
            .significant));
        assert!(!d.total.significance.as_ref().unwrap().significant);
    }

    #[test]
    fn quality_differences_are_warned() {
        let old = p("main;a 500\nmain;b 500\n");
        let mut new = p("main;a 500\nmain;[unknown] 500\n");
        new.quality.unknown_frames = 500;
        new.quality.total_frames = 2000;
        new.quality.lost_samples = 100;
        let d = diff(&[old], &[new], &DiffOptions::default()).unwrap();
        assert!(
            d.warnings
                .iter()
                .any(|w| w.starts_with("unknown frames differ")),
            "{:?}",
            d.warnings
        );
        assert!(
            d.warnings.iter().any(|w| w.starts_with("new side lost")),
            "{:?}",
            d.warnings
        );
    }

    #[test]
    fn diff_folded_strip_hex_and_normalize() {
        assert_eq!(strip_hex_digits("a;0x12ab;b0xZ;0x"), "a;0x...;b0xZ;0x");
        let (o, n) = (p("a;0x1 10\nb 10\n"), p("a;0x2 30\n"));
        let out = diff_folded(&[(&o, 0)], &[(&n, 0)], true, true);
        // OLD scaled by 30/20: 10 → 15.
        assert_eq!(
            out,
            vec![("a;0x...".to_string(), 15, 30), ("b".to_string(), 15, 0)]
        );
    }
}
