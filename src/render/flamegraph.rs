//! Flamegraph SVGs through inferno's renderer. The renderer knows nothing of input formats: it
//! takes a [`Profile`] (or ready folded lines, for differential graphs) and options.
//!
//! Colours are deterministic (hashed from the frame name), so the same function has the same
//! colour in every graph, and the SVG carries inferno's built-in search (Ctrl-F) and zoom.

use crate::formats::folded;
use crate::model::{unit_nanos, LocationId, Profile};
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
    o.min_width = min_width_percent(opts);
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

/// Image width when none is given (inferno's and flamegraph.pl's default).
const DEFAULT_WIDTH: usize = 1200;
/// Padding left and right of the frames (inferno's and flamegraph.pl's `xpad`).
const XPAD: usize = 10;

/// `--minwidth` is in pixels, as in flamegraph.pl (`$minwidth / $widthpertime`); inferno's
/// renderer (0.12) takes a percentage of the total, so the pixels are converted to the share
/// of the drawing area's width they cover.
fn min_width_percent(opts: &FlamegraphOptions) -> f64 {
    let width = opts.width.unwrap_or(DEFAULT_WIDTH);
    let drawn = width.saturating_sub(2 * XPAD).max(1) as f64;
    opts.min_width * 100.0 / drawn
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
    let t = crate::timing::phase("  flamegraph tree");
    let tree = StackTree::of_profile(profile, value);
    drop(t);
    write_svg_tree(tree, profile, value, &profile.describe(), opts, w)
}

/// Render the stacks added to `tree`, sample type `value` of `profile` (which names the
/// counts); `describe` is the default subtitle ([`Profile::describe`] of the whole profile).
pub fn write_svg_tree(
    tree: StackTree,
    profile: &Profile,
    value: usize,
    describe: &str,
    opts: &FlamegraphOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    let t = crate::timing::phase("  flamegraph tree finish");
    let tree = tree.finish(min_width_percent(opts));
    drop(t);
    if tree.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the profile has no samples to draw",
        ));
    }
    let (count_name, factor) = count_label(profile, value);
    let subtitle = opts
        .subtitle
        .clone()
        .or_else(|| (!describe.is_empty()).then(|| describe.to_string()));
    let mut o = inferno_options(opts, default_title(opts), subtitle, count_name, factor)?;
    // The lines come sorted, which is what inferno would do first.
    o.no_sort = true;
    if tree.maybe_unsorted {
        let buf = tree.text();
        let _t = crate::timing::phase("  inferno from_lines");
        let r = flamegraph::from_lines(&mut o, buf.lines(), w);
        crate::exit::drop_later(buf);
        return r;
    }
    let _t = crate::timing::phase("  lines + inferno from_lines");
    tree.render_pipelined(&mut o, w)
}

/// The lines as one text (tests).
#[cfg(test)]
fn tree_lines(profile: &Profile, value: usize, min_width_pct: f64) -> String {
    Tree::build(profile, value, min_width_pct).text()
}

/// A node of the call tree; node 0 is the virtual root.
struct Node {
    name: u32,
    parent: u32,
    self_v: i64,
    total: i64,
}

/// The renderer's input built from a call tree instead of sorted folded strings: frame names
/// are interned, stacks merged in a trie, and the lines written depth-first with siblings in
/// name order (the order sorting the folded strings gives, and the grouping the renderer
/// needs). Deep stacks of long (Rust, C++) names made the folded strings tens of MB to build
/// and sort; the tree touches each frame once.
///
/// Subtrees narrower than the renderer's `min_width` (percent of the total, as inferno
/// applies it) are not drawn, so they are not written out whole: a run of such siblings
/// becomes one line named after its first member whose value stays below the threshold, so
/// it is not drawn either and every drawn frame keeps exactly its place. Nothing is pruned
/// when a value is negative. The renderer insists on lines in byte order; a sibling name that
/// is a prefix of another followed by a character below `;` can break that order, and then
/// the lines are sorted.
struct Tree {
    names: Vec<String>,
    nodes: Vec<Node>,
    /// Each node's children in name order.
    children: Vec<Vec<u32>>,
    /// Subtrees below this value are not drawn.
    min_time: f64,
    /// Some sibling name is a prefix of another followed by a byte below `;`, so depth-first
    /// order may not be byte order.
    maybe_unsorted: bool,
}

