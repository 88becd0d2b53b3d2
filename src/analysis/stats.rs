//! Statistics for `compare`: deciding whether a change is real or sampling noise.
//!
//! - [`mann_whitney_u`]: two-sided Mann-Whitney U test over per-run values (as benchstat does),
//!   exact null distribution for small samples without ties, normal approximation with tie and
//!   continuity correction otherwise (the same rules and numbers as
//!   `scipy.stats.mannwhitneyu(x, y, alternative="two-sided")` with `method="auto"`).
//! - [`bootstrap_mean_diff_ci`]: percentile bootstrap interval of `mean(y) - mean(x)` with a
//!   seeded generator, so reports are reproducible.
//! - [`welch_t`]: Welch's t-test, used when there are too few runs for the U test to ever
//!   reach the significance level (3 vs 3 runs: the smallest possible U p-value is 0.1).
//! - [`binomial_two_sided`]: the conditional test for two Poisson counts: given `a + b` events,
//!   `a ~ Binomial(a + b, p0)` under the null. Used with one profile per side, where the only
//!   noise we can model is sampling noise.
//!
//! - [`benjamini_hochberg`]: adjusted p-values (q-values) controlling the false discovery
//!   rate across a table of tests (R's `p.adjust(p, "BH")`).
//!
//! Distribution functions (normal, Student t, binomial) are implemented here with standard
//! numerical methods (Lanczos log-gamma, continued fraction for the incomplete beta).

/// Result of a two-sample test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TestResult {
    /// The statistic: U of the first sample for Mann-Whitney, t for Welch, the count `a` for
    /// the binomial test.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Two-sided Mann-Whitney U test of `x` against `y`. `statistic` is U of `x` (scipy's `U1`).
/// `None` when a sample is empty.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Option<TestResult> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    // Midranks of the pooled sample.
    let mut all: Vec<(f64, usize)> = x
        .iter()
        .map(|&v| (v, 0))
        .chain(y.iter().map(|&v| (v, 1)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let mut r1 = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        for item in &all[i..=j] {
            if item.1 == 0 {
                r1 += rank;
            }
        }
        i = j + 1;
    }
    let (fn1, fn2) = (n1 as f64, n2 as f64);
    let u1 = r1 - fn1 * (fn1 + 1.0) / 2.0;
    let u2 = fn1 * fn2 - u1;
    let big = u1.max(u2);
    let has_ties = tie_term > 0.0;
    let p = if !has_ties && n1.min(n2) <= 8 && n1 * n2 <= 10_000 {
        // Exact: P(U >= big) doubled.
        let counts = u_distribution(n1, n2);
        let total: f64 = counts.iter().sum();
        let k = big.round() as usize;
        let sf: f64 = counts[k.min(counts.len())..].iter().sum::<f64>() / total;
        (2.0 * sf).min(1.0)
    } else {
        let mu = fn1 * fn2 / 2.0;
        let nn = fn1 + fn2;
        let var = fn1 * fn2 / 12.0 * ((nn + 1.0) - tie_term / (nn * (nn - 1.0)));
        if var <= 0.0 {
            1.0
        } else {
            let z = (big - mu - 0.5) / var.sqrt();
            (2.0 * normal_sf(z)).min(1.0)
        }
    };
    Some(TestResult { statistic: u1, p })
}

/// The smallest two-sided p-value a Mann-Whitney test of these sizes can give (complete
/// separation, no ties).
pub fn mann_whitney_min_p(n1: usize, n2: usize) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    // 2 / C(n1 + n2, n1)
    let mut c = 1.0f64;
    for i in 0..n1 {
        c = c * (n2 + i + 1) as f64 / (i + 1) as f64;
    }
    (2.0 / c).min(1.0)
}

/// Number of arrangements giving each value of U (0..=n1*n2), for the exact null distribution.
fn u_distribution(n1: usize, n2: usize) -> Vec<f64> {
    // f[i][j] = distribution for sizes (i, j); recurrence
    // f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u).
    let max = n1 * n2;
    let mut prev: Vec<Vec<f64>> = (0..=n2).map(|_| vec![1.0]).collect(); // i = 0: U = 0 only
    for i in 1..=n1 {
        let mut cur: Vec<Vec<f64>> = Vec::with_capacity(n2 + 1);
        cur.push(vec![1.0]); // j = 0
        for j in 1..=n2 {
            let mut d = vec![0.0; i * j + 1];
            for (u, &c) in prev[j].iter().enumerate() {
                d[u + j] += c;
            }
            for (u, &c) in cur[j - 1].iter().enumerate() {
                d[u] += c;
            }
            cur.push(d);
        }
        prev = cur;
    }
    let mut out = prev.swap_remove(n2);
    out.resize(max + 1, 0.0);
    out
}

