//! JIT symbol maps (`/tmp/perf-PID.map`), written by V8 (`--perf-basic-prof`), the JVM
//! (perf-map-agent), .NET, LuaJIT and others: `START SIZE name` per line, hex addresses in the
//! process's address space. perf reads them for anonymous executable memory; so do we.

use std::path::Path;

/// Symbols of one process's JIT map, sorted by start address.
#[derive(Clone, Debug, Default)]
pub struct PerfMap {
    syms: Vec<(u64, u64, Box<str>)>,
}

impl PerfMap {
    /// Parse map text; malformed lines are skipped (the file is appended to while the JIT runs,
    /// so a torn last line is normal).
    pub fn parse(text: &str) -> PerfMap {
        let mut syms = Vec::new();
        for line in text.lines() {
            let mut it = line.splitn(3, ' ');
            let (Some(a), Some(s), Some(name)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            let hex = |x: &str| u64::from_str_radix(x.trim_start_matches("0x"), 16).ok();
            let (Some(a), Some(s)) = (hex(a), hex(s)) else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            syms.push((a, s, name.into()));
        }
        // Later entries win for the same start (code is re-JITted at recycled addresses).
        syms.reverse();
        syms.sort_by_key(|s| s.0);
        syms.dedup_by_key(|s| s.0);
        PerfMap { syms }
    }

    /// `/tmp/perf-PID.map` if it exists and is readable.
    pub fn load_for_pid(pid: u32) -> Option<PerfMap> {
        Self::load(Path::new(&format!("/tmp/perf-{pid}.map")))
    }

    pub fn load(path: &Path) -> Option<PerfMap> {
        let text = std::fs::read(path).ok()?;
        Some(Self::parse(&String::from_utf8_lossy(&text)))
    }

    /// The JIT symbol covering `addr`.
    pub fn lookup(&self, addr: u64) -> Option<&str> {
        let i = self.syms.partition_point(|s| s.0 <= addr);
        let (a, s, name) = self.syms.get(i.checked_sub(1)?)?;
        (addr - a < (*s).max(1)).then_some(&**name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_looks_up() {
        let m = PerfMap::parse(
            "7f0000001000 40 LazyCompile:~foo /app/x.js:1\n\
             0x7f0000002000 0x10 Builtin:Bar\n\
             garbage\n\
             7f0000003000 zz bad\n\
             7f0000001000 20 LazyCompile:*foo /app/x.js:1\n",
        );
        assert_eq!(
            m.lookup(0x7f0000001010),
            Some("LazyCompile:*foo /app/x.js:1")
        );
        assert_eq!(m.lookup(0x7f0000001030), None);
        assert_eq!(m.lookup(0x7f000000200f), Some("Builtin:Bar"));
        assert_eq!(m.lookup(0x7f0000002010), None);
        assert_eq!(m.lookup(0x10), None);
    }
}
