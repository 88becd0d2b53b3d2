//! Renderers for `compare`: take a computed [`Diff`] and a [`Verdict`] and only format them —
//! terminal table ([`text`]), Markdown for PR comments ([`text`]), versioned JSON ([`json`]),
//! differential flamegraphs ([`svg`]) and a self-contained HTML report ([`html`]).

pub mod html;
pub mod json;
pub mod svg;
pub mod text;

use crate::analysis::diff::{Diff, FunctionDiff, Normalize, Presence, Significance};
use crate::analysis::gate::Verdict;

/// Format an absolute value in the diff's unit (time scaled to ns/µs/ms/s).
pub fn fmt_abs(d: &Diff, v: f64) -> String {
    if d.unit_is_time {
        fmt_time(v)
    } else if d.unit == "bytes" {
        fmt_bytes(v)
    } else {
        let a = v.abs();
        if a >= 100.0 || v == v.trunc() {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    }
}

/// Bytes as pprof writes them: powers of 1024, `B`, `kB`, `MB`, `GB`, `TB`.
pub fn fmt_bytes(b: f64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    let mut v = b;
    let mut unit = "B";
    for u in UNITS {
        if v.abs() < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    match unit {
        "B" => format!("{v:.0}B"),
        _ => format!("{v:.2}{unit}"),
    }
}

/// Nanoseconds as a short human time.
pub fn fmt_time(ns: f64) -> String {
    let a = ns.abs();
    if a >= 1e9 {
        format!("{:.2}s", ns / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}ms", ns / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}µs", ns / 1e3)
    } else {
        format!("{ns:.0}ns")
    }
}

/// Signed absolute delta.
pub fn fmt_delta_abs(d: &Diff, v: f64) -> String {
    let s = fmt_abs(d, v);
    if v > 0.0 {
        format!("+{s}")
    } else {
        s
    }
}

pub fn fmt_pp(pp: f64) -> String {
    format!("{pp:+.2}pp")
}

pub fn fmt_pct(f: f64) -> String {
    if f != 0.0 && f.abs() < 0.01 {
        format!("{:.3}%", f * 100.0)
    } else {
        format!("{:.1}%", f * 100.0)
    }
}

/// `×1.50`, `new`, `gone`.
pub fn fmt_ratio(f: &FunctionDiff) -> String {
    match f.presence {
        Presence::New => "new".into(),
        Presence::Vanished => "gone".into(),
        Presence::Both => match f.ratio {
            Some(r) => format!("×{r:.2}"),
            None => "new".into(),
        },
    }
}

/// benchstat style, with the interval of the delta as `±` next to p: `±1.2ms p=0.003` when
/// significant, `~ (±1.2ms p=0.40)` when not. `delta` is the change the interval is around and
/// `fmt` formats an interval half-width in the same quantity.
pub fn fmt_sig_ci(s: Option<&Significance>, delta: f64, fmt: impl Fn(f64) -> String) -> String {
    let Some(s) = s else {
        return String::new();
    };
    let ci =
        s.ci.map(|(lo, hi)| format!("±{} ", fmt(ci_half_width(delta, lo, hi))))
            .unwrap_or_default();
    if s.significant {
        format!("{ci}p={}", fmt_p(s.p))
    } else if s.moved_with_callees {
        let way = if delta > 0.0 { "from" } else { "to" };
        format!("~ {way} callees ({ci}p={})", fmt_p(s.p))
    } else {
        format!("~ ({ci}p={})", fmt_p(s.p))
    }
}

/// The `±` of an interval `lo..hi` around `delta`: the larger distance to either end, so an
/// asymmetric (bootstrap) interval is never shown narrower than it is.
pub fn ci_half_width(delta: f64, lo: f64, hi: f64) -> f64 {
    (hi - delta).abs().max((delta - lo).abs())
}

/// A function row's significance with its interval in the compared quantity.
pub fn fmt_fn_sig(d: &Diff, f: &FunctionDiff) -> String {
    fmt_sig_ci(f.significance.as_ref(), f.delta, |h| fmt_q_width(d, h))
}

/// The total's significance; the total is always compared in absolute values.
pub fn fmt_total_sig(d: &Diff) -> String {
    let t = &d.total;
    fmt_sig_ci(t.significance.as_ref(), t.delta, |h| fmt_abs(d, h))
}

/// An interval half-width in the compared quantity (points of the total for shares).
fn fmt_q_width(d: &Diff, h: f64) -> String {
    match d.normalize {
        Normalize::Total => format!("{:.2}pp", h * 100.0),
        _ => fmt_abs(d, h),
    }
}

pub fn fmt_p(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// The value the diff compares for a function's self time: shares in `total` mode.
pub fn self_old_new(d: &Diff, f: &FunctionDiff) -> (String, String) {
    match d.normalize {
        Normalize::Total => (fmt_pct(f.old_self_share), fmt_pct(f.new_self_share)),
        _ => (fmt_abs(d, f.old_self_abs), fmt_abs(d, f.new_self_abs)),
    }
}

/// A hot-path frame value in the compared quantity.
pub fn fmt_q(d: &Diff, v: f64) -> String {
    match d.normalize {
        Normalize::Total => fmt_pct(v),
        _ => fmt_abs(d, v),
    }
}

pub fn fmt_q_delta(d: &Diff, v: f64) -> String {
    match d.normalize {
        Normalize::Total => fmt_pp(v * 100.0),
        _ => fmt_delta_abs(d, v),
    }
}

/// For a significant row whose change went through inlined callees: `inlined: <u64>::
/// wrapping_mul +140.1ms, …` (names cut to `max_name` characters).
pub fn inline_detail(d: &Diff, f: &FunctionDiff, max_name: usize) -> Option<String> {
    let significant = f.significance.as_ref().is_some_and(|s| s.significant);
    if !significant || f.inlined.is_empty() {
        return None;
    }
    let parts: Vec<String> = f
        .inlined
        .iter()
        .map(|c| format!("{} {}", short(&c.name, max_name), fmt_q_delta(d, c.delta)))
        .collect();
    Some(format!("inlined: {}", parts.join(", ")))
}

/// One line naming the normalization in force and why.
pub fn normalize_line(d: &Diff) -> String {
    let what = match d.normalize {
        Normalize::Total => "shares of each run's total (--normalize total)",
        _ => "absolute values per run (--normalize none)",
    };
    format!("compared: {what}; {}", d.normalize_reason)
}

/// Shorten long (C++/Rust generic) names for tables.
pub fn short(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let tail: String = name
        .chars()
        .rev()
        .take(max.saturating_sub(1))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

/// Data-quality lines for one side.
pub fn quality_line(d: &Diff, old: bool) -> String {
    let s = if old { &d.old } else { &d.new };
    let mut parts = vec![
        format!("{} run(s)", s.runs),
        format!("{:.0} samples", s.samples),
        format!("total/run {}", fmt_abs(d, s.total_per_run)),
    ];
    if let Some(dur) = s.duration_seconds {
        parts.push(format!("{dur:.2}s"));
    }
    if let Some(hz) = s.sample_rate_hz {
        parts.push(format!("{hz:.0} Hz"));
    }
    parts.push(format!(
        "unknown frames {:.1}%",
        s.unknown_frame_share * 100.0
    ));
    parts.push(format!("lost {}", s.lost_samples));
    parts.push(format!("truncated {}", s.truncated_stacks));
    parts.join(", ")
}

/// Verdict text.
pub fn verdict_line(v: &Verdict) -> String {
    v.message.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_like_pprof() {
        assert_eq!(fmt_bytes(8_472_861.0), "8.08MB");
        assert_eq!(fmt_bytes(-2048.0), "-2.00kB");
        assert_eq!(fmt_bytes(512.0), "512B");
    }
}
