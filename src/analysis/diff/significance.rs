//! Significance of one delta (a function's self value, or the total): which test fits the
//! number of runs per side, its p-value, the interval of the delta, and the false-discovery
//! control across the function table.
//!
//! Two identical runs differ by more than sampling error: frequency scaling, cache and
//! scheduler effects move a function's self time by several percent from run to run. One run
//! per side cannot measure that, so where the runs cannot measure it the variance of a value
//! is modelled as over-dispersed sampling noise plus a calibrated run-to-run floor
//! ([`NoiseFloor`]):
//!
//! `var(run value) = φ · m² / c + (r · m)²`
//!
//! with `m` the value, `c` its sample count, `φ` the over-dispersion of counts and `r` the
//! relative run-to-run noise (per function, or of the total). The floor depends on what the
//! samples measure ([`Clock`]): wall-clock samplers also sample a waiting process, and vary
//! far more between identical runs than CPU time. docs/compare.md gives the calibration.
//!
//! - 1 run per side: z-test of the delta against that variance at the pooled value
//!   ([`TestKind::NoiseFloor`]).
//! - runs too few to measure noise (≤ 3 on a side, or 1 against several): Welch / t-test whose
//!   per-run variance is at least the modelled one ([`TestKind::WelchNoiseFloor`]).
//! - enough runs for the Mann-Whitney test to reach `alpha` (e.g. 4 vs 4): Welch on the
//!   measured per-run values (variance floored only at the sampling variance), and the
//!   Mann-Whitney test must agree ([`TestKind::WelchMannWhitney`]); a bootstrap gives the
//!   interval.
//! - deterministic counts (instruction counts of a simulator): no sampling noise; with 2 or
//!   more runs per side their own spread, else an assumed relative floor, since a program is
//!   not deterministic just because its counter is ([`TestKind::Exact`],
//!   [`NoiseFloor::instruction_counts`]).
//!
//! Every function's floor is widened by how much the rest of its run (outside the function and
//! its callees) moved and is at least a share point of the run ([`StatCtx::function_floor`]).
//!
//! In absolute mode with a side of one run, a function is significant only when its odds
//! against the rest of its run changed significantly too: a machine that is slower as a
//! whole moves every absolute value, not the odds.
//!
//! Functions are one family of tests: their p-values are adjusted with Benjamini–Hochberg and
//! a function is significant only when its adjusted `q < alpha`.
//!
//! A function whose self value grew while its inclusive value did not is not a regression:
//! the time moved in from its callees ([`discount_moved_self`]); likewise for improvements.

use super::identity::Run;
use super::{DiffOptions, FunctionDiff, Significance, TestKind};
use crate::analysis::stats;
use serde::Serialize;

/// Run-to-run noise assumed where the runs cannot measure it. The defaults are calibrated on
/// identical-code recordings (docs/compare.md, "Calibration").
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct NoiseFloor {
    /// Relative standard deviation of one function's self value between identical runs.
    pub function_rel: f64,
    /// Relative standard deviation of the total between identical runs.
    pub total_rel: f64,
    /// Variance of a sample count relative to a Poisson count of the same mean.
    pub overdispersion: f64,
    /// How much more a function's self value moves than the rest of its run: the floor of a
    /// function whose run's rest changed by a log ratio `ρ` is `√(function_rel² + (k·ρ)²)`
    /// ([`StatCtx::function_floor`]).
    pub rest_coupling: f64,
    /// Standard deviation of one function's share of its run between identical runs, in
    /// fractions of the run total: small functions swing by whole share points (memory
    /// layout, page faults, huge pages), more than any relative floor of their own size allows.
    pub share_floor: f64,
}

impl Default for NoiseFloor {
    fn default() -> Self {
        NoiseFloor {
            function_rel: 0.10,
            total_rel: 0.15,
            overdispersion: 2.0,
            rest_coupling: 3.0,
            share_floor: 0.01,
        }
    }
}

