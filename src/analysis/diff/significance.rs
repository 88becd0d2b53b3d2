//! Significance of one delta (a function's self value, or the total): which test fits the
//! number of runs per side, its p-value and the interval of the delta.

use super::identity::Run;
use super::{DiffOptions, FunctionDiff, Significance, TestKind};
use crate::analysis::stats;

pub(super) struct StatCtx<'a> {
    pub(super) old_runs: &'a [Run],
    pub(super) new_runs: &'a [Run],
    pub(super) old_pk: &'a [(Vec<f64>, Vec<f64>)],
    pub(super) new_pk: &'a [(Vec<f64>, Vec<f64>)],
    pub(super) shares: bool,
    pub(super) opts: &'a DiffOptions,
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

    pub(super) fn total(&self) -> Significance {
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
