//! The [`Symbolizer`]: finds each binary (recorded path, `--symfs`-style search paths, build-id
//! caches, separate debug files, the vdso), loads it once into a cache, and turns many file
//! offsets of one module into frames in parallel (rayon), with the DWARF index
//! ([`super::dwarf`]) and the ELF symbol table where DWARF is missing.

use super::demangle::{demangle, strip_rust_hash};
use super::dwarf::DwarfIndex;
use super::elf::{hex, Bytes, ElfImage};
use super::{Kallsyms, SymbolizerOptions};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Most addresses looked up as one job (see `symbolize_opt`).
const MAX_GROUP: usize = 256;

/// One source frame, innermost first in a lookup result.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    /// Demangled display name (Rust hash suffix removed).
    pub function: String,
    /// The raw (mangled) name, or the display name when there is none.
    pub system_name: String,
    pub file: Option<String>,
    /// 0 when unknown.
    pub line: u32,
    pub column: u32,
}

/// A binary ready for lookups: the object whose program headers map offsets, and the file
/// carrying its DWARF (itself, or a separate debug file).
pub struct Module {
    /// The DWARF lookup index (see [`DwarfIndex`]), built on first use or ahead of time
    /// ([`Module::warm`]); None without DWARF. It borrows from the images below, so it is
    /// declared first (dropped before them).
    index: OnceLock<Option<DwarfIndex<'static>>>,
    // Private: the index borrows from these images, so they must never be replaced (a
    // public field could be, through `Arc::get_mut`).
    image: Arc<ElfImage>,
    debug: Option<Arc<ElfImage>>,
    /// The dwz supplementary file the debug info refers to (`.gnu_debugaltlink`).
    sup: Option<Arc<ElfImage>>,
    /// Use the DWARF (inline frames, file:line); false: symbol tables only.
    use_dwarf: bool,
    /// With DWARF: file:line from the line tables too ([`SymbolizerOptions::line_info`]).
    use_lines: bool,
}

/// Why a module could not be used; becomes a data-quality note.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Unavailable {
    /// No file at the recorded path or any search location.
    Missing,
    /// Files were found but their build id differs from the recorded one.
    BuildIdMismatch { found: String, recorded: String },
    /// A file was found but could not be parsed.
    Unreadable(String),
}

impl Module {
    fn new(
        image: Arc<ElfImage>,
        debug: Option<Arc<ElfImage>>,
        sup: Option<Arc<ElfImage>>,
        use_dwarf: bool,
        use_lines: bool,
    ) -> Self {
        Module {
            index: OnceLock::new(),
            image,
            debug,
            sup,
            use_dwarf,
            use_lines,
        }
    }

