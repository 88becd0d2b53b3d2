//! One ELF object loaded for symbolization: mapped once, parsed once, kept in the cache.
//!
//! Everything later lookups need is extracted at load time (build id, PT_LOAD segments for the
//! file-offset → virtual-address conversion, the sorted symbol table, the DWARF sections as
//! byte ranges or decompressed buffers), so the `object` parse is not kept around and one
//! [`ElfImage`] can be shared read-only by every rayon worker.

use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, SymbolKind};
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// The bytes of an object: a read-only file mapping (registered against SIGBUS, see
/// [`crate::mapped`]; the registration drops first), or a copy (vdso from memory, tests).
pub enum Bytes {
    Mmap(crate::mapped::Registration, memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    /// Map `file` (shown as `path` if it shrinks while mapped).
    pub fn map(file: &std::fs::File, path: &str) -> std::io::Result<Bytes> {
        // SAFETY: a read-only private mapping; a file truncated underneath it raises SIGBUS,
        // which the registration turns into an error line naming the file.
        let map = unsafe { memmap2::Mmap::map(file) }?;
        Ok(Bytes::Mmap(crate::mapped::register_binary(&map, path), map))
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mmap(_, m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// A PT_LOAD segment: `[file_off, file_off + filesz)` is mapped at `vaddr`.
#[derive(Clone, Copy, Debug)]
struct Segment {
    vaddr: u64,
    file_off: u64,
    filesz: u64,
}

/// A function-like symbol from `.symtab` / `.dynsym`. The name is a range in the image bytes.
#[derive(Clone, Copy, Debug)]
struct Sym {
    addr: u64,
    size: u64,
    name_off: u32,
    name_len: u32,
    /// The `STT_FILE` symbol preceding a local symbol (its source file), as (offset, len).
    file: (u32, u32),
}

/// Where one DWARF section's bytes are.
enum SectionBytes {
    Absent,
    InFile(usize, usize),
    /// Compressed in the file; inflated on first use (see [`ElfImage::inflated`]).
    Compressed(object::CompressedFileRange),
}

/// The inflated compressed sections, slot-indexed (`None` for the others or on error).
enum Inflated {
    Owned(Vec<Option<Vec<u8>>>),
    Cached(super::section_cache::Cached),
}

impl Inflated {
    fn get(&self, slot: usize) -> Option<&[u8]> {
        match self {
            Inflated::Owned(v) => v.get(slot)?.as_deref(),
            Inflated::Cached(c) => c.get(slot),
        }
    }
}

/// A parsed ELF file (binary, shared library, separate debug file or vdso image).
pub struct ElfImage {
    pub path: PathBuf,
    data: Bytes,
    pub build_id: Option<Vec<u8>>,
    /// `.gnu_debuglink` file name and CRC.
    pub debuglink: Option<(String, u32)>,
    /// `.gnu_debugaltlink` (dwz supplementary file): path and build id.
    pub altlink: Option<(String, Vec<u8>)>,
    little_endian: bool,
    segments: Vec<Segment>,
    symbols: Vec<Sym>,
    /// Address ranges of executable sections, sorted.
    text_sections: Vec<(u64, u64)>,
    /// Executable sections have contents here (false for separate debug files).
    has_code: bool,
    sections: Vec<SectionBytes>,
    /// The compressed sections, inflated (see [`ElfImage::inflated`]).
    inflated: std::sync::OnceLock<Inflated>,
    /// Where inflated sections are kept between runs (None: not kept).
    section_cache: Option<PathBuf>,
    has_dwarf: bool,
}

/// Why a file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: not a usable ELF file: {1}")]
    Parse(String, String),
}

/// The DWARF sections symbolization reads. Location lists (`.debug_loc`, `.debug_loclists`)
/// are left out: addr2line never evaluates variable locations, and in compressed debug files
/// they are a sixth of what would be inflated.
const DWARF_SECTIONS: &[gimli::SectionId] = &[
    gimli::SectionId::DebugAbbrev,
    gimli::SectionId::DebugAddr,
    gimli::SectionId::DebugAranges,
    gimli::SectionId::DebugInfo,
    gimli::SectionId::DebugLine,
    gimli::SectionId::DebugLineStr,
    gimli::SectionId::DebugRanges,
    gimli::SectionId::DebugRngLists,
    gimli::SectionId::DebugStr,
    gimli::SectionId::DebugStrOffsets,
    gimli::SectionId::DebugTypes,
];

/// Largest decompressed debug section accepted (4 GiB).
const MAX_SECTION: u64 = 1 << 32;

fn section_slot(id: gimli::SectionId) -> Option<usize> {
    DWARF_SECTIONS.iter().position(|&s| s == id)
}

impl ElfImage {
    /// Map and parse a file.
    pub fn open(path: &Path) -> Result<ElfImage, LoadError> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| LoadError::Io(shown.clone(), e))?;
        let map = Bytes::map(&file, &shown).map_err(|e| LoadError::Io(shown, e))?;
        Self::from_bytes(path.to_path_buf(), map)
    }

    /// Parse bytes already in memory (vdso image, tests).
    pub fn from_bytes(path: PathBuf, data: Bytes) -> Result<ElfImage, LoadError> {
        let shown = path.display().to_string();
        let perr = |e: object::Error| LoadError::Parse(shown.clone(), e.to_string());
        let base = data.as_ptr() as usize;
        let (
            build_id,
            debuglink,
            altlink,
            little_endian,
            segments,
            symbols,
            text_sections,
            has_code,
            sections,
            has_dwarf,
        ) = {
            let obj = object::File::parse(&*data).map_err(perr)?;
            if obj.format() != object::BinaryFormat::Elf {
                return Err(LoadError::Parse(shown.clone(), "not ELF".into()));
            }
            let build_id = obj.build_id().ok().flatten().map(|b| b.to_vec());
            let altlink = obj
                .gnu_debugaltlink()
                .ok()
                .flatten()
                .map(|(n, id)| (String::from_utf8_lossy(n).into_owned(), id.to_vec()));
            let debuglink = obj
                .gnu_debuglink()
                .ok()
                .flatten()
                .map(|(n, crc)| (String::from_utf8_lossy(n).into_owned(), crc));
            let segments: Vec<Segment> = obj
                .segments()
                .map(|s| {
                    let (off, size) = s.file_range();
                    Segment {
                        vaddr: s.address(),
                        file_off: off,
                        filesz: size,
                    }
                })
                .collect();
            let mut symbols = Vec::new();
            let add_syms =
                |symbols: &mut Vec<Sym>, it: &mut dyn Iterator<Item = object::Symbol<'_, '_>>| {
                    let mut file = (0u32, 0u32);
                    for s in it {
                        if s.kind() == SymbolKind::File {
                            file = match s.name_bytes() {
                                Ok(n) if !n.is_empty() => {
                                    let off = (n.as_ptr() as usize).wrapping_sub(base);
                                    if off <= u32::MAX as usize {
                                        (off as u32, n.len() as u32)
                                    } else {
                                        (0, 0)
                                    }
                                }
                                _ => (0, 0),
                            };
                            continue;
                        }
                        if s.kind() != SymbolKind::Text || s.is_undefined() || s.address() == 0 {
                            continue;
                        }
                        let Ok(name) = s.name_bytes() else { continue };
                        if name.is_empty() {
                            continue;
                        }
                        let off = (name.as_ptr() as usize).wrapping_sub(base);
                        if off > u32::MAX as usize || name.len() > u32::MAX as usize {
                            continue;
                        }
                        symbols.push(Sym {
                            addr: s.address(),
                            size: s.size(),
                            name_off: off as u32,
                            name_len: name.len() as u32,
                            file: if s.is_local() { file } else { (0, 0) },
                        });
                    }
                };
            add_syms(&mut symbols, &mut obj.symbols());
            if symbols.is_empty() {
                add_syms(&mut symbols, &mut obj.dynamic_symbols());
            }
            // Sorted by address; among aliases at one address the largest size wins.
            symbols.sort_by_key(|s| (s.addr, std::cmp::Reverse(s.size)));
            symbols.dedup_by_key(|s| s.addr);
            // Executable sections, including the NOBITS copies in separate debug files.
            let is_exec = |s: &object::Section<'_, '_>| match s.flags() {
                object::SectionFlags::Elf { sh_flags, .. } => {
                    sh_flags.0 & object::elf::SHF_EXECINSTR.0 != 0
                }
                _ => s.kind() == object::SectionKind::Text,
            };
            let mut text_sections: Vec<(u64, u64)> = obj
                .sections()
                .filter(|s| is_exec(s) && s.size() > 0)
                .map(|s| (s.address(), s.address() + s.size()))
                .collect();
            text_sections.sort_unstable();
            let has_code = obj
                .sections()
                .any(|s| s.kind() == object::SectionKind::Text && s.size() > 0);
            // Compressed sections are only located here; they are inflated when DWARF is
            // first asked for (symbol-table-only use never pays for it).
            let sections: Vec<SectionBytes> = DWARF_SECTIONS
                .iter()
                .map(|id| match obj.section_by_name(id.name()) {
                    Some(sec) if sec.kind() != object::SectionKind::UninitializedData => {
                        match sec.compressed_file_range() {
                            Ok(r) if r.format == object::CompressionFormat::None => {
                                match sec.file_range() {
                                    Some((o, l))
                                        if o.checked_add(l)
                                            .is_some_and(|e| e <= data.len() as u64) =>
                                    {
                                        SectionBytes::InFile(o as usize, l as usize)
                                    }
                                    _ => SectionBytes::Absent,
                                }
                            }
                            // A hostile header must not make us allocate without bound:
                            // real DWARF compresses well under 1:64.
                            Ok(r)
                                if r.uncompressed_size > MAX_SECTION
                                    || r.uncompressed_size
                                        > r.compressed_size.saturating_mul(64) + 4096 =>
                            {
                                SectionBytes::Absent
                            }
                            Ok(r)
                                if r.offset
                                    .checked_add(r.compressed_size)
                                    .is_some_and(|e| e <= data.len() as u64) =>
                            {
                                SectionBytes::Compressed(r)
                            }
                            _ => SectionBytes::Absent,
                        }
                    }
                    _ => SectionBytes::Absent,
                })
                .collect();
            let has_dwarf = match section_slot(gimli::SectionId::DebugInfo).map(|i| &sections[i]) {
                Some(SectionBytes::InFile(_, l)) => *l > 0,
                Some(SectionBytes::Compressed(r)) => r.uncompressed_size > 0,
                _ => false,
            };
            (
                build_id,
                debuglink,
                altlink,
                obj.is_little_endian(),
                segments,
                symbols,
                text_sections,
                has_code,
                sections,
                has_dwarf,
            )
        };
        Ok(ElfImage {
            path,
            data,
            build_id,
            debuglink,
            altlink,
            little_endian,
            segments,
            symbols,
            text_sections,
            has_code,
            sections,
            inflated: std::sync::OnceLock::new(),
            section_cache: None,
            has_dwarf,
        })
    }

    /// The compressed DWARF sections, inflated once: mapped from the section cache when it
    /// has them (see [`super::section_cache`]), else inflated in parallel (a distribution's
    /// debug file holds several MB of zlib per section) and stored there for later runs.
    fn inflated(&self) -> &Inflated {
        self.inflated.get_or_init(|| {
            let compressed: Vec<(usize, u64)> = self
                .sections
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match s {
                    SectionBytes::Compressed(r) => Some((i, r.uncompressed_size)),
                    _ => None,
                })
                .collect();
            let cache = match (&self.section_cache, &self.build_id, compressed.is_empty()) {
                (Some(dir), Some(id), false) => Some((
                    dir,
                    super::section_cache::Source {
                        build_id: id,
                        len: self.data.len() as u64,
                    },
                )),
                _ => None,
            };
            if let Some((dir, src)) = &cache {
                if let Some(c) =
                    super::section_cache::load(dir, src, self.sections.len(), &compressed)
                {
                    return Inflated::Cached(c);
                }
            }
            use rayon::prelude::*;
            let data: &[u8] = &self.data;
            let owned: Vec<Option<Vec<u8>>> = self
                .sections
                .par_iter()
                .map(|s| match s {
                    SectionBytes::Compressed(r) => inflate(data, r),
                    _ => None,
                })
                .collect();
            // Only a complete set is worth keeping (a section that failed to inflate is
            // retried next time rather than remembered as missing).
            let complete = compressed.iter().all(|&(i, _)| owned[i].is_some());
            if let (Some((dir, src)), true) = (&cache, complete) {
                let slots: Vec<Option<&[u8]>> = owned.iter().map(|o| o.as_deref()).collect();
                super::section_cache::store(dir, src, &slots);
            }
            Inflated::Owned(owned)
        })
    }