/// Welch's two-sample t-test of `mean(y) - mean(x)`. `var_floor` is a lower bound on each
/// sample's variance (e.g. the Poisson variance of a count), so two identical-looking runs do
/// not produce a zero variance and a spurious certainty. `None` with fewer than 2 values per
/// side.
pub fn welch_t(x: &[f64], y: &[f64], var_floor: (f64, f64)) -> Option<TestResult> {
    if x.len() < 2 || y.len() < 2 {
        return None;
    }
    let (mx, vx) = mean_var(x);
    let (my, vy) = mean_var(y);
    let (vx, vy) = (vx.max(var_floor.0), vy.max(var_floor.1));
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    let (sx, sy) = (vx / nx, vy / ny);
    let se2 = sx + sy;
    if se2 <= 0.0 {
        let p = if mx == my { 1.0 } else { 0.0 };
        return Some(TestResult { statistic: 0.0, p });
    }
    let t = (my - mx) / se2.sqrt();
    let df = se2 * se2 / (sx * sx / (nx - 1.0) + sy * sy / (ny - 1.0));
    Some(TestResult {
        statistic: t,
        p: (2.0 * student_t_sf(t.abs(), df)).min(1.0),
    })
}

/// Benjamini–Hochberg adjusted p-values, in the order of `p`: `q_(i) = min over j ≥ i of
/// p_(j) · m / j` for the ascending order, capped at 1. Rejecting every test with `q < alpha`
/// keeps the expected share of false discoveries among the rejections at most `alpha`.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut q = vec![1.0; m];
    let mut running = 1.0f64;
    for (i, &idx) in order.iter().enumerate() {
        let rank = (m - i) as f64;
        running = running.min(p[idx] * m as f64 / rank);
        q[idx] = running.min(1.0);
    }
    q
}

/// Sample mean and (n-1) variance.
pub fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, var)
}

/// Percentile bootstrap `(1 - alpha)` interval of `mean(y) - mean(x)`, `rounds` resamples,
/// deterministic for a given `seed`.
pub fn bootstrap_mean_diff_ci(
    x: &[f64],
    y: &[f64],
    rounds: usize,
    alpha: f64,
    seed: u64,
) -> Option<(f64, f64)> {
    if x.is_empty() || y.is_empty() || rounds == 0 {
        return None;
    }
    let mut rng = SplitMix64(seed);
    let mut diffs = Vec::with_capacity(rounds);
    let resample_mean = |v: &[f64], rng: &mut SplitMix64| {
        let mut s = 0.0;
        for _ in 0..v.len() {
            s += v[rng.below(v.len())];
        }
        s / v.len() as f64
    };
    for _ in 0..rounds {
        let mx = resample_mean(x, &mut rng);
        let my = resample_mean(y, &mut rng);
        diffs.push(my - mx);
    }
    diffs.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (rounds - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        diffs[lo] + (diffs[hi] - diffs[lo]) * (pos - lo as f64)
    };
    Some((q(alpha / 2.0), q(1.0 - alpha / 2.0)))
}

/// Small, fast, seedable generator (SplitMix64); statistical quality is ample for resampling.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform integer in `0..n` (n > 0), by multiply-shift (bias < n / 2^64).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

/// Two-sided test of `a ~ Binomial(a + b, p0)` (scipy.stats.binomtest semantics: the p-value
/// sums the probabilities of all outcomes no more likely than the observed one). Exact up to
/// `n = 5000`, normal approximation with continuity correction beyond.
pub fn binomial_two_sided(a: u64, b: u64, p0: f64) -> TestResult {
    let n = a + b;
    let statistic = a as f64;
    if n == 0 || !(0.0..=1.0).contains(&p0) {
        return TestResult { statistic, p: 1.0 };
    }
    if p0 == 0.0 || p0 == 1.0 {
        let expected = if p0 == 0.0 { 0 } else { n };
        let p = if a == expected { 1.0 } else { 0.0 };
        return TestResult { statistic, p };
    }
    if n > 5000 {
        let nf = n as f64;
        let mu = nf * p0;
        let sd = (nf * p0 * (1.0 - p0)).sqrt();
        let d = ((a as f64 - mu).abs() - 0.5).max(0.0);
        return TestResult {
            statistic,
            p: (2.0 * normal_sf(d / sd)).min(1.0),
        };
    }
    let lp = |k: u64| log_binom_pmf(k, n, p0);
    let observed = lp(a);
    // Relative tolerance as scipy uses (1 + 1e-7), in log space.
    let threshold = observed + (1.0f64 + 1e-7).ln();
    let mut p = 0.0;
    for k in 0..=n {
        let l = lp(k);
        if l <= threshold {
            p += l.exp();
        }
    }
    TestResult {
        statistic,
        p: p.min(1.0),
    }
}

