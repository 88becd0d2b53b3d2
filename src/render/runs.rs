//! The time table of repeated runs (`ab`, `record --runs`): per side mean ± σ and min … max as
//! hyperfine prints them, then new against old with its interval and p-value as benchstat
//! reports it, in terminal text or Markdown.

use crate::runs::{Summary, TimeComparison};
use std::io::{self, Write};

/// A time in seconds, in a unit chosen for `scale` (seconds, ms or µs).
fn fmt_time(v: f64, scale: f64) -> String {
    if scale >= 1.0 {
        format!("{v:.3} s")
    } else if scale >= 1e-3 {
        format!("{:.1} ms", v * 1e3)
    } else {
        format!("{:.0} µs", v * 1e6)
    }
}

fn fmt_side(s: &Summary) -> (String, String) {
    let f = |v| fmt_time(v, s.mean);
    (
        format!("{} ± {}", f(s.mean), f(s.sd)),
        format!("{} … {}", f(s.min), f(s.max)),
    )
}

/// `+49.9% [+47.1% … +52.6%], p=0.0001: slower (significant)`.
fn fmt_change(c: &TimeComparison) -> String {
    let pct = |v: f64| format!("{:+.1}%", v * 100.0);
    let mut s = pct(c.change);
    if let Some((lo, hi)) = c.interval {
        s += &format!(" [{} … {}]", pct(lo), pct(hi));
    }
    match c.p {
        Some(p) => {
            let p = if p < 0.001 {
                "p<0.001".to_string()
            } else {
                format!("p={p:.3}")
            };
            s += &format!(" {p} (Welch t-test, n={}+{})", c.old.runs, c.new.runs);
            s += if !c.significant() {
                ": no significant difference"
            } else if c.change > 0.0 {
                ": slower (significant)"
            } else {
                ": faster (significant)"
            };
        }
        None => s += ": one run per side, no test (record more runs)",
    }
    s
}

/// One measured quantity (wall or CPU time) of both sides.
pub struct TimeRow<'a> {
    pub what: &'a str,
    pub cmp: TimeComparison,
}

/// Terminal text.
pub fn write_terminal(rows: &[TimeRow<'_>], alternated: bool, w: &mut dyn Write) -> io::Result<()> {
    for r in rows {
        let c = &r.cmp;
        writeln!(
            w,
            "{} (mean ± σ, min … max; {} + {} runs{})",
            r.what,
            c.old.runs,
            c.new.runs,
            if alternated { ", alternated" } else { "" }
        )?;
        let (o, n) = (fmt_side(&c.old), fmt_side(&c.new));
        let width = o.0.chars().count().max(n.0.chars().count());
        writeln!(w, "  old  {:<width$}   {}", o.0, o.1)?;
        writeln!(w, "  new  {:<width$}   {}", n.0, n.1)?;
        writeln!(w, "  new vs old: {}", fmt_change(c))?;
    }
    writeln!(w)
}

/// Markdown table.
pub fn write_markdown(rows: &[TimeRow<'_>], w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "| time | old (mean ± σ) | new (mean ± σ) | old min … max | new min … max | new vs old |"
    )?;
    writeln!(w, "|---|---|---|---|---|---|")?;
    for r in rows {
        let c = &r.cmp;
        let (o, n) = (fmt_side(&c.old), fmt_side(&c.new));
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} |",
            r.what,
            o.0,
            n.0,
            o.1,
            n.1,
            fmt_change(c)
        )?;
    }
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::compare_times;

    #[test]
    fn terminal_shows_both_sides_and_the_verdict() {
        let cmp = compare_times(&[1.0, 1.1, 0.9], &[2.0, 2.2, 1.8], 0.05).unwrap();
        let mut out = Vec::new();
        write_terminal(
            &[TimeRow {
                what: "wall time",
                cmp,
            }],
            true,
            &mut out,
        )
        .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("old  1.000 s ± 0.100 s"), "{s}");
        assert!(s.contains("1.800 s … 2.200 s"), "{s}");
        assert!(s.contains("+100.0% ["), "{s}");
        assert!(s.contains("slower (significant)"), "{s}");
        assert!(s.contains("3 + 3 runs, alternated"), "{s}");
    }

    #[test]
    fn small_times_use_milliseconds() {
        assert_eq!(fmt_time(0.0123, 0.0123), "12.3 ms");
        assert_eq!(fmt_time(0.000_012, 0.000_012), "12 µs");
    }
}
