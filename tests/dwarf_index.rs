//! profdiff's DWARF index ([`DwarfIndex`]) against the addr2line crate it replaced (which
//! matched binutils `addr2line -f -i` in tests/symbolize_addr2line.rs): on thousands of
//! addresses of real binaries — profdiff's own release binary (Rust, line tables and inline
//! trees) and the distribution's libc debug file (gcc, DWARF 5, zlib-compressed sections) —
//! both must give the same frames: raw names, files, lines and columns, inline chains
//! included.

mod common;

use object::{Object, ObjectSymbol};
use profdiff::symbolize::dwarf::DwarfIndex;
use profdiff::symbolize::elf::ElfImage;
use std::path::{Path, PathBuf};

/// (name, file, line, column) per frame, innermost first.
type Frames = Vec<(Option<String>, Option<String>, u32, u32)>;

/// Addresses to look up: the start, middle and last byte of every sized function symbol of
/// `bin`, thinned to at most `max`.
fn probe_addresses(bin: &Path, max: usize) -> Vec<u64> {
    let bytes = std::fs::read(bin).unwrap();
    let obj = object::File::parse(&*bytes).unwrap();
    let mut v: Vec<u64> = obj
        .symbols()
        .filter(|s| s.kind() == object::SymbolKind::Text && s.size() > 0)
        .flat_map(|s| {
            let (a, n) = (s.address(), s.size());
            [a, a + n / 2, a + n - 1]
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    let step = v.len().div_ceil(max).max(1);
    v.into_iter().step_by(step).collect()
}

fn reference(ctx: &addr2line::Context<profdiff::symbolize::dwarf::R<'_>>, a: u64) -> Frames {
    let mut out = Vec::new();
    if let Ok(mut it) = ctx.find_frames(a).skip_all_loads() {
        while let Ok(Some(f)) = it.next() {
            let name = f
                .function
                .as_ref()
                .and_then(|n| n.raw_name().ok().map(|s| s.into_owned()));
            let (file, line, col) = match &f.location {
                Some(l) => (
                    l.file.map(str::to_string),
                    l.line.unwrap_or(0),
                    l.column.unwrap_or(0),
                ),
                None => (None, 0, 0),
            };
            out.push((name, file, line, col));
        }
    }
    out
}

fn ours(index: &DwarfIndex<'_>, a: u64, with_lines: bool) -> Frames {
    index
        .find_frames(a, with_lines)
        .into_iter()
        .map(|f| {
            (
                f.name.map(|n| String::from_utf8_lossy(n).into_owned()),
                f.file.map(str::to_string),
                f.line,
                f.column,
            )
        })
        .collect()
}

/// Compare on `probes`; returns (addresses with frames, inline frames seen).
fn compare(debug: &Path, probes: &[u64]) -> (usize, usize) {
    let image = ElfImage::open(debug).unwrap();
    let index = DwarfIndex::new(image.dwarf()).unwrap();
    // A second index asked for names only, so its line tables are not already parsed.
    let names_only = DwarfIndex::new(image.dwarf()).unwrap();
    let ctx = addr2line::Context::from_dwarf(image.dwarf()).unwrap();
    let mut resolved = 0;
    let mut inlined = 0;
    let mut mismatches = Vec::new();
    for &a in probes {
        let want = reference(&ctx, a);
        let got = ours(&index, a, true);
        if !want.is_empty() {
            resolved += 1;
            inlined += want.len() - 1;
        }
        if want != got && mismatches.len() < 5 {
            mismatches.push(format!(
                "{a:#x}:\n  addr2line {want:?}\n  profdiff  {got:?}"
            ));
        }
        // Names only: the same frames and names, no file:line.
        let want_names: Frames = want
            .iter()
            .map(|(n, f, _, _)| (n.clone(), f.as_ref().filter(|_| n.is_none()).cloned(), 0, 0))
            .collect();
        let got_names: Frames = ours(&names_only, a, false)
            .into_iter()
            .map(|(n, f, l, c)| {
                if n.is_none() {
                    (n, f, 0, 0) // a line-table-only answer keeps its file
                } else {
                    (n, f, l, c)
                }
            })
            .collect();
        if want_names != got_names && mismatches.len() < 5 {
            mismatches.push(format!(
                "{a:#x} (names only):\n  addr2line {want_names:?}\n  profdiff  {got_names:?}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}: frames differ from addr2line:\n{}",
        debug.display(),
        mismatches.join("\n")
    );
    (resolved, inlined)
}

#[test]
fn own_release_binary_matches_addr2line() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_profdiff"));
    let probes = probe_addresses(&bin, 30_000);
    let (resolved, inlined) = compare(&bin, &probes);
    eprintln!(
        "{}: {} addresses, {resolved} resolved, {inlined} inline frames, all identical",
        bin.display(),
        probes.len()
    );
    assert!(
        resolved > probes.len() / 2,
        "{resolved} of {}",
        probes.len()
    );
    assert!(inlined > 1000, "only {inlined} inline frames");
}

#[test]
fn libc_debug_file_matches_addr2line() {
    let libc = Path::new("/usr/lib/x86_64-linux-gnu/libc.so.6");
    let debug = ElfImage::open(libc)
        .ok()
        .and_then(|i| i.build_id.clone())
        .map(|id| {
            let h = profdiff::symbolize::elf::hex(&id);
            PathBuf::from(format!(
                "/usr/lib/debug/.build-id/{}/{}.debug",
                &h[..2],
                &h[2..]
            ))
        })
        .filter(|p| p.exists());
    let Some(debug) = debug else {
        assert!(
            std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() != Ok("1"),
            "libc debug file (libc6-dbg) required"
        );
        common::skip_log::skipped("no libc debug file (install libc6-dbg)");
        return;
    };
    let probes = probe_addresses(&debug, 30_000);
    let (resolved, inlined) = compare(&debug, &probes);
    eprintln!(
        "{}: {} addresses, {resolved} resolved, {inlined} inline frames, all identical",
        debug.display(),
        probes.len()
    );
    assert!(
        resolved > probes.len() / 2,
        "{resolved} of {}",
        probes.len()
    );
}