fn log_binom_pmf(k: u64, n: u64, p: f64) -> f64 {
    let (k, n) = (k as f64, n as f64);
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
        + k * p.ln()
        + (n - k) * (1.0 - p).ln()
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~15 significant digits).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Upper tail of the standard normal, P(Z > z).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function (W. J. Cody's rational approximations via the relation to the
/// incomplete gamma; here: continued fraction for large x, series for small x), relative error
/// around 1e-14.
pub fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        // erf series: erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
        let mut sum = x;
        let mut term = x;
        let x2 = x * x;
        for n in 1..200 {
            let n = n as f64;
            term *= -x2 / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        // Continued fraction (Lentz): erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
        let tiny = 1e-300;
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for i in 1..300 {
            let a = i as f64 / 2.0;
            d = x + a * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = x + a / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x * x).exp() / std::f64::consts::PI.sqrt() / f
    }
}

/// Upper tail of Student's t with `df` degrees of freedom, P(T > t) for t ≥ 0.
pub fn student_t_sf(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t > 0.0 { 0.0 } else { 1.0 };
    }
    let x = df / (df + t * t);
    let tail = 0.5 * reg_inc_beta(df / 2.0, 0.5, x);
    if t >= 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// Regularized incomplete beta I_x(a, b) (continued fraction, Numerical Recipes' method).
