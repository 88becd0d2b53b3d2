//! Checking where outputs will go before any work starts: a recording that runs for minutes
//! must not be lost at the end to a missing folder or a read-only file system. Each check
//! returns one line naming the path and the problem.

use std::path::{Path, PathBuf};

/// The folder a file `path` would be written in (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether files can be created in `dir` (tried, not guessed from mode bits: root, ACLs and
/// read-only mounts all decide).
fn check_dir_writable(dir: &Path, what: &str, shown: &str) -> anyhow::Result<()> {
    let probe = dir.join(format!(".profdiff-check-{}", std::process::id()));
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe);
    match created {
        Ok(f) => {
            drop(f);
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => anyhow::bail!(
            "cannot write the {what} to {shown}: folder {} is not writable ({e})",
            dir.display()
        ),
    }
}

/// `path` (not `-`) can be written as a file: it is not a folder, its folder exists and
/// takes new files (outputs are written to a temp file there and renamed).
pub fn check_output_file(path: &str, what: &str) -> anyhow::Result<()> {
    if path == "-" {
        return Ok(());
    }
    let p = Path::new(path);
    if path.ends_with('/') || p.is_dir() {
        anyhow::bail!("cannot write the {what} to {path}: it is a folder; give a file name (e.g. {}/profile.pb.gz)", path.trim_end_matches('/'));
    }
    let dir = parent_of(p);
    if !dir.is_dir() {
        anyhow::bail!(
            "cannot write the {what} to {path}: folder {} does not exist",
            dir.display()
        );
    }
    check_dir_writable(&dir, what, path)
}

/// `dir` can hold the profiles of a series of runs: it exists (or its parent does, and it is
/// created now), is writable, and holds no earlier runs named like the new ones (they would
/// be mixed into a comparison of the folder).
pub fn prepare_runs_folder(dir: &str, stale: impl Fn(&str) -> bool) -> anyhow::Result<PathBuf> {
    let p = PathBuf::from(dir);
    if p.exists() && !p.is_dir() {
        anyhow::bail!("cannot write runs to {dir}: it is a file, not a folder");
    }
    if !p.exists() {
        let parent = parent_of(&p);
        if !parent.is_dir() {
            anyhow::bail!(
                "cannot write runs to {dir}: folder {} does not exist",
                parent.display()
            );
        }
        std::fs::create_dir(&p).map_err(|e| anyhow::anyhow!("cannot create folder {dir}: {e}"))?;
    }
    check_dir_writable(&p, "runs", dir)?;
    let old: Vec<String> = std::fs::read_dir(&p)
        .map_err(|e| anyhow::anyhow!("{dir}: {e}"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| stale(n))
        .collect();
    if let Some(first) = old.first() {
        anyhow::bail!(
            "{dir} already holds runs ({first}{}): remove them or choose another folder, so old \
             and new runs are not mixed",
            if old.len() > 1 { ", ..." } else { "" }
        );
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_missing_parents_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_str().unwrap();
        let e = check_output_file("./", "profile").unwrap_err().to_string();
        assert!(e.contains("it is a folder"), "{e}");
        let e = check_output_file(dir, "profile").unwrap_err().to_string();
        assert!(e.contains("it is a folder"), "{e}");
        let e = check_output_file(&format!("{dir}/no/p.pb.gz"), "profile")
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        check_output_file(&format!("{dir}/p.pb.gz"), "profile").unwrap();
        check_output_file("-", "profile").unwrap();
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            0,
            "no probe left"
        );
    }

    #[test]
    fn runs_folder_is_created_and_stale_runs_refused() {
        let d = tempfile::tempdir().unwrap();
        let runs = d.path().join("runs");
        let runs_s = runs.to_str().unwrap();
        let is_run = |n: &str| n.starts_with("run-");
        prepare_runs_folder(runs_s, is_run).unwrap();
        assert!(runs.is_dir());
        std::fs::write(runs.join("notes.txt"), "x").unwrap();
        prepare_runs_folder(runs_s, is_run).unwrap();
        std::fs::write(runs.join("run-01.pb.gz"), "x").unwrap();
        let e = prepare_runs_folder(runs_s, is_run).unwrap_err().to_string();
        assert!(e.contains("already holds runs (run-01.pb.gz)"), "{e}");
        let missing = d.path().join("a/b");
        let e = prepare_runs_folder(missing.to_str().unwrap(), is_run)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
    }
}
