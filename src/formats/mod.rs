//! Profile formats: adapters at the edge that turn bytes into a [`Profile`] (and back, where it
//! makes sense). Formats are detected by content, never by file name. Nothing past this module
//! knows which format a profile came from (it is only noted in `metadata["format"]`).
//!
//! Input handling shared by every reader lives here: `-` is stdin, plain files are memory-mapped
//! (registered with [`crate::mapped`]: a file that shrinks while read is an error), gzip is
//! decompressed up to a limit (a gzip bomb is an error, not an out-of-memory kill).

pub mod austin;
pub mod callgrind;
pub mod chrome;
pub mod dtrace;
pub mod encoding;
pub mod firefox;
pub mod folded;
pub mod gprof;
pub mod instruments;
pub mod perf_data;
mod perf_header;
pub mod perf_script;
pub mod pprof;
pub mod pprof_legacy;
pub mod pstats;
pub mod sample;
pub mod speedscope;
pub mod unrecognized;
pub mod v8;
pub mod v8_heap;
pub mod xctrace;

use crate::error::{Error, ParseError, Result};
use crate::model::ops::Merger;
use crate::model::Profile;
use crate::symbolize::StackVisitor;
use std::io::Read;
use std::path::PathBuf;

/// What profdiff reads, for error messages.
const READABLE: &str = "it reads pprof, legacy pprof, perf.data, perf script, folded stacks, \
    speedscope, V8 cpuprofile, Chrome traces, Firefox Profiler / samply, callgrind/cachegrind, \
    DTrace stacks, macOS sample, xctrace XML, Instruments deep copies, Austin samples, \
    Python cProfile / pstats files and gprof reports";

/// Formats profdiff reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pprof,
    PerfData,
    PerfScript,
    Folded,
    Speedscope,
    V8CpuProfile,
    Callgrind,
    PprofLegacy,
    // Collapsed by inferno's collapsers: detected and read by their modules.
    Dtrace,
    MacSample,
    Xctrace,
    InstrumentsDeepCopy,
    ChromeTrace,
    Firefox,
    Austin,
    Pstats,
    Gprof,
}

impl Format {
    /// Every format profdiff reads: the fuzzer (`examples/fuzz.rs`) takes its targets from
    /// here, so a reader added to the enum is fuzzed once it is listed.
    pub const ALL: &'static [Format] = &[
        Format::Pprof,
        Format::PerfData,
        Format::PerfScript,
        Format::Folded,
        Format::Speedscope,
        Format::V8CpuProfile,
        Format::Callgrind,
        Format::PprofLegacy,
        Format::Dtrace,
        Format::MacSample,
        Format::Xctrace,
        Format::InstrumentsDeepCopy,
        Format::ChromeTrace,
        Format::Firefox,
        Format::Austin,
        Format::Pstats,
        Format::Gprof,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Pprof => "pprof",
            Format::PerfData => "perf.data",
            Format::PerfScript => "perf script",
            Format::Folded => "folded stacks",
            Format::Speedscope => "speedscope",
            Format::V8CpuProfile => "V8 cpuprofile",
            Format::Callgrind => "callgrind",
            Format::PprofLegacy => "legacy pprof",
            Format::Dtrace => "DTrace stacks",
            Format::MacSample => "macOS sample",
            Format::Xctrace => "xctrace XML",
            Format::InstrumentsDeepCopy => "Instruments deep copy",
            Format::ChromeTrace => "Chrome trace",
            Format::Firefox => "Firefox Profiler",
            Format::Austin => "Austin",
            Format::Pstats => "cProfile pstats",
            Format::Gprof => "gprof report",
        }
    }
}

