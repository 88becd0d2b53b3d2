//! DWARF call-frame unwinding of sampled user stacks (x86_64), shared by `profdiff record
//! --call-graph dwarf` and perf.data ingest of `perf record --call-graph dwarf` files.
//!
//! A DWARF-mode sample carries the user registers at the interrupt and a copy of the top of the
//! user stack (bytes starting at `sp`). Release binaries without frame pointers (Rust release,
//! C `-O2`, Debian's libc) can only be walked with the binaries' call-frame information
//! (`.eh_frame` + `.eh_frame_hdr`, or `.debug_frame`). The rules are evaluated by framehop.
//!
//! Design:
//! - [`ModuleCache`] loads each binary's unwind sections once per (path, build id) and shares
//!   them (`Arc<[u8]>`) between processes and threads. Binaries are looked up at their recorded
//!   path, under `--symfs` style search folders (path appended, then file name), and by build id
//!   (`~/.debug/.build-id`, `/usr/lib/debug/.build-id`); a file whose build id differs from the
//!   recorded one is rejected, as perf does. The kernel's vDSO is read from our own process
//!   image (it is the same image for every process of the running kernel).
//! - [`ProcessUnwinder`] registers a process's mapped modules with framehop by their mapped
//!   addresses; it is cheap to clone (one per worker thread) and carries its own rule cache.
//! - [`ProcessUnwinder::unwind`] yields user frames leaf first: the sampled `ip` first, then
//!   return addresses, plus whether the walk stopped before reaching the outermost frame.

use crate::record::raw::{MappedRegion, ProcessMaps};
use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{ExplicitModuleSectionInfo, FrameAddress, Module, Unwinder};
use object::{Object, ObjectSection, ObjectSegment};
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Section bytes shared between every process that maps the same binary.
pub type SectionData = Arc<[u8]>;

/// Default limit of frames per stack (deeper stacks are cut and flagged truncated).
pub const DEFAULT_MAX_FRAMES: usize = 1024;

/// x86_64 user registers needed to start an unwind (perf register numbers 8, 7, 6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserRegs {
    pub ip: u64,
    pub sp: u64,
    pub bp: u64,
}

/// perf_event register numbers (arch/x86/include/uapi/asm/perf_regs.h).
pub mod perf_regs {
    pub const BP: u64 = 6;
    pub const SP: u64 = 7;
    pub const IP: u64 = 8;
    /// `sample_regs_user` mask for the registers the unwinder needs.
    pub const UNWIND_MASK: u64 = (1 << BP) | (1 << SP) | (1 << IP);
}

/// The outcome of one unwind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unwound {
    /// User frames, leaf first: the instruction pointer, then return addresses.
    pub frames: Vec<u64>,
    /// The walk stopped before the outermost frame (stack copy exhausted, missing unwind
    /// information, corrupt stack, depth limit).
    pub truncated: bool,
}

/// Unwind information of one binary, as stated in the file (SVMAs).
pub struct ModuleUnwindInfo {
    /// The file the sections were read from (may differ from the recorded path).
    pub file: PathBuf,
    /// Build id of the file, when it has one.
    pub build_id: Option<Vec<u8>>,
    /// PT_LOAD segments: (file offset, file size, virtual address), to place a mapping.
    segments: Vec<(u64, u64, u64)>,
    text_svma: Option<std::ops::Range<u64>>,
    got_svma: Option<std::ops::Range<u64>>,
    eh_frame_svma: Option<std::ops::Range<u64>>,
    eh_frame: Option<SectionData>,
    eh_frame_hdr_svma: Option<std::ops::Range<u64>>,
    eh_frame_hdr: Option<SectionData>,
    debug_frame: Option<SectionData>,
}

