//! The memory map that ends a legacy profile: `/proc/self/maps` lines or the brief
//! `start-end file (@offset) buildid` form, and the heuristics `go tool pprof` applies to it
//! (merging adjacent pieces of one file, finding the main binary, mapping every address).

use crate::model::Mapping;
use regex::Regex;
use std::sync::OnceLock;

/// Lines that start the memory map in the text formats.
pub const SENTINELS: &[&str] = &["--- Memory map: ---", "MAPPED_LIBRARIES:"];

pub fn is_sentinel(line: &str) -> bool {
    SENTINELS.iter().any(|s| line.contains(s))
}

fn proc_maps_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"^\s*(?:0x)?([[:xdigit:]]+)[\s-]?\s*(?:0x)?([[:xdigit:]]+):?",
            r"(?:\s+([-rwxp]+))?(?:\s+([[:xdigit:]]+))?\s+[[:xdigit:]]+:[[:xdigit:]]+\s+[[:digit:]]+(?:\s+(\S+))?"
        ))
        .expect("valid regex")
    })
}

fn brief_maps_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"^\s*(?:0x)?([[:xdigit:]]+)[\s-]?\s*(?:0x)?([[:xdigit:]]+):?",
            r"(?:\s+([-rwxp]+))?(?:\s+(\S+))?(?:\s+\(@([[:xdigit:]]+)\))?(?:\s+([[:xdigit:]]+))?"
        ))
        .expect("valid regex")
    })
}

/// A glog prefix (`I0101 12:00:00.000 file.cc:12] `) before a map line.
fn log_prefix_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[^\[\]]+:[0-9]+]\s").expect("valid regex"))
}

/// Parse map lines into the executable mappings, in file order. Lines that are no mapping are
/// skipped; `name=value` lines define `$name` for the lines after them.
pub fn parse(text: &str) -> Vec<Mapping> {
    let mut out = Vec::new();
    let mut vars: Vec<(String, String)> = Vec::new();
    for raw in text.lines() {
        let line = match log_prefix_re().find(raw) {
            Some(m) => &raw[m.end()..],
            None => raw,
        };
        let mut line = line.to_string();
        for (k, v) in &vars {
            line = line.replace(k.as_str(), v);
        }
        match entry(&line) {
            Some(Some(m)) => out.push(m),
            Some(None) => {}
            None => {
                if let Some((k, v)) = line.split_once('=') {
                    vars.push((format!("${}", k.trim()), v.trim().to_string()));
                }
            }
        }
    }
    out
}

/// One line: `None` when it is no mapping, `Some(None)` for a mapping that is not executable.
fn entry(line: &str) -> Option<Option<Mapping>> {
    let (start, end, perm, offset, file, build_id);
    if let Some(c) = proc_maps_re().captures(line) {
        (start, end) = (c.get(1)?.as_str(), c.get(2)?.as_str());
        perm = c.get(3).map_or("", |m| m.as_str());
        offset = c.get(4).map_or("", |m| m.as_str());
        file = c.get(5).map_or("", |m| m.as_str());
        build_id = "";
    } else if let Some(c) = brief_maps_re().captures(line) {
        (start, end) = (c.get(1)?.as_str(), c.get(2)?.as_str());
        perm = c.get(3).map_or("", |m| m.as_str());
        file = c.get(4).map_or("", |m| m.as_str());
        offset = c.get(5).map_or("", |m| m.as_str());
        build_id = c.get(6).map_or("", |m| m.as_str());
    } else {
        return None;
    }
    if !perm.is_empty() && !perm.contains('x') {
        return Some(None);
    }
    let m = Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        limit: u64::from_str_radix(end, 16).ok()?,
        offset: if offset.is_empty() {
            0
        } else {
            u64::from_str_radix(offset, 16).ok()?
        },
        file: file.to_string(),
        build_id: build_id.to_string(),
        ..Default::default()
    };
    Some(Some(m))
}

