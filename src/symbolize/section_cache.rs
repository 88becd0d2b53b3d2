//! A disk cache of inflated debug sections.
//!
//! Distribution debug files (Debian's `/usr/lib/debug/.build-id/…`) compress their DWARF with
//! zlib: libc's 2.3 MB of `.debug_info` inflates to 5.8 MB, about 25 ms of one core on every
//! run whose samples touch libc, and as many pages of fresh anonymous memory. Like perf's
//! build-id cache and debuginfod's client cache, the inflated bytes are kept under the user's
//! cache directory, keyed by the debug file's build id, and later runs map them (file-backed
//! pages, nothing to inflate).
//!
//! Tables derived from a file are kept here too ([`Derived`]): the sorted symbols of a saved
//! kallsyms copy ([`super::kallsyms::Kallsyms::load_cached`]) and the line-program ranges of
//! a binary's units that declare none ([`super::dwarf::DwarfIndex::keep_ranges_in`]).
//!
//! Where: `$PROFDIFF_CACHE_DIR`, else `$XDG_CACHE_HOME/profdiff`, else `~/.cache/profdiff`
//! (a `sections` folder in it); `PROFDIFF_CACHE_DIR=off` (or empty) turns the cache off. An
//! entry is written to a temporary file and renamed into place, so readers never see a
//! half-written one; an entry that does not match what the debug file declares (its build id,
//! a section's size, a truncated file) is ignored and replaced. The folder is kept under
//! [`MAX_TOTAL`] by removing the entries written longest ago.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Entry layout version (in the magic).
const MAGIC: &[u8; 8] = b"PDSECT02";
/// Most bytes the cache folder may hold.
pub const MAX_TOTAL: u64 = 1 << 30;
/// Offset marking a slot the entry does not carry.
const ABSENT: u64 = u64::MAX;

/// The cache folder, or None when turned off or there is no home to put it in.
pub fn dir() -> Option<PathBuf> {
    let base = match std::env::var_os("PROFDIFF_CACHE_DIR") {
        Some(v) if v.is_empty() || v == "off" => return None,
        Some(v) => PathBuf::from(v),
        None => match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            Some(x) => PathBuf::from(x).join("profdiff"),
            None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?)
                .join(".cache/profdiff"),
        },
    };
    Some(base.join("sections"))
}

fn entry_path(dir: &Path, build_id: &[u8]) -> PathBuf {
    dir.join(format!("{}.sect", super::elf::hex(build_id)))
}

/// Inflated sections mapped from a cache entry: per slot its byte range in the map.
pub struct Cached {
    map: memmap2::Mmap,
    slots: Vec<Option<(usize, usize)>>,
}

impl Cached {
    /// The bytes of slot `i`, if the entry carries it.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let (o, l) = (*self.slots.get(i)?)?;
        self.map.get(o..o + l)
    }
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The debug file an entry was made from: its build id and size (a file rewritten under the
/// same build id, by dwz for instance, changes size).
pub struct Source<'a> {
    pub build_id: &'a [u8],
    pub len: u64,
}

/// The entry for `src`, if it carries every slot `want` lists (slot, inflated size) with
/// exactly that size.
pub fn load(dir: &Path, src: &Source, slots: usize, want: &[(usize, u64)]) -> Option<Cached> {
    let build_id = src.build_id;
    let file = std::fs::File::open(entry_path(dir, build_id)).ok()?;
    // SAFETY: read-only mapping of a file only ever replaced by rename (never rewritten in
    // place); truncation by another program is the hazard every mmap reader accepts.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let b: &[u8] = &map;
    if b.get(..8)? != MAGIC {
        return None;
    }
    let id_len = u64_at(b, 8)? as usize;
    let id_end = 16usize.checked_add(id_len)?;
    if b.get(16..id_end)? != build_id {
        return None;
    }
    let mut at = id_end.next_multiple_of(8);
    if u64_at(b, at)? != src.len || u64_at(b, at + 8)? != slots as u64 {
        return None;
    }
    at += 16;
    let mut table = Vec::with_capacity(slots);
    for _ in 0..slots {
        let (o, l) = (u64_at(b, at)?, u64_at(b, at + 8)?);
        at += 16;
        table.push(if o == ABSENT {
            None
        } else {
            let end = o.checked_add(l)?;
            (end <= b.len() as u64).then_some((o as usize, l as usize))
        });
    }
    for &(i, size) in want {
        match table.get(i)? {
            Some((_, l)) if *l as u64 == size => {}
            _ => return None,
        }
    }
    Some(Cached { map, slots: table })
}

/// An entry holding one table derived from a file rather than its sections (a kallsyms copy's
/// sorted symbols, a binary's line-program ranges): `key` says what the table is and whose,
/// tagged so it never names a debug file's entry; `source_len` is the file's size. Whoever
/// maps the bytes back checks them against the file.
pub struct Derived {
    dir: PathBuf,
    key: Vec<u8>,
    source_len: u64,
}

impl Derived {
    pub fn new(dir: &Path, key: Vec<u8>, source_len: u64) -> Self {
        Derived {
            dir: dir.to_path_buf(),
            key,
            source_len,
        }
    }

