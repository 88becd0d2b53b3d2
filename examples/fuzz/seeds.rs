//! Fuzz targets and their seeds. Targets come from [`Format::ALL`]: one per format (named by
//! the format, e.g. `pprof`, `perf-data`), one more per format whose seeds were gzipped
//! (`pprof+gz`: the compressed bytes are mutated and inflated first), and one per seed folder
//! `tests/data/fuzz-seeds/<format>+<variant>/` (e.g. `perf-data+pipe`).
//!
//! Seeds are found, not listed: every file under `../shared/fixtures` (read in place),
//! `samples/` and `tests/data/` is inflated if gzipped and given to the target of the format
//! `formats::detect` finds, so a new reader's fixtures seed it with no change here.

use profdiff::formats::{self, Format};
use std::path::{Path, PathBuf};

/// Seed files larger than this are skipped (mutating them is slow and finds no more).
const MAX_SEED: u64 = 64 << 10;
/// At most this many seeds per target, the smallest first.
const MAX_SEEDS: usize = 64;

/// What kind of bytes a target reads, for the structure-aware mutations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Text,
    Protobuf,
    PerfData,
    Gzip,
}

pub struct Target {
    pub name: String,
    pub format: Format,
    pub gzip: bool,
    pub kind: Kind,
    pub seeds: Vec<Vec<u8>>,
}

/// A format's target name: its name in lower case, other characters as `-`.
pub fn slug(f: Format) -> String {
    f.name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn kind_of(f: Format, gzip: bool) -> Kind {
    if gzip {
        return Kind::Gzip;
    }
    match f {
        Format::Pprof => Kind::Protobuf,
        Format::PerfData => Kind::PerfData,
        _ => Kind::Text,
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every target with its seeds, in [`Format::ALL`] order.
pub fn targets() -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    let mut add = |name: String, format: Format, gzip: bool, seed: Vec<u8>| {
        let t = match out.iter_mut().position(|t| t.name == name) {
            Some(i) => &mut out[i],
            None => {
                out.push(Target {
                    kind: kind_of(format, gzip),
                    name,
                    format,
                    gzip,
                    seeds: Vec::new(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        if !t.seeds.contains(&seed) {
            t.seeds.push(seed);
        }
    };
    for &f in Format::ALL {
        add(slug(f), f, false, Vec::new());
    }
    let seed_dir = root().join("tests/data/fuzz-seeds");
    for dir in sorted_entries(&seed_dir) {
        let name = file_name(&dir);
        let base = name.split('+').next().unwrap_or_default();
        let Some(&f) = Format::ALL.iter().find(|&&f| slug(f) == base) else {
            continue;
        };
        for file in files_under(&dir) {
            if let Ok(b) = std::fs::read(&file) {
                add(name.clone(), f, name.ends_with("+gz"), b);
            }
        }
    }
    for top in [
        root().join("../shared/fixtures"),
        root().join("samples"),
        root().join("tests/data"),
    ] {
        for file in files_under(&top) {
            let Ok(raw) = std::fs::read(&file) else {
                continue;
            };
            let gz = formats::is_gzip(&raw);
            let data = if gz {
                match formats::gunzip(&raw, Some(8 << 20)) {
                    Ok(d) => d,
                    Err(_) => continue,
                }
            } else {
                raw.clone()
            };
            let Some(f) = formats::detect(&data) else {
                continue;
            };
            if data.len() as u64 <= MAX_SEED {
                add(slug(f), f, false, data);
            }
            if gz {
                add(format!("{}+gz", slug(f)), f, true, raw);
            }
        }
    }
    for t in &mut out {
        t.seeds.retain(|s| !s.is_empty());
        t.seeds.sort_by_key(Vec::len);
        t.seeds.truncate(MAX_SEEDS);
    }
    out
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Regular files under `dir` no larger than [`MAX_SEED`] (fuzz crash folders excluded).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for p in sorted_entries(&d) {
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() && meta.len() <= MAX_SEED {
                out.push(p);
            }
        }
    }
    out
}
