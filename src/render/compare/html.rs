//! The HTML report of a comparison: one self-contained file (inline CSS, both differential
//! flamegraphs embedded as data: URLs in iframes so their own scripts — search, zoom — keep
//! working and cannot clash) to attach to a ticket.

use super::*;
use crate::analysis::diff::Diff;
use crate::analysis::gate::Verdict;
use std::io::{self, Write};

/// HTML text: markup characters as entities, control characters as visible escapes.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in crate::render::terminal::visible(s).chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Standard base64 (RFC 4648) for the data: URLs.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for ch in data.chunks(3) {
        let b = [ch[0], *ch.get(1).unwrap_or(&0), *ch.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if ch.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if ch.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn table(out: &mut String, d: &Diff, list: &[FunctionDiff], limit: usize, class: &str) {
    if list.is_empty() {
        out.push_str("<p>none</p>\n");
        return;
    }
    out.push_str("<div class=\"scroll\"><table><thead><tr><th>function</th><th>old</th><th>new</th><th>delta</th><th>Δshare</th><th>ratio</th><th>explains</th><th>significance</th></tr></thead><tbody>\n");
    for f in list.iter().take(limit) {
        let (o, n) = self_old_new(d, f);
        let sig = f.significance.as_ref().is_some_and(|s| s.significant);
        // A bar says "this row explains that much of the change": only for rows whose change
        // is significant, so noise rows do not look like findings.
        let bar = if sig {
            format!(
                "<span class=\"bar {class}\" style=\"width:{:.0}px\"></span> ",
                (f.explained * 60.0).clamp(0.0, 60.0)
            )
        } else {
            String::new()
        };
        out.push_str(&format!(
            "<tr class=\"{}\"><td class=\"fn\" title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{bar}{}</td><td>{}</td></tr>\n",
            if sig { "sig" } else { "noise" },
            esc(&f.name),
            esc(&short(&f.name, 90))
                + &inline_detail(d, f, 60)
                    .map_or(String::new(), |t| format!("<div class=\"inl\">{}</div>", esc(&t))),
            esc(&o),
            esc(&n),
            esc(&fmt_q_delta(d, f.delta)),
            esc(&fmt_pp(f.delta_pp)),
            esc(&fmt_ratio(f)),
            esc(&fmt_pct(f.explained)),
            esc(&fmt_fn_sig(d, f)),
        ));
    }
    out.push_str("</tbody></table></div>\n");
}

/// Write the report. `svg_new` / `svg_old`: the two differential flamegraphs (may be empty).
pub fn write_html(
    d: &Diff,
    v: &Verdict,
    limit: usize,
    svg_new: &[u8],
    svg_old: &[u8],
    w: &mut dyn Write,
) -> io::Result<()> {
    let mut o = String::new();
    let status_class = match v.status.as_str() {
        "regression" => "bad",
        "improvement" => "good",
        _ => "neutral",
    };
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>profdiff compare</title>\n<style>\n");
    o.push_str("body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1280px;color:#222;padding:0 16px}\nh1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}\n.verdict{padding:10px 14px;border-radius:6px;font-weight:600;margin:8px 0}\n.bad{background:#fde8e8;border-left:5px solid #d33}.good{background:#e6f4ea;border-left:5px solid #2a2}.neutral{background:#eef2f7;border-left:5px solid #789}\n.scroll{overflow-x:auto;max-width:100%}\ntable{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 6px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}\nth{background:#f6f6f6}td.fn,th:first-child{text-align:left;font-family:ui-monospace,Menlo,monospace}\ntd.fn{width:100%;max-width:0;min-width:12em;overflow:hidden;text-overflow:ellipsis}\ntr.noise td{color:#888}.inl{color:#666;font-size:12px;white-space:normal;overflow-wrap:anywhere}.bar{display:inline-block;height:9px;vertical-align:middle;border-radius:2px}.bar.up{background:#d33}.bar.down{background:#37c}\npre{background:#f8f8f8;padding:10px;border-radius:4px;overflow-x:auto;font-size:13px}\niframe{width:100%;height:620px;border:1px solid #ddd;border-radius:4px}\n.warn{background:#fff6dd;border-left:4px solid #e0a800;padding:6px 10px;margin:6px 0}\n.meta{color:#555}ul{margin:4px 0}\n");
    o.push_str("</style></head><body>\n<h1>profdiff compare</h1>\n");
    o.push_str(&format!(
        "<div class=\"verdict {status_class}\">{}</div>\n",
        esc(&verdict_line(v))
    ));
    let t = &d.total;
    o.push_str(&format!(
        "<p>Total per run: <b>{} → {}</b> ({}{}) {}<br><span class=\"meta\">{}</span></p>\n",
        esc(&fmt_abs(d, t.old)),
        esc(&fmt_abs(d, t.new)),
        esc(&fmt_delta_abs(d, t.delta)),
        t.relative
            .map_or(String::new(), |r| format!(", {:+.1}%", r * 100.0)),
        esc(&fmt_total_sig(d)),
        esc(&normalize_line(d))
    ));
    for warn in &d.warnings {
        o.push_str(&format!("<div class=\"warn\">⚠ {}</div>\n", esc(warn)));
    }
    o.push_str(&format!(
        "<h2>Regressions — {}, by contribution to the change</h2>\n",
        esc(&d.self_label())
    ));
    table(&mut o, d, &d.regressions, limit, "up");
    o.push_str("<h2>Improvements</h2>\n");
    table(&mut o, d, &d.improvements, limit, "down");
    o.push_str("<h2>Hot paths — largest inclusive increase, root → self</h2>\n");
    if d.hot_paths.is_empty() {
        o.push_str("<p>none (nothing grew)</p>\n");
    }
    for (i, p) in d.hot_paths.iter().enumerate() {
        o.push_str(&format!("<p><b>#{}</b></p><pre>", i + 1));
        for line in super::text::hot_path_lines(d, p, usize::MAX) {
            o.push_str(&esc(&line));
            o.push('\n');
        }
        o.push_str("</pre>\n");
    }
    for (title, svg) in [
        (
            "Differential flame graph — widths from NEW (red = grew, blue = shrank)",
            svg_new,
        ),
        (
            "Reverse view — widths from OLD (shows vanished stacks)",
            svg_old,
        ),
    ] {
        if svg.is_empty() {
            continue;
        }
        o.push_str(&format!("<h2>{}</h2>\n", esc(title)));
        let h = svg_height(svg).map_or(620, |h| h + 24);
        o.push_str(&format!(
            "<iframe style=\"height:{h}px\" title=\"{}\" src=\"data:image/svg+xml;base64,{}\"></iframe>\n",
            esc(title),
            base64(svg)
        ));
    }
    o.push_str("<h2>Data quality</h2>\n<ul>\n");
    o.push_str(&format!("<li>old: {}</li>\n", esc(&quality_line(d, true))));
    o.push_str(&format!("<li>new: {}</li>\n", esc(&quality_line(d, false))));
    for n in d
        .old
        .notes
        .iter()
        .map(|n| ("old", n))
        .chain(d.new.notes.iter().map(|n| ("new", n)))
    {
        o.push_str(&format!("<li>{} note: {}</li>\n", n.0, esc(n.1)));
    }
    o.push_str(&format!(
        "<li>significance level α = {}; statistics: Mann-Whitney U + bootstrap CI (≥ 2 runs per side), conditional binomial test (1 run per side); insignificant changes are shown as ~</li>\n",
        d.alpha
    ));
    o.push_str("</ul>\n</body></html>\n");
    w.write_all(o.as_bytes())
}

/// The `height` of the root `<svg>` element, to size its iframe.
fn svg_height(svg: &[u8]) -> Option<usize> {
    let head = std::str::from_utf8(&svg[..svg.len().min(4096)]).ok()?;
    let tag = &head[head.find("<svg")?..];
    let tag = &tag[..tag.find('>')?];
    let h = &tag[tag.find(" height=\"")? + 9..];
    h[..h.find('"')?]
        .trim_end_matches("px")
        .parse::<f64>()
        .ok()
        .map(|v| v as usize)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_rfc4648_vectors() {
        use super::base64;
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