/// The address of the lines buffer, handed to the thread writing into it.
#[derive(Clone, Copy)]
struct LinesPtr(*mut u8);
// SAFETY: the writer and the reader touch disjoint bytes, and a span is read only after the
// channel has carried it from the writer (see `Tree::render_pipelined`).
unsafe impl Send for LinesPtr {}

impl LinesPtr {
    fn get(self) -> *mut u8 {
        self.0
    }
}

/// Stacks merged into a call tree one at a time ([`StackTree::add`]), then drawn
/// ([`write_svg_tree`]). [`write_svg`] adds a profile's samples; a reader can add its stacks
/// as it makes them, so no profile ever holds them (`flamegraph` on a perf.data file).
pub struct StackTree {
    /// Frame names, interned.
    names: Vec<String>,
    name_ids: rustc_hash::FxHashMap<String, u32>,
    /// Each location's frames (root-most first) as name ids, once seen.
    loc_frames: Vec<Option<Vec<u32>>>,
    /// Function id → name id.
    fn_names: Vec<u32>,
    nodes: Vec<Node>,
    /// (parent, name) → child node.
    child: rustc_hash::FxHashMap<(u32, u32), u32>,
    /// (node, location) → the node that location's frames lead to from there; and per
    /// location the last such walk (consecutive stacks mostly repeat it).
    via: rustc_hash::FxHashMap<(u32, LocationId), u32>,
    last_via: Vec<(u32, u32)>,
    negative: bool,
    total: i64,
}

const NONE: u32 = u32::MAX;

impl Default for StackTree {
    fn default() -> Self {
        Self::new()
    }
}

impl StackTree {
    pub fn new() -> Self {
        StackTree {
            names: Vec::new(),
            name_ids: Default::default(),
            loc_frames: Vec::new(),
            fn_names: Vec::new(),
            nodes: vec![Node {
                name: NONE,
                parent: NONE,
                self_v: 0,
                total: 0,
            }],
            child: Default::default(),
            via: Default::default(),
            last_via: Vec::new(),
            negative: false,
            total: 0,
        }
    }

    fn intern(&mut self, n: String) -> u32 {
        if let Some(&i) = self.name_ids.get(&n) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(n.clone());
        self.name_ids.insert(n, i);
        i
    }

    /// The child of `parent` named `name`, created if new.
    fn child_of(&mut self, parent: u32, name: u32) -> u32 {
        let next = self.nodes.len() as u32;
        let n = *self.child.entry((parent, name)).or_insert(next);
        if n == next {
            self.nodes.push(Node {
                name,
                parent,
                self_v: 0,
                total: 0,
            });
        }
        n
    }

    /// Location `loc`'s frames as name ids, root-most first (the model lists a location's
    /// frames innermost first), named once per function, not once per location.
    fn frames_of(&mut self, profile: &Profile, loc: LocationId) -> Option<&[u32]> {
        let i = loc as usize;
        let l = profile.locations.get(i)?;
        if i >= self.loc_frames.len() {
            self.loc_frames.resize(profile.locations.len(), None);
            self.last_via.resize(profile.locations.len(), (NONE, NONE));
        }
        if self.loc_frames[i].is_none() {
            let mut f: Vec<u32> = if l.lines.is_empty() {
                profile
                    .location_frames(loc)
                    .map(|n| self.intern(folded::sanitized(&n)))
                    .collect()
            } else {
                let mut f = Vec::with_capacity(l.lines.len());
                for line in &l.lines {
                    let func = line.function as usize;
                    if func >= self.fn_names.len() {
                        self.fn_names
                            .resize(profile.functions.len().max(func + 1), NONE);
                    }
                    let id = match self.fn_names[func] {
                        NONE => {
                            let n = profile.function_name(line.function);
                            let id = self.intern(folded::sanitized(n));
                            self.fn_names[func] = id;
                            id
                        }
                        id => id,
                    };
                    f.push(id);
                }
                f
            };
            f.reverse();
            self.loc_frames[i] = Some(f);
        }
        self.loc_frames[i].as_deref()
    }