    /// The DWARF index over the debug image, built once (None without DWARF). Concurrent
    /// callers wait for the one build. (Building it runs a parallel iterator inside the
    /// `OnceLock`; that is safe because no job that could be stolen meanwhile asks for this
    /// module's index: lookups for a module are queued only after it returns.)
    fn index(&self) -> Option<&DwarfIndex<'static>> {
        self.index
            .get_or_init(|| {
                let d = self
                    .debug
                    .as_ref()
                    .filter(|d| self.use_dwarf && d.has_dwarf())?;
                // SAFETY: an `ElfImage` never changes or moves its bytes (a file mapping or
                // heap buffers it owns, behind an `Arc`), and this module holds `debug` and
                // `sup` for its whole life. The index lives in `self.index`, dropped before
                // those fields, and lookups hand out borrows of `&self` only, so the slices
                // never outlive the images.
                let d: &'static ElfImage = unsafe { &*Arc::as_ptr(d) };
                let t0 = std::time::Instant::now();
                let mut dwarf = d.dwarf();
                if let Some(sup) = &self.sup {
                    // SAFETY: as above.
                    let sup: &'static ElfImage = unsafe { &*Arc::as_ptr(sup) };
                    dwarf.set_sup(sup.dwarf());
                }
                let mut index = DwarfIndex::new(dwarf).ok();
                if let (Some(index), Some(dir), Some(id)) =
                    (index.as_mut(), d.section_cache(), d.build_id.as_deref())
                {
                    index.keep_ranges_in(dir, id, d.file_len());
                }
                crate::timing::report(format_args!("  index {}", d.path.display()), t0);
                index
            })
            .as_ref()
    }

    /// Build the DWARF index now (the first part of [`Module::warm`]).
    pub fn index_now(&self) {
        let _ = self.index();
    }

    /// Do the per-module setup of lookups ahead of time (index the DWARF), e.g. while a
    /// recorded command still runs.
    pub fn warm(&self) {
        if let Some(index) = self.index() {
            index.warm();
        }
    }

    /// The object whose program headers map file offsets (the binary itself).
    pub fn image(&self) -> &ElfImage {
        &self.image
    }

    /// True when the module has DWARF or a symbol table.
    pub fn has_functions(&self) -> bool {
        self.image.has_symbols() || self.debug.as_ref().is_some_and(|d| d.has_symbols())
    }
    pub fn has_lines(&self) -> bool {
        self.use_dwarf && self.debug.as_ref().is_some_and(|d| d.has_dwarf())
    }

    /// Symbolize file offsets (sorted or not). Result `i` belongs to `offsets[i]`; an empty
    /// vector means unresolved.
    pub fn symbolize_offsets(&self, offsets: &[u64]) -> Vec<Vec<Frame>> {
        let vaddrs: Vec<Option<u64>> = offsets
            .iter()
            .map(|&o| self.image.vaddr_of_offset(o))
            .collect();
        self.symbolize_opt(&vaddrs)
    }

    /// Symbolize virtual addresses as they appear in the ELF (what binutils `addr2line` takes).
    pub fn symbolize_vaddrs(&self, vaddrs: &[u64]) -> Vec<Vec<Frame>> {
        let v: Vec<Option<u64>> = vaddrs.iter().map(|&a| Some(a)).collect();
        self.symbolize_opt(&v)
    }

    fn symbolize_opt(&self, vaddrs: &[Option<u64>]) -> Vec<Vec<Frame>> {
        // Distinct addresses in order, so neighbouring lookups share compilation units; the
        // index is shared by all threads and parses each unit once.
        let mut unique: Vec<u64> = vaddrs.iter().flatten().copied().collect();
        unique.sort_unstable();
        unique.dedup();
        let index = self.index();
        // Grouped by compilation unit, so each unit is parsed by one thread while the others
        // work on other units (rather than waiting for it). Addresses no unit declares come
        // first (key 0): they need the ranges of the units that declare none, several ms to
        // compute on one thread, better started at once than after every other group.
        let mut order: Vec<(usize, usize)> = unique
            .iter()
            .enumerate()
            .map(|(i, &a)| (index.and_then(|x| x.unit_of(a)).map_or(0, |u| u + 1), i))
            .collect();
        order.sort_unstable();
        // A very large group (one huge unit, or every address when there is no DWARF) is
        // split so it still spreads over the threads.
        let groups: Vec<&[(usize, usize)]> = order
            .chunk_by(|a, b| a.0 == b.0)
            .flat_map(|g| g.chunks(MAX_GROUP))
            .collect();
        let mut frames: Vec<Vec<Frame>> = vec![Vec::new(); unique.len()];
        let found: Vec<Vec<(usize, Vec<Frame>)>> = groups
            .par_iter()
            .map(|g| {
                g.iter()
                    .map({
                        // Demangled DWARF names, per group: the addresses of a unit repeat
                        // the same functions (and their inline callers) many times.
                        let mut names = rustc_hash::FxHashMap::default();
                        let unique = &unique;
                        move |&(_, i)| (i, self.lookup(index, unique[i], &mut names))
                    })
                    .collect()
            })
            .collect();
        for (i, f) in found.into_iter().flatten() {
            frames[i] = f;
        }
        // Moved out when every address is asked once (the usual case: callers pass distinct
        // offsets); copying thousands of frames was milliseconds on one thread.
        let distinct = vaddrs.iter().flatten().count() == unique.len();
        vaddrs
            .iter()
            .map(|a| match a {
                Some(a) => unique
                    .binary_search(a)
                    .map(|i| {
                        if distinct {
                            std::mem::take(&mut frames[i])
                        } else {
                            frames[i].clone()
                        }
                    })
                    .unwrap_or_default(),
                None => Vec::new(),
            })
            .collect()
    }

    /// The image with the fuller symbol table first (a stripped library keeps only `.dynsym`;
    /// its debug file has the full `.symtab`).
    fn symbol_sources(&self) -> [Option<&ElfImage>; 2] {
        let img = Some(&*self.image);
        match self.debug.as_deref() {
            Some(d) if d.symbol_count() > self.image.symbol_count() => [Some(d), img],
            Some(d) => [img, Some(d)],
            None => [img, None],
        }
    }

    fn symtab_name(&self, vaddr: u64) -> Option<&str> {
        self.symbol_sources()
            .into_iter()
            .flatten()
            .find_map(|i| i.symbol_at(vaddr))
            .map(|(n, _)| n)
    }

    fn symtab_file(&self, vaddr: u64) -> Option<&str> {
        self.symbol_sources()
            .into_iter()
            .flatten()
            .find_map(|i| i.symbol_file_at(vaddr))
    }

    fn lookup<'d>(
        &self,
        index: Option<&'d DwarfIndex<'_>>,
        vaddr: u64,
        names: &mut DemangledNames<'d>,
    ) -> Vec<Frame> {
        let mut frames = Vec::new();
        if let Some(index) = index {
            for f in index.find_frames(vaddr, self.use_lines) {
                let (function, system_name) = match f.name {
                    Some(raw) => names
                        .entry((raw, f.language))
                        .or_insert_with(|| {
                            let raw = String::from_utf8_lossy(raw);
                            (demangle(&raw, f.language), raw.into_owned())
                        })
                        .clone(),
                    None => (String::new(), String::new()),
                };
                frames.push(Frame {
                    function,
                    system_name,
                    file: f.file.map(str::to_string),
                    line: f.line,
                    column: f.column,
                });
            }
        }
        // A frame DWARF could not name (or no DWARF at all): the symbol table names it.
        if frames.is_empty() {
            if let Some(raw) = self.symtab_name(vaddr) {
                let file = self.symtab_file(vaddr);
                frames.push(Frame {
                    function: demangle(raw, None),
                    system_name: raw.to_string(),
                    file: file.map(str::to_string),
                    line: 0,
                    column: 0,
                });
            }
        } else if frames.iter().any(|f| f.function.is_empty()) {
            let sym = self
                .symtab_name(vaddr)
                .map(|raw| (demangle(raw, None), raw));
            for f in frames.iter_mut().filter(|f| f.function.is_empty()) {
                if let Some((d, raw)) = &sym {
                    f.function = d.clone();
                    f.system_name = raw.to_string();
                } else {
                    f.function = crate::model::UNKNOWN.to_string();
                    f.system_name = f.function.clone();
                }
            }
        }
        // The outermost frame of a function DWARF names without a linkage name (C++ statics,
        // anonymous namespaces): the symbol table has the qualified, typed name binutils shows.
        if let Some(outer) = frames.last_mut() {
            if !outer.system_name.is_empty() && !outer.system_name.starts_with("_Z") {
                if let Some(raw) = self.symtab_name(vaddr).filter(|r| r.starts_with("_Z")) {
                    let d = demangle(raw, None);
                    if base_name(&d) == outer.function {
                        outer.function = d;
                        outer.system_name = raw.to_string();
                    }
                }
            }
        }
        for f in &mut frames {
            let s = strip_rust_hash(&f.function);
            if s.len() != f.function.len() {
                f.function.truncate(s.len());
            }
        }
        frames
    }
}

