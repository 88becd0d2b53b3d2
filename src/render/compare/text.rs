//! Terminal table and Markdown renderings of a comparison. Colour (ANSI) only when asked for
//! (the CLI asks only on a TTY without `NO_COLOR`).

use super::*;
use crate::analysis::diff::{Diff, HotFrame};
use crate::analysis::gate::Verdict;
use crate::render::terminal::visible;
use std::io::{self, Write};

/// One row of the attribution table: its cells and, for a significant change that went
/// through inlined callees, a detail line naming them.
struct Row {
    cells: [String; 8],
    inlined: Option<String>,
}

/// Rows of the attribution table (the first `limit`).
fn rows(d: &Diff, list: &[FunctionDiff], limit: usize) -> Vec<Row> {
    list.iter()
        .take(limit)
        .map(|f| {
            let (o, n) = self_old_new(d, f);
            let cells = [
                visible(&f.name).into_owned(),
                o,
                n,
                fmt_q_delta(d, f.delta),
                fmt_pp(f.delta_pp),
                fmt_ratio(f),
                fmt_pct(f.explained),
                fmt_fn_sig(d, f),
            ];
            Row {
                cells,
                inlined: inline_detail(d, f, 50),
            }
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

fn table(w: &mut dyn Write, full: &[Row], color: bool, red: bool) -> io::Result<()> {
    let mut width = HEAD.map(|h| h.chars().count());
    let rows: Vec<[String; 8]> = full
        .iter()
        .map(|r| {
            let mut r = r.cells.clone();
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
    for (r, full) in rows.iter().zip(full) {
        line(w, r, false, !r[7].starts_with('~'))?;
        if let Some(detail) = &full.inlined {
            writeln!(w, "  ↳ {detail}")?;
        }
    }
    Ok(())
}

/// One hot path as indented lines, root side first; names cut to `max_name` characters. The
/// leading frames that only pass the whole change down are left out, and counted.
pub fn hot_path_lines(d: &Diff, p: &[HotFrame], max_name: usize) -> Vec<String> {
    let elided = p.iter().take_while(|f| f.elided).count();
    let mut out = Vec::with_capacity(p.len() - elided + 1);
    if elided > 0 {
        out.push(format!(
            "… {elided} frames passing the whole change down ({} → {}) …",
            short(&visible(&p[0].name), 40),
            short(&visible(&p[elided - 1].name), 40)
        ));
    }
    // Recursion (a frame calling itself, as merge sorts do, or a cycle of frames, as nested
    // imports do) prints one round: each frame with its outermost values and its self
    // change summed over all rounds.
    let shown = &p[elided..];
    let mut i = 0;
    let mut depth = 0;
    while i < shown.len() {
        let (period, rounds) = recursion_at(shown, i);
        for j in 0..period {
            let f = &shown[i + j];
            let self_delta: f64 = (0..rounds)
                .map(|r| shown[i + r * period + j].self_delta)
                .sum();
            let mut name = short(&visible(&f.name), max_name);
            let self_label = if rounds > 1 { "self in all" } else { "self" };
            if rounds > 1 && j == 0 {
                name.push_str(&if period == 1 {
                    format!(" ×{rounds} (recursive)")
                } else {
                    format!(" ×{rounds} (recursive, {period} frames a round)")
                });
            }
            out.push(format!(
                "{}{name}  {} → {} ({}, {self_label} {})",
                "  ".repeat(depth),
                fmt_q(d, f.old),
                fmt_q(d, f.new),
                fmt_q_delta(d, f.delta),
                fmt_q_delta(d, self_delta)
            ));
            depth += 1;
        }
        i += period * rounds;
    }
    out
}

/// The recursion starting at `frames[i]`: the round length (1 to 8 frames) and how many
/// times the round repeats back to back, choosing the one that covers most frames; `(1, 1)`
/// when nothing repeats.
fn recursion_at(frames: &[HotFrame], i: usize) -> (usize, usize) {
    let same =
        |a: usize, b: usize, len: usize| (0..len).all(|k| frames[a + k].name == frames[b + k].name);
    let mut best = (1, 1);
    for period in 1..=8 {
        let mut rounds = 1;
        while i + (rounds + 1) * period <= frames.len() && same(i, i + rounds * period, period) {
            rounds += 1;
        }
        if rounds > 1 && period * rounds > best.0 * best.1 {
            best = (period, rounds);
        }
    }
    best
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
        fmt_total_sig(d)
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
        bold(&format!(
            "Regressions ({}, by contribution to the change)",
            d.self_label()
        ))
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
        for line in hot_path_lines(d, p, 70) {
            writeln!(w, "  {line}")?;
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

/// Rows a Markdown table shows before the rest goes into a collapsed `<details>` block, so a
/// PR comment stays short.
const MD_VISIBLE_ROWS: usize = 5;

fn md_table(w: &mut dyn Write, rows: &[Row]) -> io::Result<()> {
    let (shown, rest) = rows.split_at(rows.len().min(MD_VISIBLE_ROWS));
    md_table_rows(w, shown)?;
    if !rest.is_empty() {
        writeln!(w)?;
        writeln!(w, "<details><summary>{} more</summary>", rest.len())?;
        writeln!(w)?;
        md_table_rows(w, rest)?;
        writeln!(w)?;
        writeln!(w, "</details>")?;
    }
    Ok(())
}

fn md_table_rows(w: &mut dyn Write, rows: &[Row]) -> io::Result<()> {
    writeln!(w, "| {} |", HEAD.join(" | "))?;
    writeln!(w, "|---|--:|--:|--:|--:|--:|--:|---|")?;
    for row in rows {
        let mut r = row.cells.clone();
        r[0] = format!("`{}`", r[0].replace('`', "'").replace('|', "\\|"));
        if let Some(detail) = &row.inlined {
            r[0].push_str(&format!("<br><sub>{}</sub>", md_escape(detail)));
        }
        writeln!(w, "| {} |", r.join(" | "))?;
    }
    Ok(())
}

/// One hot path as a fenced code block.
fn md_hot_path(w: &mut dyn Write, d: &Diff, i: usize, p: &[HotFrame]) -> io::Result<()> {
    writeln!(w, "{}.", i + 1)?;
    writeln!(w, "```")?;
    for line in hot_path_lines(d, p, usize::MAX) {
        writeln!(w, "{}", line.replace("```", "'''"))?;
    }
    writeln!(w, "```")
}

/// Hot paths: the first one shown, the others collapsed.
fn md_hot_paths(w: &mut dyn Write, d: &Diff) -> io::Result<()> {
    writeln!(w, "#### Hot paths")?;
    writeln!(w)?;
    let Some((first, rest)) = d.hot_paths.split_first() else {
        return writeln!(w, "none (nothing grew)");
    };
    md_hot_path(w, d, 0, first)?;
    if !rest.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "<details><summary>{} more hot paths</summary>",
            rest.len()
        )?;
        writeln!(w)?;
        for (i, p) in rest.iter().enumerate() {
            md_hot_path(w, d, i + 1, p)?;
        }
        writeln!(w)?;
        writeln!(w, "</details>")?;
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
        md_escape(&fmt_total_sig(d))
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
    md_hot_paths(w, d)?;
    writeln!(w)?;
    writeln!(w, "<details><summary>Data quality</summary>")?;
    writeln!(w)?;
    writeln!(w, "- old: {}", md_escape(&quality_line(d, true)))?;
    writeln!(w, "- new: {}", md_escape(&quality_line(d, false)))?;
    writeln!(w)?;
    writeln!(w, "</details>")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::diff::{diff, DiffOptions, Normalize};
    use crate::formats::folded;

    fn profile(text: &str) -> crate::model::Profile {
        folded::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn hot_path_prints_from_the_split_and_one_round_of_recursion() {
        // Start-up chain; `lib_init` splits the change between `other` and a merge-sort
        // style recursion whose innermost frame grew.
        let stacks = |leaf: u32, other: u32| {
            format!(
                "_start;__libc_start_main;lib_init;sort;sort;sort;sort;leaf {leaf}\n\
                 _start;__libc_start_main;lib_init;other {other}\n"
            )
        };
        let d = diff(
            &[profile(&stacks(100, 100))],
            &[profile(&stacks(300, 150))],
            &DiffOptions {
                normalize: Normalize::None,
                ..Default::default()
            },
        )
        .unwrap();
        let lines = hot_path_lines(&d, &d.hot_paths[0], 80);
        assert_eq!(
            lines[0],
            "… 2 frames passing the whole change down (_start → __libc_start_main) …"
        );
        assert!(lines[1].starts_with("lib_init  200 → 450"), "{lines:?}");
        assert!(
            lines[2].starts_with("  sort ×4 (recursive)  100 → 300"),
            "{lines:?}"
        );
        assert!(lines[3].starts_with("    leaf  100 → 300"), "{lines:?}");
        assert_eq!(lines.len(), 4, "{lines:?}");
    }

    #[test]
    fn recursion_rounds_are_found() {
        let frames = |names: &[&str]| -> Vec<HotFrame> {
            names
                .iter()
                .map(|n| HotFrame {
                    name: n.to_string(),
                    file: None,
                    old: 0.0,
                    new: 0.0,
                    delta: 0.0,
                    self_delta: 0.0,
                    elided: false,
                })
                .collect()
        };
        let f = frames(&["a", "b", "c", "b", "c", "b", "c", "d"]);
        assert_eq!(recursion_at(&f, 0), (1, 1));
        assert_eq!(recursion_at(&f, 1), (2, 3));
        assert_eq!(recursion_at(&f, 7), (1, 1));
    }
}
