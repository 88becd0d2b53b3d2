//! Instruments "deep copy" text: what Xcode's Instruments puts on the clipboard for a call
//! tree (Edit ▸ Deep Copy), saved to a file. Tab-separated, a header row naming the columns
//! (`Weight`, `Self Weight`, `Symbol Name`; older versions `Running Time`, `Self (ms)`;
//! allocations `Bytes Used`), then one row per call-tree node, its depth given by the spaces
//! before the symbol name, its weight as `4.93 s  100.0%`.
//!
//! A node's own value is its `Self Weight` cell, which Instruments writes with more precision
//! than the rounded totals; without that column it is the node's weight minus its children's,
//! as speedscope (the reference reader) computes it. Unlike speedscope, fractional weights
//! are kept (`4.93 s` is 4,930 ms, where speedscope's `parseInt` takes 4 s). Time weights
//! become `cpu`/`nanoseconds`, cycle counts `cycles`/`count`, allocations `space`/`bytes`.

use crate::error::ParseError;
use crate::formats::folded::{truncate_for_message, MAX_DEPTH};
use crate::model::{Profile, ProfileBuilder, ValueType};

/// The weight columns, by header name.
const WEIGHT_COLUMNS: &[&str] = &["Weight", "Running Time", "Bytes Used"];
const SYMBOL_COLUMNS: &[&str] = &["Symbol Name", "Symbol Names"];
const SELF_COLUMNS: &[&str] = &["Self Weight", "Self", "Self (ms)"];

/// True for a deep copy: a tab-separated header with a weight and a symbol column.
pub fn sniff(text: &str) -> bool {
    columns(text.lines().next().unwrap_or("")).is_some()
}

/// The columns of a header row that are read.
struct Columns<'h> {
    weight: usize,
    symbol: usize,
    /// The self-weight column and its header.
    own: Option<(usize, &'h str)>,
}

fn columns(header: &str) -> Option<Columns<'_>> {
    let names: Vec<&str> = header.trim_end().split('\t').map(str::trim).collect();
    let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(n));
    Some(Columns {
        weight: find(WEIGHT_COLUMNS)?,
        symbol: find(SYMBOL_COLUMNS)?,
        own: find(SELF_COLUMNS).map(|i| (i, names[i])),
    })
}

/// What the weights measure.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Time,
    Cycles,
    Bytes,
}

impl Kind {
    fn value_type(self) -> ValueType {
        match self {
            Kind::Time => ValueType::new("cpu", "nanoseconds"),
            Kind::Cycles => ValueType::new("cycles", "count"),
            Kind::Bytes => ValueType::new("space", "bytes"),
        }
    }
}

/// A weight cell (`4.93 s  100.0%`, `4273.0ms   99.9%`, `12.5 Kc`, ` 73.00 MB`) → (kind,
/// value in nanoseconds, cycles or bytes).
fn weight(cell: &str) -> Option<(Kind, f64)> {
    let mut words = cell.split_whitespace();
    let first = words.next()?;
    // The unit follows the number, with a space (Instruments 10 and later) or without.
    let split = first
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(first.len());
    let number: f64 = first[..split].parse().ok()?;
    let unit = if split < first.len() {
        &first[split..]
    } else {
        words.next()?
    };
    let (kind, scale) = match unit {
        "ns" => (Kind::Time, 1.0),
        "µs" | "us" => (Kind::Time, 1e3),
        "ms" => (Kind::Time, 1e6),
        "s" => (Kind::Time, 1e9),
        "min" => (Kind::Time, 60e9),
        "cycles" => (Kind::Cycles, 1.0),
        "Kc" => (Kind::Cycles, 1e3),
        "Mc" => (Kind::Cycles, 1e6),
        "Gc" => (Kind::Cycles, 1e9),
        "Bytes" | "bytes" => (Kind::Bytes, 1.0),
        "KB" => (Kind::Bytes, 1024.0),
        "MB" => (Kind::Bytes, 1024.0 * 1024.0),
        "GB" => (Kind::Bytes, 1024.0 * 1024.0 * 1024.0),
        _ => return None,
    };
    (number.is_finite() && number >= 0.0).then_some((kind, number * scale))
}

/// A self-weight cell: like a weight, `-` for none, or a bare number of milliseconds under
/// older versions' `Self (ms)` header.
fn self_weight(cell: &str, header: &str, kind: Kind) -> Option<f64> {
    let cell = cell.trim();
    if cell == "-" || cell.is_empty() {
        return Some(0.0);
    }
    match weight(cell) {
        Some((k, v)) => (k == kind).then_some(v),
        None if header == "Self (ms)" && kind == Kind::Time => {
            let ms: f64 = cell.parse().ok()?;
            (ms.is_finite() && ms >= 0.0).then_some(ms * 1e6)
        }
        None => None,
    }
}

/// One call-tree node on the path being read.
struct Node {
    name: String,
    indent: usize,
    weight: f64,
    children: f64,
    /// The `Self Weight` cell, when the file has that column.
    own: Option<f64>,
}