    /// Keep inflated compressed sections in this folder between runs (see
    /// [`super::section_cache`]); None (the default) inflates them every time.
    pub fn set_section_cache(&mut self, dir: Option<PathBuf>) {
        self.section_cache = dir;
    }

    /// The cache folder set with [`ElfImage::set_section_cache`].
    pub fn section_cache(&self) -> Option<&Path> {
        self.section_cache.as_deref()
    }

    /// The file's size in bytes.
    pub fn file_len(&self) -> u64 {
        self.data.len() as u64
    }

    /// True when the file carries `.debug_info`.
    pub fn has_dwarf(&self) -> bool {
        self.has_dwarf
    }

    /// True when the file holds code (false for separate debug files: their `.text` is
    /// NOBITS and their PT_LOAD entries have zeroed file offsets).
    pub fn has_loadable_bytes(&self) -> bool {
        self.has_code
    }

    /// Number of function symbols.
    pub fn symbol_count(&self) -> usize {
        self.symbols.len()
    }

    /// True when the file has a usable symbol table.
    pub fn has_symbols(&self) -> bool {
        !self.symbols.is_empty()
    }

    /// Virtual address (as in DWARF and the symbol table) of a file offset, via PT_LOAD.
    pub fn vaddr_of_offset(&self, off: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|s| off >= s.file_off && off - s.file_off < s.filesz.max(1))
            .map(|s| off - s.file_off + s.vaddr)
    }

    /// The source file the symbol table gives for the function symbol at `vaddr` (from the
    /// `STT_FILE` entry preceding a local symbol), as binutils reports without line info.
    pub fn symbol_file_at(&self, vaddr: u64) -> Option<&str> {
        let (_, addr) = self.symbol_at(vaddr)?;
        let i = self.symbols.partition_point(|s| s.addr < addr);
        let (o, l) = self.symbols.get(i)?.file;
        if l == 0 {
            return None;
        }
        std::str::from_utf8(self.data.get(o as usize..(o + l) as usize)?).ok()
    }

    /// The function symbol for `vaddr`: its (raw) name and start address. Like binutils, the
    /// nearest symbol at or below the address in the same executable section (so alignment
    /// padding after a function still names it, and PLT stubs don't borrow `_init`).
    pub fn symbol_at(&self, vaddr: u64) -> Option<(&str, u64)> {
        let i = self.symbols.partition_point(|s| s.addr <= vaddr);
        let s = self.symbols.get(i.checked_sub(1)?)?;
        let inside = s.size != 0 && vaddr - s.addr < s.size;
        // Past the end of a sized symbol: alignment padding names it (as binutils does), but
        // a larger gap is code the table does not cover (e.g. a stripped `.dynsym`).
        if s.size != 0 && !inside && vaddr - s.addr - s.size >= 64 {
            return None;
        }
        if !inside {
            let j = self.text_sections.partition_point(|t| t.0 <= vaddr);
            let (lo, hi) = *self.text_sections.get(j.checked_sub(1)?)?;
            if vaddr >= hi || s.addr < lo {
                return None;
            }
        }
        let bytes = self
            .data
            .get(s.name_off as usize..(s.name_off as usize + s.name_len as usize))?;
        Some((std::str::from_utf8(bytes).ok()?, s.addr))
    }

    fn section(&self, id: gimli::SectionId) -> &[u8] {
        let Some(slot) = section_slot(id) else {
            return &[];
        };
        match &self.sections[slot] {
            SectionBytes::InFile(o, l) => &self.data[*o..*o + *l],
            SectionBytes::Compressed(_) => self.inflated().get(slot).unwrap_or(&[]),
            SectionBytes::Absent => &[],
        }
    }

    /// The DWARF sections as a gimli [`gimli::Dwarf`] borrowing from this image.
    pub fn dwarf(&self) -> gimli::Dwarf<gimli::EndianSlice<'_, gimli::RunTimeEndian>> {
        let endian = if self.little_endian {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        };
        let load = |id: gimli::SectionId| -> Result<_, std::convert::Infallible> {
            Ok(gimli::EndianSlice::new(self.section(id), endian))
        };
        match gimli::Dwarf::load(load) {
            Ok(d) => d,
            Err(never) => match never {},
        }
    }
}

/// One compressed section's bytes. zlib (what `gcc -gz` and distributions' debug files use)
/// goes through libdeflate, which inflates a buffer of known size several times faster than
/// a streaming inflater; zstd through `object`.
fn inflate(data: &[u8], r: &object::CompressedFileRange) -> Option<Vec<u8>> {
    if r.format != object::CompressionFormat::Zlib {
        return r.data(data).ok()?.decompress().ok().map(|c| c.into_owned());
    }
    let start = usize::try_from(r.offset).ok()?;
    let input = data.get(start..start.checked_add(usize::try_from(r.compressed_size).ok()?)?)?;
    let mut out = vec![0u8; usize::try_from(r.uncompressed_size).ok()?];
    let n = libdeflater::Decompressor::new()
        .zlib_decompress(input, &mut out)
        .ok()?;
    (n == out.len()).then_some(out)
}

/// Lower-case hex of a build id.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