impl ModuleUnwindInfo {
    /// Read the unwind sections of an ELF image.
    pub fn from_elf(data: &[u8], file: PathBuf) -> Result<Self, String> {
        let obj = object::File::parse(data).map_err(|e| format!("not an object file: {e}"))?;
        let section = |name: &str| -> (Option<std::ops::Range<u64>>, Option<SectionData>) {
            match obj.section_by_name(name) {
                Some(s) => {
                    let range = s.address()..s.address() + s.size();
                    let bytes = s
                        .uncompressed_data()
                        .ok()
                        .filter(|d| !d.is_empty())
                        .map(|d| SectionData::from(&d[..]));
                    (Some(range), bytes)
                }
                None => (None, None),
            }
        };
        let text_svma = obj
            .section_by_name(".text")
            .map(|s| s.address()..s.address() + s.size());
        let got_svma = obj
            .section_by_name(".got")
            .map(|s| s.address()..s.address() + s.size());
        let (eh_frame_svma, eh_frame) = section(".eh_frame");
        let (eh_frame_hdr_svma, eh_frame_hdr) = section(".eh_frame_hdr");
        let (_, debug_frame) = section(".debug_frame");
        let segments = obj
            .segments()
            .map(|s| {
                let (off, size) = s.file_range();
                (off, size, s.address())
            })
            .collect();
        Ok(ModuleUnwindInfo {
            file,
            build_id: obj.build_id().ok().flatten().map(|b| b.to_vec()),
            segments,
            text_svma,
            got_svma,
            eh_frame_svma,
            eh_frame,
            eh_frame_hdr_svma,
            eh_frame_hdr,
            debug_frame,
        })
    }

    /// True when the binary has call-frame information at all.
    pub fn has_cfi(&self) -> bool {
        self.eh_frame.is_some() || self.debug_frame.is_some()
    }

    /// The process address of the binary's virtual address 0 when `region` maps it: the file
    /// offset of `region.start` is `region.file_offset`, which sits in some PT_LOAD segment.
    pub fn base_avma(&self, region: &MappedRegion) -> u64 {
        let off = region.file_offset;
        let len = region.end.saturating_sub(region.start);
        // The PT_LOAD segment this mapping shows most of. Two segments can share the boundary
        // page (a read-only one ending and the executable one starting in it), so "contains
        // the offset" is not enough.
        let seg = self
            .segments
            .iter()
            .filter(|&&(o, s, _)| o < off.saturating_add(len) && o.saturating_add(s) > off)
            .max_by_key(|&&(o, s, _)| {
                o.saturating_add(s).min(off.saturating_add(len)) - o.max(off)
            });
        match seg {
            Some(&(o, _, vaddr)) => region
                .start
                .wrapping_sub(off.wrapping_sub(o).wrapping_add(vaddr)),
            // No segment information: assume the file is mapped linearly from offset 0.
            None => region.start.wrapping_sub(off),
        }
    }

    fn framehop_module(&self, region: &MappedRegion) -> Module<SectionData> {
        let info = ExplicitModuleSectionInfo {
            base_svma: 0,
            text_svma: self.text_svma.clone(),
            got_svma: self.got_svma.clone(),
            eh_frame_svma: self.eh_frame_svma.clone(),
            eh_frame: self.eh_frame.clone(),
            eh_frame_hdr_svma: self.eh_frame_hdr_svma.clone(),
            eh_frame_hdr: self.eh_frame_hdr.clone(),
            debug_frame: self.debug_frame.clone(),
            ..Default::default()
        };
        Module::new(
            region.path.clone(),
            region.start..region.end,
            self.base_avma(region),
            info,
        )
    }
}

/// Why a module's unwind information is unavailable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleProblem {
    /// No file at the recorded path, in the search folders, or by build id.
    Missing,
    /// A file was found but its build id differs from the recorded one.
    BuildIdMismatch,
    /// The file could not be parsed.
    Unreadable(String),
}

type CacheKey = (String, Option<Vec<u8>>);

/// Where to look for binaries and how deep to unwind.
#[derive(Clone, Debug)]
pub struct UnwindOptions {
    /// Extra folders (`--symfs`): `DIR/<recorded path>` and `DIR/<file name>` are tried first.
    pub search_paths: Vec<PathBuf>,
    /// Frames per stack at most.
    pub max_frames: usize,
}

impl Default for UnwindOptions {
    fn default() -> Self {
        UnwindOptions {
            search_paths: Vec::new(),
            max_frames: DEFAULT_MAX_FRAMES,
        }
    }
}

/// Unwind information of every binary seen, loaded once per (path, build id). Thread-safe.
#[derive(Default)]
pub struct ModuleCache {
    opts: UnwindOptions,
    modules: Mutex<FxHashMap<CacheKey, Result<Arc<ModuleUnwindInfo>, ModuleProblem>>>,
}

impl ModuleCache {
    pub fn new(opts: UnwindOptions) -> Self {
        ModuleCache {
            opts,
            modules: Mutex::default(),
        }
    }

    pub fn options(&self) -> &UnwindOptions {
        &self.opts
    }