/// Parse a deep copy into a profile with one sample type (time, cycles or bytes).
pub fn parse(data: &[u8]) -> Result<Profile, ParseError> {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines().enumerate();
    let (_, header) = lines.next().ok_or_else(|| ParseError::new("empty file"))?;
    let cols = columns(header).ok_or_else(|| {
        ParseError::new(
            "the header row names no Weight / Running Time / Bytes Used and Symbol Name columns",
        )
    })?;
    let mut kind: Option<Kind> = None;
    // (path root first, own value) per node, in file order.
    let mut stacks: Vec<(Vec<String>, f64)> = Vec::new();
    let mut path: Vec<Node> = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        let bad = |why: &str| {
            ParseError::new(format!(
                "line {}: {why}: {:?}",
                n + 1,
                truncate_for_message(line)
            ))
        };
        let (Some(wcell), Some(symbol)) = (cells.get(cols.weight), cells.get(cols.symbol)) else {
            return Err(bad("fewer columns than the header"));
        };
        let (k, w) = weight(wcell).ok_or_else(|| bad("unreadable weight"))?;
        let own = match cols.own {
            Some((i, header)) => Some(
                cells
                    .get(i)
                    .and_then(|c| self_weight(c, header, k))
                    .ok_or_else(|| bad("unreadable self weight"))?,
            ),
            None => None,
        };
        if *kind.get_or_insert(k) != k {
            return Err(bad("weights of different kinds in one file"));
        }
        let name = symbol.trim();
        if name.is_empty() {
            return Err(bad("empty symbol name"));
        }
        let indent = symbol.len() - symbol.trim_start().len();
        while path.last().is_some_and(|top| top.indent >= indent) {
            close(&mut path, &mut stacks);
        }
        if let Some(parent) = path.last_mut() {
            parent.children += w;
        }
        if path.len() >= MAX_DEPTH {
            return Err(bad("call tree deeper than the supported depth"));
        }
        path.push(Node {
            name: name.to_string(),
            indent,
            weight: w,
            children: 0.0,
            own,
        });
    }
    while !path.is_empty() {
        close(&mut path, &mut stacks);
    }
    let kind = kind.ok_or_else(|| ParseError::new("no call-tree rows after the header"))?;
    let mut b = ProfileBuilder::new(vec![kind.value_type()]);
    for (stack, own) in &stacks {
        let v = own.round() as i64;
        if v > 0 {
            let locs: Vec<_> = stack.iter().rev().map(|f| b.frame(f)).collect();
            b.add_sample(&locs, &[v]);
        }
    }
    b.profile_mut()
        .metadata
        .insert("tool".into(), "Instruments".into());
    Ok(b.finish())
}

/// Leave the deepest node: its own value is its self weight, else its weight minus its
/// children's.
fn close(path: &mut Vec<Node>, stacks: &mut Vec<(Vec<String>, f64)>) {
    let names: Vec<String> = path.iter().map(|n| n.name.clone()).collect();
    let node = path.pop().expect("close is called on a non-empty path");
    let own = node.own.unwrap_or((node.weight - node.children).max(0.0));
    if own > 0.0 {
        stacks.push((names, own));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded::fold;

    const SMALL: &str = "Weight\tSelf Weight\tSymbol Names\n\
10.00 ms  100.0%\t0 s\t   start\n\
10.00 ms  100.0%\t1.00 ms\t    main\n\
6.50 ms  65.0%\t6.50 ms\t     work\n\
2.50 ms  25.0%\t2.00 ms\t     other\n\
500.00 µs  5.0%\t500.00 µs\t      leaf\n";

    #[test]
    fn own_values_are_weight_minus_children() {
        assert!(sniff(SMALL));
        let p = parse(SMALL.as_bytes()).unwrap();
        assert_eq!(p.sample_types, vec![ValueType::new("cpu", "nanoseconds")]);
        assert_eq!(
            fold(&p, 0),
            vec![
                ("start;main".to_string(), 1_000_000),
                ("start;main;other".to_string(), 2_000_000),
                ("start;main;other;leaf".to_string(), 500_000),
                ("start;main;work".to_string(), 6_500_000),
            ]
        );
    }

    #[test]
    fn without_a_self_column_own_is_weight_minus_children() {
        let t = "Running Time\tSymbol Name\n10.0 ms  100.0%\tmain\n4.0 ms  40.0%\t f\n";
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(
            fold(&p, 0),
            vec![
                ("main".to_string(), 6_000_000),
                ("main;f".to_string(), 4_000_000)
            ]
        );
    }

    /// Instruments 7's layout: `Running Time` glued to its unit, `Self (ms)` bare numbers,
    /// an empty column before the symbols; `-` for no self weight (Instruments 13).
    #[test]
    fn older_and_cycle_layouts() {
        let t = "Running Time\tSelf (ms)\t\tSymbol Name\n\
10.0ms   100.0%\t2\t \tstart\n\
8.0ms   80.0%\t8\t \t main\n";
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(
            fold(&p, 0),
            vec![
                ("start".to_string(), 2_000_000),
                ("start;main".to_string(), 8_000_000)
            ]
        );
        let t = "Weight\tSelf Weight\t\tSymbol Name\n\
1.50 Kc  100.0%\t-\t \tstart\n\
532 cycles    0.0%\t532 cycles\t \t main\n";
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(p.sample_types, vec![ValueType::new("cycles", "count")]);
        assert_eq!(fold(&p, 0), vec![("start;main".to_string(), 532)]);
        let t = "Bytes Used\tCount\t\tSymbol Name\n 2.00 KB  100.0%\t3\t \tstart\n 1.00 KB  50.0%\t1\t \t main\n";
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(
            fold(&p, 0),
            vec![
                ("start".to_string(), 1024),
                ("start;main".to_string(), 1024)
            ]
        );
    }

    #[test]
    fn bad_rows_name_the_line() {
        let e = |t: &str| parse(t.as_bytes()).unwrap_err().0;
        assert!(e("Weight\tSymbol Name\n").contains("no call-tree rows"));
        assert!(e("Weight\tSymbol Name\nabc\tmain\n").contains("line 2: unreadable weight"));
        assert!(e("Weight\tSymbol Name\n1 ms\n").contains("fewer columns"));
        assert!(e("Weight\tSymbol Name\n1 ms\tmain\n2 MB\tf\n").contains("different kinds"));
        assert!(!sniff("main;a 3\n"));
    }
}