    fn source(&self) -> Source<'_> {
        Source {
            build_id: &self.key,
            len: self.source_len,
        }
    }

    /// The table kept, if any ([`Cached::get`] of slot 0).
    pub fn load(&self) -> Option<Cached> {
        load(&self.dir, &self.source(), 1, &[]).filter(|c| c.get(0).is_some())
    }

    /// Keep `table` (failures ignored, as with [`store`]).
    pub fn store(&self, table: &[u8]) {
        store(&self.dir, &self.source(), &[Some(table)]);
    }
}

/// Write the entry for `src` (slots without bytes are left out), then keep the folder under
/// [`MAX_TOTAL`]. Failures are ignored: the cache only ever saves work.
pub fn store(dir: &Path, src: &Source, sections: &[Option<&[u8]>]) {
    let _ = try_store(dir, src, sections);
    prune(dir, MAX_TOTAL);
}

fn try_store(dir: &Path, src: &Source, sections: &[Option<&[u8]>]) -> std::io::Result<()> {
    let build_id = src.build_id;
    std::fs::create_dir_all(dir)?;
    let mut head: Vec<u8> = Vec::new();
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&(build_id.len() as u64).to_le_bytes());
    head.extend_from_slice(build_id);
    head.resize(head.len().next_multiple_of(8), 0);
    head.extend_from_slice(&src.len.to_le_bytes());
    head.extend_from_slice(&(sections.len() as u64).to_le_bytes());
    let mut at = (head.len() + sections.len() * 16) as u64;
    for s in sections {
        let (o, l) = match s {
            Some(s) => {
                let o = at;
                at = (at + s.len() as u64).next_multiple_of(8);
                (o, s.len() as u64)
            }
            None => (ABSENT, 0),
        };
        head.extend_from_slice(&o.to_le_bytes());
        head.extend_from_slice(&l.to_le_bytes());
    }
    // A name no other writer uses; renamed into place only once complete.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}.{}.{seq}.tmp",
        super::elf::hex(build_id),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        f.write_all(&head)?;
        let mut len = head.len();
        for s in sections.iter().flatten() {
            f.write_all(s)?;
            len += s.len();
            let pad = len.next_multiple_of(8) - len;
            f.write_all(&[0u8; 8][..pad])?;
            len += pad;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_data()?;
        std::fs::rename(&tmp, entry_path(dir, build_id))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Remove the entries written longest ago until the folder holds at most `limit` bytes.
fn prune(dir: &Path, limit: u64) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = rd
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "sect"))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((m.modified().ok()?, m.len(), e.path()))
        })
        .collect();
    let mut total: u64 = entries.iter().map(|e| e.1).sum();
    entries.sort();
    for (_, len, path) in entries {
        if total <= limit {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

/// The one entry in a cache folder (tests of the entries' users).
#[cfg(test)]
pub(crate) fn only_entry(dir: &Path) -> PathBuf {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sect"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.pop().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_what_does_not_match() {
        let dir = std::env::temp_dir().join(format!("profdiff-sect-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let id = [0xab, 0xcd, 0x01];
        let src = Source {
            build_id: &id,
            len: 4096,
        };
        let a = b"first section".to_vec();
        let c = vec![7u8; 1000];
        store(&dir, &src, &[Some(&a), None, Some(&c)]);
        let got = load(&dir, &src, 3, &[(0, a.len() as u64), (2, 1000)]).expect("stored entry");
        assert_eq!(got.get(0), Some(&a[..]));
        assert_eq!(got.get(1), None);
        assert_eq!(got.get(2), Some(&c[..]));
        // A size the debug file does not declare, a slot it lacks, another layout, another id,
        // another file under the same id.
        assert!(load(&dir, &src, 3, &[(0, 5)]).is_none());
        assert!(load(&dir, &src, 3, &[(1, 0)]).is_none());
        assert!(load(&dir, &src, 4, &[]).is_none());
        let other = Source {
            build_id: &[1, 2],
            len: 4096,
        };
        assert!(load(&dir, &other, 3, &[]).is_none());
        let rewritten = Source {
            build_id: &id,
            len: 4000,
        };
        assert!(load(&dir, &rewritten, 3, &[]).is_none());
        // A truncated entry is rejected, not read past its end.
        let path = entry_path(&dir, &id);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        assert!(load(&dir, &src, 3, &[(2, 1000)]).is_none());
        std::fs::write(&path, b"PDSECT02garbage").unwrap();
        assert!(load(&dir, &src, 3, &[]).is_none());
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn prune_removes_oldest_first() {
        let dir = std::env::temp_dir().join(format!("profdiff-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let src = |id: &'static [u8]| Source {
            build_id: id,
            len: 1,
        };
        store(&dir, &src(&[1]), &[Some(&[0u8; 4000][..])]);
        std::thread::sleep(std::time::Duration::from_millis(20));
        store(&dir, &src(&[2]), &[Some(&[0u8; 4000][..])]);
        prune(&dir, 5000);
        assert!(!entry_path(&dir, &[1]).exists());
        assert!(entry_path(&dir, &[2]).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
