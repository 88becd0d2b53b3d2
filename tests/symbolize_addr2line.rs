//! Conformance: profdiff's in-process symbolizer against binutils `addr2line -f -i -C` on a
//! few hundred instruction addresses of real binaries compiled here (C, C++ with inlining,
//! templates and namespaces, Rust), comparing function names, file:line and inline chains.
//!
//! Documented differences (counted and printed, not failures):
//! - D1: for an inlined function whose DWARF entry has no linkage name (C++ statics, lambdas,
//!   `extern inline` C functions such as glibc's `atoi`), binutils names the *innermost* frame
//!   after the enclosing symbol-table symbol; profdiff keeps DWARF's name of the inlined
//!   function (what gdb and perf show). File and line agree.
//! - D2: names cpp_demangle cannot parse (e.g. `sr` unresolved names in SFINAE return types)
//!   stay mangled; libiberty demangles them.
//! - binutils' ` (discriminator N)` suffix is ignored (profdiff has no discriminators).

mod common;

use profdiff::symbolize::{ModuleKey, Symbolizer, SymbolizerOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

type Frames = Vec<(String, String)>;

fn required() -> bool {
    std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() == Ok("1")
}

fn have_tools(tools: &[&str]) -> bool {
    for t in tools {
        if !common::have(t) {
            assert!(!required(), "{t} is required (PROFDIFF_REQUIRE_FIXTURES=1)");
            common::skip_log::skipped(&format!("{t} not installed"));
            return false;
        }
    }
    true
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// `tests/data/symtest.c` compiled with gcc and these flags into `dir/name`.
fn gcc_symtest(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let bin = dir.join(name);
    run(Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&bin)
        .arg(data("symtest.c")));
    bin
}

/// Every instruction start of `.text` (objdump), thinned evenly to at most `max`.
fn instruction_addrs(bin: &Path, max: usize) -> Vec<u64> {
    let text = run(Command::new("objdump")
        .arg("-d")
        .arg("-j")
        .arg(".text")
        .arg(bin));
    let all: Vec<u64> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (a, rest) = l.split_once(':')?;
            if !rest.starts_with('\t') {
                return None;
            }
            u64::from_str_radix(a, 16).ok()
        })
        .collect();
    assert!(!all.is_empty(), "no instructions in {}", bin.display());
    let step = all.len().div_ceil(max).max(1);
    all.into_iter().step_by(step).collect()
}