/// Options that influence reading. Every field has a sensible default.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Which event / sample type to read where a file has several (perf script, perf.data).
    pub event: Option<String>,
    /// Extra folders to find binaries and debug files in (perf.data symbolization).
    pub symfs: Vec<PathBuf>,
    /// Options of the perf script reader (pid/tid/kernel/jit/addrs annotations).
    pub perf_script: perf_script::Options,
    /// Largest size a compressed input may expand to, in bytes; None: tied to the input's
    /// size ([`decompression_limit`]).
    pub max_decompressed: Option<u64>,
    /// perf.data symbolization reads DWARF (inline frames, file:line); false: symbol
    /// tables only.
    pub debug_info: bool,
    /// perf.data symbolization reads file:line from the DWARF line tables. False: function
    /// names and inline frames only (what a flamegraph or folded stacks show; the line tables
    /// are the larger half of the DWARF work).
    pub line_info: bool,
}

/// A compressed input may expand to this many times its size (real profiles compress 5 to
/// 40 times; a gzip bomb about 1000 times) ...
pub const MAX_EXPANSION_RATIO: u64 = 100;
/// ... or to this floor, whichever is larger.
pub const MIN_DECOMPRESSION_LIMIT: u64 = 256 << 20;

/// How far gzip data of `compressed` bytes may expand: the `max` given (the environment's
/// `PROFDIFF_MAX_DECOMPRESSED`, bytes), else [`MAX_EXPANSION_RATIO`] times its size with a
/// floor of [`MIN_DECOMPRESSION_LIMIT`].
pub fn decompression_limit(max: Option<u64>, compressed: usize) -> u64 {
    max.unwrap_or_else(|| {
        (compressed as u64)
            .saturating_mul(MAX_EXPANSION_RATIO)
            .max(MIN_DECOMPRESSION_LIMIT)
    })
}

impl Default for ReadOptions {
    fn default() -> Self {
        let max = std::env::var("PROFDIFF_MAX_DECOMPRESSED")
            .ok()
            .and_then(|v| v.parse().ok());
        ReadOptions {
            event: None,
            symfs: Vec::new(),
            perf_script: perf_script::Options::default(),
            max_decompressed: max,
            debug_info: true,
            line_info: true,
        }
    }
}

/// Bytes of an input: memory-mapped or owned.
pub enum Bytes {
    /// A file mapping, registered so that the file shrinking underneath is an error, not a
    /// crash (see [`crate::mapped`]); the registration is dropped before the mapping.
    Mapped(crate::mapped::Registration, memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(_, m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// File mappings made by [`load_raw`], as (start, end) addresses. Only inside these may
/// [`release_pages`] drop pages: they are read-only views of files, so a dropped page is read
/// back from the page cache on its next access, unchanged.
static MAPPINGS: std::sync::Mutex<Vec<(usize, usize)>> = std::sync::Mutex::new(Vec::new());

impl Drop for Bytes {
    fn drop(&mut self) {
        if let Bytes::Mapped(_, m) = self {
            let start = m.as_ptr() as usize;
            let mut maps = MAPPINGS.lock().unwrap_or_else(|e| e.into_inner());
            maps.retain(|&(s, _)| s != start);
        }
    }
}

/// Tell the kernel a reader is done with these bytes of a memory-mapped input, so a streaming
/// reader's resident memory follows what it keeps (unique stacks), not the file size. Does
/// nothing unless the bytes lie in a file mapping made by [`load_raw`] (never on owned memory,
/// where dropping pages would lose data). Bytes still borrowed may be read again afterwards:
/// they are faulted back in from the file.
pub fn release_pages(consumed: &[u8]) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let page = if page > 0 { page as usize } else { 4096 };
        let start = consumed.as_ptr() as usize;
        let end = start + consumed.len();
        let a = start.div_ceil(page) * page;
        let b = end / page * page;
        if b <= a {
            return;
        }
        let maps = MAPPINGS.lock().unwrap_or_else(|e| e.into_inner());
        if maps.iter().any(|&(s, e)| s <= a && b <= e) {
            // SAFETY: [a, b) is page-aligned and inside a live read-only file mapping (the lock
            // keeps it registered, so not yet unmapped); MADV_DONTNEED there only drops page
            // table entries, and later reads see the file's content again.
            unsafe {
                libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_DONTNEED);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = consumed;
}

/// Display name of an input path (`-` is `<stdin>`).
pub fn display_path(path: &str) -> &str {
    if path == "-" {
        "<stdin>"
    } else {
        path
    }
}

/// Load an input's raw bytes (`-` = stdin), without decompressing.
pub fn load_raw(path: &str) -> Result<Bytes> {
    if path == "-" {
        let mut v = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut v)
            .map_err(|e| Error::io("<stdin>", e))?;
        return Ok(Bytes::Owned(v));
    }
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = f.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::input(path, "is a directory, not a profile"));
    }
    if meta.len() == 0 || !meta.is_file() {
        // Pipes, FIFOs and special files cannot be mapped: read them.
        let mut v = Vec::new();
        (&f).read_to_end(&mut v).map_err(|e| Error::io(path, e))?;
        return Ok(Bytes::Owned(v));
    }
    // SAFETY: the map is read-only; a file truncated underneath us faults (SIGBUS) on the next
    // access past its new end, which the registration turns into an error and exit 2.
    match unsafe { memmap2::Mmap::map(&f) } {
        Ok(m) => {
            let registration = crate::mapped::register(&m, path);
            let start = m.as_ptr() as usize;
            MAPPINGS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((start, start + m.len()));
            Ok(Bytes::Mapped(registration, m))
        }
        Err(_) => {
            let mut v = Vec::new();
            (&f).read_to_end(&mut v).map_err(|e| Error::io(path, e))?;
            Ok(Bytes::Owned(v))
        }
    }
}

