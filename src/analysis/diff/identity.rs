//! Function identity across runs and builds: frame names normalized into keys
//! ([`normalize_name`]), keys interned once for all runs ([`Keys`]), and each run reduced to
//! key stacks with values ([`reduce`]) — the only form of a profile the rest of the diff sees.
//!
//! Addresses differ between builds, so frames are matched by a key made from the function
//! name: demangled, Rust `::h<16 hex>` hash suffixes removed, bare hex addresses and
//! `[module+0x…]` collapsed to `[module]` (or `[unknown]`). With [`MatchBy::NameFile`] the
//! source file is part of the key. A leaf `runtime.asyncPreempt` (Go's preemption trampoline)
//! is attributed to its caller.

use super::MatchBy;
use crate::model::Profile;
use rustc_hash::FxHashMap;

/// Normalize a function name for matching across builds. `module` is the file of the mapping
/// the frame belongs to, when known.
pub fn normalize_name(name: &str, module: Option<&str>) -> String {
    let collapsed = |module: Option<&str>| match module.map(basename).filter(|m| !m.is_empty()) {
        Some(m) => format!("[{m}]"),
        None => crate::model::UNKNOWN.to_string(),
    };
    let name = name.trim();
    if name.is_empty() || name == crate::model::UNKNOWN {
        return collapsed(module);
    }
    if is_bare_hex(name) {
        return collapsed(module);
    }
    // `[module+0x1234]` / `[module]` as written for unsymbolized frames.
    if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        if let Some((m, off)) = inner.rsplit_once('+') {
            if off.starts_with("0x") && is_bare_hex(off) {
                return format!("[{}]", basename(m));
            }
        }
    }
    let demangled = demangle(name);
    strip_rust_hash(&demangled).to_string()
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn is_bare_hex(s: &str) -> bool {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    !h.is_empty() && s.len() != h.len() && h.bytes().all(|b| b.is_ascii_hexdigit())
}

fn demangle(name: &str) -> std::borrow::Cow<'_, str> {
    if name.starts_with("_R") || name.starts_with("_ZN") {
        if let Ok(d) = rustc_demangle::try_demangle(name) {
            return format!("{d:#}").into();
        }
    }
    if name.starts_with("_Z") {
        if let Ok(sym) = cpp_demangle::Symbol::new(name.as_bytes()) {
            if let Ok(s) = sym.demangle(&cpp_demangle::DemangleOptions::default()) {
                return s.into();
            }
        }
    }
    name.into()
}

/// Remove a trailing Rust legacy hash `::h0123456789abcdef`.
pub fn strip_rust_hash(name: &str) -> &str {
    if let Some(pos) = name.rfind("::h") {
        let tail = &name[pos + 3..];
        if tail.len() == 16 && tail.bytes().all(|b| b.is_ascii_hexdigit()) {
            return &name[..pos];
        }
    }
    name
}

/// Interned function keys shared by all runs.
#[derive(Default)]
pub(super) struct Keys {
    map: FxHashMap<String, u32>,
    pub(super) names: Vec<String>,
    pub(super) files: Vec<Option<String>>,
}

impl Keys {
    fn intern(&mut self, name: String, file: Option<String>, by: MatchBy) -> u32 {
        let key = match (by, &file) {
            (MatchBy::NameFile, Some(f)) => format!("{name}\u{0}{f}"),
            _ => name.clone(),
        };
        if let Some(&k) = self.map.get(&key) {
            return k;
        }
        let k = self.names.len() as u32;
        self.map.insert(key, k);
        self.names.push(name);
        self.files.push(file);
        k
    }
}

/// One run reduced to what the diff needs: per-key stacks with values.
pub(super) struct Run {
    /// (root-first key stack, value) per sample.
    pub(super) stacks: Vec<(Vec<u32>, f64)>,
    pub(super) total: f64,
    /// Value of one sample in the compared unit (for the Poisson model).
    pub(super) per_sample: f64,
}

pub(super) fn reduce(p: &Profile, value: usize, keys: &mut Keys, by: MatchBy) -> Run {
    // Keys per location (root-first within the location: outer function, then inlined).
    let mut loc_keys: Vec<Option<Vec<u32>>> = vec![None; p.locations.len()];
    let mut stacks = Vec::with_capacity(p.samples.len());
    let mut total = 0.0;
    for s in &p.samples {
        let v = s.values.get(value).copied().unwrap_or(0);
        if v == 0 {
            continue;
        }
        let v = v as f64;
        total += v;
        let mut stack = Vec::with_capacity(s.locations.len());
        for &l in s.locations.iter().rev() {
            let entry = &mut loc_keys[l as usize];
            if entry.is_none() {
                let loc = &p.locations[l as usize];
                let module = loc
                    .mapping
                    .and_then(|m| p.mappings.get(m as usize))
                    .map(|m| m.file.as_str());
                let mut ks = Vec::with_capacity(loc.lines.len().max(1));
                if loc.lines.is_empty() {
                    let raw = p.unknown_frame_name(loc);
                    ks.push(keys.intern(normalize_name(&raw, module), None, by));
                } else {
                    for line in loc.lines.iter().rev() {
                        let f = &p.functions[line.function as usize];
                        let file = (!f.filename.is_empty()).then(|| f.filename.clone());
                        let name = if f.name.is_empty() {
                            &f.system_name
                        } else {
                            &f.name
                        };
                        ks.push(keys.intern(normalize_name(name, module), file, by));
                    }
                }
                *entry = Some(ks);
            }
            stack.extend_from_slice(entry.as_ref().unwrap());
        }
        // Go's async-preemption trampoline is injected into whatever loop was interrupted;
        // its samples are the caller's work (the trampoline only saves registers).
        if stack.len() > 1 && keys.names[*stack.last().unwrap() as usize] == "runtime.asyncPreempt"
        {
            stack.pop();
        }
        if stack.is_empty() {
            stack.push(keys.intern(crate::model::UNKNOWN.into(), None, by));
        }
        stacks.push((stack, v));
    }
    Run {
        stacks,
        total,
        per_sample: per_sample_value(p, value),
    }
}

