//! Terminal table and Markdown renderings of a comparison. Colour (ANSI) only when asked for
//! (the CLI asks only on a TTY without `NO_COLOR`).

use super::*;
use crate::analysis::diff::Diff;
use crate::analysis::gate::Verdict;
use crate::render::terminal::visible;
use std::io::{self, Write};

/// Rows of the attribution table (functions with a reported significance first `limit`).
fn rows(d: &Diff, list: &[FunctionDiff], limit: usize) -> Vec<[String; 8]> {
    list.iter()
        .take(limit)
        .map(|f| {
            let (o, n) = self_old_new(d, f);
            [
                visible(&f.name).into_owned(),
                o,
                n,
                fmt_q_delta(d, f.delta),
                fmt_pp(f.delta_pp),
                fmt_ratio(f),
                fmt_pct(f.explained),
                fmt_sig(f.significance.as_ref()),
            ]
        })
        .collect()
}

const HEAD: [&str; 8] = [
    "function",
    "old",
    "new",
    "delta",
    "Δshare",
    "ratio",
    "explains",
    "significance",
];

fn table(w: &mut dyn Write, rows: &[[String; 8]], color: bool, red: bool) -> io::Result<()> {
    let mut width = HEAD.map(|h| h.chars().count());
    let rows: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r[0] = short(&r[0], 60);
            r
        })
        .collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |w: &mut dyn Write, cells: &[String], bold: bool, sig: bool| -> io::Result<()> {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = width[i] - c.chars().count();
            if i == 0 {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str("  ");
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            }
        }
        let s = s.trim_end();
        if color && bold {
            writeln!(w, "\x1b[1m{s}\x1b[0m")
        } else if color && sig {
            writeln!(w, "{}{s}\x1b[0m", if red { "\x1b[31m" } else { "\x1b[34m" })
        } else {
            writeln!(w, "{s}")
        }
    };
    line(w, &HEAD.map(String::from), true, false)?;
    for r in &rows {
        line(w, r, false, !r[7].starts_with('~'))?;
    }
    Ok(())
}

/// The terminal report.
pub fn write_terminal(
    d: &Diff,
    v: &Verdict,
    limit: usize,
    color: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    let bold = |s: &str| {
        if color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    writeln!(w, "{}", bold(&verdict_line(v)))?;
    let t = &d.total;
    writeln!(
        w,
        "total per run: {} → {} ({}{}) {}",
        fmt_abs(d, t.old),
        fmt_abs(d, t.new),
        fmt_delta_abs(d, t.delta),
        t.relative
            .map_or(String::new(), |r| format!(", {:+.1}%", r * 100.0)),
        fmt_sig(t.significance.as_ref())
    )?;
    writeln!(w, "{}", normalize_line(d))?;
    writeln!(w, "old: {}", visible(&quality_line(d, true)))?;
    writeln!(w, "new: {}", visible(&quality_line(d, false)))?;
    for warn in &d.warnings {
        writeln!(w, "{}", bold(&visible(&format!("warning: {warn}"))))?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        bold("Regressions (self time, by contribution to the change)")
    )?;
    if d.regressions.is_empty() {
        writeln!(w, "  none")?;
    } else {
        table(w, &rows(d, &d.regressions, limit), color, true)?;
    }
    writeln!(w)?;
    writeln!(w, "{}", bold("Improvements"))?;
    if d.improvements.is_empty() {
        writeln!(w, "  none")?;
    } else {
        table(w, &rows(d, &d.improvements, limit), color, false)?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        bold("Hot paths (largest inclusive increase, root → self)")
    )?;
    if d.hot_paths.is_empty() {
        writeln!(w, "  none (nothing grew)")?;
    }
    for (i, p) in d.hot_paths.iter().enumerate() {
        writeln!(w, "#{}", i + 1)?;
        for (depth, f) in p.iter().enumerate() {
            writeln!(
                w,
                "  {}{}  {} → {} ({}, self {})",
                "  ".repeat(depth),
                short(&visible(&f.name), 70),
                fmt_q(d, f.old),
                fmt_q(d, f.new),
                fmt_q_delta(d, f.delta),
                fmt_q_delta(d, f.self_delta)
            )?;
        }
    }
    Ok(())
}

fn md_escape(s: &str) -> String {
    visible(s)
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "'")
        .replace('*', "\\*")
        .replace('_', "\\_")
}

fn md_table(w: &mut dyn Write, rows: &[[String; 8]]) -> io::Result<()> {
    writeln!(w, "| {} |", HEAD.join(" | "))?;
    writeln!(w, "|---|--:|--:|--:|--:|--:|--:|---|")?;
    for r in rows {
        let mut r = r.clone();
        r[0] = format!("`{}`", r[0].replace('`', "'").replace('|', "\\|"));
        writeln!(w, "| {} |", r.join(" | "))?;
    }
    Ok(())
}

/// Markdown for a PR comment.
pub fn write_markdown(d: &Diff, v: &Verdict, limit: usize, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "### profdiff: {}", md_escape(&verdict_line(v)))?;
    writeln!(w)?;
    let t = &d.total;
    writeln!(
        w,
        "Total per run: **{} → {}** ({}{}) {}  ",
        fmt_abs(d, t.old),
        fmt_abs(d, t.new),
        fmt_delta_abs(d, t.delta),
        t.relative
            .map_or(String::new(), |r| format!(", {:+.1}%", r * 100.0)),
        md_escape(&fmt_sig(t.significance.as_ref()))
    )?;
    writeln!(w, "{}", md_escape(&normalize_line(d)))?;
    writeln!(w)?;
    for warn in &d.warnings {
        writeln!(w, "> ⚠️ {}", md_escape(warn))?;
    }
    if !d.warnings.is_empty() {
        writeln!(w)?;
    }
    writeln!(w, "#### Regressions")?;
    writeln!(w)?;
    if d.regressions.is_empty() {
        writeln!(w, "none")?;
    } else {
        md_table(w, &rows(d, &d.regressions, limit))?;
    }
    writeln!(w)?;
    writeln!(w, "#### Improvements")?;
    writeln!(w)?;
    if d.improvements.is_empty() {
        writeln!(w, "none")?;
    } else {
        md_table(w, &rows(d, &d.improvements, limit))?;
    }
    writeln!(w)?;
    writeln!(w, "#### Hot paths")?;
    writeln!(w)?;
    for (i, p) in d.hot_paths.iter().enumerate() {
        writeln!(w, "{}.", i + 1)?;
        writeln!(w, "```")?;
        for (depth, f) in p.iter().enumerate() {
            writeln!(
                w,
                "{}{}  {} → {} ({}, self {})",
                "  ".repeat(depth),
                visible(&f.name).replace("```", "'''"),
                fmt_q(d, f.old),
                fmt_q(d, f.new),
                fmt_q_delta(d, f.delta),
                fmt_q_delta(d, f.self_delta)
            )?;
        }
        writeln!(w, "```")?;
    }
    writeln!(w)?;
    writeln!(w, "<details><summary>Data quality</summary>")?;
    writeln!(w)?;
    writeln!(w, "- old: {}", md_escape(&quality_line(d, true)))?;
    writeln!(w, "- new: {}", md_escape(&quality_line(d, false)))?;
    writeln!(w)?;
    writeln!(w, "</details>")?;
    Ok(())
}