/// pprof's `massageMappings`: merge adjacent pieces of one file, then move the first mapping
/// that looks like the main binary (a file, not a `.so`, not `[vdso]`) to the front.
pub fn massage(maps: Vec<Mapping>) -> Vec<Mapping> {
    let mut merged: Vec<Mapping> = Vec::with_capacity(maps.len());
    for m in maps {
        if let Some(last) = merged.last_mut() {
            if adjacent(last, &m) {
                last.limit = m.limit;
                if !m.file.is_empty() {
                    last.file = m.file;
                }
                if !m.build_id.is_empty() {
                    last.build_id = m.build_id;
                }
                continue;
            }
        }
        merged.push(m);
    }
    let main = merged.iter().position(|m| {
        let file = m.file.replace("(deleted)", "");
        let file = file.trim();
        !file.is_empty() && !is_library(file) && !file.starts_with('[')
    });
    if let Some(i) = main {
        merged.swap(0, i);
    }
    merged
}

/// pprof's `libRx`: `.so` at the end or followed by `.` or `_` and a digit.
fn is_library(file: &str) -> bool {
    if file.ends_with(".so") {
        return true;
    }
    file.match_indices(".so").any(|(i, _)| {
        let rest = &file.as_bytes()[i + 3..];
        rest.len() >= 2 && (rest[0] == b'.' || rest[0] == b'_') && rest[1].is_ascii_digit()
    })
}

fn adjacent(a: &Mapping, b: &Mapping) -> bool {
    if !a.file.is_empty() && !b.file.is_empty() && a.file != b.file {
        return false;
    }
    if !a.build_id.is_empty() && !b.build_id.is_empty() && a.build_id != b.build_id {
        return false;
    }
    if a.limit != b.start {
        return false;
    }
    if a.offset != 0 && b.offset != 0 && a.offset + (a.limit - a.start) != b.offset {
        return false;
    }
    true
}

/// pprof's `remapMappingIDs`: fix the main binary's start, then find each address's mapping
/// (index into the returned list), adding a fake mapping for addresses outside all of them.
pub fn assign(mut maps: Vec<Mapping>, addresses: &[u64]) -> (Vec<Mapping>, Vec<Option<u32>>) {
    if maps.len() > 1
        && maps[0].file.starts_with("/anon_hugepage")
        && maps[0].limit == maps[1].start
    {
        maps.remove(0);
    }
    if let Some(m) = maps.first_mut() {
        if m.start.wrapping_sub(m.offset) == 0x400000 {
            m.start = 0x400000;
            m.offset = 0;
        }
    }
    let mut fake: Option<u32> = None;
    let mut out = Vec::with_capacity(addresses.len());
    for &a in addresses {
        if a == 0 {
            out.push(None);
            continue;
        }
        if let Some(i) = maps.iter().position(|m| m.start <= a && a < m.limit) {
            out.push(Some(i as u32));
            continue;
        }
        // Legacy handlers that dropped the first piece of a split mapping.
        if let Some(i) = maps
            .iter()
            .position(|m| m.offset != 0 && m.start.wrapping_sub(m.offset) <= a && a < m.start)
        {
            let m = &mut maps[i];
            m.start -= m.offset;
            m.offset = 0;
            out.push(Some(i as u32));
            continue;
        }
        let f = *fake.get_or_insert_with(|| {
            maps.push(Mapping {
                limit: u64::MAX,
                ..Default::default()
            });
            (maps.len() - 1) as u32
        });
        out.push(Some(f));
    }
    (maps, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_maps_lines() {
        let maps = parse(
            "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n\
             00651000-00652000 r--p 00051000 08:02 173521      /usr/bin/dbus-daemon\n\
             7f5e549bc000-7f5e549bd000 r-xp 00023000 00:00 7482        /lib/ld-2.15.so\n\
             0x1000-0x2000 /bin/brief (@400) abcdef\n",
        );
        assert_eq!(maps.len(), 3);
        assert_eq!(
            (maps[0].start, maps[0].limit, maps[0].file.as_str()),
            (0x400000, 0x452000, "/usr/bin/dbus-daemon")
        );
        assert_eq!(
            (maps[1].offset, maps[1].file.as_str()),
            (0x23000, "/lib/ld-2.15.so")
        );
        assert_eq!(
            (
                maps[2].offset,
                maps[2].build_id.as_str(),
                maps[2].file.as_str()
            ),
            (0x400, "abcdef", "/bin/brief")
        );
    }

    #[test]
    fn libraries() {
        assert!(is_library("/lib/libc-2.15.so"));
        assert!(is_library("/lib/libc.so.6"));
        assert!(!is_library("/usr/bin/sober"));
    }
}