impl NoiseFloor {
    /// The floor for wall-clock samplers ([`Clock::Wall`]). Their run totals include time the
    /// process waited or was descheduled, so identical runs differ far more than CPU-time
    /// profiles: total CV 20–55 % on the corpus' calibration runs against 1–4 % (20 % for an
    /// allocation-heavy workload) for CPU-time samplers, and a function's odds against its run
    /// are over-dispersed 2–20x, a function's self value moves by a median 40–45 % (docs/compare.md,
    /// "Calibration").
    pub fn wall_clock() -> NoiseFloor {
        NoiseFloor {
            function_rel: 0.25,
            total_rel: 0.50,
            overdispersion: 5.0,
            rest_coupling: 3.0,
            share_floor: 0.025,
        }
    }

    /// The floor for deterministic counts (simulator instruction counts such as callgrind's
    /// `Ir`): no sampling noise, but a program is not deterministic just because its counter
    /// is. Hash randomization (Python), garbage collection, threads and the environment move
    /// identical runs' counts by up to a few percent (docs/compare.md, "Calibration").
    pub fn instruction_counts() -> NoiseFloor {
        NoiseFloor {
            function_rel: 0.02,
            total_rel: 0.02,
            overdispersion: 0.0,
            rest_coupling: 0.0,
            share_floor: 0.0,
        }
    }
}

/// What a profile's samples measure, as its reader knows it (metadata [`CLOCK_KEY`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Clock {
    /// CPU time, or a clock-driven sampler that only sees the process while it runs (perf
    /// `cpu-clock`, Go's SIGPROF, `profdiff record`), and everything a profile does not say.
    Cpu,
    /// Wall-clock sampling (py-spy, rbspy, V8 `--cpu-prof`, Chrome traces): a waiting or
    /// descheduled process is still sampled.
    Wall,
}

/// Metadata key saying what a profile's clock measures: `cpu` or `wall`.
pub const CLOCK_KEY: &str = "clock";

impl Clock {
    /// `Wall` when any profile says it was sampled by wall clock: the noisier side decides.
    pub fn of<'a>(profiles: impl IntoIterator<Item = &'a crate::model::Profile>) -> Clock {
        let wall = profiles
            .into_iter()
            .any(|p| p.metadata.get(CLOCK_KEY).is_some_and(|c| c == "wall"));
        if wall {
            Clock::Wall
        } else {
            Clock::Cpu
        }
    }
}

/// What the comparison can and cannot see of run-to-run noise.
#[derive(Clone, Debug, Serialize)]
pub struct NoiseReport {
    /// True when both sides have enough runs to measure run-to-run noise (the Mann-Whitney
    /// test can reach `alpha`); false when the [`NoiseFloor`] is assumed instead.
    pub measured: bool,
    /// True for deterministic counts (no sampling noise: [`NoiseFloor::instruction_counts`]).
    pub exact: bool,
    /// What the profiles' samples measure; it selects the floor.
    pub clock: Clock,
    pub floor: NoiseFloor,
    /// Smallest relative change of a function's self value that can be called significant
    /// with these runs, under the floor (large sample counts; before the FDR adjustment).
    pub min_function_change: f64,
    /// The same for the total.
    pub min_total_change: f64,
    /// Runs per side needed to detect a change of `target_total_change` in the total
    /// (80 % power at `alpha`, at the assumed floor; at least 4 for the rank test).
    pub runs_needed: usize,
    pub target_total_change: f64,
}

impl NoiseReport {
    pub(super) fn new(
        d_runs: (usize, usize),
        exact: bool,
        clock: Clock,
        opts: &DiffOptions,
    ) -> NoiseReport {
        let (nx, ny) = d_runs;
        let floor = opts.noise;
        let z = stats::normal_quantile_two_sided(opts.alpha);
        let scale = (1.0 / nx as f64 + 1.0 / ny as f64).sqrt();
        let power = z + 0.8416; // one-sided 80 % power
        let needed = 2.0 * (power * floor.total_rel / opts.target_total_change.max(1e-9)).powi(2);
        NoiseReport {
            measured: match exact {
                true => nx >= 2 && ny >= 2,
                false => runs_measure_noise(nx, ny, opts.alpha),
            },
            exact,
            clock,
            floor,
            min_function_change: z * scale * floor.function_rel,
            min_total_change: z * scale * floor.total_rel,
            runs_needed: (needed.ceil() as usize).max(min_runs_for_rank_test(opts.alpha)),
            target_total_change: opts.target_total_change,
        }
    }

