//! Data quality of each side ([`summarize`]) and the warnings raised when the two sides
//! differ enough in quality (unknown frames, lost samples, truncated stacks, rates, too few
//! samples or runs) to distort the verdict.

use super::identity::Run;
use super::{Diff, SideSummary};
use crate::analysis::stats;
use crate::model::Profile;

pub(super) fn summarize(runs: &[&Profile], reduced: &[Run], value: &[usize]) -> SideSummary {
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
        sample_rate_hz: declared_rate_hz(runs),
        unknown_frame_share: q.unknown_share(),
        lost_samples: q.lost_samples,
        truncated_stacks: q.truncated_stacks,
        notes: q.notes,
    }
}

/// The sampling frequency the profiles declare: their sampling period when it is a time, else a
/// `frequency` metadata entry; `None` when unknown or when the runs disagree. Samples divided by
/// wall time is not a rate: a program that waits, or runs several threads, changes it.
fn declared_rate_hz(runs: &[&Profile]) -> Option<f64> {
    let rate = |p: &Profile| -> Option<f64> {
        let from_period = p.period_type.as_ref().and_then(|t| {
            let unit_nanos = crate::model::unit_nanos(&t.unit)?;
            (p.period > 0).then(|| 1e9 / (p.period as f64 * unit_nanos))
        });
        from_period.or_else(|| {
            let f: f64 = p.metadata.get("frequency")?.trim().parse().ok()?;
            (f.is_finite() && f > 0.0).then_some(f)
        })
    };
    let first = rate(runs.first()?)?;
    runs[1..]
        .iter()
        .all(|p| rate(p).is_some_and(|r| (r - first).abs() <= 1e-6 * first))
        .then_some(first)
}

/// Warnings when the two sides differ enough in quality to distort the verdict.
pub(super) fn quality_warnings(d: &Diff) -> Vec<String> {
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
            "{} vs {} runs are too few for the Mann-Whitney test to reach p < {} (smallest possible p = {:.3}); significance comes from a Welch t-test whose variances are floored at the assumed run-to-run noise. Use ≥ 4 runs per side for the rank test",
            o.runs,
            n.runs,
            d.alpha,
            stats::mann_whitney_min_p(o.runs, n.runs)
        ));
    }
    w.extend(moved_with_callees(d));
    w.extend(d.noise.sentence());
    w
}

/// One line naming the functions whose self time changed only because time moved between them
/// and their callees (`Significance::moved_with_callees`).
fn moved_with_callees(d: &Diff) -> Option<String> {
    let moved: Vec<String> = d
        .regressions
        .iter()
        .chain(&d.improvements)
        .filter(|f| {
            f.significance
                .as_ref()
                .is_some_and(|s| s.moved_with_callees)
        })
        .map(|f| {
            let ratio = |old: f64, new: f64| match old > 0.0 {
                true => format!("×{:.2}", new / old),
                false => "new".to_string(),
            };
            format!(
                "{} (self {}, inclusive {})",
                f.name,
                ratio(f.old_self_abs, f.new_self_abs),
                ratio(f.old_cum_abs, f.new_cum_abs)
            )
        })
        .collect();
    (!moved.is_empty()).then(|| {
        format!(
            "self time moved between functions and their callees, not counted as a change: {}; their inclusive time did not change with it (a JIT or compiler inlined the callees in one run and not the other, or code moved between functions)",
            moved.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::{diff, DiffOptions};
    use crate::formats::folded;
    use crate::model::Profile;

    fn p(text: &str) -> Profile {
        folded::parse(text.as_bytes()).unwrap()
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

    /// The rate is what the profile declares, not samples over wall time: two threads
    /// sampled at 100 Hz for one second give 200 samples, still 100 Hz.
    #[test]
    fn sample_rate_is_the_declared_period() {
        use crate::model::ValueType;
        let mut two_threads = p("main;a 100\nmain;b 100\n");
        two_threads.duration_nanos = 1_000_000_000;
        two_threads.period_type = Some(ValueType::new("cpu", "nanoseconds"));
        two_threads.period = 10_000_000;
        let d = diff(
            &[two_threads.clone()],
            &[two_threads.clone()],
            &DiffOptions::default(),
        )
        .unwrap();
        assert_eq!(d.old.sample_rate_hz, Some(100.0));
        let mut unknown = two_threads;
        unknown.period_type = None;
        let d = diff(&[unknown.clone()], &[unknown], &DiffOptions::default()).unwrap();
        assert_eq!(d.old.sample_rate_hz, None);
    }
}
