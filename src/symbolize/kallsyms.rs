//! Kernel symbols from `/proc/kallsyms` (or a saved copy): text symbols sorted by address,
//! looked up by binary search like perf does for `[kernel.kallsyms]`.

use super::elf::Bytes;
use crate::error::ParseError;

/// Sorted kernel text symbols.
pub struct Kallsyms {
    /// The file's bytes, mapped (a saved copy) or read (`/proc/kallsyms`, which cannot be
    /// mapped); names are ranges of them (one buffer for ~100k symbols).
    text: Bytes,
    /// (address, name offset, name length) sorted by address.
    syms: Vec<(u64, u32, u32)>,
}

impl std::fmt::Debug for Kallsyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kallsyms")
            .field("symbols", &self.syms.len())
            .finish()
    }
}

/// Value of each byte as a hex digit; 0xff for non-digits.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// A hex number of at most 16 digits.
fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut v = 0u64;
    let mut bad = 0u8;
    for &b in digits {
        let d = HEX[usize::from(b)];
        bad |= d;
        v = v << 4 | u64::from(d & 0xf);
    }
    // Any non-digit set the high bits of `bad`.
    (bad & 0xf0 == 0).then_some(v)
}

impl Kallsyms {
    /// Parse kallsyms text (`ffffffff81000000 T _stext [module]` per line). Fails when nothing
    /// usable is found, including the all-zero addresses of a `kptr_restrict`ed reader.
    pub fn parse(text: &str) -> Result<Kallsyms, ParseError> {
        Self::parse_text(Bytes::Owned(text.as_bytes().to_vec()))
    }

    fn parse_text(text: Bytes) -> Result<Kallsyms, ParseError> {
        let bytes: &[u8] = &text;
        if bytes.len() > u32::MAX as usize {
            return Err(ParseError::new("kallsyms text larger than 4 GiB"));
        }
        let mut syms = Vec::with_capacity(bytes.len() / 40);
        let mut zero = 0usize;
        let mut pos = 0usize;
        let mut n = 0usize;
        let mut newlines = memchr::memchr_iter(b'\n', bytes);
        // `ADDRESS TYPE NAME[\t[MODULE]]` per line (~120k lines when live), parsed on bytes.
        while pos < bytes.len() {
            n += 1;
            let end = newlines.next().unwrap_or(bytes.len());
            let line = &bytes[pos..end];
            let line_start = pos;
            pos = end + 1;
            // The usual layout: 16 hex digits, a space, the type, a space, the name.
            let (addr, t, name) = if line.len() > 19 && line[16] == b' ' && line[18] == b' ' {
                let addr = parse_hex(&line[..16])
                    .ok_or_else(|| ParseError::new(format!("line {n}: bad address")))?;
                let rest = &line[19..];
                // Names hold no blanks; a module symbol continues with `\t[module]`.
                let name_len = memchr::memchr3(b'\t', b' ', b'\r', rest).unwrap_or(rest.len());
                (addr, line[17], (line_start + 19, name_len))
            } else {
                // Anything else (32-bit addresses, extra spaces): split on whitespace.
                let mut fields = line
                    .split(|b| *b == b' ' || *b == b'\t' || *b == b'\r')
                    .filter(|f| !f.is_empty());
                let Some(a) = fields.next() else { continue };
                let (Some(t), Some(name)) = (fields.next(), fields.next()) else {
                    return Err(ParseError::new(format!(
                        "line {n}: expected `ADDRESS TYPE NAME`"
                    )));
                };
                let addr = parse_hex(a)
                    .ok_or_else(|| ParseError::new(format!("line {n}: bad address")))?;
                if t.len() != 1 {
                    continue;
                }
                let off = name.as_ptr() as usize - bytes.as_ptr() as usize;
                (addr, t[0], (off, name.len()))
            };
            if !matches!(t, b't' | b'T' | b'w' | b'W') || name.1 == 0 {
                continue;
            }
            if addr == 0 {
                zero += 1;
                continue;
            }
            syms.push((addr, name.0 as u32, name.1 as u32));
        }
        if syms.is_empty() {
            return Err(ParseError::new(if zero > 0 {
                "all kernel symbol addresses are zero (kernel.kptr_restrict; read it as root)"
                    .to_string()
            } else {
                "no kernel text symbols".to_string()
            }));
        }
        // /proc/kallsyms is nearly sorted already (modules come last).
        syms.sort_by_key(|s| s.0);
        Ok(Kallsyms { text, syms })
    }

