//! Kernel symbols from `/proc/kallsyms` (or a saved copy): text symbols sorted by address,
//! looked up by binary search like perf does for `[kernel.kallsyms]`.

use super::elf::Bytes;
use crate::error::ParseError;

/// Sorted kernel text symbols.
pub struct Kallsyms {
    /// The file's bytes, mapped (a saved copy) or read (`/proc/kallsyms`, which cannot be
    /// mapped); names are ranges of them (one buffer for ~100k symbols).
    text: Bytes,
    /// The symbols sorted by address.
    syms: Table,
}

/// A text symbol: its address and where its name is in the text.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sym {
    addr: u64,
    name_off: u32,
    name_len: u32,
}

/// The sorted symbols: parsed now, or mapped from the cache (see [`Kallsyms::load_cached`]).
enum Table {
    Parsed(Vec<Sym>),
    Cached(super::section_cache::Cached),
}

impl Table {
    fn as_slice(&self) -> &[Sym] {
        match self {
            Table::Parsed(v) => v,
            // Checked when loaded (`syms_of`): aligned, a whole number of entries.
            Table::Cached(c) => c.get(0).and_then(syms_of).unwrap_or(&[]),
        }
    }
}

/// Entries of [`Sym`] in cached bytes, if they are aligned and a whole number of them.
fn syms_of(b: &[u8]) -> Option<&[Sym]> {
    let size = std::mem::size_of::<Sym>();
    if b.len() % size != 0 || (b.as_ptr() as usize) % std::mem::align_of::<Sym>() != 0 {
        return None;
    }
    // SAFETY: aligned for `Sym` and exactly `len / size` of them in bounds (checked above);
    // `Sym` is plain integers with no padding, so any bytes are a valid value.
    Some(unsafe { std::slice::from_raw_parts(b.as_ptr() as *const Sym, b.len() / size) })
}

