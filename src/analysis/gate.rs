//! The CI gate of `compare`: turns a [`Diff`] and thresholds into a verdict and an exit
//! decision. Only significant changes can trip it, so noise never fails a build.
//!
//! - `fail_on` (e.g. 0.05 for `--fail-on 5%`): trips when the total per run grew by more than
//!   this fraction **and** that growth is significant.
//! - `fail_on_function` (e.g. 0.02): trips when one function's self value grew by more than
//!   this fraction of the old total per run (absolute mode) or by more than this many
//!   percentage points / 100 of the total (shares mode), **and** that growth is significant
//!   after the false-discovery-rate adjustment across the function table.
//!
//! Both gates need practical significance (the delta beyond the threshold) and statistical
//! significance. The verdict's `status` is `regression` only when the total grew
//! significantly; a function that grew significantly while the total did not is a `shift`.

use super::diff::{Diff, Normalize};
use serde::Serialize;

/// Thresholds; `None` disables a check.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gate {
    pub fail_on: Option<f64>,
    pub fail_on_function: Option<f64>,
}

/// The outcome, with the reason in words.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// `regression` (the total grew significantly), `improvement` (it shrank significantly),
    /// `shift` (the total did not change significantly but a function grew significantly),
    /// `no-significant-change`.
    pub status: String,
    /// True when a gate threshold was exceeded by a significant change.
    pub gate_tripped: bool,
    pub message: String,
}

/// Decide the verdict.
pub fn evaluate(d: &Diff, gate: &Gate) -> Verdict {
    let total_sig = d.total.significance.as_ref().is_some_and(|s| s.significant);
    let rel = d.total.relative.unwrap_or(0.0);
    let mut reasons = Vec::new();
    let mut tripped = false;
    if let Some(limit) = gate.fail_on {
        if rel > limit && total_sig {
            tripped = true;
            reasons.push(format!(
                "total grew {:+.1}% (> {:.1}%, p={})",
                rel * 100.0,
                limit * 100.0,
                fmt_p(d.total.significance.as_ref().map_or(1.0, |s| s.p))
            ));
        }
    }
    if let Some(limit) = gate.fail_on_function {
        for f in &d.regressions {
            let sig = f.significance.as_ref().is_some_and(|s| s.significant);
            let grew = match d.normalize {
                Normalize::Total => f.delta,
                _ => f.delta_abs / d.total.old.max(f64::MIN_POSITIVE),
            };
            if sig && grew > limit {
                tripped = true;
                reasons.push(format!(
                    "{} grew by {:.1}% of the total (> {:.1}%, p={})",
                    f.name,
                    grew * 100.0,
                    limit * 100.0,
                    fmt_p(f.significance.as_ref().map_or(1.0, |s| s.p))
                ));
                if reasons.len() >= 4 {
                    break;
                }
            }
        }
    }
    let top_sig = d
        .regressions
        .iter()
        .find(|f| f.significance.as_ref().is_some_and(|s| s.significant));
    let status;
    let message;
    if tripped && total_sig && rel > 0.0 {
        status = "regression";
        message = format!("REGRESSION (gate tripped): {}", reasons.join("; "));
    } else if tripped {
        status = "shift";
        message = format!(
            "SHIFT (gate tripped): total change {:+.1}% is not significant; {}",
            rel * 100.0,
            reasons.join("; ")
        );
    } else if total_sig && rel > 0.0 {
        status = "regression";
        message = format!(
            "REGRESSION: total {:+.1}% (significant){}{}",
            rel * 100.0,
            top_sig.map_or(String::new(), |f| format!(", mostly {}", f.name)),
            if gate.fail_on.is_some() || gate.fail_on_function.is_some() {
                " — below the gate thresholds"
            } else {
                ""
            }
        );
    } else if total_sig && rel < 0.0 {
        status = "improvement";
        message = format!("IMPROVEMENT: total {:+.1}% (significant)", rel * 100.0);
    } else if let Some(f) = top_sig {
        status = "shift";
        message = format!(
            "SHIFT: total change {:+.1}% is not significant, but {} grew significantly{}",
            rel * 100.0,
            f.name,
            if gate.fail_on_function.is_some() {
                " (below --fail-on-function)"
            } else {
                ""
            }
        );
    } else {
        status = "no-significant-change";
        message = format!(
            "NO SIGNIFICANT CHANGE: total {:+.1}% ~ (p={}); no function changed significantly",
            rel * 100.0,
            fmt_p(d.total.significance.as_ref().map_or(1.0, |s| s.p))
        );
    }
    Verdict {
        status: status.into(),
        gate_tripped: tripped,
        message,
    }
}

fn fmt_p(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// Parse a threshold: `5%` (a percentage) or a bare fraction below 1 (`0.05`, also five
/// percent). A bare number ≥ 1 (`5`) is ambiguous — five percent or five hundred? — and is
/// refused, as is anything negative or not a number.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, percent) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("expected a percentage like 5% or a fraction like 0.05, got {s:?}"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("threshold must be ≥ 0, got {s:?}"));
    }
    if percent {
        return Ok(v / 100.0);
    }
    if v < 1.0 {
        return Ok(v);
    }
    Err(format!(
        "{s:?} is ambiguous: write {v}% for a percentage, or a fraction below 1 (e.g. {} for {v}%)",
        v / 100.0
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("5%").unwrap(), 0.05);
        assert_eq!(parse_percent("2.5%").unwrap(), 0.025);
        assert_eq!(parse_percent("0.05").unwrap(), 0.05);
        assert_eq!(parse_percent("0.5%").unwrap(), 0.005);
        assert_eq!(parse_percent("0").unwrap(), 0.0);
        let e = parse_percent("5").unwrap_err();
        assert!(
            e.contains("ambiguous") && e.contains("5%") && e.contains("0.05"),
            "{e}"
        );
        assert!(parse_percent("1").is_err());
        assert!(parse_percent("-1%").is_err());
        assert!(parse_percent("five").is_err());
    }
}
