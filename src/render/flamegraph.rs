//! Flamegraph SVGs through inferno's renderer. The renderer knows nothing of input formats: it
//! takes a [`Profile`] (or ready folded lines, for differential graphs) and options.
//!
//! Colours are deterministic (hashed from the frame name), so the same function has the same
//! colour in every graph, and the SVG carries inferno's built-in search (Ctrl-F) and zoom.

use crate::formats::folded;
use crate::model::{unit_nanos, Profile};
use inferno::flamegraph::{self, color::Palette, Direction};
use std::io::{self, Write};

/// What a flamegraph looks like. `Default` matches inferno-flamegraph's defaults.
#[derive(Clone, Debug)]
pub struct FlamegraphOptions {
    /// Title; `None` gives "Flame Graph" (or "Icicle Graph").
    pub title: Option<String>,
    /// Line under the title; `None` describes the profile (command, duration, samples).
    pub subtitle: Option<String>,
    /// Draw root at the top (icicle graph).
    pub icicle: bool,
    /// Omit frames narrower than this many pixels.
    pub min_width: f64,
    /// inferno palette name: hot, mem, io, red, green, blue, aqua, yellow, purple, orange,
    /// wakeup, java, js, perl, python, rust.
    pub palette: String,
    /// Image width in pixels (`None` = 1200, inferno's default).
    pub width: Option<usize>,
}

impl Default for FlamegraphOptions {
    fn default() -> Self {
        FlamegraphOptions {
            title: None,
            subtitle: None,
            icicle: false,
            min_width: 0.1,
            palette: "hot".into(),
            width: None,
        }
    }
}

/// Palette names accepted by [`FlamegraphOptions::palette`].
pub fn palette_names() -> &'static [&'static str] {
    Palette::VARIANTS
}

/// Check options before any work is done (so a bad `--palette` is a usage error up front).
pub fn validate(opts: &FlamegraphOptions) -> Result<(), String> {
    opts.palette.parse::<Palette>().map(|_| ()).map_err(|_| {
        format!(
            "unknown palette {:?} (choose one of: {})",
            opts.palette,
            palette_names().join(", ")
        )
    })?;
    if opts.min_width.is_nan() || opts.min_width < 0.0 {
        return Err(format!("--minwidth must be ≥ 0, got {}", opts.min_width));
    }
    Ok(())
}

/// How counts are labelled and scaled: time units are shown in milliseconds.
fn count_label(profile: &Profile, value: usize) -> (String, f64) {
    match profile.sample_types.get(value) {
        Some(t) => match unit_nanos(&t.unit) {
            Some(ns) => ("ms".to_string(), ns / 1e6),
            None if t.kind == "samples" || t.unit == "count" && t.kind.is_empty() => {
                ("samples".to_string(), 1.0)
            }
            None if t.unit == "count" => (t.kind.clone(), 1.0),
            None => (t.unit.clone(), 1.0),
        },
        None => ("samples".to_string(), 1.0),
    }
}

/// Build inferno options from ours.
fn inferno_options<'a>(
    opts: &FlamegraphOptions,
    title: String,
    subtitle: Option<String>,
    count_name: String,
    factor: f64,
) -> io::Result<flamegraph::Options<'a>> {
    let mut o = flamegraph::Options::default();
    o.colors = opts
        .palette
        .parse()
        .map_err(|e: String| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    o.deterministic = true;
    o.hash = true;
    o.min_width = opts.min_width;
    o.title = title;
    o.subtitle = subtitle;
    o.count_name = count_name;
    o.factor = factor;
    o.image_width = opts.width;
    if opts.icicle {
        o.direction = Direction::Inverted;
    }
    Ok(o)
}

fn default_title(opts: &FlamegraphOptions) -> String {
    opts.title.clone().unwrap_or_else(|| {
        if opts.icicle {
            "Icicle Graph".into()
        } else {
            "Flame Graph".into()
        }
    })
}

/// Render sample type `value` of `profile` as an SVG flamegraph.
pub fn write_svg(
    profile: &Profile,
    value: usize,
    opts: &FlamegraphOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    let stacks = folded::fold(profile, value);
    if stacks.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the profile has no samples to draw",
        ));
    }
    // One buffer for all lines instead of one allocation per stack.
    let mut buf = String::with_capacity(stacks.iter().map(|(s, _)| s.len() + 22).sum());
    for (s, v) in &stacks {
        buf.push_str(s);
        buf.push(' ');
        buf.push_str(itoa_i64(*v, &mut [0u8; 20]));
        buf.push('\n');
    }
    let (count_name, factor) = count_label(profile, value);
    let subtitle = opts.subtitle.clone().or_else(|| {
        let d = profile.describe();
        (!d.is_empty()).then_some(d)
    });
    let mut o = inferno_options(opts, default_title(opts), subtitle, count_name, factor)?;
    // `fold` returns stacks sorted, which is what inferno would do first.
    o.no_sort = true;
    flamegraph::from_lines(&mut o, buf.lines(), w)
}

/// Format an integer into `tmp` without allocating.
fn itoa_i64(v: i64, tmp: &mut [u8; 20]) -> &str {
    let neg = v < 0;
    let mut n = v.unsigned_abs();
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if neg && i > 0 {
        i -= 1;
        tmp[i] = b'-';
    }
    std::str::from_utf8(&tmp[i..]).unwrap_or("0")
}

/// Render ready folded lines (`stack count` or differential `stack before after`).
pub fn write_svg_from_folded<'l>(
    lines: impl IntoIterator<Item = &'l str>,
    opts: &FlamegraphOptions,
    count_name: &str,
    negate_differentials: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    let mut o = inferno_options(
        opts,
        default_title(opts),
        opts.subtitle.clone(),
        count_name.to_string(),
        1.0,
    )?;
    o.negate_differentials = negate_differentials;
    flamegraph::from_lines(&mut o, lines, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_valid_svg_with_title_and_frames() {
        let p = folded::parse(b"main;work;hot 30\nmain;idle 10\n").unwrap();
        let mut out = Vec::new();
        let opts = FlamegraphOptions {
            title: Some("My <title>".into()),
            ..Default::default()
        };
        write_svg(&p, 0, &opts, &mut out).unwrap();
        let svg = String::from_utf8(out).unwrap();
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("My &lt;title&gt;"));
        assert!(svg.contains("hot (30 samples, 75.00%)"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn colours_are_deterministic() {
        let p = folded::parse(b"main;a 3\nmain;b 1\n").unwrap();
        let render = || {
            let mut out = Vec::new();
            write_svg(&p, 0, &FlamegraphOptions::default(), &mut out).unwrap();
            out
        };
        assert_eq!(render(), render());
    }

    #[test]
    fn bad_palette_is_rejected() {
        let o = FlamegraphOptions {
            palette: "rainbow".into(),
            ..Default::default()
        };
        assert!(validate(&o).unwrap_err().contains("unknown palette"));
    }
}
