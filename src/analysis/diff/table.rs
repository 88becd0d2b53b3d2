//! The per-function table: mean self and cumulative values per run on both sides, deltas in
//! the compared quantity (absolute or share), each function's part of the whole change, and
//! the order of the regressions and improvements tables (largest change first).

use super::identity::Keys;
use super::{FunctionDiff, Presence};

/// Per-run `(self, cum)` vectors indexed by function key.
pub(super) type PerKey = [(Vec<f64>, Vec<f64>)];

/// Regressions and improvements, largest |delta| first. `totals` are the mean totals per
/// run (old, new); `shares` compares fractions of them instead of absolute values.
pub(super) fn function_table(
    keys: &Keys,
    old_pk: &PerKey,
    new_pk: &PerKey,
    totals: (f64, f64),
    shares: bool,
) -> (Vec<FunctionDiff>, Vec<FunctionDiff>) {
    let mut funcs = rows(keys, old_pk, new_pk, totals, shares);
    set_explained(&mut funcs);
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
    (regressions, improvements)
}

/// One row per function seen on either side.
fn rows(
    keys: &Keys,
    old_pk: &PerKey,
    new_pk: &PerKey,
    (ot, nt): (f64, f64),
    shares: bool,
) -> Vec<FunctionDiff> {
    let mean_of = |pk: &PerKey, k: usize, cum: bool| -> f64 {
        pk.iter()
            .map(|(s, c)| if cum { c[k] } else { s[k] })
            .sum::<f64>()
            / pk.len() as f64
    };
    let q = |abs: f64, tot: f64| if shares { abs / tot } else { abs };
    let mut funcs: Vec<FunctionDiff> = Vec::new();
    for k in 0..keys.names.len() {
        let os = mean_of(old_pk, k, false);
        let ns = mean_of(new_pk, k, false);
        let oc = mean_of(old_pk, k, true);
        let nc = mean_of(new_pk, k, true);
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
            inlined: Vec::new(),
            key: k as u32,
        });
    }
    funcs
}

/// Each function's share of the regression (sum of positive deltas) or of the improvement.
fn set_explained(funcs: &mut [FunctionDiff]) {
    let pos_sum: f64 = funcs.iter().map(|f| f.delta.max(0.0)).sum();
    let neg_sum: f64 = funcs.iter().map(|f| (-f.delta).max(0.0)).sum();
    for f in funcs {
        f.explained = if f.delta > 0.0 && pos_sum > 0.0 {
            f.delta / pos_sum
        } else if f.delta < 0.0 && neg_sum > 0.0 {
            -f.delta / neg_sum
        } else {
            0.0
        };
    }
}
