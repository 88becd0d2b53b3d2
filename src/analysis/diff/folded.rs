//! The `diff-folded` projection of `compare --folded`: raw folded stacks with OLD and NEW
//! values, compatible with inferno's `diff-folded` and FlameGraph's `difffolded.pl`. It works
//! on raw stacks, not on the normalized function keys of the report.

use crate::model::Profile;

/// The `diff-folded` projection (inferno `diff-folded` / FlameGraph `difffolded.pl`
/// compatible): per raw folded stack, OLD and NEW values summed over runs. With `normalize`,
/// OLD counts are scaled to NEW's total (truncated, as `diff-folded -n` does); without it, OLD
/// is scaled only when the sides have different numbers of runs. `strip_hex` replaces hex
/// digits after `0x` with `...` (`diff-folded -s`). Sorted by stack.
pub fn diff_folded(
    old: &[(&Profile, usize)],
    new: &[(&Profile, usize)],
    normalize: bool,
    strip_hex: bool,
) -> Vec<(String, u64, u64)> {
    let mut map: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    let mut totals = [0u64; 2];
    for (side, ps) in [(0usize, old), (1, new)] {
        for &(p, v) in ps {
            for (stack, val) in crate::formats::folded::fold(p, v) {
                let key = if strip_hex {
                    strip_hex_digits(&stack)
                } else {
                    stack
                };
                let val = val.max(0) as u64;
                totals[side] += val;
                let e = map.entry(key).or_insert((0, 0));
                if side == 0 {
                    e.0 += val;
                } else {
                    e.1 += val;
                }
            }
        }
    }
    let factor = if normalize {
        if totals[0] > 0 {
            totals[1] as f64 / totals[0] as f64
        } else {
            1.0
        }
    } else if old.len() != new.len() && !old.is_empty() {
        new.len() as f64 / old.len() as f64
    } else {
        1.0
    };
    map.into_iter()
        .map(|(k, (o, n))| {
            let o = if factor == 1.0 {
                o
            } else {
                (o as f64 * factor) as u64
            };
            (k, o, n)
        })
        .filter(|(_, o, n)| *o != 0 || *n != 0)
        .collect()
}

/// `0x1234abcd` → `0x...` everywhere in a stack.
pub fn strip_hex_digits(stack: &str) -> String {
    let mut out = String::with_capacity(stack.len());
    let mut rest = stack;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i + 2]);
        let after = &rest[i + 2..];
        let n = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        if n > 0 {
            out.push_str("...");
        }
        rest = &after[n..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::folded;

    fn p(text: &str) -> Profile {
        folded::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn diff_folded_strip_hex_and_normalize() {
        assert_eq!(strip_hex_digits("a;0x12ab;b0xZ;0x"), "a;0x...;b0xZ;0x");
        let (o, n) = (p("a;0x1 10\nb 10\n"), p("a;0x2 30\n"));
        let out = diff_folded(&[(&o, 0)], &[(&n, 0)], true, true);
        // OLD scaled by 30/20: 10 → 15.
        assert_eq!(
            out,
            vec![("a;0x...".to_string(), 15, 30), ("b".to_string(), 15, 0)]
        );
    }
}
