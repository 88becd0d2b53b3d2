//! Kernel symbols from `/proc/kallsyms` (or a saved copy): text symbols sorted by address,
//! looked up by binary search like perf does for `[kernel.kallsyms]`.

use crate::error::ParseError;

/// Sorted kernel text symbols.
#[derive(Clone, Debug, Default)]
pub struct Kallsyms {
    /// The file's text; names are ranges of it (one allocation for ~100k symbols).
    text: String,
    /// (address, name offset, name length) sorted by address.
    syms: Vec<(u64, u32, u32)>,
}

impl Kallsyms {
    /// Parse kallsyms text (`ffffffff81000000 T _stext [module]` per line). Fails when nothing
    /// usable is found, including the all-zero addresses of a `kptr_restrict`ed reader.
    pub fn parse(text: &str) -> Result<Kallsyms, ParseError> {
        Self::parse_owned(text.to_string())
    }

    fn parse_owned(text: String) -> Result<Kallsyms, ParseError> {
        if text.len() > u32::MAX as usize {
            return Err(ParseError::new("kallsyms text larger than 4 GiB"));
        }
        let mut syms = Vec::with_capacity(text.len() / 40);
        let mut zero = 0usize;
        let bytes = text.as_bytes();
        let mut pos = 0usize;
        let mut n = 0usize;
        // `ADDRESS TYPE NAME[\t[MODULE]]` per line, parsed on bytes (~120k lines when live).
        while pos < bytes.len() {
            n += 1;
            let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
            let line = &bytes[pos..end];
            pos = end + 1;
            let mut fields = line
                .split(|b| *b == b' ' || *b == b'\t' || *b == b'\r')
                .filter(|f| !f.is_empty());
            let Some(a) = fields.next() else { continue };
            let (Some(t), Some(name)) = (fields.next(), fields.next()) else {
                return Err(ParseError::new(format!(
                    "line {n}: expected `ADDRESS TYPE NAME`"
                )));
            };
            let addr = std::str::from_utf8(a)
                .ok()
                .and_then(|a| u64::from_str_radix(a, 16).ok())
                .ok_or_else(|| ParseError::new(format!("line {n}: bad address")))?;
            if !matches!(t, b"t" | b"T" | b"w" | b"W") {
                continue;
            }
            if addr == 0 {
                zero += 1;
                continue;
            }
            // `name` is a sub-slice of `text` and ends at an ASCII delimiter: a char boundary.
            let off = name.as_ptr() as usize - bytes.as_ptr() as usize;
            syms.push((addr, off as u32, name.len() as u32));
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
        let k = Self::parse_owned(text).map_err(|e| format!("{}: {e}", path.display()));
        crate::timing::report(format_args!("  kallsyms {}", path.display()), t0);
        k
    }

    fn name(&self, s: &(u64, u32, u32)) -> &str {
        &self.text[s.1 as usize..(s.1 + s.2) as usize]
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

/// Read a text file into one buffer sized up front: `/proc/kallsyms` reports size 0 and is
/// ~10 MB, which growing a buffer by doubling would copy several times.
fn read_text(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let hint = f.metadata().map(|m| m.len() as usize).unwrap_or(0);
    let mut buf = Vec::with_capacity(if hint > 0 { hint + 1 } else { 16 << 20 });
    f.read_to_end(&mut buf)?;
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
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
    fn restricted_and_garbage() {
        let e = Kallsyms::parse("0000000000000000 T _stext\n0000000000000000 t x\n").unwrap_err();
        assert!(e.to_string().contains("kptr_restrict"), "{e}");
        assert!(Kallsyms::parse("zzz T x\n").is_err());
        assert!(Kallsyms::parse("justone\n").is_err());
        assert!(Kallsyms::parse("").is_err());
    }
}
