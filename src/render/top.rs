//! Printing a [`TopTable`]: a terminal table laid out like `go tool pprof -top`, a Markdown
//! table, and versioned JSON (schema in `docs/json-top.md`).
//!
//! Values are shown the way pprof shows them: time units are scaled to one unit chosen for the
//! whole table (the smallest non-zero row decides, as pprof's "minimum" output unit does) and
//! printed with two decimals (`1.28s`, `10ms`); byte units likewise (`kB`, `MB`); other units
//! (counts) as plain numbers. Percentages use pprof's format (`72.73%`, `0.017%`, `100%`).
//! The functions doing that ([`scale`], [`scaled_label`], [`percentage`]) follow pprof's
//! `internal/measurement` package so that printed numbers can be compared with go's.

use crate::analysis::top::{TopRow, TopTable};
use crate::model::Profile;
use serde::Serialize;
use std::io::{self, Write};

/// Version of the JSON document written by [`write_json`].
pub const JSON_SCHEMA_VERSION: u32 = 2;

struct Unit {
    name: &'static str,
    aliases: &'static [&'static str],
    factor: f64,
}

struct UnitType {
    default: &'static str,
    default_factor: f64,
    units: &'static [Unit],
}

const UNIT_TYPES: &[UnitType] = &[
    UnitType {
        default: "B",
        default_factor: 1.0,
        units: &[
            Unit {
                name: "B",
                aliases: &["b", "byte"],
                factor: 1.0,
            },
            Unit {
                name: "kB",
                aliases: &["kb", "kbyte", "kilobyte"],
                factor: 1024.0,
            },
            Unit {
                name: "MB",
                aliases: &["mb", "mbyte", "megabyte"],
                factor: 1048576.0,
            },
            Unit {
                name: "GB",
                aliases: &["gb", "gbyte", "gigabyte"],
                factor: 1073741824.0,
            },
            Unit {
                name: "TB",
                aliases: &["tb", "tbyte", "terabyte"],
                factor: 1099511627776.0,
            },
            Unit {
                name: "PB",
                aliases: &["pb", "pbyte", "petabyte"],
                factor: 1125899906842624.0,
            },
        ],
    },
    UnitType {
        default: "s",
        default_factor: 1e9,
        units: &[
            Unit {
                name: "ns",
                aliases: &["ns", "nanosecond"],
                factor: 1.0,
            },
            Unit {
                name: "us",
                aliases: &["μs", "us", "microsecond"],
                factor: 1e3,
            },
            Unit {
                name: "ms",
                aliases: &["ms", "millisecond"],
                factor: 1e6,
            },
            Unit {
                name: "s",
                aliases: &["s", "sec", "second"],
                factor: 1e9,
            },
            Unit {
                name: "hrs",
                aliases: &["hour", "hr"],
                factor: 3600e9,
            },
        ],
    },
];

impl UnitType {
    /// pprof's `sniffUnit`: lower-case, drop a plural `s` from names longer than 2.
    fn sniff(&self, unit: &str) -> Option<&Unit> {
        let lower = unit.to_lowercase();
        let u = if lower.chars().count() > 2 {
            lower.strip_suffix('s').unwrap_or(&lower)
        } else {
            &lower
        };
        self.units.iter().find(|x| x.aliases.contains(&u))
    }

    fn auto_scale(&self, v: f64) -> Option<(f64, &'static str)> {
        let mut f = 0.0;
        let mut name = "";
        for u in self.units {
            if u.factor >= f && v / u.factor >= 1.0 {
                f = u.factor;
                name = u.name;
            }
        }
        (f != 0.0).then(|| (v / f, name))
    }

    fn convert(&self, value: i64, from: &str, to: &str) -> Option<(f64, String)> {
        let from = self.sniff(from)?;
        let v = value as f64 * from.factor;
        if to == "minimum" || to == "auto" {
            if let Some((x, u)) = self.auto_scale(v) {
                return Some((x, u.to_string()));
            }
            return Some((v / self.default_factor, self.default.to_string()));
        }
        match self.sniff(to) {
            Some(t) => Some((v / t.factor, t.name.to_string())),
            None => Some((v / self.default_factor, self.default.to_string())),
        }
    }
}

/// pprof's `measurement.Scale`: `value` in `from` expressed in `to` (`"minimum"`/`"auto"` =
/// the best unit). The returned unit is empty for unit-less counts.
pub fn scale(value: i64, from: &str, to: &str) -> (f64, String) {
    if value < 0 && value != i64::MIN {
        let (v, u) = scale(-value, from, to);
        return (-v, u);
    }
    for ut in UNIT_TYPES {
        if let Some(r) = ut.convert(value, from, to) {
            return r;
        }
    }
    match to {
        "count" | "sample" | "unit" | "minimum" | "auto" => (value as f64, String::new()),
        _ => (value as f64, to.to_string()),
    }
}