    /// The unwind information of a mapped file, loading it on first use.
    pub fn get(
        &self,
        path: &str,
        build_id: Option<&[u8]>,
    ) -> Result<Arc<ModuleUnwindInfo>, ModuleProblem> {
        let key = (path.to_string(), build_id.map(|b| b.to_vec()));
        if let Some(r) = self.modules.lock().unwrap().get(&key) {
            return r.clone();
        }
        // Load outside the lock: parsing a large binary must not stall other workers.
        let r = load_module(path, build_id, &self.opts.search_paths).map(Arc::new);
        self.modules.lock().unwrap().entry(key).or_insert(r).clone()
    }

    /// Problems met so far, per recorded path (for data-quality notes).
    pub fn problems(&self) -> Vec<(String, ModuleProblem)> {
        let mut v: Vec<_> = self
            .modules
            .lock()
            .unwrap()
            .iter()
            .filter_map(|((p, _), r)| r.as_ref().err().map(|e| (p.clone(), e.clone())))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

/// True for mappings that have no file behind them.
pub fn is_special_path(path: &str) -> bool {
    path.is_empty()
        || path.starts_with('[')
        || path.starts_with("//anon")
        || path.starts_with("/dev/zero")
        || path.starts_with("/memfd:")
        || path.starts_with("anon_inode:")
        || path.ends_with(" (deleted)")
}

/// Files a recorded path may be found at, best first.
pub fn candidate_paths(path: &str, build_id: Option<&[u8]>, search: &[PathBuf]) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let rel = path.trim_start_matches('/');
    for dir in search {
        v.push(dir.join(rel));
        if let Some(name) = Path::new(path).file_name() {
            v.push(dir.join(name));
        }
    }
    v.push(PathBuf::from(path));
    if let Some(id) = build_id.filter(|b| !b.is_empty()) {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        if let Some(home) = std::env::var_os("HOME") {
            v.push(
                PathBuf::from(home)
                    .join(".debug/.build-id")
                    .join(&hex[..2])
                    .join(&hex[2..])
                    .join("elf"),
            );
        }
        v.push(PathBuf::from(format!(
            "/usr/lib/debug/.build-id/{}/{}",
            &hex[..2],
            &hex[2..]
        )));
    }
    v
}

fn load_module(
    path: &str,
    build_id: Option<&[u8]>,
    search: &[PathBuf],
) -> Result<ModuleUnwindInfo, ModuleProblem> {
    if path == "[vdso]" {
        return vdso_image().ok_or(ModuleProblem::Missing).and_then(|img| {
            ModuleUnwindInfo::from_elf(img, PathBuf::from("[vdso]"))
                .map_err(ModuleProblem::Unreadable)
        });
    }
    if is_special_path(path) {
        return Err(ModuleProblem::Missing);
    }
    let want = build_id.filter(|b| !b.is_empty());
    let mut mismatch = false;
    for cand in candidate_paths(path, want, search) {
        let Ok(f) = std::fs::File::open(&cand) else {
            continue;
        };
        if !f.metadata().map(|m| m.is_file()).unwrap_or(false) {
            continue;
        }
        // Sections are copied out before it is dropped.
        let Ok(map) = crate::symbolize::elf::Bytes::map(&f, &cand.display().to_string()) else {
            continue;
        };
        let info = match ModuleUnwindInfo::from_elf(&map, cand.clone()) {
            Ok(i) => i,
            Err(e) => return Err(ModuleProblem::Unreadable(e)),
        };
        if let (Some(w), Some(have)) = (want, info.build_id.as_deref()) {
            // perf stores 20-byte ids zero-padded; compare the common prefix.
            let n = w.len().min(have.len());
            if w[..n] != have[..n] {
                mismatch = true;
                continue;
            }
        }
        // Separate debug files (build-id folders) may hold only .debug_frame; still useful.
        return Ok(info);
    }
    Err(if mismatch {
        ModuleProblem::BuildIdMismatch
    } else {
        ModuleProblem::Missing
    })
}

/// The vDSO image of this process (identical for every process of the running kernel).
fn vdso_image() -> Option<&'static [u8]> {
    // SAFETY: getauxval has no preconditions.
    let base = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) } as usize;
    if base == 0 {
        return None;
    }
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    for line in maps.lines() {
        if !line.ends_with("[vdso]") {
            continue;
        }
        let range = line.split_whitespace().next()?;
        let (a, b) = range.split_once('-')?;
        let start = usize::from_str_radix(a, 16).ok()?;
        let end = usize::from_str_radix(b, 16).ok()?;
        if start != base || end <= start {
            return None;
        }
        // SAFETY: the vDSO stays mapped, readable and unchanged for the life of the process.
        return Some(unsafe { std::slice::from_raw_parts(start as *const u8, end - start) });
    }
    None
}