    /// One sentence for the report when noise is not measured; `None` otherwise.
    pub fn sentence(&self) -> Option<String> {
        if self.measured {
            return None;
        }
        if self.exact {
            return Some(format!(
                "these are deterministic counts, but a program is not deterministic just because its counter is (hash randomization, garbage collection, threads): with one run on a side an assumed floor of ±{:.0}% per function and of the total (docs/compare.md) is used, so the smallest change that can be called is about {:.1}% of a function's value; with 2 or more runs per side their own spread is used",
                self.floor.function_rel * 100.0,
                self.min_function_change * 100.0
            ));
        }
        let which = match self.clock {
            Clock::Cpu => "",
            Clock::Wall => " for wall-clock samplers, whose totals include waiting",
        };
        let widened = match self.floor.rest_coupling {
            k if k > 0.0 => {
                format!(", widened per function by {k:.0}× the change of the rest of its run")
            }
            _ => String::new(),
        };
        Some(format!(
            "run-to-run noise is not measured with these runs: an assumed floor of ±{:.0}% per function (at least ±{:.1} points of its run's total) and ±{:.0}% of the total{which} (identical-code runs, docs/compare.md) is added to sampling noise{widened}, so the smallest change that can be called is about {:.0}% of a function's self value and {:.1}% of the total; about {} runs per side (profdiff record --runs) would resolve a {:.0}% change of the total",
            self.floor.function_rel * 100.0,
            self.floor.share_floor * 100.0,
            self.floor.total_rel * 100.0,
            self.min_function_change * 100.0,
            self.min_total_change * 100.0,
            self.runs_needed,
            self.target_total_change * 100.0
        ))
    }
}

/// Whether `nx` vs `ny` runs can measure run-to-run noise: the rank test can reach `alpha`.
pub(super) fn runs_measure_noise(nx: usize, ny: usize, alpha: f64) -> bool {
    nx >= 2 && ny >= 2 && stats::mann_whitney_min_p(nx, ny) <= alpha
}

fn min_runs_for_rank_test(alpha: f64) -> usize {
    (2..20)
        .find(|&n| stats::mann_whitney_min_p(n, n) <= alpha)
        .unwrap_or(20)
}

pub(super) struct StatCtx<'a> {
    pub(super) old_runs: &'a [Run],
    pub(super) new_runs: &'a [Run],
    pub(super) old_pk: &'a [(Vec<f64>, Vec<f64>)],
    pub(super) new_pk: &'a [(Vec<f64>, Vec<f64>)],
    pub(super) shares: bool,
    /// Deterministic counts: every difference is real.
    pub(super) exact: bool,
    pub(super) opts: &'a DiffOptions,
}

/// Per-run compared values and sample counts of one quantity on both sides.
struct Sides {
    x: Vec<f64>,
    y: Vec<f64>,
    cx: Vec<f64>,
    cy: Vec<f64>,
    /// Per-run inclusive values (absolute) of a function, empty for the total: what lies
    /// outside them is the function's control, the rest of its run.
    cum_x: Vec<f64>,
    cum_y: Vec<f64>,
    /// Pooled share of the run totals (0 for the total itself): sampling allocates a run's
    /// samples among its functions, so a count's variance is binomial, `c · (1 - share)`.
    share: f64,
}