fn binutils(bin: &Path, addrs: &[u64]) -> Vec<Frames> {
    use std::io::Write;
    let mut child = Command::new("addr2line")
        .args(["-a", "-f", "-i", "-C", "-e"])
        .arg(bin)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("addr2line");
    {
        let mut stdin = child.stdin.take().unwrap();
        for a in addrs {
            writeln!(stdin, "{a:#x}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut blocks: Vec<Frames> = Vec::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.starts_with("0x") {
            blocks.push(Vec::new());
            continue;
        }
        let loc = lines.next().unwrap_or("??:?");
        let loc = match loc.find(" (discriminator") {
            Some(i) => &loc[..i],
            None => loc,
        };
        let loc = if loc == "??:0" { "??:?" } else { loc };
        blocks
            .last_mut()
            .expect("address line first")
            .push((l.to_string(), loc.to_string()));
    }
    // An unresolved address is one `??` frame in binutils, no frames in profdiff.
    for b in &mut blocks {
        if b.len() == 1 && b[0].0 == "??" && b[0].1 == "??:?" {
            b.clear();
        }
    }
    blocks
}

fn ours(bin: &Path, addrs: &[u64]) -> Vec<Frames> {
    ours_with(bin, addrs, SymbolizerOptions::default())
}

fn ours_with(bin: &Path, addrs: &[u64], opts: SymbolizerOptions) -> Vec<Frames> {
    let sym = Symbolizer::new(opts);
    let m = sym
        .module(&ModuleKey {
            path: bin.to_string_lossy().into_owned(),
            build_id: None,
        })
        .expect("module loads");
    m.symbolize_vaddrs(addrs)
        .into_iter()
        .map(|fr| {
            fr.into_iter()
                .map(|f| {
                    let file = f.file.unwrap_or_else(|| "??".into());
                    let line = if f.line == 0 {
                        "?".to_string()
                    } else {
                        f.line.to_string()
                    };
                    (f.function, format!("{file}:{line}"))
                })
                .collect()
        })
        .collect()
}

/// Compare and return (exact, documented differences); panics on any other difference.
fn compare(what: &str, addrs: &[u64], theirs: &[Frames], mine: &[Frames]) -> (usize, usize) {
    assert_eq!(
        theirs.len(),
        addrs.len(),
        "{what}: binutils answered every address"
    );
    let (mut exact, mut documented) = (0, 0);
    let mut bad = Vec::new();
    for ((a, t), m) in addrs.iter().zip(theirs).zip(mine) {
        if t == m {
            exact += 1;
            continue;
        }
        let same_shape = t.len() == m.len() && t.iter().zip(m).all(|(x, y)| x.1 == y.1);
        let d1 = same_shape
            && t.len() > 1
            && t[0].0 == t[t.len() - 1].0
            && t[1..]
                .iter()
                .zip(&m[1..])
                .all(|(x, y)| x.0 == y.0 || y.0.starts_with("_Z"));
        let d2 = same_shape
            && t.iter()
                .zip(m)
                .all(|(x, y)| x.0 == y.0 || (y.0.starts_with("_Z") && !x.0.starts_with("_Z")));
        if d1 || d2 {
            documented += 1;
        } else {
            bad.push(format!("{a:#x}: binutils {t:?}\n      profdiff {m:?}"));
        }
    }
    eprintln!(
        "{what}: {} addresses, {exact} identical ({:.1}%), {documented} documented differences, {} mismatches",
        addrs.len(),
        100.0 * exact as f64 / addrs.len() as f64,
        bad.len()
    );
    assert!(
        bad.is_empty(),
        "{what}: {} of {} addresses disagree with binutils:\n{}",
        bad.len(),
        addrs.len(),
        bad.join("\n")
    );
    (exact, documented)
}

fn check(what: &str, bin: &Path, max: usize, min_exact: f64) {
    let addrs = instruction_addrs(bin, max);
    let theirs = binutils(bin, &addrs);
    let mine = ours(bin, &addrs);
    let (exact, _) = compare(what, &addrs, &theirs, &mine);
    assert!(
        exact as f64 >= min_exact * addrs.len() as f64,
        "{what}: only {exact} of {} identical",
        addrs.len()
    );
    // The test must exercise inline chains, not just flat functions.
    assert!(
        mine.iter().any(|f| f.len() > 1),
        "{what}: no inline frames seen"
    );
}

#[test]
fn c_matches_binutils() {
    if !have_tools(&["gcc", "addr2line", "objdump"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = gcc_symtest(dir.path(), "symtest_c", &["-O2", "-g"]);
    check("C -O2 -g", &bin, 400, 0.99);
}

#[test]
fn cpp_matches_binutils() {
    if !have_tools(&["g++", "addr2line", "objdump"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("symtest_cpp");
    run(Command::new("g++")
        .args(["-O2", "-g", "-o"])
        .arg(&bin)
        .arg(data("symtest.cpp")));
    check("C++ -O2 -g", &bin, 400, 0.85);
}

#[test]
fn rust_matches_binutils() {
    if !have_tools(&["rustc", "addr2line", "objdump"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("symtest_rs");
    run(Command::new("rustc")
        .args(["-C", "debuginfo=2", "-O", "-o"])
        .arg(&bin)
        .arg(data("symtest.rs")));
    check("Rust -O debuginfo=2", &bin, 500, 0.99);
}

/// glibc with its Debian debug file (`/usr/lib/debug/.build-id/..`, libc6-dbg): found by build
/// id, compressed DWARF 5 sections. Function chains must agree with binutils; file names may
/// not: binutils 2.40 resolves some DWARF 5 file entries of `#include`d `.c` files to the
/// including file and doubles relative directories (`./iconv/./iconv/x.c`); gdb agrees with
/// profdiff there (e.g. `strfromd+344` is line 148 of `./stdlib/strfrom-skeleton.c`).
#[test]
fn libc_with_separate_debug_file() {
    if !have_tools(&["addr2line", "objdump"]) {
        return;
    }
    let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
    let has_debug = Path::new("/usr/lib/debug/.build-id").is_dir();
    if !libc.exists() || !has_debug {
        common::skip_log::skipped(
            "no libc.so.6 with a separate debug file (apt install libc6-dbg)",
        );
        return;
    }
    let addrs = instruction_addrs(libc, 300);
    let theirs = binutils(libc, &addrs);
    let mine = ours(libc, &addrs);
    if !theirs
        .iter()
        .any(|f| f.iter().any(|x| x.1 != "??:?" && !x.1.ends_with(":?")))
    {
        common::skip_log::skipped(
            "binutils found no line info for libc (debug file not installed)",
        );
        return;
    }
    let names = |f: &Frames| f.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    let lines = |f: &Frames| {
        f.iter()
            .map(|x| x.1.rsplit(':').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let same_names = theirs
        .iter()
        .zip(&mine)
        .filter(|(t, m)| names(t) == names(m))
        .count();
    let same_lines = theirs
        .iter()
        .zip(&mine)
        .filter(|(t, m)| lines(t) == lines(m))
        .count();
    let with_lines = mine
        .iter()
        .filter(|f| f.iter().any(|x| !x.1.ends_with(":?")))
        .count();
    eprintln!(
        "libc: {} addresses, {same_names} identical function chains, {same_lines} identical line chains, {with_lines} with file:line from the debug file",
        addrs.len()
    );
    assert!(with_lines * 10 >= addrs.len() * 9, "debug file not used");
    assert!(same_names * 100 >= addrs.len() * 97);
    assert!(same_lines * 100 >= addrs.len() * 97);
}

/// zlib-compressed debug sections (`gcc -gz`, as distributions ship debug files) through the
/// section cache: the first symbolizer inflates and stores them, a fresh one maps the stored
/// copy, a damaged copy is ignored and replaced; every time the answers are binutils'.
#[test]
fn compressed_sections_through_the_section_cache() {
    if !have_tools(&["gcc", "addr2line", "objdump"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = gcc_symtest(
        dir.path(),
        "gz",
        &["-O2", "-g", "-gz=zlib", "-Wl,--build-id"],
    );
    let cache = dir.path().join("cache");
    let opts = || SymbolizerOptions {
        section_cache: Some(cache.clone()),
        ..SymbolizerOptions::default()
    };
    let addrs = instruction_addrs(&bin, 300);
    let theirs = binutils(&bin, &addrs);
    let entries = || -> Vec<PathBuf> {
        std::fs::read_dir(&cache)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };

    let cold = ours_with(&bin, &addrs, opts());
    compare("gcc -gz, inflated", &addrs, &theirs, &cold);
    let stored = entries();
    assert_eq!(stored.len(), 1, "one cache entry: {stored:?}");
    let size = std::fs::metadata(&stored[0]).unwrap().len();

    let warm = ours_with(&bin, &addrs, opts());
    assert_eq!(warm, cold, "answers from the cached sections");

    // A damaged entry (cut short) is not used, and is written again.
    let bytes = std::fs::read(&stored[0]).unwrap();
    std::fs::write(&stored[0], &bytes[..bytes.len() / 2]).unwrap();
    let repaired = ours_with(&bin, &addrs, opts());
    assert_eq!(repaired, cold, "answers with a damaged cache entry");
    assert_eq!(std::fs::metadata(&stored[0]).unwrap().len(), size);

    let uncached = ours_with(
        &bin,
        &addrs,
        SymbolizerOptions {
            section_cache: None,
            ..SymbolizerOptions::default()
        },
    );
    assert_eq!(uncached, cold);
    assert_eq!(entries().len(), 1, "no temporary files left");
}

/// dwz-compressed debug info (`.gnu_debugaltlink` to a supplementary file, DW_FORM_GNU_ref_alt
/// / strp_alt), as Fedora and some Debian debug packages ship it: symbolizing the dwz'd binary
/// must give what binutils gives for the original.
#[test]
fn dwz_supplementary_file() {
    if !have_tools(&["gcc", "addr2line", "objdump", "dwz"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let orig = dir.path().join("a.orig");
    let common = dir.path().join("common.debug");
    for (out, def) in [(&a, "-DX=0"), (&b, "-DX=1")] {
        run(Command::new("gcc")
            .args(["-O2", "-g", def, "-o"])
            .arg(out)
            .arg(data("symtest.c")));
    }
    std::fs::copy(&a, &orig).unwrap();
    run(Command::new("dwz")
        .arg("-m")
        .arg(&common)
        .arg("-M")
        .arg(&common)
        .arg(&a)
        .arg(&b));
    let addrs = instruction_addrs(&a, 400);
    let theirs = binutils(&orig, &addrs);
    let mine = ours(&a, &addrs);
    let (exact, _) = compare("C -O2 -g after dwz", &addrs, &theirs, &mine);
    assert_eq!(exact, addrs.len());
}