/// True for the gzip magic.
pub fn is_gzip(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

/// Decompress gzip (also multi-member) into memory, failing past `limit` bytes.
pub fn gunzip(data: &[u8], max: Option<u64>) -> std::result::Result<Vec<u8>, ParseError> {
    let limit = decompression_limit(max, data.len());
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(64 << 20));
    let dec = flate2::read::MultiGzDecoder::new(data);
    let n = dec
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| ParseError::new(format!("gzip data is corrupt or truncated: {e}")))?;
    if n as u64 > limit {
        return Err(ParseError::new(format!(
            "gzip data expands beyond {limit} bytes, {MAX_EXPANSION_RATIO} times its size or {} MiB (a gzip bomb?); set PROFDIFF_MAX_DECOMPRESSED (bytes) to allow more",
            MIN_DECOMPRESSION_LIMIT >> 20
        )));
    }
    Ok(out)
}

/// Load an input and decompress it if it is gzip.
pub fn load(path: &str, opts: &ReadOptions) -> Result<Bytes> {
    let raw = load_raw(path)?;
    let data = if is_gzip(&raw) {
        let v = gunzip(&raw, opts.max_decompressed)
            .map_err(|e| Error::input(display_path(path), e.0))?;
        Bytes::Owned(v)
    } else {
        raw
    };
    Ok(match encoding::utf16_to_utf8(&data) {
        Some(utf8) => Bytes::Owned(utf8),
        None => data,
    })
}