/// Demangled names by raw name and language: (display name, raw name).
type DemangledNames<'d> =
    rustc_hash::FxHashMap<(&'d [u8], Option<gimli::DwLang>), (String, String)>;

/// `ns::f<int>(int)` → `f`: the unqualified name DWARF's DW_AT_name carries.
fn base_name(demangled: &str) -> &str {
    let mut depth = 0i32;
    let mut end = demangled.len();
    for (i, c) in demangled.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            '(' if depth == 0 => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let head = &demangled[..end];
    let head = head.rsplit("::").next().unwrap_or(head);
    head.split('<')
        .next()
        .unwrap_or(head)
        .rsplit(' ')
        .next()
        .unwrap_or(head)
}

/// Identity of a binary as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModuleKey {
    pub path: String,
    pub build_id: Option<Vec<u8>>,
}

type Loaded = Result<Arc<Module>, Unavailable>;

/// Loads binaries once and keeps them; see the module docs.
pub struct Symbolizer {
    opts: SymbolizerOptions,
    /// One cell per binary: a second caller (a prefetch thread and the symbolizer, say)
    /// waits for the first one's load instead of repeating it.
    cache: Mutex<FxHashMap<ModuleKey, Arc<std::sync::OnceLock<Loaded>>>>,
    kallsyms: std::sync::OnceLock<Result<Arc<Kallsyms>, String>>,
}