/// A framehop unwinder for one process, with its modules registered by mapped address.
#[derive(Clone)]
pub struct ProcessUnwinder {
    unwinder: UnwinderX86_64<SectionData>,
    /// Starts of regions already registered.
    registered: FxHashMap<u64, u64>,
    max_frames: usize,
}

/// Per-thread rule cache (framehop's cache needs exclusive access).
pub struct UnwindCache(CacheX86_64);

impl Default for UnwindCache {
    fn default() -> Self {
        UnwindCache(CacheX86_64::new())
    }
}

impl ProcessUnwinder {
    pub fn new(max_frames: usize) -> Self {
        ProcessUnwinder {
            unwinder: UnwinderX86_64::new(),
            registered: FxHashMap::default(),
            max_frames,
        }
    }

    /// An unwinder with every file-backed region of `maps` registered.
    pub fn from_maps(maps: &ProcessMaps, modules: &ModuleCache) -> Self {
        let mut u = ProcessUnwinder::new(modules.options().max_frames);
        for r in maps.regions() {
            let _ = u.add_region(r, modules);
        }
        u
    }

    /// Register one mapped region (a later mapping at the same start replaces the earlier).
    /// Returns the problem when the region's binary has no usable unwind information.
    pub fn add_region(
        &mut self,
        r: &MappedRegion,
        modules: &ModuleCache,
    ) -> Result<(), ModuleProblem> {
        if self.registered.remove(&r.start).is_some() {
            self.unwinder.remove_module(r.start);
        }
        // Remove registered modules this region overlaps (mmap replaced them).
        let overlapped: Vec<u64> = self
            .registered
            .iter()
            .filter(|&(&s, &e)| s < r.end && e > r.start)
            .map(|(&s, _)| s)
            .collect();
        for s in overlapped {
            self.registered.remove(&s);
            self.unwinder.remove_module(s);
        }
        let info = modules.get(&r.path, r.build_id.as_deref())?;
        self.unwinder.add_module(info.framehop_module(r));
        self.registered.insert(r.start, r.end);
        Ok(())
    }