/// pprof's `measurement.ScaledLabel`: `1.28s`, `10ms`, `0`, `123`.
pub fn scaled_label(value: i64, from: &str, to: &str) -> String {
    let (v, u) = scale(value, from, to);
    let s = format!("{v:.2}");
    let s = s.strip_suffix(".00").unwrap_or(&s);
    if s == "0" || s == "-0" {
        return "0".to_string();
    }
    format!("{s}{u}")
}

/// Go's `%.2g` (at most two significant digits, trailing zeros removed).
fn go_g2(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let e = format!("{x:.1e}"); // e.g. "1.7e-2"
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if !(-4..2).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = (digits.len() as i32 - 1 - exp).max(0) as usize;
    format!("{x:.decimals$}")
}

/// pprof's `measurement.Percentage`: `  100%`, `72.73%`, `0.017%` (width 5 + `%`).
pub fn percentage(value: i64, total: i64) -> String {
    let ratio = if total != 0 {
        (value as f64 / total as f64).abs() * 100.0
    } else {
        0.0
    };
    if (99.95..=100.05).contains(&ratio) {
        "  100%".to_string()
    } else if ratio >= 1.0 {
        format!("{ratio:5.2}%")
    } else {
        format!("{:>5}%", go_g2(ratio))
    }
}

/// The unit every value of the table is printed in (pprof's `selectOutputUnit` with the
/// default `-unit=minimum`).
pub fn output_unit(t: &TopTable) -> String {
    let sample_unit = t.sample_type.unit.to_lowercase();
    let mut min = 0i64;
    for r in &t.rows {
        let mut v = r.flat.saturating_abs();
        if v == 0 {
            v = r.cum.saturating_abs();
        }
        if v > 0 && (min == 0 || v < min) {
            min = v;
        }
    }
    let max = t.total;
    if min == 0 {
        min = max;
    }
    let (_, min_unit) = scale(min, &sample_unit, "minimum");
    let (_, max_unit) = scale(max, &sample_unit, "minimum");
    let mut unit = min_unit.clone();
    if min_unit != max_unit && min.saturating_mul(100) < max {
        unit = scale(min.saturating_mul(100), &sample_unit, "minimum").1;
    }
    if unit.is_empty() {
        sample_unit
    } else {
        unit
    }
}

/// Formats values of one table.
pub struct Formatter {
    from: String,
    to: String,
}

impl Formatter {
    pub fn new(t: &TopTable) -> Self {
        Formatter {
            from: t.sample_type.unit.to_lowercase(),
            to: output_unit(t),
        }
    }
    pub fn value(&self, v: i64) -> String {
        scaled_label(v, &self.from, &self.to)
    }
    pub fn unit(&self) -> &str {
        &self.to
    }
}

/// Time as Go's `Jan 2, 2006 at 3:04pm (MST)` layout, in UTC.
fn go_time(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (h, min) = (sod / 3600, (sod % 3600) / 60);
    let (h12, ampm) = match h {
        0 => (12, "am"),
        1..=11 => (h, "am"),
        12 => (12, "pm"),
        _ => (h - 12, "pm"),
    };
    format!(
        "{} {d}, {y} at {h12}:{min:02}{ampm} (UTC)",
        MONTHS[(m - 1) as usize]
    )
}

/// Header lines like pprof's: what the profile is, then what the table covers.
pub fn header_lines(p: &Profile, t: &TopTable) -> Vec<String> {
    let f = Formatter::new(t);
    let mut out = Vec::new();
    if let Some(m) = p.mappings.first() {
        if !m.file.is_empty() {
            out.push(format!(
                "File: {}",
                m.file.rsplit('/').next().unwrap_or(&m.file)
            ));
        }
        if !m.build_id.is_empty() {
            out.push(format!("Build ID: {}", m.build_id));
        }
    }
    if let Some(c) = p.metadata.get("command") {
        out.push(format!("Command: {c}"));
    }
    for c in &p.comments {
        if !c.starts_with('#') {
            out.push(c.clone());
        }
    }
    out.push(format!("Type: {}", t.sample_type.kind));
    if p.time_nanos != 0 {
        out.push(format!("Time: {}", go_time(p.time_nanos)));
    }
    if p.duration_nanos != 0 {
        let duration = scaled_label(p.duration_nanos, "nanoseconds", "auto");
        let (total_ns, unit) = scale(t.total, &t.sample_type.unit.to_lowercase(), "nanoseconds");
        let ratio = if unit == "ns" && total_ns != 0.0 {
            format!("({})", percentage(total_ns as i64, p.duration_nanos))
        } else {
            String::new()
        };
        out.push(format!(
            "Duration: {duration}, Total samples = {} {ratio}",
            f.value(t.total)
        ));
    }
    out.extend(summary_lines(t));
    out
}