    /// Read and parse a kallsyms file.
    pub fn load(path: &std::path::Path) -> Result<Kallsyms, String> {
        let t0 = std::time::Instant::now();
        let text = read_text(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let k = Self::parse_text(text).map_err(|e| format!("{}: {e}", path.display()));
        crate::timing::report(format_args!("  kallsyms {}", path.display()), t0);
        k
    }

    /// A symbol's name; a name that is not UTF-8 (never seen in practice) shows as `?`.
    fn name(&self, s: &(u64, u32, u32)) -> &str {
        let b = &self.text[s.1 as usize..(s.1 + s.2) as usize];
        std::str::from_utf8(b).unwrap_or("?")
    }

    /// The symbol at or before `addr`, with its start address.
    pub fn lookup(&self, addr: u64) -> Option<(&str, u64)> {
        let i = self.syms.partition_point(|s| s.0 <= addr);
        let s = self.syms.get(i.checked_sub(1)?)?;
        // Past the last symbol by more than a generous function size: not kernel text we know.
        if i == self.syms.len() && addr - s.0 > 1 << 20 {
            return None;
        }
        Some((self.name(s), s.0))
    }

    pub fn len(&self) -> usize {
        self.syms.len()
    }
    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }
    /// Lowest and highest symbol address.
    pub fn range(&self) -> (u64, u64) {
        (
            self.syms.first().map(|s| s.0).unwrap_or(0),
            self.syms.last().map(|s| s.0).unwrap_or(0),
        )
    }
}

/// A kallsyms file's bytes: a regular file is mapped (no copy); `/proc/kallsyms` reports
/// size 0 and is read into one buffer sized up front (~10 MB, which growing a buffer by
/// doubling would copy several times).
fn read_text(path: &std::path::Path) -> std::io::Result<Bytes> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    let size = meta.len() as usize;
    if size > 0 && meta.is_file() {
        // SAFETY: a read-only private mapping of a saved copy; a file truncated underneath
        // us is the hazard every mapped reader (perf included) accepts.
        if let Ok(m) = unsafe { memmap2::Mmap::map(&f) } {
            return Ok(Bytes::Mmap(m));
        }
    }
    let mut buf = Vec::with_capacity(if size > 0 { size + 1 } else { 16 << 20 });
    f.read_to_end(&mut buf)?;
    Ok(Bytes::Owned(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sorts_and_looks_up() {
        let text = "ffffffff81000100 T second\n\
                    ffffffff81000000 T _stext\n\
                    ffffffff81000050 d some_data\n\
                    ffffffffc0000000 t ext4_thing\t[ext4]\n";
        let k = Kallsyms::parse(text).unwrap();
        assert_eq!(k.len(), 3);
        assert_eq!(
            k.lookup(0xffffffff81000000),
            Some(("_stext", 0xffffffff81000000))
        );
        assert_eq!(k.lookup(0xffffffff810000ff).unwrap().0, "_stext");
        assert_eq!(k.lookup(0xffffffff81000100).unwrap().0, "second");
        assert_eq!(k.lookup(0xffffffffc0000010).unwrap().0, "ext4_thing");
        assert_eq!(k.lookup(0x1000), None);
        assert_eq!(k.lookup(0xffffffffc0000000 + (2 << 20)), None);
    }

    #[test]
    fn short_addresses_and_odd_spacing() {
        // 32-bit kernels print 8 digits; the general path splits on blanks.
        let k = Kallsyms::parse("c1000000 T _stext\nc1000100  t  f2\r\nc1000200 d data\n").unwrap();
        assert_eq!(k.len(), 2);
        assert_eq!(k.lookup(0xc10000ff).unwrap().0, "_stext");
        assert_eq!(k.lookup(0xc1000180).unwrap().0, "f2");
        // A bad digit in the usual layout is an error, not a zero address.
        assert!(Kallsyms::parse("ffffffff8100000g T x\n").is_err());
    }

    #[test]
    fn restricted_and_garbage() {
        let e = Kallsyms::parse("0000000000000000 T _stext\n0000000000000000 t x\n").unwrap_err();
        assert!(e.to_string().contains("kptr_restrict"), "{e}");
        assert!(Kallsyms::parse("zzz T x\n").is_err());
        assert!(Kallsyms::parse("justone\n").is_err());
        assert!(Kallsyms::parse("").is_err());
    }
}
