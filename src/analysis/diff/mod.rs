//! `compare`'s analysis: two sets of profiles (OLD runs, NEW runs) in, a [`Diff`] out — which
//! functions changed, by how much, through which call path, and how sure we are.
//!
//! This module holds the result types and the orchestration ([`diff`]); each step lives in
//! its own module:
//! - [`identity`]: function keys across builds and the per-run reduction;
//! - [`table`]: the per-function table (self/cum values, deltas, ordering);
//! - [`significance`]: the tests and intervals;
//! - [`hotpaths`]: the merged call tree, hot paths and differential folded lines;
//! - [`quality`]: side summaries and data-quality warnings;
//! - [`folded`]: the raw `diff-folded` projection.
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

mod folded;
mod hotpaths;
mod identity;
mod quality;
mod significance;
mod table;

pub use folded::{diff_folded, strip_hex_digits};
pub use identity::{normalize_name, strip_rust_hash, Inlines};
pub use significance::{Clock, NoiseFloor, NoiseReport, CLOCK_KEY};

use crate::model::{unit_nanos, Profile};
use identity::{Keys, Run};
use serde::Serialize;

/// How per-run values are made comparable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalize {
    None,
    Total,
    Auto,
}

/// What makes two frames "the same function" across builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
    /// Whether inline frames fold into their enclosing function.
    pub inlines: Inlines,
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
    /// Run-to-run noise assumed where the runs cannot measure it (CPU-time profiles).
    pub noise: NoiseFloor,
    /// The same for wall-clock profiles ([`Clock::Wall`]).
    pub wall_noise: NoiseFloor,
    /// The same for deterministic counts (simulator instruction counts).
    pub count_noise: NoiseFloor,
    /// Change of the total the report says how many runs would resolve (e.g. `--fail-on`).
    pub target_total_change: f64,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            normalize: Normalize::Auto,
            match_by: MatchBy::Name,
            inlines: Inlines::Fold,
            sample_type: None,
            alpha: 0.05,
            bootstrap_rounds: 2000,
            seed: 0x5EED,
            hot_paths: 3,
            detail_limit: 200,
            noise: NoiseFloor::default(),
            wall_noise: NoiseFloor::wall_clock(),
            count_noise: NoiseFloor::instruction_counts(),
            target_total_change: 0.05,
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
    /// Enough runs to measure noise: Welch's t-test confirmed by Mann-Whitney U.
    WelchMannWhitney,
    /// Too few runs to measure noise: Welch / t-test with the modelled variance as a floor.
    WelchNoiseFloor,
    /// One run per side: z-test against sampling noise plus the run-to-run floor.
    NoiseFloor,
    /// Deterministic counts: no sampling noise; the runs' own spread with 2 or more runs per
    /// side, else an assumed relative floor.
    Exact,
}

/// Significance of one delta.
#[derive(Clone, Debug, Serialize)]
pub struct Significance {
    pub test: TestKind,
    pub p: f64,
    /// Benjamini–Hochberg adjusted p across the function table (functions only).
    pub q: Option<f64>,
    /// Mann-Whitney p as well, when ≥ 2 runs per side (benchstat's number).
    pub p_mann_whitney: Option<f64>,
    /// `(1 - alpha)` interval of the delta, in the compared quantity.
    pub ci: Option<(f64, f64)>,
    pub significant: bool,
    /// The function's self value changed, but its inclusive value did not change with it: the
    /// time moved between it and its callees (a JIT or compiler inlined them in one run only,
    /// or code moved between functions), so the change is not the program's
    /// ([`significance::discount_moved_self`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub moved_with_callees: bool,
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
    /// With folded inlines: the inlined callees this function's change went through, largest
    /// first (the std code a user cannot open, shown as detail of the function they can).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inlined: Vec<InlinedCallee>,
    /// Index of the function key (internal).
    #[serde(skip)]
    key: u32,
}

/// An inlined callee's part of a function's self value (compared quantity, per run).
#[derive(Clone, Debug, Serialize)]
pub struct InlinedCallee {
    pub name: String,
    pub old: f64,
    pub new: f64,
    pub delta: f64,
    #[serde(skip)]
    key: u32,
}