impl Symbolizer {
    pub fn new(opts: SymbolizerOptions) -> Self {
        Symbolizer {
            opts,
            cache: Mutex::new(FxHashMap::default()),
            kallsyms: std::sync::OnceLock::new(),
        }
    }

    /// Map and parse a file, with the options' section cache.
    fn open(&self, path: &Path) -> Result<ElfImage, super::elf::LoadError> {
        let mut image = ElfImage::open(path)?;
        image.set_section_cache(self.opts.section_cache.clone());
        Ok(image)
    }

    /// The options this symbolizer was made with.
    pub fn options(&self) -> &SymbolizerOptions {
        &self.opts
    }

    /// Kernel symbols from the options' kallsyms file, read once (None when none is set).
    pub fn kallsyms(&self) -> Option<Result<Arc<Kallsyms>, String>> {
        let path = self.opts.kallsyms.as_ref()?;
        Some(
            self.kallsyms
                .get_or_init(|| {
                    Kallsyms::load_cached(path, self.opts.section_cache.as_deref()).map(Arc::new)
                })
                .clone(),
        )
    }

    /// The module for a recorded path and build id, loading it on first use.
    pub fn module(&self, key: &ModuleKey) -> Result<Arc<Module>, Unavailable> {
        let cell = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        cell.get_or_init(|| self.load(key).map(Arc::new)).clone()
    }

    fn load(&self, key: &ModuleKey) -> Result<Module, Unavailable> {
        let mut mismatch = None;
        let mut unreadable = None;
        let mut image = None;
        for cand in self.binary_candidates(key) {
            let img = if cand == Path::new("[vdso]") {
                match own_vdso() {
                    Some(i) => i,
                    None => continue,
                }
            } else {
                if !cand.is_file() {
                    continue;
                }
                match self.open(&cand) {
                    Ok(i) => i,
                    Err(e) => {
                        unreadable.get_or_insert(e.to_string());
                        continue;
                    }
                }
            };
            if !img.has_loadable_bytes() {
                // A `--only-keep-debug` file: no code, PT_LOAD offsets zeroed. Not a binary.
                continue;
            }
            if let (Some(want), Some(have)) = (&key.build_id, &img.build_id) {
                if !build_ids_match(want, have) {
                    mismatch.get_or_insert(Unavailable::BuildIdMismatch {
                        found: hex(have),
                        recorded: hex(want),
                    });
                    continue;
                }
            }
            image = Some(Arc::new(img));
            break;
        }
        let Some(image) = image else {
            return Err(mismatch
                .or(unreadable.map(Unavailable::Unreadable))
                .unwrap_or(Unavailable::Missing));
        };
        let debug = if image.has_dwarf() {
            Some(image.clone())
        } else {
            self.find_debug_file(&image)
                .map(Arc::new)
                .or(Some(image.clone()))
        };
        let sup = debug
            .as_ref()
            .filter(|_| self.opts.debug_info)
            .and_then(|d| self.find_sup_file(d))
            .map(Arc::new);
        Ok(Module::new(
            image,
            debug,
            sup,
            self.opts.debug_info,
            self.opts.line_info,
        ))
    }