impl std::fmt::Debug for Kallsyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kallsyms")
            .field("symbols", &self.len())
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
            syms.push(Sym {
                addr,
                name_off: name.0 as u32,
                name_len: name.1 as u32,
            });
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
        syms.sort_by_key(|s| s.addr);
        Ok(Kallsyms {
            text,
            syms: Table::Parsed(syms),
        })
    }

    /// Read and parse a kallsyms file.
    pub fn load(path: &std::path::Path) -> Result<Kallsyms, String> {
        Self::load_cached(path, None)
    }

    /// [`Kallsyms::load`], keeping the sorted table of a saved copy (perf's
    /// `~/.debug/[kernel.kallsyms]/<build id>/kallsyms`) in the cache folder `cache` (see
    /// [`super::section_cache`]): parsing its ~120k lines is ~5 ms of a core on every run, and
    /// the table (16 bytes a symbol) maps back in microseconds. The entry is keyed by the
    /// file's path, size and modification time, and checked against the text when mapped (in
    /// order, names inside it); `/proc/kallsyms`, which changes with every module loaded, is
    /// always parsed.
    pub fn load_cached(
        path: &std::path::Path,
        cache: Option<&std::path::Path>,
    ) -> Result<Kallsyms, String> {
        let t0 = std::time::Instant::now();
        let (text, meta) = read_text(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let entry = match (cache, &text) {
            (Some(dir), Bytes::Mmap(..)) => cache_key(path, &meta)
                .map(|key| super::section_cache::Derived::new(dir, key, meta.len())),
            _ => None,
        };
        let cached = entry
            .as_ref()
            .and_then(|e| e.load())
            .filter(|c| c.get(0).and_then(syms_of).is_some_and(|t| fits(t, &text)));
        let k = match cached {
            Some(c) => Ok(Kallsyms {
                text,
                syms: Table::Cached(c),
            }),
            None => {
                let k = Self::parse_text(text).map_err(|e| format!("{}: {e}", path.display()));
                if let (Ok(k), Some(entry)) = (&k, &entry) {
                    let t = k.syms.as_slice();
                    let mut bytes = Vec::with_capacity(std::mem::size_of_val(t));
                    for s in t {
                        bytes.extend_from_slice(&s.addr.to_ne_bytes());
                        bytes.extend_from_slice(&s.name_off.to_ne_bytes());
                        bytes.extend_from_slice(&s.name_len.to_ne_bytes());
                    }
                    entry.store(&bytes);
                }
                k
            }
        };
        crate::timing::report(format_args!("  kallsyms {}", path.display()), t0);
        k
    }

    /// A symbol's name; a name that is not UTF-8 (never seen in practice) shows as `?`.
    fn name(&self, s: &Sym) -> &str {
        let (o, l) = (s.name_off as usize, s.name_len as usize);
        let b = self.text.get(o..o + l).unwrap_or(b"?");
        std::str::from_utf8(b).unwrap_or("?")
    }

    /// The symbol at or before `addr`, with its start address.
    pub fn lookup(&self, addr: u64) -> Option<(&str, u64)> {
        let syms = self.syms.as_slice();
        let i = syms.partition_point(|s| s.addr <= addr);
        let s = syms.get(i.checked_sub(1)?)?;
        // Past the last symbol by more than a generous function size: not kernel text we know.
        if i == syms.len() && addr - s.addr > 1 << 20 {
            return None;
        }
        Some((self.name(s), s.addr))
    }

    pub fn len(&self) -> usize {
        self.syms.as_slice().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Lowest and highest symbol address.
    pub fn range(&self) -> (u64, u64) {
        let syms = self.syms.as_slice();
        (
            syms.first().map(|s| s.addr).unwrap_or(0),
            syms.last().map(|s| s.addr).unwrap_or(0),
        )
    }

    /// Whether the table came from the cache.
    #[cfg(test)]
    fn is_cached(&self) -> bool {
        matches!(self.syms, Table::Cached(_))
    }
}

/// The cache key of a saved kallsyms file: a hash of its path and modification time, tagged
/// so it never names a debug file's entry (those are keyed by build id). The file's size is
/// the entry's source length.
fn cache_key(path: &std::path::Path, meta: &std::fs::Metadata) -> Option<Vec<u8>> {
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let abs = std::fs::canonicalize(path).ok()?;
    let h = crate::hash_index::hash_of(&(abs, modified.as_nanos(), cfg!(target_endian = "big")));
    let mut key = b"kallsyms".to_vec();
    key.extend_from_slice(&h.to_le_bytes());
    Some(key)
}

/// Whether a cached table can be the one of `text`: sorted, names inside the text, non-empty.
fn fits(t: &[Sym], text: &[u8]) -> bool {
    !t.is_empty()
        && t.windows(2).all(|w| w[0].addr <= w[1].addr)
        && t.iter().all(|s| {
            s.addr != 0 && (s.name_off as usize).saturating_add(s.name_len as usize) <= text.len()
        })
}

/// A kallsyms file's bytes: a regular file is mapped (no copy); `/proc/kallsyms` reports
/// size 0 and is read into one buffer sized up front (~10 MB, which growing a buffer by
/// doubling would copy several times).
fn read_text(path: &std::path::Path) -> std::io::Result<(Bytes, std::fs::Metadata)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    let size = meta.len() as usize;
    if size > 0 && meta.is_file() {
        if let Ok(m) = Bytes::map(&f, &path.display().to_string()) {
            return Ok((m, meta));
        }
    }
    let mut buf = Vec::with_capacity(if size > 0 { size + 1 } else { 16 << 20 });
    f.read_to_end(&mut buf)?;
    Ok((Bytes::Owned(buf), meta))
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

    #[test]
    fn saved_copy_table_is_cached_and_checked() {
        let dir = std::env::temp_dir().join(format!("profdiff-ksym-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cache = dir.join("cache");
        let file = dir.join("kallsyms");
        let text = "ffffffff81000100 T second\n\
                    ffffffff81000000 T _stext\n\
                    ffffffff81000050 d some_data\n\
                    ffffffffc0000000 t ext4_thing\t[ext4]\n";
        std::fs::write(&file, text).unwrap();
        let probes = [
            0xffffffff81000000u64,
            0xffffffff81000120,
            0xffffffffc0000010,
            0x1000,
        ];
        let answers = |k: &Kallsyms| -> Vec<Option<(String, u64)>> {
            probes
                .iter()
                .map(|&a| k.lookup(a).map(|(n, s)| (n.to_string(), s)))
                .collect()
        };
        let parsed = Kallsyms::parse(text).unwrap();
        let first = Kallsyms::load_cached(&file, Some(&cache)).unwrap();
        assert!(!first.is_cached());
        let second = Kallsyms::load_cached(&file, Some(&cache)).unwrap();
        assert!(second.is_cached());
        assert_eq!(answers(&second), answers(&parsed));
        assert_eq!(
            (second.len(), second.range()),
            (parsed.len(), parsed.range())
        );
        // No cache folder: parsed every time.
        assert!(!Kallsyms::load_cached(&file, None).unwrap().is_cached());
        // A damaged entry (names past the text, or cut short) is not used, and is replaced.
        let entry = crate::symbolize::section_cache::only_entry(&cache);
        let good = std::fs::read(&entry).unwrap();
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 8..n - 4].copy_from_slice(&10_000u32.to_ne_bytes());
        std::fs::write(&entry, &bad).unwrap();
        let k = Kallsyms::load_cached(&file, Some(&cache)).unwrap();
        assert!(!k.is_cached());
        assert_eq!(answers(&k), answers(&parsed));
        std::fs::write(&entry, &good[..n - 5]).unwrap();
        assert!(!Kallsyms::load_cached(&file, Some(&cache))
            .unwrap()
            .is_cached());
        assert!(Kallsyms::load_cached(&file, Some(&cache))
            .unwrap()
            .is_cached());
        // A rewritten file (another size) is parsed again, not read with the old table.
        std::fs::write(&file, "ffffffff82000000 T moved\n").unwrap();
        let k = Kallsyms::load_cached(&file, Some(&cache)).unwrap();
        assert!(!k.is_cached());
        assert_eq!(k.lookup(0xffffffff82000010).unwrap().0, "moved");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