    /// Unwind one sample. `stack` holds the user stack bytes starting at `regs.sp`.
    pub fn unwind(&self, regs: UserRegs, stack: &[u8], cache: &mut UnwindCache, out: &mut Unwound) {
        out.frames.clear();
        out.truncated = false;
        if regs.ip == 0 {
            out.truncated = true;
            return;
        }
        let sp = regs.sp;
        let mut read_stack = |addr: u64| -> Result<u64, ()> {
            let off = addr.checked_sub(sp).ok_or(())? as usize;
            let bytes = stack.get(off..off.checked_add(8).ok_or(())?).ok_or(())?;
            Ok(u64::from_le_bytes(bytes.try_into().unwrap()))
        };
        let fregs = UnwindRegsX86_64::new(regs.ip, regs.sp, regs.bp);
        let mut iter = self
            .unwinder
            .iter_frames(regs.ip, fregs, &mut cache.0, &mut read_stack);
        loop {
            match iter.next() {
                Ok(Some(f)) => {
                    let a = match f {
                        FrameAddress::InstructionPointer(a) => a,
                        FrameAddress::ReturnAddress(a) => a.get(),
                    };
                    if out.frames.len() >= self.max_frames {
                        out.truncated = true;
                        break;
                    }
                    out.frames.push(a);
                }
                Ok(None) => break,
                Err(_) => {
                    out.truncated = true;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_paths_order() {
        let c = candidate_paths(
            "/usr/bin/prog",
            Some(&[0xab, 0xcd, 0xef]),
            &[PathBuf::from("/sym")],
        );
        assert_eq!(c[0], PathBuf::from("/sym/usr/bin/prog"));
        assert_eq!(c[1], PathBuf::from("/sym/prog"));
        assert_eq!(c[2], PathBuf::from("/usr/bin/prog"));
        assert!(c
            .iter()
            .any(|p| p == Path::new("/usr/lib/debug/.build-id/ab/cdef")));
    }

    #[test]
    fn base_address_uses_the_segment_the_mapping_shows() {
        // Layout of a real PIE (readelf -l): LOAD R at off 0 / vaddr 0 size 0x82ae8, LOAD R E
        // at off 0x82af0 / vaddr 0x83af0. The executable mapping starts at page offset 0x82000,
        // which both segments touch; the code segment decides: vaddr - off = 0x1000.
        let info = ModuleUnwindInfo {
            file: PathBuf::new(),
            build_id: None,
            segments: vec![(0, 0x82ae8, 0), (0x82af0, 0x1a31c0, 0x83af0)],
            text_svma: None,
            got_svma: None,
            eh_frame_svma: None,
            eh_frame: None,
            eh_frame_hdr_svma: None,
            eh_frame_hdr: None,
            debug_frame: None,
        };
        let r = MappedRegion {
            start: 0x5555_5560_0000,
            end: 0x5555_557a_6000,
            file_offset: 0x82000,
            path: "/x".into(),
            build_id: None,
        };
        assert_eq!(info.base_avma(&r), 0x5555_5560_0000 - 0x83000);
        // A non-PIE-like read-only first mapping at offset 0 maps vaddr 0.
        let r0 = MappedRegion {
            start: 0x5555_5557_e000,
            end: 0x5555_5560_0000,
            file_offset: 0,
            ..r
        };
        assert_eq!(info.base_avma(&r0), 0x5555_5557_e000);
    }

    #[test]
    fn missing_binary_is_reported_not_fatal() {
        let cache = ModuleCache::new(UnwindOptions::default());
        assert_eq!(
            cache.get("/nonexistent/profdiff-test-bin", None).err(),
            Some(ModuleProblem::Missing)
        );
        assert_eq!(cache.problems().len(), 1);
        assert_eq!(
            cache.get("//anon", None).err(),
            Some(ModuleProblem::Missing)
        );
    }

    #[test]
    fn unwinds_own_stack() {
        // Unwind this very thread: take a snapshot of registers and the stack, then walk it with
        // our own binary's .eh_frame. Every frame must land in a mapped region and the walk must
        // pass through this test function's caller chain (more than a few frames deep).
        let maps = own_maps();
        let cache = ModuleCache::new(UnwindOptions::default());
        let u = ProcessUnwinder::from_maps(&maps, &cache);
        let (regs, stack) = snapshot();
        let mut out = Unwound::default();
        u.unwind(regs, &stack, &mut UnwindCache::default(), &mut out);
        assert!(out.frames.len() >= 4, "{out:?}");
        let exe = std::env::current_exe().unwrap();
        let exe = exe.to_string_lossy();
        let in_exe = out
            .frames
            .iter()
            .filter(|&&a| maps.find(a).is_some_and(|r| r.path == *exe))
            .count();
        assert!(in_exe >= 3, "{out:?}");
    }

    fn own_maps() -> ProcessMaps {
        let mut m = ProcessMaps::new(std::process::id());
        for line in std::fs::read_to_string("/proc/self/maps").unwrap().lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 || !f[1].contains('x') {
                continue;
            }
            let (a, b) = f[0].split_once('-').unwrap();
            m.insert(MappedRegion {
                start: u64::from_str_radix(a, 16).unwrap(),
                end: u64::from_str_radix(b, 16).unwrap(),
                file_offset: u64::from_str_radix(f[2], 16).unwrap(),
                path: f[5..].join(" "),
                build_id: None,
            });
        }
        m
    }

    #[inline(never)]
    fn snapshot() -> (UserRegs, Vec<u8>) {
        let (ip, sp, bp): (u64, u64, u64);
        // SAFETY: reads rip/rsp/rbp only.
        unsafe {
            std::arch::asm!("lea {0}, [rip]", "mov {1}, rsp", "mov {2}, rbp", out(reg) ip, out(reg) sp, out(reg) bp);
        }
        // Copy up to 32 KiB above sp, within the stack mapping.
        let mut len = 32 * 1024;
        for line in std::fs::read_to_string("/proc/self/maps").unwrap().lines() {
            let r = line.split_whitespace().next().unwrap();
            let (a, b) = r.split_once('-').unwrap();
            let (a, b) = (
                u64::from_str_radix(a, 16).unwrap(),
                u64::from_str_radix(b, 16).unwrap(),
            );
            if a <= sp && sp < b {
                len = len.min((b - sp) as usize);
            }
        }
        // SAFETY: [sp, sp+len) lies inside this thread's mapped stack.
        let stack = unsafe { std::slice::from_raw_parts(sp as *const u8, len) }.to_vec();
        (UserRegs { ip, sp, bp }, stack)
    }
}