/// The lines saying which part of the profile the table shows.
pub fn summary_lines(t: &TopTable) -> Vec<String> {
    let f = Formatter::new(t);
    let mut out = vec![format!(
        "Showing nodes accounting for {}, {} of {} total",
        f.value(t.shown_flat),
        percentage(t.shown_flat, t.total).trim(),
        f.value(t.total)
    )];
    if t.total != 0 {
        if t.dropped_nodes > 0 {
            out.push(format!(
                "Dropped {} node{} (cum <= {})",
                t.dropped_nodes,
                if t.dropped_nodes > 1 { "s" } else { "" },
                f.value(t.dropped_cum_limit)
            ));
        }
        if !t.rows.is_empty() && t.rows.len() < t.nodes_after_drop {
            out.push(format!(
                "Showing top {} nodes out of {}",
                t.rows.len(),
                t.nodes_after_drop
            ));
        }
    }
    out
}

/// Where a function lives, `file:line` (or just `file`), when known.
pub fn location(r: &TopRow) -> Option<String> {
    let file = r.file.as_deref()?;
    Some(match r.start_line {
        Some(l) => format!("{file}:{l}"),
        None => file.to_string(),
    })
}

fn display_name(r: &TopRow) -> String {
    match r.inline {
        Some(m) => format!("{} {}", r.name, m.label()),
        None => r.name.clone(),
    }
}

/// The terminal table, laid out like `go tool pprof -top`, name for name; with `locations`,
/// each function's file:line follows its name.
pub fn write_table(
    p: &Profile,
    t: &TopTable,
    locations: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    let f = Formatter::new(t);
    for l in header_lines(p, t) {
        writeln!(w, "{}", super::terminal::visible(&l))?;
    }
    writeln!(
        w,
        "{:>10} {:>5}% {:>5}% {:>10} {:>5}%",
        "flat", "flat", "sum", "cum", "cum"
    )?;
    for r in &t.rows {
        let mut name = display_name(r);
        if let Some(loc) = location(r).filter(|_| locations) {
            name.push_str("  ");
            name.push_str(&loc);
        }
        writeln!(
            w,
            "{:>10} {} {} {:>10} {}  {}",
            f.value(r.flat),
            percentage(r.flat, t.total),
            percentage(r.sum, t.total),
            f.value(r.cum),
            percentage(r.cum, t.total),
            super::terminal::visible(&name)
        )?;
    }
    Ok(())
}

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in super::terminal::visible(s).chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push('\''),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown table ready to paste into an issue or PR comment.
pub fn write_markdown(p: &Profile, t: &TopTable, w: &mut dyn Write) -> io::Result<()> {
    let f = Formatter::new(t);
    for l in header_lines(p, t) {
        writeln!(w, "{}  ", md_escape(&l))?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "| flat | flat% | sum% | cum | cum% | function | location |"
    )?;
    writeln!(w, "|---:|---:|---:|---:|---:|:---|:---|")?;
    for r in &t.rows {
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} |",
            f.value(r.flat),
            percentage(r.flat, t.total).trim(),
            percentage(r.sum, t.total).trim(),
            f.value(r.cum),
            percentage(r.cum, t.total).trim(),
            md_escape(&display_name(r)),
            location(r).map(|l| md_escape(&l)).unwrap_or_default()
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    schema: &'static str,
    schema_version: u32,
    sample_type: JsonType<'a>,
    unit: &'a str,
    display_unit: String,
    total: i64,
    total_display: String,
    sort: &'static str,
    shown_flat: i64,
    dropped_nodes: usize,
    dropped_cum_limit: i64,
    nodes_after_drop: usize,
    profile: JsonProfile<'a>,
    rows: Vec<JsonRow<'a>>,
}

#[derive(Serialize)]
struct JsonType<'a> {
    r#type: &'a str,
    unit: &'a str,
}

#[derive(Serialize)]
struct JsonProfile<'a> {
    time_nanos: Option<i64>,
    duration_nanos: Option<i64>,
    period: Option<i64>,
    period_type: Option<JsonType<'a>>,
    comments: &'a [String],
    metadata: &'a std::collections::BTreeMap<String, String>,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    rank: usize,
    function: &'a str,
    inline: Option<crate::analysis::top::InlineMark>,
    file: Option<&'a str>,
    start_line: Option<i64>,
    flat: i64,
    flat_percent: f64,
    sum_percent: f64,
    cum: i64,
    cum_percent: f64,
    flat_display: String,
    cum_display: String,
}

