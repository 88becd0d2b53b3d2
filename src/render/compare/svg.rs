//! Differential flamegraphs of a comparison, drawn by inferno from two-column folded lines
//! (`stack old new`). The forward view takes widths from NEW (red = grew, blue = shrank); the
//! reverse view takes widths from OLD, so stacks that vanished are visible, with the same
//! colour meaning.

use crate::analysis::diff::{Diff, Normalize};
use crate::render::flamegraph::{write_svg_from_folded, FlamegraphOptions};
use std::io::{self, Write};

/// Integer folded lines for inferno. Values are scaled so that shares keep precision
/// (parts per million of the total) and absolute values keep their unit (µs for time).
pub fn diff_lines(d: &Diff, reverse: bool) -> (Vec<String>, String) {
    let (factor, name) = match d.normalize {
        Normalize::Total => (1e6, "ppm of total".to_string()),
        _ if d.unit_is_time => (1e-3, "µs".to_string()),
        _ => (1.0, d.unit.clone()),
    };
    let lines = d
        .tree_lines
        .iter()
        .filter_map(|(s, o, n)| {
            let (o, n) = ((o * factor).round() as u64, (n * factor).round() as u64);
            if o == 0 && n == 0 {
                return None;
            }
            Some(if reverse {
                format!("{s} {n} {o}")
            } else {
                format!("{s} {o} {n}")
            })
        })
        .collect();
    (lines, name)
}

/// Render one view. `reverse` = widths from OLD.
pub fn write_diff_svg(
    d: &Diff,
    reverse: bool,
    opts: &FlamegraphOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    let (lines, count_name) = diff_lines(d, reverse);
    if lines.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "nothing to draw: both sides are empty",
        ));
    }
    let mut o = opts.clone();
    if o.title.is_none() {
        o.title = Some(if reverse {
            "Differential flame graph — widths from OLD (vanished stacks visible)".into()
        } else {
            "Differential flame graph — widths from NEW".into()
        });
    }
    if o.subtitle.is_none() {
        let rel = d
            .total
            .relative
            .map_or(String::new(), |r| format!("total {:+.1}%; ", r * 100.0));
        o.subtitle = Some(format!(
            "{rel}red = grew, blue = shrank (new vs old); hover for values"
        ));
    }
    write_svg_from_folded(
        lines.iter().map(String::as_str),
        &o,
        &count_name,
        reverse,
        w,
    )
}
