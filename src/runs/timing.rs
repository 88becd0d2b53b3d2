//! Wall and CPU time of repeated runs, per side and old against new, the way hyperfine
//! (mean ± σ, min … max) and benchstat (relative change, p-value, n) report them. The test is
//! Welch's t-test on the per-run times: it does not assume both sides are equally noisy, and
//! with 3–10 runs per side it can reach significance where a rank test cannot (3 vs 3 runs:
//! the smallest Mann–Whitney p-value is 0.1).

use crate::analysis::stats;

/// One side's times, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub runs: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1); 0 for one run.
    pub sd: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// The summary of `values` (seconds); `None` when empty.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let (mean, var) = stats::mean_var(values);
        Some(Summary {
            runs: values.len(),
            mean,
            sd: var.sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// New against old.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeComparison {
    pub old: Summary,
    pub new: Summary,
    /// `new.mean / old.mean - 1`.
    pub change: f64,
    /// `(1 - alpha)` Welch interval of the change, relative to the old mean; `None` with fewer
    /// than 2 runs on a side.
    pub interval: Option<(f64, f64)>,
    /// Two-sided Welch t-test p-value; `None` with fewer than 2 runs on a side.
    pub p: Option<f64>,
    pub alpha: f64,
}

impl TimeComparison {
    /// Whether the difference is significant at `alpha`.
    pub fn significant(&self) -> bool {
        self.p.is_some_and(|p| p < self.alpha)
    }
}

/// Compare per-run times (seconds) of two sides. `None` when a side is empty or the old mean
/// is not positive.
pub fn compare_times(old: &[f64], new: &[f64], alpha: f64) -> Option<TimeComparison> {
    let (o, n) = (Summary::of(old)?, Summary::of(new)?);
    if o.mean <= 0.0 {
        return None;
    }
    let test = stats::welch_t(old, new, (0.0, 0.0));
    let interval = test.map(|_| {
        let se = (o.sd * o.sd / o.runs as f64 + n.sd * n.sd / n.runs as f64).sqrt();
        let df = welch_df(&o, &n);
        let half = if df.is_finite() && df > 0.0 {
            stats::student_t_quantile_two_sided(alpha, df) * se
        } else {
            0.0
        };
        let d = n.mean - o.mean;
        ((d - half) / o.mean, (d + half) / o.mean)
    });
    Some(TimeComparison {
        old: o,
        new: n,
        change: n.mean / o.mean - 1.0,
        interval,
        p: test.map(|t| t.p),
        alpha,
    })
}

/// Welch–Satterthwaite degrees of freedom.
fn welch_df(o: &Summary, n: &Summary) -> f64 {
    let (so, sn) = (o.sd * o.sd / o.runs as f64, n.sd * n.sd / n.runs as f64);
    (so + sn).powi(2) / (so * so / (o.runs as f64 - 1.0) + sn * sn / (n.runs as f64 - 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand: variances 0.01 and 0.04, se² = 0.01/3 + 0.04/3, t = 1 / 0.1291 = 7.746,
    /// Welch df = 2.94, two-sided p ≈ 0.005. Mean 1.0 → 2.0 is +100%.
    #[test]
    fn doubling_is_significant_with_three_runs() {
        let c = compare_times(&[1.0, 1.1, 0.9], &[2.0, 2.2, 1.8], 0.05).unwrap();
        assert!((c.change - 1.0).abs() < 1e-12);
        assert!((c.old.sd - 0.1).abs() < 1e-12);
        assert_eq!((c.new.min, c.new.max), (1.8, 2.2));
        let p = c.p.unwrap();
        assert!(p > 0.003 && p < 0.007, "{p}");
        let (lo, hi) = c.interval.unwrap();
        assert!(lo > 0.0 && hi > lo && lo < 1.0 && hi > 1.0, "{lo} {hi}");
        assert!(c.significant());
    }

    #[test]
    fn same_times_are_not_significant_and_one_run_has_no_test() {
        let c = compare_times(&[1.0, 1.2, 0.8], &[1.1, 0.9, 1.0], 0.05).unwrap();
        assert!(!c.significant(), "{c:?}");
        let c = compare_times(&[1.0], &[2.0], 0.05).unwrap();
        assert_eq!((c.p, c.interval), (None, None));
        assert!(!c.significant());
    }
}