fn pct(v: i64, total: i64) -> f64 {
    if total == 0 {
        0.0
    } else {
        v as f64 / total as f64 * 100.0
    }
}

/// The versioned JSON document (see `docs/json-top.md`).
pub fn write_json(p: &Profile, t: &TopTable, w: &mut dyn Write) -> io::Result<()> {
    let f = Formatter::new(t);
    let doc = JsonDoc {
        schema: "profdiff.top",
        schema_version: JSON_SCHEMA_VERSION,
        sample_type: JsonType {
            r#type: &t.sample_type.kind,
            unit: &t.sample_type.unit,
        },
        unit: &t.sample_type.unit,
        display_unit: f.unit().to_string(),
        total: t.total,
        total_display: f.value(t.total),
        sort: if t.cum_sort { "cum" } else { "flat" },
        shown_flat: t.shown_flat,
        dropped_nodes: t.dropped_nodes,
        dropped_cum_limit: t.dropped_cum_limit,
        nodes_after_drop: t.nodes_after_drop,
        profile: JsonProfile {
            time_nanos: (p.time_nanos != 0).then_some(p.time_nanos),
            duration_nanos: (p.duration_nanos != 0).then_some(p.duration_nanos),
            period: (p.period != 0).then_some(p.period),
            period_type: p.period_type.as_ref().map(|t| JsonType {
                r#type: &t.kind,
                unit: &t.unit,
            }),
            comments: &p.comments,
            metadata: &p.metadata,
        },
        rows: t
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| JsonRow {
                rank: i + 1,
                function: &r.name,
                inline: r.inline,
                file: r.file.as_deref(),
                start_line: r.start_line,
                flat: r.flat,
                flat_percent: pct(r.flat, t.total),
                sum_percent: pct(r.sum, t.total),
                cum: r.cum,
                cum_percent: pct(r.cum, t.total),
                flat_display: f.value(r.flat),
                cum_display: f.value(r.cum),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::other)?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_like_go() {
        // Expected strings are Go's fmt output for the same inputs.
        assert_eq!(percentage(128, 176), "72.73%");
        assert_eq!(percentage(176, 176), "  100%");
        assert_eq!(percentage(0, 176), "    0%");
        assert_eq!(percentage(4, 24029), "0.017%");
        assert_eq!(percentage(1, 200), "  0.5%");
        assert_eq!(percentage(1, 10_000_000), "1e-05%");
        assert_eq!(percentage(9999, 1_000_000), "    1%");
        assert_eq!(percentage(5, 0), "    0%");
    }

    #[test]
    fn values_like_go() {
        assert_eq!(scaled_label(1_280_000_000, "nanoseconds", "s"), "1.28s");
        assert_eq!(scaled_label(10_000_000, "nanoseconds", "s"), "0.01s");
        assert_eq!(scaled_label(0, "nanoseconds", "s"), "0");
        assert_eq!(scaled_label(2_000_000_000, "nanoseconds", "auto"), "2s");
        assert_eq!(
            scaled_label(240_360_000_000, "nanoseconds", "auto"),
            "240.36s"
        );
        assert_eq!(scaled_label(1_500_000, "nanoseconds", "minimum"), "1.50ms");
        assert_eq!(scaled_label(42, "count", "count"), "42");
        assert_eq!(scaled_label(3 << 20, "bytes", "minimum"), "3MB");
        assert_eq!(scaled_label(-20_000_000, "nanoseconds", "ms"), "-20ms");
    }

    #[test]
    fn go_time_layout() {
        // 2017-09-29 20:57:59 UTC (the sample.cpu fixture's time, as go prints it).
        assert_eq!(
            go_time(1_506_718_679_257_235_370),
            "Sep 29, 2017 at 8:57pm (UTC)"
        );
        assert_eq!(go_time(0), "Jan 1, 1970 at 12:00am (UTC)");
    }

    #[test]
    fn output_unit_like_go() {
        use crate::analysis::top::{top, TopOptions};
        use crate::model::{ProfileBuilder, ValueType};
        let mut b = ProfileBuilder::new(vec![ValueType::new("cpu", "nanoseconds")]);
        let a = b.frame("a");
        let c = b.frame("c");
        b.add_sample(&[a], &[10_000_000]);
        b.add_sample(&[c], &[1_750_000_000]);
        let t = top(&b.finish(), &TopOptions::default());
        // min 10ms and total 1.76s scale to different units and 100 × 10ms = 1s < 1.76s,
        // so pprof picks the unit of 100 × min: seconds (it prints 0.01s, 1.75s).
        assert_eq!(output_unit(&t), "s");
    }
}