/// For counts estimated from byte sampling (a Go heap profile's `alloc_objects`: the runtime
/// samples an allocation every `period` bytes on average and scales up), the number of
/// sampled events behind them: the matching byte total (`alloc_space` for `alloc_objects`)
/// over the period. `None` for profiles that do not sample bytes.
fn sampled_events(p: &Profile, kind: &str) -> Option<f64> {
    let pt = p.period_type.as_ref()?;
    if pt.unit != "bytes" || p.period <= 0 {
        return None;
    }
    let prefix = kind.split('_').next().unwrap_or(kind);
    let bytes = p
        .sample_types
        .iter()
        .position(|t| t.unit == "bytes" && t.kind.split('_').next() == Some(prefix))
        .or_else(|| p.sample_types.iter().position(|t| t.unit == "bytes"))?;
    let events = p.total(bytes) as f64 / p.period as f64;
    (events > 0.0).then_some(events)
}

/// How much of `value` one sample represents.
fn per_sample_value(p: &Profile, value: usize) -> f64 {
    let t = &p.sample_types[value];
    if t.unit == "count" {
        return sampled_events(p, &t.kind).map_or(1.0, |events| p.total(value) as f64 / events);
    }
    if let Some(pt) = &p.period_type {
        if pt.unit == t.unit && p.period > 0 {
            return p.period as f64;
        }
    }
    if let Some(si) = p
        .sample_types
        .iter()
        .position(|t| t.kind == "samples" && t.unit == "count")
    {
        let n = p.total(si);
        if n > 0 {
            return p.total(value) as f64 / n as f64;
        }
    }
    1.0
}

/// Per-key self and cum values of one run.
pub(super) fn per_key(
    run: &Run,
    nkeys: usize,
    seen: &mut Vec<u32>,
    epoch: &mut u32,
) -> (Vec<f64>, Vec<f64>) {
    let mut selfv = vec![0.0; nkeys];
    let mut cum = vec![0.0; nkeys];
    seen.resize(nkeys, 0);
    for (stack, v) in &run.stacks {
        *epoch += 1;
        if let Some(&leaf) = stack.last() {
            selfv[leaf as usize] += v;
        }
        for &k in stack {
            // Count recursion once per sample, as pprof does for cum.
            if seen[k as usize] != *epoch {
                seen[k as usize] = *epoch;
                cum[k as usize] += v;
            }
        }
    }
    (selfv, cum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_across_builds() {
        assert_eq!(
            normalize_name("app::parse::h0123456789abcdef", None),
            "app::parse"
        );
        assert_eq!(
            normalize_name("_ZN3app5parse17h0123456789abcdefE", None),
            "app::parse"
        );
        assert_eq!(normalize_name("_Z3fooi", None), "foo(int)");
        assert_eq!(
            normalize_name("0x7f3a12", Some("/lib/libc.so.6")),
            "[libc.so.6]"
        );
        assert_eq!(normalize_name("0x7f3a12", None), "[unknown]");
        assert_eq!(normalize_name("[app+0x1010]", None), "[app]");
        assert_eq!(normalize_name("[unknown]", Some("/usr/bin/app")), "[app]");
        assert_eq!(normalize_name("hash::h12", None), "hash::h12");
    }

    #[test]
    fn heap_counts_carry_the_noise_of_the_sampled_bytes() {
        use crate::model::{Sample, ValueType};
        // Go heap profile: 4000 objects and 10 MiB allocated, sampled every 512 KiB, i.e.
        // about 20 sampled events: one "sample" of objects stands for 200 objects, one of
        // bytes for 512 KiB.
        let p = Profile {
            sample_types: vec![
                ValueType::new("alloc_objects", "count"),
                ValueType::new("alloc_space", "bytes"),
            ],
            samples: vec![Sample {
                locations: vec![],
                values: vec![4000, 10 << 20],
                labels: vec![],
            }],
            period_type: Some(ValueType::new("space", "bytes")),
            period: 512 << 10,
            ..Default::default()
        };
        assert_eq!(per_sample_value(&p, 0), 200.0);
        assert_eq!(per_sample_value(&p, 1), (512 << 10) as f64);
        // A CPU profile's sample count stays one per sample.
        let cpu = Profile {
            sample_types: vec![ValueType::samples()],
            period_type: Some(ValueType::new("cpu", "nanoseconds")),
            period: 10_000_000,
            ..Default::default()
        };
        assert_eq!(per_sample_value(&cpu, 0), 1.0);
    }
}