impl Sides {
    /// Pooled per-run mean value and count.
    fn pooled(&self) -> (f64, f64) {
        let n = (self.x.len() + self.y.len()) as f64;
        let m = self.x.iter().chain(&self.y).sum::<f64>() / n;
        let c = self.cx.iter().chain(&self.cy).sum::<f64>() / n;
        (m, c)
    }
    fn delta(&self) -> f64 {
        mean(&self.y) - mean(&self.x)
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

impl StatCtx<'_> {
    /// Statistics for the first `detail_limit` rows of a table; rows beyond four times that
    /// are dropped.
    pub(super) fn annotate(&self, list: &mut Vec<FunctionDiff>) {
        let limit = self.opts.detail_limit;
        list.truncate(limit.max(1) * 4);
        for (i, f) in list.iter_mut().enumerate() {
            f.significance = (i < limit).then(|| self.function(f.key as usize));
        }
    }

    /// A function's significance. In absolute mode with a side of one run, the function's
    /// odds against the rest of its run must have changed as well ([`StatCtx::odds_p`];
    /// an intersection–union test: `p` is the larger of the two p-values).
    fn function(&self, k: usize) -> Significance {
        let vals = |pk: &[(Vec<f64>, Vec<f64>)], runs: &[Run], shares: bool| -> Vec<f64> {
            pk.iter()
                .zip(runs)
                .map(|((s, _), r)| if shares { s[k] / r.total } else { s[k] })
                .collect()
        };
        let counts = |pk: &[(Vec<f64>, Vec<f64>)], runs: &[Run]| -> Vec<f64> {
            pk.iter()
                .zip(runs)
                .map(|((s, _), r)| s[k] / r.per_sample)
                .collect()
        };
        let self_sum = |pk: &[(Vec<f64>, Vec<f64>)]| pk.iter().map(|(s, _)| s[k]).sum::<f64>();
        let run_sum = |runs: &[Run]| runs.iter().map(|r| r.total).sum::<f64>();
        let cum = |pk: &[(Vec<f64>, Vec<f64>)]| pk.iter().map(|(_, c)| c[k]).collect();
        let s = Sides {
            x: vals(self.old_pk, self.old_runs, self.shares),
            y: vals(self.new_pk, self.new_runs, self.shares),
            cx: counts(self.old_pk, self.old_runs),
            cy: counts(self.new_pk, self.new_runs),
            cum_x: cum(self.old_pk),
            cum_y: cum(self.new_pk),
            share: (self_sum(self.old_pk) + self_sum(self.new_pk))
                / (run_sum(self.old_runs) + run_sum(self.new_runs)),
        };
        let rel = self.function_floor(&s);
        let main = self.test(&s, rel, k as u64);
        let measured = s.x.len() >= 2 && s.y.len() >= 2;
        if self.shares || self.exact || measured {
            return main;
        }
        let odds = self.odds_p(
            (vals(self.old_pk, self.old_runs, false), s.cx),
            (vals(self.new_pk, self.new_runs, false), s.cy),
        );
        Significance {
            p: main.p.max(odds),
            significant: main.significant && odds < self.opts.alpha,
            ..main
        }
    }

    /// The relative run-to-run floor of function `s`: the calibrated `r`, widened for the rest
    /// of the run, and at least [`NoiseFloor::share_floor`] of the run total. The rest of the
    /// run, the total outside the function's inclusive value (its callees move with it), is
    /// the function's control: identical runs under like conditions keep it within a few percent, while a
    /// busy machine (shared caches and memory bandwidth) or a different heap or page-cache
    /// state moves it, and moves single functions, memory-bound ones most, by a multiple of
    /// that. So the calibrated floor is widened by how much the rest changed beyond its own
    /// sampling noise and [`REST_TOLERANCE`]: `√(r² + k²·max(0, √max(0, ρ² − 1/c_old −
    /// 1/c_new) − t)²)`, with `ρ` the log ratio of the rest's mean per-run values, `c` its
    /// sample counts per run, `t` the tolerance and `k` =
    /// [`NoiseFloor::rest_coupling`]. A regression confined to the function leaves the rest,
    /// and so its floor, alone. In shares the rest is tied to the function itself: `diff` sets
    /// `k` to 0 there.
    fn function_floor(&self, s: &Sides) -> f64 {
        let r = self.rest_widened_floor(s);
        // The share floor as a relative one at this function's size: (a·T)² = (a/share · m)².
        match s.share > 0.0 && !self.exact {
            true => r.hypot(self.opts.noise.share_floor / s.share),
            false => r,
        }
    }

    /// The function floor `r`, widened for the rest of the run (see [`Self::function_floor`]).
    fn rest_widened_floor(&self, s: &Sides) -> f64 {
        let r = self.opts.noise.function_rel;
        let k = self.opts.noise.rest_coupling;
        if self.exact || k == 0.0 {
            return r;
        }
        // (mean value, mean count) of the rest of a side's runs: outside the function and its
        // callees, which a change of the function moves with it.
        let rest = |runs: &[Run], cum: &[f64]| {
            let n = runs.len() as f64;
            let (mut value, mut counts) = (0.0, 0.0);
            for (r, c) in runs.iter().zip(cum) {
                value += r.total - c;
                counts += (r.total - c) / r.per_sample;
            }
            (value / n, counts / n)
        };
        let (vo, co) = rest(self.old_runs, &s.cum_x);
        let (vn, cn) = rest(self.new_runs, &s.cum_y);
        if vo <= 0.0 || vn <= 0.0 || co < 1.0 || cn < 1.0 {
            return r;
        }
        let rho = (vn / vo).ln();
        let excess = rho * rho - 1.0 / co - 1.0 / cn;
        r.hypot(k * (excess.max(0.0).sqrt() - REST_TOLERANCE).max(0.0))
    }

    /// p of a change in a function's odds against the rest of its run, `ln(f / (T − f))`:
    /// a machine that runs slower or faster as a whole (load, frequency) moves every absolute
    /// value together and leaves the odds alone, while a function that itself changed moves
    /// them. Variance per run at the pooled counts (the null): `φ/c_f + φ/c_rest + r²`; half a
    /// sample is added to each cell so that empty ones have finite odds.
    fn odds_p(&self, old: (Vec<f64>, Vec<f64>), new: (Vec<f64>, Vec<f64>)) -> f64 {
        let phi = self.opts.noise.overdispersion;
        let r = self.opts.noise.function_rel;
        // (log odds, function count, rest count, runs) of one side, per-run means.
        let side = |(vals, counts): &(Vec<f64>, Vec<f64>), runs: &[Run]| {
            let n = runs.len() as f64;
            let f = vals.iter().sum::<f64>() / n;
            let t = runs.iter().map(|r| r.total).sum::<f64>() / n;
            let cf = counts.iter().sum::<f64>() / n;
            let ct = runs.iter().map(|r| r.total / r.per_sample).sum::<f64>() / n;
            let half = 0.5 * t / ct.max(1.0);
            let log_odds = ((f + half) / ((t - f).max(0.0) + half)).ln();
            (log_odds, cf, (ct - cf).max(0.0), n)
        };
        let (lo, cfo, cro, no) = side(&old, self.old_runs);
        let (ln, cfn, crn, nn) = side(&new, self.new_runs);
        let (cf, cr) = ((cfo + cfn) / 2.0, (cro + crn) / 2.0);
        let var = (phi / (cf + 0.5) + phi / (cr + 0.5) + r * r) * (1.0 / no + 1.0 / nn);
        p_from(ln - lo, var.sqrt(), |z| 2.0 * stats::normal_sf(z))
    }

    pub(super) fn total(&self) -> Significance {
        // The total is compared in absolute values (its share is always 1).
        let totals = |runs: &[Run]| -> Vec<f64> { runs.iter().map(|r| r.total).collect() };
        let counts =
            |runs: &[Run]| -> Vec<f64> { runs.iter().map(|r| r.total / r.per_sample).collect() };
        let s = Sides {
            x: totals(self.old_runs),
            y: totals(self.new_runs),
            cx: counts(self.old_runs),
            cy: counts(self.new_runs),
            cum_x: Vec::new(),
            cum_y: Vec::new(),
            share: 0.0,
        };
        self.test(&s, self.opts.noise.total_rel, u64::MAX)
    }

    /// Per-run variance of a value `m` with `c` samples (`share` of its run) under the
    /// model: over-dispersed binomial sampling noise plus the relative run-to-run floor `rel`.
    fn model_var(&self, m: f64, c: f64, share: f64, rel: f64) -> f64 {
        let phi = self.opts.noise.overdispersion;
        let sampling = if c > 0.0 {
            phi * m * m / c * (1.0 - share).clamp(0.0, 1.0)
        } else {
            0.0
        };
        sampling + (rel * m).powi(2)
    }

    fn test(&self, s: &Sides, rel: f64, salt: u64) -> Significance {
        if self.exact {
            return self.counted(s, rel);
        }
        let (nx, ny) = (s.x.len(), s.y.len());
        if nx >= 2 && ny >= 2 {
            return self.multi_run(s, rel, salt);
        }
        self.floored(s, rel)
    }

    /// Deterministic counts ([`TestKind::Exact`]). Several runs per side show how much the
    /// program itself varies: a deterministic one not at all, so any difference beyond
    /// [`COUNT_RESOLUTION`] is real. With one run on a side, the floor `rel` is assumed.
    fn counted(&self, s: &Sides, rel: f64) -> Significance {
        let (nx, ny) = (s.x.len(), s.y.len());
        let mut sig = if nx >= 2 && ny >= 2 {
            let (m, _) = s.pooled();
            let floor = (COUNT_RESOLUTION * m).powi(2);
            let p = welch_floored(&s.x, &s.y, (floor, floor));
            let (_, vx) = stats::mean_var(&s.x);
            let (_, vy) = stats::mean_var(&s.y);
            let se = (vx.max(floor) / nx as f64 + vy.max(floor) / ny as f64).sqrt();
            let crit = stats::normal_quantile_two_sided(self.opts.alpha);
            let d = s.delta();
            Significance {
                test: TestKind::Exact,
                p,
                q: None,
                p_mann_whitney: None,
                ci: Some((d - crit * se, d + crit * se)),
                significant: p < self.opts.alpha,
                moved_with_callees: false,
            }
        } else {
            self.floored(s, rel)
        };
        sig.test = TestKind::Exact;
        sig
    }

    /// One run on at least one side: the modelled variance (or the measured one of a side
    /// with several runs, when larger) in a z- or t-test of the delta.
    fn floored(&self, s: &Sides, rel: f64) -> Significance {
        let alpha = self.opts.alpha;
        let (m, c) = s.pooled();
        let model = self.model_var(m, c, s.share, rel);
        let multi = if s.x.len() >= 2 { &s.x } else { &s.y };
        let (_, measured) = stats::mean_var(multi);
        // The measured variance only counts when it exceeds the model; its degrees of freedom
        // then make the test a t-test.
        let (var, df) = if multi.len() >= 2 && measured > model {
            (measured, Some((multi.len() - 1) as f64))
        } else {
            (model, None)
        };
        let se = (var / s.x.len() as f64 + var / s.y.len() as f64).sqrt();
        let d = s.delta();
        let (p, crit) = match df {
            Some(df) => (
                p_from(d, se, |t| 2.0 * stats::student_t_sf(t, df)),
                stats::student_t_quantile_two_sided(alpha, df),
            ),
            None => (
                p_from(d, se, |z| 2.0 * stats::normal_sf(z)),
                stats::normal_quantile_two_sided(alpha),
            ),
        };
        let test = if s.x.len() == 1 && s.y.len() == 1 {
            TestKind::NoiseFloor
        } else {
            TestKind::WelchNoiseFloor
        };
        Significance {
            test,
            p,
            q: None,
            p_mann_whitney: None,
            ci: Some((d - crit * se, d + crit * se)),
            significant: p < alpha,
            moved_with_callees: false,
        }
    }

    /// ≥ 2 runs per side: Welch's t-test. When the runs are enough to measure noise, its
    /// variances are floored only at the sampling variance and Mann-Whitney must agree;
    /// otherwise (3 vs 3) they are floored at the modelled variance.
    fn multi_run(&self, s: &Sides, rel: f64, salt: u64) -> Significance {
        let alpha = self.opts.alpha;
        let mw = stats::mann_whitney_u(&s.x, &s.y)
            .map(|r| r.p)
            .unwrap_or(1.0);
        let ci = stats::bootstrap_mean_diff_ci(
            &s.x,
            &s.y,
            self.opts.bootstrap_rounds,
            alpha,
            self.opts.seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let measured = runs_measure_noise(s.x.len(), s.y.len(), alpha);
        let floors = if measured {
            let side = |v: &[f64], c: &[f64]| self.model_var(mean(v), mean(c), s.share, 0.0);
            (side(&s.x, &s.cx), side(&s.y, &s.cy))
        } else {
            // Under the null both sides share one value: floor both at the pooled model.
            let (m, c) = s.pooled();
            let v = self.model_var(m, c, s.share, rel);
            (v, v)
        };
        let p = welch_floored(&s.x, &s.y, floors);
        let (test, significant) = if measured {
            (TestKind::WelchMannWhitney, p < alpha && mw < alpha)
        } else {
            (TestKind::WelchNoiseFloor, p < alpha)
        };
        Significance {
            test,
            p,
            q: None,
            p_mann_whitney: Some(mw),
            ci,
            significant,
            moved_with_callees: false,
        }
    }
}

/// Welch's two-sided p for `mean(y) - mean(x)` with each side's variance at least its floor.
/// A side whose floor exceeds its measured variance contributes a known (modelled) variance;
/// when both do, the statistic is normal rather than Student's t with few degrees of freedom.
fn welch_floored(x: &[f64], y: &[f64], floors: (f64, f64)) -> f64 {
    let (mx, vx) = stats::mean_var(x);
    let (my, vy) = stats::mean_var(y);
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    let (sx, sy) = (vx.max(floors.0) / nx, vy.max(floors.1) / ny);
    let se = (sx + sy).sqrt();
    // Satterthwaite over the measured parts only; modelled parts have infinite df.
    let measured = |v: f64, f: f64, s: f64, n: f64| if v > f { s * s / (n - 1.0) } else { 0.0 };
    let denom = measured(vx, floors.0, sx, nx) + measured(vy, floors.1, sy, ny);
    let d = my - mx;
    if denom > 0.0 {
        let df = (sx + sy).powi(2) / denom;
        p_from(d, se, |t| 2.0 * stats::student_t_sf(t, df))
    } else {
        p_from(d, se, |z| 2.0 * stats::normal_sf(z))
    }
}

/// Two-sided p of `d / se` under `tail` (`tail(t)` = two-sided tail probability).
fn p_from(d: f64, se: f64, tail: impl Fn(f64) -> f64) -> f64 {
    if se > 0.0 {
        tail((d / se).abs()).min(1.0)
    } else if d == 0.0 {
        1.0
    } else {
        0.0
    }
}

/// How far the rest of a run may move, beyond its sampling noise, before a function's floor is
/// widened: identical runs under like conditions move their totals by 1–3 %, which the
/// calibrated `r` already covers (on the calibration runs, functions whose rest moved by 3–6 %
/// varied no more than the floor; beyond 6 % they varied 2.3–3 times the rest's move).
const REST_TOLERANCE: f64 = 0.03;

/// Relative spread below which repeated deterministic counts are taken as equal (a program
/// whose runs agree exactly still has a resolution: one instruction in ten thousand).
const COUNT_RESOLUTION: f64 = 1e-4;

/// Functions whose self value is below this share of the total (mean of both sides) are
/// reported but not tested: they cannot have grown by even 1 % of the total, and leaving them
/// out of the family keeps the false-discovery adjustment from diluting the tests that can
/// matter. Filtering on the pooled size, which does not depend on the direction of the
/// change, keeps Benjamini–Hochberg's guarantee (independent filtering).
pub const MIN_TESTED_SHARE: f64 = 0.005;

/// Benjamini–Hochberg across every tested function (both tables are one family): stores `q`
/// and keeps a function significant only when `q < alpha` as well.
pub(super) fn control_fdr(tables: [&mut Vec<FunctionDiff>; 2], alpha: f64) {
    let [a, b] = tables;
    let mut tested: Vec<&mut Significance> = Vec::new();
    for f in a.iter_mut().chain(b.iter_mut()) {
        let pooled = (f.old_self_share + f.new_self_share) / 2.0;
        let Some(s) = f.significance.as_mut() else {
            continue;
        };
        if pooled >= MIN_TESTED_SHARE {
            tested.push(s);
        } else {
            s.significant = false;
        }
    }
    let p: Vec<f64> = tested.iter().map(|s| s.p).collect();
    let q = stats::benjamini_hochberg(&p);
    for (s, q) in tested.iter_mut().zip(q) {
        s.q = Some(q);
        s.significant = s.significant && q < alpha;
    }
}

/// Self growth that is not inclusive growth is time that moved in from the function's callees:
/// a JIT (V8, the JVM) inlines a callee in one run and not in another, a compiler inlines
/// differently between builds, or code moved from a callee into its caller. The program did
/// not get slower there, so such a row is not significant however small its `p`: a
/// significant row stays significant only when its inclusive value moved with its self value
/// by at least half the self delta; otherwise it is marked `moved_with_callees`. The same holds
/// the other way for improvements (self time that moved out into callees).
pub(super) fn discount_moved_self(tables: [&mut Vec<FunctionDiff>; 2]) {
    for f in tables.into_iter().flatten() {
        let moved = (f.delta > 0.0 && f.cum_delta < f.delta / 2.0)
            || (f.delta < 0.0 && f.cum_delta > f.delta / 2.0);
        match f.significance.as_mut() {
            Some(s) if moved && s.significant => {
                s.moved_with_callees = true;
                s.significant = false;
            }
            _ => {}
        }
    }
}