    /// The samples of `profile` (sample type `value`) in a tree.
    pub fn of_profile(profile: &Profile, value: usize) -> Self {
        let mut t = StackTree::new();
        for s in &profile.samples {
            let v = s.values.get(value).copied().unwrap_or(0);
            t.add(profile, &s.locations, v);
        }
        t
    }

    /// Add `v` to the stack `locations` (leaf first) of `profile`, whose locations and
    /// functions may still be growing (only those the stack names must exist).
    pub fn add(&mut self, profile: &Profile, locations: &[LocationId], v: i64) {
        if v == 0 {
            return;
        }
        self.negative |= v < 0;
        self.total = self.total.saturating_add(v);
        let mut node = 0u32;
        let mut any = false;
        for &loc in locations.iter().rev() {
            match self.frames_of(profile, loc) {
                Some(f) if !f.is_empty() => {}
                _ => continue,
            }
            any = true;
            // Where this location's frames lead from `node`, walked once per (node,
            // location): stacks share their root-side locations. The last answer per
            // location is checked first.
            let last = self.last_via[loc as usize];
            node = if last.0 == node {
                last.1
            } else {
                let start = node;
                let end = match self.via.get(&(start, loc)) {
                    Some(&end) => end,
                    None => {
                        let frames = self.loc_frames[loc as usize].take().unwrap_or_default();
                        for &name in &frames {
                            node = self.child_of(node, name);
                        }
                        self.loc_frames[loc as usize] = Some(frames);
                        self.via.insert((start, loc), node);
                        node
                    }
                };
                self.last_via[loc as usize] = (start, end);
                end
            };
        }
        if !any {
            let name = self.intern(crate::model::UNKNOWN.to_string());
            node = self.child_of(0, name);
        }
        self.nodes[node as usize].self_v += v;
    }

    /// The finished tree: totals, children in name order, the drawing threshold.
    fn finish(self, min_width_pct: f64) -> Tree {
        let StackTree {
            names,
            mut nodes,
            negative,
            total,
            ..
        } = self;
        // Totals bottom-up (children come after their parents) and child lists in name order.
        for i in (1..nodes.len()).rev() {
            let t = nodes[i].total + nodes[i].self_v;
            nodes[i].total = t;
            let p = nodes[i].parent as usize;
            nodes[p].total += t;
        }
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); nodes.len()];
        for i in 1..nodes.len() {
            children[nodes[i].parent as usize].push(i as u32);
        }
        let mut maybe_unsorted = false;
        for c in &mut children {
            c.sort_unstable_by(|&a, &b| {
                names[nodes[a as usize].name as usize].cmp(&names[nodes[b as usize].name as usize])
            });
            // Depth-first order is byte order unless a name `a` is a prefix of its next sibling
            // `b` and `b` continues with a byte below ';' (the separator after `a`'s own frames;
            // Rust's `f` and `f::{{closure}}` do this) or below ' ' (after `a`'s count). A name
            // between them in order would share the prefix, so adjacent pairs suffice.
            maybe_unsorted |= c.windows(2).any(|w| {
                let (a, b) = (
                    names[nodes[w[0] as usize].name as usize].as_bytes(),
                    names[nodes[w[1] as usize].name as usize].as_bytes(),
                );
                b.len() > a.len() && b.starts_with(a) && b[a.len()] < b';'
            });
        }
        // inferno drops frames whose time is below min_width percent of the total.
        let min_time = if negative || total <= 0 {
            0.0
        } else {
            min_width_pct / (100.0 / total as f64)
        };
        Tree {
            names,
            nodes,
            children,
            min_time,
            maybe_unsorted,
        }
    }
}