/// One frame of a hot path.
#[derive(Clone, Debug, Serialize)]
pub struct HotFrame {
    pub name: String,
    /// Source file of the function, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Inclusive values of this call-tree node, compared quantity.
    pub old: f64,
    pub new: f64,
    pub delta: f64,
    pub self_delta: f64,
    /// A leading frame that only passes the whole change down (start-up, thread entry):
    /// reports leave it out and say how many they left out.
    pub elided: bool,
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
    pub inlines: Inlines,
    pub alpha: f64,
    /// What the runs can tell about run-to-run noise, and the floor assumed otherwise.
    pub noise: NoiseReport,
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

impl Diff {
    /// What a function's self value is called in tables: `self time` for time units, else
    /// the unit or sample kind (`self bytes`, `self alloc_objects`, `self instructions`) — a
    /// heap profile's bytes are not time.
    pub fn self_label(&self) -> String {
        if self.unit_is_time {
            return "self time".into();
        }
        let (kind, unit) = self
            .old
            .sample_type
            .split_once('/')
            .unwrap_or((&self.old.sample_type, &self.unit));
        if unit == "count" {
            format!("self {kind}")
        } else {
            format!("self {unit}")
        }
    }
}

/// `opts` with the noise floor of `clock` as the one the tests use.
fn with_floor_of(clock: Clock, opts: &DiffOptions) -> DiffOptions {
    let mut o = opts.clone();
    if clock == Clock::Wall {
        o.noise = opts.wall_noise;
    }
    o
}

/// `opts` with the floor of deterministic counts when the profiles hold them.
fn with_count_floor_if(exact: bool, opts: &DiffOptions) -> DiffOptions {
    let mut o = opts.clone();
    if exact {
        o.noise = opts.count_noise;
    }
    o
}

/// `opts` without the rest-of-run widening of function floors when shares are compared: a
/// function's share and the rest's share are one number.
fn without_rest_coupling_if(shares: bool, opts: &DiffOptions) -> DiffOptions {
    let mut o = opts.clone();
    if shares {
        o.noise.rest_coupling = 0.0;
    }
    o
}

/// Compare OLD runs against NEW runs.
pub fn diff(old: &[Profile], new: &[Profile], opts: &DiffOptions) -> Result<Diff, DiffError> {
    if old.is_empty() || new.is_empty() {
        return Err(DiffError("each side needs at least one profile".into()));
    }
    let clock = Clock::of(old.iter().chain(new));
    let opts = &with_floor_of(clock, opts);
    let old_v = value_indices(old, "old", opts)?;
    let new_v = value_indices(new, "new", opts)?;
    let unit = CommonUnit::of(old, &old_v, new, &new_v)?;

    let mut keys = Keys::default();
    let id = identity::Identity {
        by: opts.match_by,
        inlines: opts.inlines,
    };
    let old_runs = reduce_side(old, &old_v, &unit.scale_old, &mut keys, id);
    let new_runs = reduce_side(new, &new_v, &unit.scale_new, &mut keys, id);
    let old_sum = side_summary(old, &old_runs, &old_v, "old")?;
    let new_sum = side_summary(new, &new_runs, &new_v, "new")?;

    let (normalize, normalize_reason) = choose_normalization(opts.normalize, old, new);
    let shares = normalize == Normalize::Total;
    let opts = &without_rest_coupling_if(shares, opts);

    let exact = old
        .iter()
        .zip(&old_v)
        .chain(new.iter().zip(&new_v))
        .all(|(p, &v)| counts_are_exact(p, v));
    let opts = &with_count_floor_if(exact, opts);
    let totals = (old_sum.total_per_run, new_sum.total_per_run);
    // The statistics and the call tree only read the reduced runs: on two cores they run side
    // by side.
    let ((regressions, improvements, total), (hot_paths, tree_lines)) = rayon::join(
        || function_rows(&keys, &old_runs, &new_runs, totals, shares, exact, opts),
        || {
            // Call tree for the hot paths and the differential flamegraph.
            let tree = hotpaths::Tree::build(&old_runs, &new_runs, shares);
            let lines = rayon::join(
                || tree.hot_paths(&keys.names, &keys.files, opts.hot_paths),
                || tree.folded(&keys.names),
            );
            crate::exit::drop_later(tree);
            lines
        },
    );
    // Millions of small blocks: freeing them one by one is a tenth of a large comparison.
    crate::exit::drop_later((old_runs, new_runs));

    let mut d = Diff {
        unit: unit.name,
        unit_is_time: unit.is_time,
        normalize,
        normalize_requested: opts.normalize,
        normalize_reason,
        match_by: opts.match_by,
        inlines: opts.inlines,
        alpha: opts.alpha,
        noise: NoiseReport::new((old.len(), new.len()), exact, clock, opts),
        old: old_sum,
        new: new_sum,
        total,
        regressions,
        improvements,
        hot_paths,
        warnings: Vec::new(),
        tree_lines,
    };
    d.warnings = quality::quality_warnings(&d);
    Ok(d)
}

/// The per-function table with its significance, and the total's change.
/// `totals` are the mean totals per run (OLD, NEW); `exact`: the counts are deterministic.
fn function_rows(
    keys: &Keys,
    old_runs: &[Run],
    new_runs: &[Run],
    (ot, nt): (f64, f64),
    shares: bool,
    exact: bool,
    opts: &DiffOptions,
) -> (Vec<FunctionDiff>, Vec<FunctionDiff>, TotalDiff) {
    // Per-run, per-key values.
    let nkeys = keys.names.len();
    let mut seen = Vec::new();
    let mut epoch = 0u32;
    let mut per_run = |runs: &[Run]| -> Vec<(Vec<f64>, Vec<f64>)> {
        runs.iter()
            .map(|r| identity::per_key(r, nkeys, &mut seen, &mut epoch))
            .collect()
    };
    let old_pk = per_run(old_runs);
    let new_pk = per_run(new_runs);
    let (mut regressions, mut improvements) =
        table::function_table(keys, &old_pk, &new_pk, (ot, nt), shares);
    let ctx = significance::StatCtx {
        old_runs,
        new_runs,
        old_pk: &old_pk,
        new_pk: &new_pk,
        shares,
        exact,
        opts,
    };
    ctx.annotate(&mut regressions);
    ctx.annotate(&mut improvements);
    for rows in [&mut regressions, &mut improvements] {
        identity::inline_detail(keys, old_runs, new_runs, shares, rows);
    }
    significance::control_fdr([&mut regressions, &mut improvements], opts.alpha);
    significance::discount_moved_self([&mut regressions, &mut improvements]);
    let total = TotalDiff {
        old: ot,
        new: nt,
        delta: nt - ot,
        relative: (ot > 0.0).then(|| (nt - ot) / ot),
        significance: Some(ctx.total()),
    };
    (regressions, improvements, total)
}

/// Whether `value` holds deterministic event counts — instruction counts of a simulator such
/// as callgrind (kind or unit `instructions` / `Ir`) in a profile that records no sampling
/// (no sampling period, event or frequency) — so identical runs compare exactly equal.
fn counts_are_exact(p: &Profile, value: usize) -> bool {
    let t = &p.sample_types[value];
    let instr = |s: &str| s.eq_ignore_ascii_case("instructions") || s.eq_ignore_ascii_case("ir");
    (instr(&t.kind) || instr(&t.unit))
        && p.period == 0
        && !p.sample_types.iter().any(|t| t.kind == "samples")
        && !p.metadata.contains_key("event")
        && !p.metadata.contains_key("frequency")
}

/// The value index compared in each profile of one side.
fn value_indices(ps: &[Profile], side: &str, opts: &DiffOptions) -> Result<Vec<usize>, DiffError> {
    ps.iter()
        .enumerate()
        .map(|(i, p)| {
            p.value_index(opts.sample_type.as_deref()).ok_or_else(|| {
                DiffError(format!(
                    "{side} profile {}: no sample type {}",
                    i + 1,
                    opts.sample_type
                        .as_deref()
                        .unwrap_or("(the profile has none)")
                ))
            })
        })
        .collect()
}

/// The unit both sides are compared in, and each profile's factor into it (time units are
/// converted to nanoseconds; other units must agree exactly).
struct CommonUnit {
    name: String,
    is_time: bool,
    scale_old: Vec<f64>,
    scale_new: Vec<f64>,
}

impl CommonUnit {
    fn of(
        old: &[Profile],
        old_v: &[usize],
        new: &[Profile],
        new_v: &[usize],
    ) -> Result<CommonUnit, DiffError> {
        let unit_of = |p: &Profile, v: usize| p.sample_types[v].unit.clone();
        let base_unit = unit_of(&old[0], old_v[0]);
        let to_ns = unit_nanos(&base_unit).is_some();
        let scales = |side: &str, ps: &[Profile], vs: &[usize]| -> Result<Vec<f64>, DiffError> {
            ps.iter()
                .zip(vs)
                .enumerate()
                .map(|(i, (p, &v))| {
                    let u = unit_of(p, v);
                    match (unit_nanos(&u), to_ns) {
                        (Some(ns), true) => Ok(ns),
                        (None, false) if u == base_unit => Ok(1.0),
                        _ => Err(DiffError(format!(
                            "{side} profile {} measures {u} but the first old profile measures {base_unit}; choose a common --sample-type",
                            i + 1
                        ))),
                    }
                })
                .collect()
        };
        let scale_old = scales("old", old, old_v)?;
        let scale_new = scales("new", new, new_v)?;
        Ok(CommonUnit {
            name: if to_ns {
                "nanoseconds".to_string()
            } else {
                base_unit
            },
            is_time: to_ns,
            scale_old,
            scale_new,
        })
    }
}

/// Reduce each run of one side to key stacks, scaled into the common unit.
fn reduce_side(
    ps: &[Profile],
    vs: &[usize],
    scales: &[f64],
    keys: &mut Keys,
    id: identity::Identity,
) -> Vec<Run> {
    ps.iter()
        .zip(vs)
        .zip(scales)
        .map(|((p, &v), &s)| {
            let mut r = identity::reduce(p, v, keys, id);
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
}

/// Summary of one side; an error when it has nothing of the compared type.
fn side_summary(
    ps: &[Profile],
    runs: &[Run],
    vs: &[usize],
    side: &str,
) -> Result<SideSummary, DiffError> {
    let refs: Vec<&Profile> = ps.iter().collect();
    let sum = quality::summarize(&refs, runs, vs);
    if sum.total <= 0.0 {
        return Err(DiffError(format!(
            "the {side} side has no samples of the compared type"
        )));
    }
    Ok(sum)
}

/// How a profile says it was captured (metadata `capture`, written by `profdiff record` and
/// derived from perf.data's command line): `fixed-duration` for a window of a running process
/// or of the system, `fixed-work` for a command run to completion.
pub const CAPTURE_KEY: &str = "capture";

/// The normalization used, and why. `auto` compares shares only when every profile says it is
/// a fixed-duration capture — durations that happen to agree say nothing about that (two runs
/// of a fixed-work benchmark often take about as long).
fn choose_normalization(
    requested: Normalize,
    old: &[Profile],
    new: &[Profile],
) -> (Normalize, String) {
    match requested {
        Normalize::None => (Normalize::None, "requested".to_string()),
        Normalize::Total => (Normalize::Total, "requested".to_string()),
        Normalize::Auto => {
            let is =
                |p: &Profile, kind: &str| p.metadata.get(CAPTURE_KEY).is_some_and(|c| c == kind);
            let all = old.iter().chain(new);
            if all.clone().all(|p| is(p, "fixed-duration")) {
                (
                    Normalize::Total,
                    "auto: every profile is a fixed-duration capture (an attached process or the whole system), so shares of the total are compared".to_string(),
                )
            } else if all.clone().any(|p| is(p, "fixed-duration")) {
                (
                    Normalize::None,
                    "auto: only some profiles are fixed-duration captures, so absolute values per run are compared; --normalize total compares shares".to_string(),
                )
            } else if all.clone().all(|p| is(p, "fixed-work")) {
                (
                    Normalize::None,
                    "auto: every profile ran its command to completion (fixed work), so absolute values per run are compared".to_string(),
                )
            } else {
                (
                    Normalize::None,
                    "auto: the profiles do not say they are fixed-duration captures, so absolute values per run are compared (right for runs to completion); use --normalize total for captures of a fixed window (e.g. pprof's /debug/pprof/profile?seconds=N)".to_string(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded;

    fn p(text: &str) -> Profile {
        folded::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn attribution_hand_checked() {
        // old: main;a 50, main;b 50   new: main;a 50, main;b 80, main;c 20
        // The base model (φ, r) by hand; the rest-of-run widening has its own test
        // (the_rest_of_the_run_widens_a_function_floor).
        let d = diff(
            &[p("main;a 50\nmain;b 50\n")],
            &[p("main;a 50\nmain;b 80\nmain;c 20\n")],
            &DiffOptions {
                normalize: Normalize::None,
                noise: NoiseFloor {
                    rest_coupling: 0.0,
                    share_floor: 0.0,
                    ..NoiseFloor::default()
                },
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
        // One run per side, by hand (φ = 2, r = 10 %, r_total = 15 %). b's absolute test:
        // pooled m = 65 with 65 samples, share 130/250: var(delta) = 2·(2·65·(1 − 0.52) +
        // (0.1·65)²) = 209.3, z = 30 / 14.467 = 2.0737, p = 0.038113. Its odds against the
        // rest of the run: ln(50.5/50.5) → ln(80.5/70.5), var = 2·(2/65.5 + 2/60.5 + 0.01),
        // z = 0.34575, p = 0.72953 — the rest grew as much (a + c: 50 → 70), as on a machine
        // that ran slower as a whole, so b is not called.
        let b = d.regressions[0].significance.as_ref().unwrap();
        assert_eq!(b.test, TestKind::NoiseFloor);
        assert!((b.p - 0.72953).abs() < 1e-5, "{}", b.p);
        assert!(!b.significant);
        // c: 0 → 20, m = 10, share 0.08: var = 2·(2·10·0.92 + 1²) = 38.8, z = 3.2108,
        // p = 0.0013236 (its odds, ln(0.5/100.5) → ln(20.5/130.5), give p = 1.7e-7);
        // Benjamini–Hochberg over {b, c}: q_c = 2p = 0.0026473.
        let c = d.regressions[1].significance.as_ref().unwrap();
        assert!((c.p - 0.0013236).abs() < 1e-6, "{}", c.p);
        assert!((c.q.unwrap() - 0.0026473).abs() < 1e-6);
        assert!(c.significant);
        assert!((b.q.unwrap() - 0.72953).abs() < 1e-5);
        // Total 100 → 150: var = 2·(2·125 + (0.15·125)²) = 1203.125, z = 1.4415, p = 0.14944:
        // one CPU-time run per side cannot call a +50 % total of 100 samples.
        let t = d.total.significance.as_ref().unwrap();
        assert!((t.p - 0.1494435).abs() < 1e-6, "{}", t.p);
        assert!(!t.significant);
        assert!(!d.noise.measured);
        assert!(d
            .warnings
            .iter()
            .any(|w| w.contains("noise is not measured")));
        // Hot path: main → b (b's +30 is larger than c's +20).
        assert_eq!(d.hot_paths[0].len(), 2);
        assert_eq!(d.hot_paths[0][0].name, "main");
        assert_eq!(d.hot_paths[0][1].name, "b");
        assert_eq!(d.hot_paths[0][0].delta, 50.0);
    }

    #[test]
    fn wall_clock_profiles_get_the_wall_clock_floor() {
        // The profiles of attribution_hand_checked, sampled by wall clock (py-spy, V8): any
        // side saying so selects φ = 5, r = 25 %, r_total = 50 %.
        let wall = |text: &str| {
            let mut q = p(text);
            q.metadata.insert(CLOCK_KEY.into(), "wall".into());
            q
        };
        let wall_floor = NoiseFloor {
            rest_coupling: 0.0,
            share_floor: 0.0,
            ..NoiseFloor::wall_clock()
        };
        let d = diff(
            &[wall("main;a 50\nmain;b 50\n")],
            &[p("main;a 50\nmain;b 80\nmain;c 20\n")],
            &DiffOptions {
                normalize: Normalize::None,
                wall_noise: wall_floor,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(d.noise.clock, Clock::Wall);
        assert_eq!(d.noise.floor, wall_floor);
        // Total 100 → 150: var = 2·(5·125 + (0.5·125)²) = 9062.5, z = 0.52523, p = 0.59943.
        let t = d.total.significance.as_ref().unwrap();
        assert!((t.p - 0.5994263).abs() < 1e-6, "{}", t.p);
        // c: 0 → 20, m = 10, share 0.08: var = 2·(5·10·0.92 + (0.25·10)²) = 104.5,
        // z = 1.9565, p = 0.050412: twenty samples of one wall-clock run are not a change.
        let c = d.regressions[1].significance.as_ref().unwrap();
        assert!((c.p - 0.050412).abs() < 1e-5, "{}", c.p);
        assert!(!c.significant);
        assert!(d
            .warnings
            .iter()
            .any(|w| w.contains("for wall-clock samplers")));
    }

    /// The rest of the run is a function's control (`StatCtx::function_floor`), by hand with
    /// the default floor (φ = 2, r = 10 %, k = 3).
    #[test]
    fn the_rest_of_the_run_widens_a_function_floor() {
        // The share floor has its own test (a_function_may_swing_by_a_share_point).
        let opts = DiffOptions {
            normalize: Normalize::None,
            noise: NoiseFloor {
                share_floor: 0.0,
                ..NoiseFloor::default()
            },
            ..Default::default()
        };
        // c: 0 → 20 while its rest (a + b) went 100 → 130 samples: ρ = ln 1.3, excess over
        // sampling ρ² − 1/100 − 1/130 = 0.051143, √ = 0.22615, less the 0.03 tolerance
        // 0.19615; r'² = 0.01 + 9 · 0.19615² = 0.35626; var = 2·(2·10·0.92 + 0.35626·10²) =
        // 108.053, z = 1.9240, p = 0.054351. With the rest moving by 30 %, twenty new samples
        // in one run per side are not called.
        let d = diff(
            &[p("main;a 50\nmain;b 50\n")],
            &[p("main;a 50\nmain;b 80\nmain;c 20\n")],
            &opts,
        )
        .unwrap();
        let c = d.regressions[1].significance.as_ref().unwrap();
        assert_eq!(d.regressions[1].name, "c");
        assert!((c.p - 0.054351).abs() < 1e-5, "{}", c.p);
        assert!(!c.significant);
        // b: 100 → 200 while its rest (a) stays at 100: no widening. Absolute test: m = 150,
        // share 0.6, var = 2·(2·150·0.4 + 15²) = 690, z = 3.8069, p = 1.407e-4; its odds
        // ln(100.5/100.5) → ln(200.5/100.5), var = 2·(2/150.5 + 2/100.5 + 0.01), z = 2.3499,
        // p = 0.018776, the larger of the two.
        let d = diff(
            &[p("main;a 100\nmain;b 100\n")],
            &[p("main;a 100\nmain;b 200\n")],
            &opts,
        )
        .unwrap();
        let b = d.regressions[0].significance.as_ref().unwrap();
        assert_eq!(d.regressions[0].name, "b");
        assert!((b.p - 0.018776).abs() < 1e-5, "{}", b.p);
        assert!(b.significant);
        // The rest lies outside the function's callees, which move with it: b 1000 → 2000
        // with its callee w 200 → 400, a stays at 1000. Not widened: m = 1500, share
        // 3000/5600, var = 2·(2·1500·(1 − 0.535714) + 150²) = 47785.7, interval ±1.96·√var =
        // ±428.45. Counting w in the rest (1200 → 1400) would have widened it to ±1545.
        let d = diff(
            &[p("main;a 1000\nmain;b 1000\nmain;b;w 200\n")],
            &[p("main;a 1000\nmain;b 2000\nmain;b;w 400\n")],
            &opts,
        )
        .unwrap();
        assert_eq!(d.regressions[0].name, "b");
        let ci = d.regressions[0].significance.as_ref().unwrap().ci.unwrap();
        assert!(((ci.1 - ci.0) / 2.0 - 428.45).abs() < 0.01, "{ci:?}");
    }

    /// A small function of identical runs swings by whole share points (the share floor,
    /// `a` = 1 % of the run per run): b going from 1 % to 3 % of its run is not called, where
    /// the relative floor alone would call it. By hand: m = 20, c = 20, pooled share
    /// 40/2020; r'² = 0.1² + (0.01 / 0.019802)² = 0.265025; var = 2·20²/20·(1 − 0.019802) +
    /// 0.265025·20² = 145.218, z = 20 / √(2·145.218) = 1.1736, p = 0.24057. Without it:
    /// var = 43.208, z = 2.1515, p = 0.031440 (its odds: z = 2.2778, p = 0.022737).
    #[test]
    fn a_function_may_swing_by_a_share_point() {
        let old = [p("main;a 990\nmain;b 10\n")];
        let new = [p("main;a 990\nmain;b 30\n")];
        let with = |share_floor: f64| {
            let opts = DiffOptions {
                normalize: Normalize::None,
                noise: NoiseFloor {
                    share_floor,
                    ..NoiseFloor::default()
                },
                ..Default::default()
            };
            let d = diff(&old, &new, &opts).unwrap();
            assert_eq!(d.regressions[0].name, "b");
            d.regressions[0].significance.clone().unwrap()
        };
        let floored = with(NoiseFloor::default().share_floor);
        assert!((floored.p - 0.24057).abs() < 1e-5, "{}", floored.p);
        assert!(!floored.significant);
        let bare = with(0.0);
        assert!((bare.p - 0.031440).abs() < 1e-5, "{}", bare.p);
        assert!(bare.significant);
    }

    /// Time that moved between a function and its callees (a JIT inlining `hash` into `run`
    /// in one run only) is not a regression of `run`: its inclusive time did not grow. (The
    /// rest of the run is large, so its 5 % change does not hide `run`'s self change.)
    #[test]
    fn self_time_moved_from_callees_is_not_a_regression() {
        let d = diff(
            &[p("main;run;hash 5000\nmain;run 100\nmain;other 100000\n")],
            &[p("main;run 5100\nmain;other 100000\n")],
            &DiffOptions {
                normalize: Normalize::None,
                ..Default::default()
            },
        )
        .unwrap();
        let run = &d.regressions[0];
        assert_eq!(run.name, "run");
        let s = run.significance.as_ref().unwrap();
        // Called on its own (p ≈ 0.002 after the rest-of-run and share floors, q < α) ...
        assert!(s.p < 0.01 && s.q.unwrap() < 0.05, "{s:?}");
        // ... but not a regression: its inclusive time did not grow.
        assert!(s.moved_with_callees && !s.significant);
        assert!(d.warnings.iter().any(|w| w
            .starts_with("self time moved between functions and their callees")
            && w.contains("run (self ×51.00, inclusive ×1.00)")));
        // A function that grew on its own stays a regression.
        let d = diff(
            &[p("main;run;hash 5000\nmain;run 100\nmain;other 100000\n")],
            &[p("main;run;hash 5000\nmain;run 5100\nmain;other 100000\n")],
            &DiffOptions {
                normalize: Normalize::None,
                ..Default::default()
            },
        )
        .unwrap();
        let s = d.regressions[0].significance.as_ref().unwrap();
        assert!(s.significant && !s.moved_with_callees);
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
    fn instruction_counts_have_no_sampling_noise_but_a_floor() {
        let instr = |text: &str| {
            let mut p = p(text);
            p.sample_types[0] = crate::model::ValueType::new("instructions", "count");
            p.period_type = None;
            p.period = 0;
            p
        };
        let same = diff(
            &[instr("main;a 5000\nmain;b 5000\n")],
            &[instr("main;a 5000\nmain;b 5000\n")],
            &DiffOptions::default(),
        )
        .unwrap();
        assert!(same.noise.exact);
        assert!(same.regressions.is_empty() && same.improvements.is_empty());
        assert!(!same.total.significance.as_ref().unwrap().significant);
        // One run per side: an instruction more is within the assumed ±2 % (hash randomization
        // and GC move identical runs' counts): m = 5000.5, se = √2 · 0.02 · 5000.5 = 141.4,
        // z = 0.0071.
        let d = diff(
            &[instr("main;a 5000\nmain;b 5000\n")],
            &[instr("main;a 5001\nmain;b 5000\n")],
            &DiffOptions::default(),
        )
        .unwrap();
        let s = d.regressions[0].significance.as_ref().unwrap();
        assert_eq!((s.test, s.significant), (TestKind::Exact, false));
        assert!((s.p - 0.994358).abs() < 1e-5, "{}", s.p);
        assert_eq!(d.self_label(), "self instructions");
        assert!(d
            .warnings
            .iter()
            .any(|w| w.contains("deterministic counts")));
        // Twice the work is called: m = 7500, se = √2 · 150 = 212.13, z = 23.6.
        let d = diff(
            &[instr("main;a 5000\nmain;b 5000\n")],
            &[instr("main;a 10000\nmain;b 5000\n")],
            &DiffOptions::default(),
        )
        .unwrap();
        assert!(d.regressions[0].significance.as_ref().unwrap().significant);
        // Two runs per side that agree exactly show a deterministic program: the spread is
        // floored at one count in 10⁴ (0.50005 per run), se = √(0.50005² / 2 · 2) = 0.50005,
        // z = 1.9998, p = 0.04552 — a single instruction in 5000 is real.
        let two = |a: &str| vec![instr(a), instr(a)];
        let d = diff(
            &two("main;a 5000\nmain;b 5000\n"),
            &two("main;a 5001\nmain;b 5000\n"),
            &DiffOptions::default(),
        )
        .unwrap();
        let s = d.regressions[0].significance.as_ref().unwrap();
        assert_eq!((s.test, s.significant), (TestKind::Exact, true));
        assert!((s.p - 0.045519).abs() < 1e-5, "{}", s.p);
        assert!(d.noise.measured);
    }

    #[test]
    fn false_discovery_rate_is_controlled_across_the_table() {
        // No run-to-run floor, so only sampling noise: f0 1000 → 1150 alone is significant
        // (z ≈ 2.35, p ≈ 0.019), but not among 19 other tested functions that moved by ±1:
        // Benjamini–Hochberg gives it q ≈ 20 · 0.019.
        let opts = DiffOptions {
            normalize: Normalize::None,
            noise: NoiseFloor {
                function_rel: 0.0,
                rest_coupling: 0.0,
                share_floor: 0.0,
                ..NoiseFloor::default()
            },
            ..Default::default()
        };
        let text = |f0: u32, wiggle: bool| {
            let mut t = format!("main;f0 {f0}\n");
            for i in 1..20 {
                let v = if wiggle { 1000 + (i % 2) * 2 - 1 } else { 1000 };
                t.push_str(&format!("main;f{i} {v}\n"));
            }
            t
        };
        let alone = diff(&[p(&text(1000, false))], &[p(&text(1150, false))], &opts).unwrap();
        let s = alone.regressions[0].significance.as_ref().unwrap();
        assert!(s.p < 0.05 && s.significant, "{s:?}");
        let crowd = diff(&[p(&text(1000, false))], &[p(&text(1150, true))], &opts).unwrap();
        assert_eq!(crowd.regressions[0].name, "f0");
        let s = crowd.regressions[0].significance.as_ref().unwrap();
        assert!((s.p - alone.regressions[0].significance.as_ref().unwrap().p).abs() < 0.01);
        assert!(s.q.unwrap() > 0.2 && !s.significant, "{s:?}");
    }
}