/// Guess the format of (decompressed) bytes.
pub fn detect(data: &[u8]) -> Option<Format> {
    if data.starts_with(b"PERFILE2") || data.starts_with(b"2ELIFREP") {
        return Some(Format::PerfData);
    }
    if pprof_legacy::sniff_binary(data) {
        return Some(Format::PprofLegacy);
    }
    if pstats::sniff(data) {
        return Some(Format::Pstats);
    }
    let head = &data[..data.len().min(64 * 1024)];
    let text = match std::str::from_utf8(head) {
        Ok(s) => Some(s),
        // A multi-byte character cut at the 64 KiB boundary is still text.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    let lossy;
    let text = match text {
        Some(t) => t,
        None => {
            if looks_like_protobuf(data) {
                return Some(Format::Pprof);
            }
            // Text with a few invalid bytes (a Latin-1 symbol name, a corrupted byte) is still
            // detected as text, so its reader can say what is wrong with it.
            lossy = String::from_utf8_lossy(head);
            let bad = lossy.chars().filter(|&c| c == '\u{fffd}').count();
            if bad > 8 && bad * 20 > lossy.len() {
                return None;
            }
            &lossy
        }
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if let Some(f) = detect_collapsed_inputs(trimmed) {
        return Some(f);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // Formats that embed speedscope-like or V8 content come first.
        if chrome::sniff(trimmed) {
            return Some(Format::ChromeTrace);
        }
        if firefox::sniff(trimmed) {
            return Some(Format::Firefox);
        }
        if speedscope::sniff(text) {
            return Some(Format::Speedscope);
        }
        if v8::sniff(text) {
            return Some(Format::V8CpuProfile);
        }
        // Folded stacks may start with `[` or `{` too (`[unknown];main 3`, `{closure};f 1`):
        // then their first line is a folded line, which a JSON document's never is.
        let first = trimmed.lines().next().unwrap_or("");
        if folded::parse_line(first).is_some_and(|(stack, _)| !stack.is_empty()) {
            return detect_text(text).filter(|&f| f == Format::Folded);
        }
        return None;
    }
    if text
        .chars()
        .take(4096)
        .any(|c| c.is_control() && !c.is_whitespace())
    {
        return looks_like_protobuf(data).then_some(Format::Pprof);
    }
    if let Some(f) = detect_foreign_text(data) {
        return Some(f);
    }
    // Other tools' text reports (`go tool pprof -traces` has perf-script-like lines) are
    // no format: the error then says what they are.
    if unrecognized::report_text(text).is_some() {
        return None;
    }
    // The 64 KiB window may end inside a line; a cut folded line has no count and would look
    // like something else, so only whole lines are classified.
    let text = if data.len() > head.len() {
        match text.rfind('\n') {
            Some(i) => &text[..i],
            // Not one whole line in the window (a 1 MB name, a stack 100k frames deep): the
            // first line decides, read to its end.
            None => return detect_long_first_line(data),
        }
    } else {
        text
    };
    detect_text(text)
}

/// Text formats recognized by their own header (each module's `sniff`).
fn detect_foreign_text(data: &[u8]) -> Option<Format> {
    if callgrind::sniff(data) {
        return Some(Format::Callgrind);
    }
    if gprof::sniff(data) {
        return Some(Format::Gprof);
    }
    if pprof_legacy::sniff(data) {
        return Some(Format::PprofLegacy);
    }
    None
}

/// The inputs of inferno's other collapsers (DTrace, `sample`, xctrace) and Instruments deep
/// copies, each recognized by its own module.
fn detect_collapsed_inputs(text: &str) -> Option<Format> {
    if xctrace::sniff(text) {
        Some(Format::Xctrace)
    } else if sample::sniff(text) {
        Some(Format::MacSample)
    } else if instruments::sniff(text) {
        Some(Format::InstrumentsDeepCopy)
    } else if dtrace::sniff(text) {
        Some(Format::Dtrace)
    } else if austin::sniff(text) {
        Some(Format::Austin)
    } else {
        None
    }
}

/// The format of text whose first line is longer than the detection window: folded stacks
/// if that line is one (perf script's header lines are short).
fn detect_long_first_line(data: &[u8]) -> Option<Format> {
    let end = memchr::memchr(b'\n', data).unwrap_or(data.len());
    let line = std::str::from_utf8(&data[..end]).ok()?;
    folded::parse_line(line.trim_end_matches('\r'))
        .is_some()
        .then_some(Format::Folded)
}

/// Folded vs `perf script`: folded lines all end in a count and never start with whitespace
/// (except py-spy's frameless ` 7`); perf script has indented `addr symbol (dso)` stack lines
/// and `comm pid time: event:` headers (a header with a time, or an untimed header and stack
/// lines: Java stack dumps have lines like the stack lines). Folded lines must be most of the sampled lines (the
/// folded reader refuses a mostly invalid file). Anything else (legacy pprof text, `sample` output,
/// logs) is neither.
fn detect_text(text: &str) -> Option<Format> {
    let mut folded = 0usize;
    let mut perf = 0usize;
    let mut other = 0usize;
    let mut timed_headers = 0usize;
    let mut headers = 0usize;
    let mut stack_lines = 0usize;
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let sampled: Vec<&str> = lines.by_ref().take(400).collect();
    for l in &sampled {
        if perf_script::sniff_timed_event_header(l) {
            timed_headers += 1;
            perf += 1;
        } else if perf_script::sniff_event_header(l) {
            headers += 1;
            perf += 1;
        } else if perf_script::sniff_stack_line(l) {
            stack_lines += 1;
            perf += 1;
        } else if folded::parse_line(l).is_some() {
            folded += 1;
        } else {
            other += 1;
        }
    }
    // A few odd lines in a folded file (a comment, a truncated line) must not turn it into
    // perf script, whose stack lines are indented and so never parse as folded.
    if folded > 0 && folded >= perf * 4 && folded >= other {
        Some(Format::Folded)
    } else if timed_headers > 0 || (headers > 0 && stack_lines > 0) {
        Some(Format::PerfScript)
    } else {
        None
    }
}

/// A cheap plausibility check for a protobuf `Profile` message: walk the first fields and
/// check every tag is one of profile.proto's fields with the right wire type.
fn looks_like_protobuf(data: &[u8]) -> bool {
    let mut i = 0usize;
    let mut fields = 0;
    while i < data.len() && fields < 16 {
        let (tag, n) = match varint(&data[i..]) {
            Some(v) => v,
            None => return false,
        };
        i += n;
        let field = tag >> 3;
        let wire = tag & 7;
        if field == 0 || field > 15 {
            return false;
        }
        match wire {
            0 => match varint(&data[i..]) {
                Some((_, n)) => i += n,
                None => return false,
            },
            2 => match varint(&data[i..]) {
                Some((len, n)) => {
                    i += n;
                    if len as usize > data.len() - i {
                        return false;
                    }
                    i += len as usize;
                }
                None => return false,
            },
            _ => return false,
        }
        fields += 1;
    }
    fields > 0
}

fn varint(d: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &b) in d.iter().enumerate().take(10) {
        v |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Parse bytes in a given format.
pub fn parse(
    data: &[u8],
    format: Format,
    opts: &ReadOptions,
) -> std::result::Result<Profile, ParseError> {
    parse_visiting(data, format, opts, None)
}

/// [`parse`], handing each sample's stack (leaf first) and values to `visit` when one is
/// given, instead of keeping the samples: the profile returned then holds everything else
/// (sample types, locations, functions, mappings, data quality, metadata). perf.data
/// recordings are symbolized straight into the visitor, so their samples are never stored;
/// other formats are read whole and their samples visited afterwards.
pub fn parse_visiting(
    data: &[u8],
    format: Format,
    opts: &ReadOptions,
    visit: Option<StackVisitor<'_>>,
) -> std::result::Result<Profile, ParseError> {
    let streamed = format == Format::PerfData;
    let (mut p, visit) = match format {
        Format::Pprof => (pprof::parse(data)?, visit),
        Format::PerfData => (perf_data::parse_visiting(data, opts, visit)?, None),
        Format::PerfScript => (
            perf_script::parse(data, &opts.perf_script, opts.event.as_deref())?,
            visit,
        ),
        Format::Folded => (folded::parse(data)?, visit),
        Format::Speedscope => (speedscope::parse(data)?, visit),
        Format::V8CpuProfile => (v8::parse(data)?, visit),
        Format::Callgrind => (callgrind::parse(data)?, visit),
        Format::PprofLegacy => (pprof_legacy::parse(data, opts)?, visit),
        Format::Dtrace => (dtrace::parse(data)?, visit),
        Format::MacSample => (sample::parse(data)?, visit),
        Format::Xctrace => (xctrace::parse(data)?, visit),
        Format::InstrumentsDeepCopy => (instruments::parse(data)?, visit),
        Format::ChromeTrace => (chrome::parse(data)?, visit),
        Format::Firefox => (firefox::parse(data, opts)?, visit),
        Format::Austin => (austin::parse(data)?, visit),
        Format::Pstats => (pstats::parse(data)?, visit),
        Format::Gprof => (gprof::parse(data)?, visit),
    };
    // perf.data profiles are assembled by the symbolizer, whose ids are valid by construction;
    // the others carry ids from the file.
    if !streamed {
        p.validate().map_err(ParseError)?;
    }
    p.metadata
        .entry("format".into())
        .or_insert_with(|| format.name().to_string());
    if let Some(visit) = visit {
        let samples = std::mem::take(&mut p.samples);
        for s in &samples {
            visit(&p, &s.locations, &s.values);
        }
        crate::exit::drop_later(samples);
    }
    Ok(p)
}

/// Load a path (`-` = stdin, gzip inflated) and detect its format; empty and unrecognized
/// inputs are errors naming the file.
fn load_detected(path: &str, opts: &ReadOptions) -> Result<(Bytes, Format)> {
    let shown = display_path(path);
    let data = load(path, opts)?;
    if data.is_empty() {
        return Err(Error::input(shown, "file is empty"));
    }
    let format = detect(&data).ok_or_else(|| {
        Error::input(
            shown,
            format!(
                "unrecognized profile format: looks like {}, which profdiff does not read ({})",
                unrecognized::describe(&data),
                READABLE
            ),
        )
    })?;
    Ok((data, format))
}

/// Read one profile from a path (`-` = stdin), detecting its format.
pub fn read_path(path: &str, opts: &ReadOptions) -> Result<Profile> {
    read_path_visiting(path, opts, None)
}

/// [`read_path`], handing the samples to `visit` as [`parse_visiting`] does.
pub fn read_path_visiting(
    path: &str,
    opts: &ReadOptions,
    visit: Option<StackVisitor<'_>>,
) -> Result<Profile> {
    let shown = display_path(path);
    let (data, format) = load_detected(path, opts)?;
    parse_visiting(&data, format, opts, visit).map_err(|error| Error::Parse {
        path: shown.to_string(),
        format: format.name(),
        error,
    })
}

/// Read one input (`-` = stdin) and add it to a merger: the same as [`Merger::add`] of
/// [`read_path`]'s profile, but folded stacks go straight into the merger
/// ([`folded::merge_into`]) instead of becoming a profile of their own first, which for many
/// inputs would be most of the work. `inspect` sees every profile that is built (not the
/// streamed folded inputs, which carry no data-quality notes). A merge error is
/// [`Error::Merge`]; after any error the merger should be dropped.
pub fn read_path_into(
    path: &str,
    opts: &ReadOptions,
    m: &mut Merger,
    inspect: impl FnOnce(&Profile),
) -> Result<()> {
    let shown = display_path(path);
    let (data, format) = load_detected(path, opts)?;
    let parse_error = |error| Error::Parse {
        path: shown.to_string(),
        format: format.name(),
        error,
    };
    if format == Format::Folded {
        return folded::merge_into(&data, m).map_err(|e| match e {
            folded::MergeFoldedError::Parse(e) => parse_error(e),
            folded::MergeFoldedError::Merge(e) => Error::Merge(e),
        });
    }
    let p = parse(&data, format, opts).map_err(parse_error)?;
    drop(data);
    inspect(&p);
    m.add(&p)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Format::ALL` lists every variant (the match fails to compile when one is added).
    #[test]
    fn all_lists_every_format() {
        for f in Format::ALL {
            match f {
                Format::Pprof
                | Format::PerfData
                | Format::PerfScript
                | Format::Folded
                | Format::Speedscope
                | Format::V8CpuProfile
                | Format::Callgrind
                | Format::PprofLegacy
                | Format::Dtrace
                | Format::MacSample
                | Format::Xctrace
                | Format::InstrumentsDeepCopy
                | Format::ChromeTrace
                | Format::Firefox
                | Format::Austin
                | Format::Pstats
                | Format::Gprof => {}
            }
        }
        assert_eq!(Format::ALL.len(), 17);
    }

    #[test]
    fn detects_by_content() {
        assert_eq!(detect(b"main;f;g 12\nmain;h 3\n"), Some(Format::Folded));
        assert_eq!(
            detect(b"dd 1234 [000] 1.0: cpu-clock:\n\tffffffff81 read (/lib/x.so)\n\n"),
            Some(Format::PerfScript)
        );
        assert_eq!(detect(b"PERFILE2\x68\0\0\0"), Some(Format::PerfData));
        let gprof = "Flat profile:\n\nEach sample counts as 0.01 seconds.\n  %   cumulative\n";
        assert_eq!(detect(gprof.as_bytes()), Some(Format::Gprof));
        // `perf script -F comm,pid,event,ip,sym,dso`: no time, but stack lines.
        assert_eq!(
            detect(b"dd 1234 cpu-clock:\n\tffffffff81 read (/lib/x.so)\n\n"),
            Some(Format::PerfScript)
        );
        // Legacy pprof heap text is neither perf script nor folded: its own reader takes it.
        assert_eq!(
            detect(b"heap profile:  1: 9216 [  1: 9216] @ heapz_v2/524288\n     1:  9216 [  1:  9216] @ 0xc635c8 0x42ecc3\n"),
            Some(Format::PprofLegacy)
        );

        assert_eq!(
            detect(br#"{"$schema":"https://www.speedscope.app/file-format-schema.json","shared":{"frames":[]},"profiles":[]}"#),
            Some(Format::Speedscope)
        );
        assert_eq!(
            detect(br#"{"nodes":[{"id":1,"callFrame":{}}],"startTime":0,"endTime":1,"samples":[1],"timeDeltas":[0]}"#),
            Some(Format::V8CpuProfile)
        );
        // sample_type { type: 1 unit: 2 } in protobuf
        assert_eq!(
            detect(&[0x0a, 0x04, 0x08, 0x01, 0x10, 0x02]),
            Some(Format::Pprof)
        );
        assert_eq!(detect(b"hello world\nthis is prose\n"), None);
        // A folded file larger than the detection window, cut mid-line, with `:` in names.
        let mut big = Vec::new();
        while big.len() < 70 * 1024 {
            big.extend_from_slice(b"java;Ljava/lang/Thread:::run;a::b::c 12\n");
        }
        assert_eq!(detect(&big), Some(Format::Folded));
        // Long folded files: the detection window ends mid-line (in a frame with a ':').
        // 200-byte lines: fewer than 400 fit in the window, which ends 136 bytes into a line.
        let long: String = (0..1000)
            .map(|i| format!("a::{i:0>189};leaf 1\n"))
            .collect();
        assert_eq!(detect(long.as_bytes()), Some(Format::Folded));
        assert_eq!(detect(&[0xff, 0xfe, 0x00, 0x13]), None);
        // A few invalid bytes in otherwise textual input: still detected.
        assert_eq!(
            detect(b"app 1 1.0: 1 cpu-clock:\n\t 10 bad\xffname (/bin/app)\n\n"),
            Some(Format::PerfScript)
        );
        assert_eq!(
            detect(b"{\"shared\":{\"frames\":[{\"name\":\"\xff\"}]},\"profiles\":[]}"),
            Some(Format::Speedscope)
        );
    }

    #[test]
    fn gzip_bomb_is_bounded() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(&vec![b'a'; 10 << 20]).unwrap();
        let gz = e.finish().unwrap();
        let err = gunzip(&gz, Some(1 << 20)).unwrap_err();
        assert!(err.0.contains("expands beyond"), "{err}");
        assert_eq!(gunzip(&gz, Some(20 << 20)).unwrap().len(), 10 << 20);
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(b"main;f 1\n").unwrap();
        let gz = e.finish().unwrap();
        assert!(gunzip(&gz[..gz.len() - 6], Some(1 << 20)).is_err());
    }
}