pub fn reg_inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..500 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Two-sided normal quantile for a `(1 - alpha)` interval (e.g. 1.959964 for alpha = 0.05),
/// by bisection on [`normal_sf`].
pub fn normal_quantile_two_sided(alpha: f64) -> f64 {
    let target = alpha / 2.0;
    let (mut lo, mut hi) = (0.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if normal_sf(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// Two-sided Student t quantile for a `(1 - alpha)` interval, by bisection on
/// [`student_t_sf`].
pub fn student_t_quantile_two_sided(alpha: f64, df: f64) -> f64 {
    let target = alpha / 2.0;
    let (mut lo, mut hi) = (0.0f64, 1e6f64);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if student_t_sf(mid, df) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn normal_tail_matches_tables() {
        // Abramowitz & Stegun table 26.1 values.
        assert!(close(normal_sf(1.959963984540054), 0.025, 1e-10));
        assert!(close(normal_sf(0.0), 0.5, 1e-14));
        assert!(close(normal_sf(3.0), 0.0013498980316301, 1e-10));
        assert!(close(normal_sf(6.0), 9.865876450377e-10, 1e-9));
        assert!(close(normal_sf(-1.0), 0.841344746068543, 1e-12));
        assert!(close(
            normal_quantile_two_sided(0.05),
            1.959963984540054,
            1e-9
        ));
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!(ln_gamma(1.0).abs() < 1e-13);
        assert!(close(ln_gamma(11.0), (3_628_800f64).ln(), 1e-13));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-13
        ));
    }

    #[test]
    fn student_t_tail() {
        // t distribution tables: P(T > 2.776) with 4 df = 0.025; P(T > 12.706) with 1 df = 0.025.
        assert!(close(student_t_sf(2.776445105, 4.0), 0.025, 1e-6));
        assert!(close(student_t_sf(12.7062047, 1.0), 0.025, 1e-6));
        assert!(close(student_t_sf(0.0, 7.0), 0.5, 1e-12));
        assert!(close(
            student_t_quantile_two_sided(0.05, 4.0),
            2.776445105,
            1e-6
        ));
    }

    #[test]
    fn u_distribution_small_case_by_hand() {
        // n1 = n2 = 2: the 6 arrangements give U = 0,1,2,2,3,4.
        assert_eq!(u_distribution(2, 2), vec![1.0, 1.0, 2.0, 1.0, 1.0]);
        assert!(close(mann_whitney_min_p(3, 3), 0.1, 1e-12));
        assert!(close(mann_whitney_min_p(4, 4), 2.0 / 70.0, 1e-12));
    }

    #[test]
    fn mann_whitney_exact_hand_computed() {
        // Complete separation 3 vs 3: U1 = 0, p = 2 * 1/20 = 0.1.
        let r = mann_whitney_u(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert!(close(r.p, 0.1, 1e-12));
        // x = [1, 4, 6], y = [2, 3, 5, 7]: ranks of x = 1, 4, 6 → R1 = 11, U1 = 11 - 6 = 5,
        // U2 = 7. U for sizes (3, 4) counts partitions of u into ≤ 3 parts ≤ 4; P(U ≥ 7) =
        // (4+4+3+2+1+1)/35 = 15/35, p = 30/35. scipy.stats.mannwhitneyu agrees: 0.857142857.
        let r = mann_whitney_u(&[1.0, 4.0, 6.0], &[2.0, 3.0, 5.0, 7.0]).unwrap();
        assert_eq!(r.statistic, 5.0);
        assert!(close(r.p, 30.0 / 35.0, 1e-12), "{}", r.p);
    }

    #[test]
    fn mann_whitney_asymptotic_matches_scipy() {
        // Expected values from scipy 1.17.1:
        // mannwhitneyu([1,2,2,3,5,8,9,9], [4,6,7,7,10,11,12,13,14], alternative="two-sided")
        // → statistic 13.0, p 0.03007855307775125 (ties → normal approximation).
        let r = mann_whitney_u(
            &[1.0, 2.0, 2.0, 3.0, 5.0, 8.0, 9.0, 9.0],
            &[4.0, 6.0, 7.0, 7.0, 10.0, 11.0, 12.0, 13.0, 14.0],
        )
        .unwrap();
        assert_eq!(r.statistic, 13.0);
        assert!(close(r.p, 0.03007855307775125, 1e-9), "{}", r.p);
        // mannwhitneyu(range(10), [x + 3.5 for x in range(12)]) → 21.0, 0.011129227614007952
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let y: Vec<f64> = (0..12).map(|v| f64::from(v) + 3.5).collect();
        let r = mann_whitney_u(&x, &y).unwrap();
        assert_eq!(r.statistic, 21.0);
        assert!(close(r.p, 0.011129227614007952, 1e-9), "{}", r.p);
    }

    #[test]
    fn welch_matches_scipy() {
        // scipy.stats.ttest_ind([10,12,11], [15,14,18], equal_var=False): t = -3.5 (x - y),
        // p = 0.04217156757343686, df = 2.8764.
        let r = welch_t(&[10.0, 12.0, 11.0], &[15.0, 14.0, 18.0], (0.0, 0.0)).unwrap();
        assert!(close(r.statistic, 3.5, 1e-12));
        assert!(close(r.p, 0.04217156757343686, 1e-7), "{}", r.p);
    }

    #[test]
    fn binomial_matches_scipy() {
        // scipy.stats.binomtest(k, n, p).pvalue
        assert!(close(
            binomial_two_sided(7, 13, 0.5).p,
            0.26317596435546875,
            1e-9
        ));
        assert!(close(
            binomial_two_sided(30, 70, 0.4).p,
            0.04154450961965455,
            1e-7
        ));
        assert!(close(
            binomial_two_sided(0, 5, 0.3).p,
            0.33115000000000006,
            1e-9
        ));
        assert_eq!(binomial_two_sided(0, 0, 0.5).p, 1.0);
    }

    #[test]
    fn bootstrap_is_deterministic_and_covers_the_difference() {
        let x = [10.0, 11.0, 12.0, 10.5];
        let y = [20.0, 21.0, 19.0, 20.5];
        let a = bootstrap_mean_diff_ci(&x, &y, 2000, 0.05, 7).unwrap();
        let b = bootstrap_mean_diff_ci(&x, &y, 2000, 0.05, 7).unwrap();
        assert_eq!(a, b);
        assert!(a.0 > 7.0 && a.1 < 11.0 && a.0 < 9.25 && a.1 > 9.25, "{a:?}");
    }

    #[test]
    fn benjamini_hochberg_matches_r() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5), "BH")
        //    0.02500000 0.05000000 0.05000000 0.02500000 0.50000000
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005, 0.5]);
        let want = [0.025, 0.05, 0.05, 0.025, 0.5];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
        assert!(benjamini_hochberg(&[]).is_empty());
        assert_eq!(benjamini_hochberg(&[0.9, 0.9]), vec![0.9, 0.9]);
    }
}
