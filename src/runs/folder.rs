//! A folder of runs as one side of a comparison: `profdiff record --runs N -o DIR` writes one
//! profile per run into DIR, and `compare DIR NEW` (or a baseline) reads every profile in it as
//! one run, in name order. Files that are not profiles (the baseline manifest, notes, hidden
//! files, a flamegraph) are skipped; what counts as a profile is decided by content, as for any
//! input.

use crate::error::{Error, Result};
use crate::formats;
use std::path::{Path, PathBuf};

/// The manifest a baseline keeps next to its profiles.
pub const MANIFEST: &str = "manifest.json";

/// The profiles in `dir`, sorted by name. An unreadable folder, or one without a profile, is
/// an error naming it.
pub fn profiles_in_folder(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir.display(), e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir.display(), e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == MANIFEST {
            continue;
        }
        let path = entry.path();
        // Follows symlinks, so a folder of links to profiles works.
        if path.is_file() && looks_like_profile(&path) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(Error::input(
            dir.display(),
            "no profiles in this folder (expected one profile per run, e.g. from \
             `profdiff record --runs N -o DIR`)",
        ));
    }
    files.sort();
    Ok(files)
}

/// Whether a file's content is a profile profdiff reads: gzip (pprof and gzipped text formats;
/// their reader says what is wrong if they are not), or a detected format. Markup (a
/// flamegraph SVG, an HTML report kept next to the runs) is never a profile, though its lines
/// can look like `perf script` text.
fn looks_like_profile(path: &Path) -> bool {
    let Some(p) = path.to_str() else {
        return false;
    };
    match formats::load_raw(p) {
        Ok(data) => {
            !data.is_empty()
                && (formats::is_gzip(&data)
                    || (!is_markup(&data)
                        && match formats::detect(&data) {
                            Some(formats::Format::Folded) => starts_with_a_stack(&data),
                            found => found.is_some(),
                        }))
        }
        // Unreadable: keep it, so reading it reports the problem instead of hiding the file.
        Err(_) => true,
    }
}

/// Folded stacks are plain text, so any `key: value` note beside the runs (a `.meta`, a log)
/// could pass for them: in a folder, a folded profile's first line must be a stack.
fn starts_with_a_stack(data: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&data[..data.len().min(64 * 1024)]);
    head.lines()
        .map(|l| l.trim_start_matches('\u{feff}'))
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .is_some_and(|l| match formats::folded::parse_line(l) {
            Some((stack, _)) => !formats::folded::is_key_value(stack),
            None => formats::folded::parse_differential_line(l).is_some(),
        })
}

/// XML, SVG or HTML: the first non-blank character is `<`.
fn is_markup(data: &[u8]) -> bool {
    let head = &data[..data.len().min(256)];
    String::from_utf8_lossy(head)
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<')
}

/// Inputs with every folder replaced by the profiles in it (`-` and files stay as they are).
pub fn expand_inputs(inputs: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        let path = Path::new(input);
        if input != "-" && path.is_dir() {
            for f in profiles_in_folder(path)? {
                out.push(f.to_string_lossy().into_owned());
            }
        } else {
            out.push(input.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_lists_profiles_by_name_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("run-02.folded"), "main;work 3\n").unwrap();
        std::fs::write(d.join("run-01.folded"), "main;work 2\n").unwrap();
        std::fs::write(d.join(MANIFEST), "{\"name\": \"x\"}\n").unwrap();
        std::fs::write(d.join("NOTES.md"), "# notes\n\nnot a profile at all.\n").unwrap();
        std::fs::write(
            d.join("flame.svg"),
            "<?xml version=\"1.0\"?>\n<svg>\n  <g><title>main (3 samples)</title></g>\n</svg>\n",
        )
        .unwrap();
        std::fs::write(
            d.join("report.html"),
            "<html><body>main;a 3</body></html>\n",
        )
        .unwrap();
        std::fs::write(d.join(".hidden.folded"), "main 1\n").unwrap();
        // A run's notes in `key: value` lines, some of which end in numbers.
        std::fs::write(
            d.join("run-01.meta"),
            "date: 2026-12-05T08:58:45Z\nloadavg_before: 13.45 12.39 9.00\nwall_seconds: 3.022\n",
        )
        .unwrap();
        // ... also when the first line is one of those.
        std::fs::write(d.join("run-02.meta"), "wall_seconds: 3.022\nrss_kb: 5120\n").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        let got = profiles_in_folder(d).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["run-01.folded", "run-02.folded"]);
    }

    #[test]
    fn empty_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST), "{}").unwrap();
        let e = profiles_in_folder(dir.path()).unwrap_err().to_string();
        assert!(e.starts_with(&dir.path().display().to_string()), "{e}");
        assert!(e.contains("no profiles in this folder"), "{e}");
    }

    #[test]
    fn inputs_expand_folders_in_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.folded"), "main 1\n").unwrap();
        let d = dir.path().to_string_lossy().into_owned();
        let got = expand_inputs(&["x.pb.gz".into(), d.clone(), "-".into()]).unwrap();
        assert_eq!(
            got,
            ["x.pb.gz".to_string(), format!("{d}/a.folded"), "-".into()]
        );
    }
}