    /// Where the binary itself may be, in order of preference.
    fn binary_candidates(&self, key: &ModuleKey) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let rel = key.path.trim_start_matches('/');
        let base = Path::new(&key.path).file_name().map(PathBuf::from);
        let bid = key.build_id.as_deref().map(hex).filter(|h| h.len() > 2);
        for dir in &self.opts.search_paths {
            if !rel.is_empty() {
                out.push(dir.join(rel));
            }
            if let Some(b) = &base {
                out.push(dir.join(b));
            }
            if let Some(h) = &bid {
                // perf's build-id cache layout: .build-id/xx/rest/elf (or a plain file).
                let d = dir.join(".build-id").join(&h[..2]).join(&h[2..]);
                out.push(d.join("elf"));
                out.push(d);
            }
        }
        if let Some(h) = &bid {
            if let Some(home) = home_dir() {
                let d = home.join(".debug/.build-id").join(&h[..2]).join(&h[2..]);
                out.push(d.join("elf"));
            }
        }
        if key.path == "[vdso]" {
            out.push(PathBuf::from("[vdso]"));
        } else if key.path.starts_with('/') {
            out.push(PathBuf::from(&key.path));
        }
        out
    }

    /// The dwz supplementary file named by `.gnu_debugaltlink`: the recorded path (absolute,
    /// or relative to the debug file), then by its build id under the debug roots.
    fn find_sup_file(&self, debug: &ElfImage) -> Option<ElfImage> {
        let (name, id) = debug.altlink.as_ref()?;
        let mut cands = Vec::new();
        let p = Path::new(name);
        if p.is_absolute() {
            for dir in &self.opts.search_paths {
                cands.push(dir.join(p.strip_prefix("/").unwrap_or(p)));
            }
            cands.push(p.to_path_buf());
        } else if let Some(dir) = debug.path.parent() {
            cands.push(dir.join(p));
        }
        let h = hex(id);
        if h.len() > 2 {
            for r in self
                .opts
                .search_paths
                .iter()
                .cloned()
                .chain([PathBuf::from("/usr/lib/debug")])
            {
                cands.push(
                    r.join(".build-id")
                        .join(&h[..2])
                        .join(format!("{}.debug", &h[2..])),
                );
            }
        }
        cands
            .into_iter()
            .filter(|c| c.is_file())
            .filter_map(|c| self.open(&c).ok())
            .find(|s| s.build_id.as_deref() == Some(id.as_slice()) || id.is_empty())
    }

    /// A separate debug file for `image`: by build id, then by `.gnu_debuglink`.
    fn find_debug_file(&self, image: &ElfImage) -> Option<ElfImage> {
        let mut cands = Vec::new();
        let mut roots: Vec<PathBuf> = self
            .opts
            .search_paths
            .iter()
            .flat_map(|d| [d.clone(), d.join("usr/lib/debug")])
            .collect();
        roots.push(PathBuf::from("/usr/lib/debug"));
        if let Some(h) = image.build_id.as_deref().map(hex).filter(|h| h.len() > 2) {
            for r in &roots {
                cands.push(
                    r.join(".build-id")
                        .join(&h[..2])
                        .join(format!("{}.debug", &h[2..])),
                );
            }
            if let Some(home) = home_dir() {
                cands.push(
                    home.join(".debug/.build-id")
                        .join(&h[..2])
                        .join(&h[2..])
                        .join("debug"),
                );
            }
        }
        if let Some((name, _crc)) = &image.debuglink {
            if let Some(dir) = image.path.parent() {
                cands.push(dir.join(name));
                cands.push(dir.join(".debug").join(name));
                let rel = dir.strip_prefix("/").unwrap_or(dir);
                for r in &roots {
                    cands.push(r.join(rel).join(name));
                }
            }
        }
        for c in cands {
            if c == image.path || !c.is_file() {
                continue;
            }
            let Ok(d) = self.open(&c) else { continue };
            if !d.has_dwarf() {
                continue;
            }
            if let (Some(a), Some(b)) = (&image.build_id, &d.build_id) {
                if a != b {
                    continue;
                }
            }
            return Some(d);
        }
        None
    }
}

/// perf pads build ids to 20 bytes with zeros; compare on the shorter length.
fn build_ids_match(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    n > 0 && a[..n] == b[..n] && a[n..].iter().chain(&b[n..]).all(|&x| x == 0)
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// profdiff's own vdso image, read from memory: the same kernel's vdso as that of the
/// processes profiled on this machine (their build ids are checked by the caller).
fn own_vdso() -> Option<ElfImage> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getauxval has no preconditions.
        let base = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) } as usize;
        if base == 0 {
            return None;
        }
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let line = maps.lines().find(|l| l.ends_with("[vdso]"))?;
        let range = line.split_whitespace().next()?;
        let (s, e) = range.split_once('-')?;
        let (s, e) = (
            usize::from_str_radix(s, 16).ok()?,
            usize::from_str_radix(e, 16).ok()?,
        );
        if s != base || e <= s || e - s > 1 << 24 {
            return None;
        }
        // SAFETY: [s, e) is the vdso mapping of this process, readable for its lifetime.
        let bytes = unsafe { std::slice::from_raw_parts(s as *const u8, e - s) }.to_vec();
        ElfImage::from_bytes(PathBuf::from("[vdso]"), Bytes::Owned(bytes)).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}