impl Tree {
    #[cfg(test)]
    fn build(profile: &Profile, value: usize, min_width_pct: f64) -> Tree {
        StackTree::of_profile(profile, value).finish(min_width_pct)
    }

    /// True when there is nothing to draw.
    fn is_empty(&self) -> bool {
        self.children[0].is_empty()
    }

    /// Depth-first over the kept tree, calling `emit(path, extra frame, value)` per line.
    fn walk(&self, emit: &mut dyn FnMut(&str, Option<&str>, i64)) {
        let (names, nodes, children, min_time) =
            (&self.names, &self.nodes, &self.children, self.min_time);

        let mut path = String::new();
        // Per level: node, next child index, path length before its name, and the open run
        // of pruned children (first child's name, summed value).
        struct Level {
            node: u32,
            next: usize,
            path_len: usize,
            run: Option<(u32, i64)>,
        }
        let mut stack = vec![Level {
            node: 0,
            next: 0,
            path_len: 0,
            run: None,
        }];
        while let Some(top) = stack.last_mut() {
            let node = top.node;
            let kids = &children[node as usize];
            if top.next < kids.len() {
                let c = kids[top.next] as usize;
                top.next += 1;
                let t = nodes[c].total;
                if node != 0 && (t as f64) < min_time {
                    match &mut top.run {
                        Some((_, sum)) if ((*sum + t) as f64) < min_time => *sum += t,
                        run => {
                            if let Some((name, sum)) = run.take() {
                                emit(&path, Some(&names[name as usize]), sum);
                            }
                            *run = Some((nodes[c].name, t));
                        }
                    }
                    continue;
                }
                if let Some((name, sum)) = top.run.take() {
                    emit(&path, Some(&names[name as usize]), sum);
                }
                let len = path.len();
                if node != 0 {
                    path.push(';');
                }
                path.push_str(&names[nodes[c].name as usize]);
                if nodes[c].self_v != 0 {
                    emit(&path, None, nodes[c].self_v);
                }
                stack.push(Level {
                    node: c as u32,
                    next: 0,
                    path_len: len,
                    run: None,
                });
            } else {
                if let Some((name, sum)) = top.run.take() {
                    emit(&path, Some(&names[name as usize]), sum);
                }
                let len = top.path_len;
                stack.pop();
                path.truncate(len);
            }
        }
    }

    /// Bytes and number of the lines (each with its newline): the lines of deep stacks reach
    /// tens of MB, so they are sized before they are written.
    fn size(&self) -> (usize, usize) {
        let (mut size, mut count) = (0usize, 0usize);
        self.write_lines(&mut |piece| match piece {
            Some(b) => size += b.len(),
            None => count += 1,
        });
        (size + count, count)
    }

    /// Each line in pieces: `Some` of the path, of `;` and the pruned run's name if any, and
    /// of ` COUNT`; then `None` where the line ends (its newline).
    fn write_lines(&self, emit: &mut dyn FnMut(Option<&[u8]>)) {
        let mut num = [0u8; 20];
        self.walk(&mut |path, extra, v| {
            emit(Some(path.as_bytes()));
            if let Some(e) = extra {
                emit(Some(b";"));
                emit(Some(e.as_bytes()));
            }
            emit(Some(b" "));
            emit(Some(itoa_i64(v, &mut num).as_bytes()));
            emit(None);
        });
    }

    /// The lines as one text, sorted if depth-first order was not byte order.
    fn text(&self) -> String {
        let (size, count) = self.size();
        // Lines (each ending in a newline) in one buffer, and each line's span without it.
        let mut out: Vec<u8> = Vec::with_capacity(size);
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(count);
        let mut start = 0;
        self.write_lines(&mut |piece| match piece {
            Some(b) => out.extend_from_slice(b),
            None => {
                spans.push((start, out.len()));
                out.push(b'\n');
                start = out.len();
            }
        });
        // The pieces are `str`s and ASCII separators, so this never fails.
        let out = String::from_utf8(out).unwrap_or_default();
        let sorted = spans
            .windows(2)
            .all(|w| out[w[0].0..w[0].1] <= out[w[1].0..w[1].1]);
        if sorted {
            return out;
        }
        spans.sort_unstable_by(|a, b| out[a.0..a.1].cmp(&out[b.0..b.1]));
        let mut text = String::with_capacity(out.len());
        for (a, b) in spans {
            text.push_str(&out[a..b]);
            text.push('\n');
        }
        text
    }

    /// Write the lines on another thread while inferno reads them (its parsing and the
    /// writing take about as long): the buffer is sized first, never reallocated, and on huge
    /// pages ([`crate::huge_buffer`]: tens of MB of lines were thousands of page faults), the
    /// writer sends each finished line's span over a channel, and the reader only ever sees
    /// spans already sent. Only for trees whose lines come out sorted.
    fn render_pipelined(
        &self,
        o: &mut flamegraph::Options<'_>,
        w: &mut dyn Write,
    ) -> io::Result<()> {
        let (size, _) = self.size();
        let mut buf = crate::huge_buffer::HugeBuffer::new(size)?;
        let base = LinesPtr(buf.as_mut_ptr());
        let result = std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::channel::<Vec<(usize, usize)>>();
            s.spawn(move || {
                let (mut off, mut start) = (0usize, 0usize);
                let mut batch = Vec::with_capacity(64);
                let put = |bytes: &[u8], off: &mut usize| {
                    // The same walk sized the buffer: it cannot be exceeded.
                    assert!(*off + bytes.len() <= size, "flamegraph lines overflow");
                    // SAFETY: in bounds of the allocation (checked above); these bytes are
                    // not yet in any span sent to the reader.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            bytes.as_ptr(),
                            base.get().add(*off),
                            bytes.len(),
                        )
                    };
                    *off += bytes.len();
                };
                self.write_lines(&mut |piece| match piece {
                    Some(b) => put(b, &mut off),
                    None => {
                        batch.push((start, off));
                        put(b"\n", &mut off);
                        start = off;
                        if batch.len() == 32 {
                            // A reader that stopped (write error) just leaves the rest unread.
                            let _ = tx.send(std::mem::take(&mut batch));
                        }
                    }
                });
                let _ = tx.send(batch);
            });
            let lines = rx.into_iter().flatten().map(|(a, b)| {
                // SAFETY: `a..b` was written before its span was sent (the channel orders
                // the writes before this read) and is never written again; the bytes come
                // from `str`s and ASCII separators, so they are UTF-8. `buf` outlives the
                // scope, and nothing else touches it meanwhile.
                unsafe {
                    std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                        base.get().add(a),
                        b - a,
                    ))
                }
            });
            flamegraph::from_lines(o, lines, w)
        });
        crate::exit::drop_later(buf);
        result
    }
}

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

    /// The old path: every folded stack, sorted, straight into inferno.
    fn render_from_fold(p: &Profile, opts: &FlamegraphOptions) -> Vec<u8> {
        let mut buf = String::new();
        for (s, v) in folded::fold(p, 0) {
            buf.push_str(&format!("{s} {v}\n"));
        }
        let (count_name, factor) = count_label(p, 0);
        let subtitle = opts.subtitle.clone().or_else(|| {
            let d = p.describe();
            (!d.is_empty()).then_some(d)
        });
        let mut o =
            inferno_options(opts, default_title(opts), subtitle, count_name, factor).unwrap();
        o.no_sort = true;
        let mut out = Vec::new();
        flamegraph::from_lines(&mut o, buf.lines(), &mut out).unwrap();
        out
    }

    #[test]
    fn tree_with_pruned_runs_renders_the_same_svg() {
        // Wide frames and thousands of stacks far below the 0.1% drawing threshold, spread
        // among them so pruned runs sit between drawn siblings.
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&format!("main;work;f{:04};g{} 1\n", i, i % 7));
            if i % 500 == 0 {
                text.push_str(&format!("main;work;f{:04};big 400\n", i));
                text.push_str(&format!("main;other{} 300\n", i));
            }
        }
        text.push_str("main 50\nmain;work 20\nroot2;x 900\n");
        let p = folded::parse(text.as_bytes()).unwrap();
        for min_width in [0.1, 0.0, 1.0] {
            let opts = FlamegraphOptions {
                min_width,
                ..Default::default()
            };
            let mut out = Vec::new();
            write_svg(&p, 0, &opts, &mut out).unwrap();
            assert!(
                out == render_from_fold(&p, &opts),
                "min_width {min_width}: SVGs differ"
            );
        }
        // Far fewer lines reach the renderer than there are stacks (runs of undrawn siblings
        // stay below the threshold themselves: ~8 one-sample stacks per line here).
        let lines = tree_lines(&p, 0, 0.1).lines().count();
        assert!(
            lines < p.samples.len() / 5,
            "{lines} of {}",
            p.samples.len()
        );
    }

    /// Issue 14 bug 7: `--minwidth` is in pixels (flamegraph.pl: frames narrower than
    /// 0.1 px of the 1180 px drawing area are omitted), not a percentage.
    #[test]
    fn minwidth_is_in_pixels() {
        // 1 of 10,000 samples is 0.118 px wide at 1200 px: drawn. 1 of 20,000 is 0.059 px.
        let frames = |text: &str, width: Option<usize>| {
            let p = folded::parse(text.as_bytes()).unwrap();
            let opts = FlamegraphOptions {
                width,
                ..Default::default()
            };
            let mut out = Vec::new();
            write_svg(&p, 0, &opts, &mut out).unwrap();
            String::from_utf8(out).unwrap().matches("<g>").count()
        };
        assert!(
            frames("main;big 9999\nmain;tiny 1\n", None)
                > frames("main;big 19999\nmain;tiny 1\n", None)
        );
        // all, main, big, tiny / all, main, big
        assert_eq!(frames("main;big 9999\nmain;tiny 1\n", None), 4);
        assert_eq!(frames("main;big 19999\nmain;tiny 1\n", None), 3);
        // The same share at 600 px is 0.058 px: omitted.
        assert_eq!(frames("main;big 9999\nmain;tiny 1\n", Some(600)), 3);
    }

    #[test]
    fn names_breaking_byte_order_are_sorted() {
        // `a` is a prefix of `a b` and ' ' sorts below ';': depth-first order is not byte
        // order here, and the renderer refuses unsorted lines.
        let p = folded::parse(b"m;a;x 5\nm;a b;y 3\nm;a 2\nm;a-1 4\n").unwrap();
        let mut out = Vec::new();
        write_svg(&p, 0, &FlamegraphOptions::default(), &mut out).unwrap();
        assert!(out == render_from_fold(&p, &FlamegraphOptions::default()));
        // Rust's closures: `f::{{closure}}` follows `f` with ':', which sorts below ';'.
        let p = folded::parse(b"m;f;x 5\nm;f::{{closure}};y 3\nm;f 2\nm;g 1\n").unwrap();
        assert!(Tree::build(&p, 0, 0.1).maybe_unsorted);
        let mut out = Vec::new();
        write_svg(&p, 0, &FlamegraphOptions::default(), &mut out).unwrap();
        assert!(out == render_from_fold(&p, &FlamegraphOptions::default()));
        // Without such a pair the lines are written and read at the same time.
        let p = folded::parse(b"m;f;x 5\nm;g;y 3\nm;f 2\n").unwrap();
        assert!(!Tree::build(&p, 0, 0.1).maybe_unsorted);
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
