//! Baselines: named sets of runs kept to compare later work against, as criterion's
//! `--save-baseline` and benchstat workflows do. A baseline is a plain folder a user can
//! inspect: the profiles exactly as recorded plus `manifest.json` saying where they come from
//! (git commit, branch and dirty flag, date, host, CPU model, kernel, command, profdiff
//! version). The store is `$PROFDIFF_BASELINE_DIR`, else `.profdiff/baselines/` at the git root,
//! else in the current folder. Saving is atomic: the folder is filled under a temporary name
//! and renamed into place, so a baseline is always complete or absent.

use crate::error::{Error, Result};
use crate::machine;
use crate::model::Profile;
use crate::runs::folder::MANIFEST;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming the baseline store.
pub const STORE_ENV: &str = "PROFDIFF_BASELINE_DIR";

/// The state of the git checkout a baseline was saved from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitState {
    pub commit: String,
    /// Branch name; `HEAD` when detached.
    pub branch: String,
    /// Uncommitted changes to tracked files.
    pub dirty: bool,
}

/// Where a baseline comes from; saved as `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    /// UTC, RFC 3339.
    pub date: String,
    pub git: Option<GitState>,
    pub host: String,
    pub cpu_model: String,
    pub kernel: String,
    /// The recorded command, when the profiles say (all the same) or the caller knows it.
    pub command: Option<String>,
    pub profdiff_version: String,
    /// The profile files of the baseline, one per run, in order.
    pub runs: Vec<String>,
}

/// The store folder: `$PROFDIFF_BASELINE_DIR`, else `.profdiff/baselines` at the git root of
/// the current folder, else under the current folder.
pub fn store() -> PathBuf {
    if let Some(d) = std::env::var_os(STORE_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let root =
        git(&["rev-parse", "--show-toplevel"]).map_or_else(|| PathBuf::from("."), PathBuf::from);
    root.join(".profdiff").join("baselines")
}

/// A baseline name is one plain folder name: letters, digits, `.`, `_`, `-`, not starting
/// with `.`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "invalid baseline name {name:?}: use letters, digits, '.', '_' and '-' (not starting with '.')"
        )))
    }
}

fn git(args: &[&str]) -> Option<String> {
    let o = Command::new("git")
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The git state of the current folder, if it is in a git checkout.
pub fn git_state() -> Option<GitState> {
    Some(GitState {
        commit: git(&["rev-parse", "HEAD"])?,
        branch: git(&["rev-parse", "--abbrev-ref", "HEAD"]).unwrap_or_else(|| "HEAD".into()),
        dirty: git(&["status", "--porcelain", "--untracked-files=no"]).is_some(),
    })
}

/// Days since 1970-01-01 to a (year, month, day) civil date (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Seconds since the epoch as RFC 3339 UTC (`2026-12-05T08:40:55Z`).
fn rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    rfc3339(secs)
}

/// The value all profiles agree on for a metadata key, if any.
fn common_value(profiles: &[Profile], key: &str) -> Option<String> {
    let first = profiles.first()?.metadata.get(key)?;
    profiles
        .iter()
        .all(|p| p.metadata.get(key) == Some(first))
        .then(|| first.clone())
        .filter(|v| !v.is_empty())
}

/// The manifest of a baseline of `profiles` (already read, to take host, CPU and command from
/// where they were recorded; this machine's where they do not say).
pub fn manifest_for(name: &str, profiles: &[Profile], command: Option<String>) -> Manifest {
    let or_here =
        |key: &str, here: fn() -> String| common_value(profiles, key).unwrap_or_else(here);
    Manifest {
        name: name.to_string(),
        date: now_rfc3339(),
        git: git_state(),
        host: or_here(machine::HOST, machine::host),
        cpu_model: or_here(machine::CPU_MODEL, machine::cpu_model),
        kernel: or_here(machine::KERNEL, machine::kernel),
        command: command.or_else(|| common_value(profiles, "command")),
        profdiff_version: env!("CARGO_PKG_VERSION").to_string(),
        runs: Vec::new(),
    }
}

/// File names for the copies: the originals when they are distinct, else numbered.
fn run_names(inputs: &[PathBuf]) -> Vec<String> {
    let names: Vec<String> = inputs
        .iter()
        .map(|p| {
            p.file_name()
                .map_or_else(|| "profile".into(), |n| n.to_string_lossy().into_owned())
        })
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    let clash =
        sorted.len() != names.len() || names.iter().any(|n| n == MANIFEST || n.starts_with('.'));
    if !clash {
        return names;
    }
    let width = inputs.len().to_string().len().max(2);
    names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{:0width$}-{}", i + 1, n.trim_start_matches('.')))
        .collect()
}

/// Save `inputs` (profile files, copied byte for byte) as baseline `manifest.name` in
/// `store`, replacing a baseline of that name. Returns the baseline's folder.
pub fn save(store: &Path, mut manifest: Manifest, inputs: &[PathBuf]) -> Result<PathBuf> {
    check_name(&manifest.name)?;
    if inputs.is_empty() {
        return Err(Error::Other("no profiles to save as a baseline".into()));
    }
    std::fs::create_dir_all(store).map_err(|e| Error::io(store.display(), e))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".saving-{}-", manifest.name))
        .tempdir_in(store)
        .map_err(|e| Error::io(store.display(), e))?;
    manifest.runs = run_names(inputs);
    for (src, name) in inputs.iter().zip(&manifest.runs) {
        std::fs::copy(src, tmp.path().join(name)).map_err(|e| Error::io(src.display(), e))?;
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Other(e.to_string()))?;
    let manifest_path = tmp.path().join(MANIFEST);
    std::fs::write(&manifest_path, [json.as_slice(), b"\n"].concat())
        .map_err(|e| Error::io(manifest_path.display(), e))?;
    let dest = store.join(&manifest.name);
    // An existing baseline of that name is moved aside first (a rename cannot replace a
    // non-empty folder), then removed once the new one is in place.
    let old = if dest.exists() {
        let aside = tempfile::Builder::new()
            .prefix(&format!(".replaced-{}-", manifest.name))
            .tempdir_in(store)
            .map_err(|e| Error::io(store.display(), e))?;
        let aside_path = aside.path().join("old");
        std::fs::rename(&dest, &aside_path).map_err(|e| Error::io(dest.display(), e))?;
        Some(aside)
    } else {
        None
    };
    let tmp_path = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp_path, &dest) {
        let _ = std::fs::remove_dir_all(&tmp_path);
        if let Some(aside) = &old {
            let _ = std::fs::rename(aside.path().join("old"), &dest);
        }
        return Err(Error::io(dest.display(), e));
    }
    drop(old);
    Ok(dest)
}

/// A saved baseline: its manifest and its profile files.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub manifest: Manifest,
    pub dir: PathBuf,
}

impl Baseline {
    /// The baseline's profile files, in the manifest's order.
    pub fn profiles(&self) -> Vec<PathBuf> {
        self.manifest
            .runs
            .iter()
            .map(|r| self.dir.join(r))
            .collect()
    }
}

/// Open baseline `name` in `store`.
pub fn open(store: &Path, name: &str) -> Result<Baseline> {
    check_name(name)?;
    let dir = store.join(name);
    if !dir.is_dir() {
        let known: Vec<String> = list(store)
            .unwrap_or_default()
            .into_iter()
            .map(|b| b.manifest.name)
            .collect();
        return Err(Error::Other(format!(
            "no baseline {name:?} in {} ({})",
            store.display(),
            if known.is_empty() {
                "it holds none; save one with `profdiff baseline save NAME PROFILES...`".to_string()
            } else {
                format!("it holds: {}", known.join(", "))
            }
        )));
    }
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(path.display(), e))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::input(path.display(), format!("invalid baseline manifest: {e}")))?;
    if manifest.runs.is_empty()
        || manifest
            .runs
            .iter()
            .any(|r| r.contains('/') || r.starts_with('.') || r.is_empty())
    {
        return Err(Error::input(
            path.display(),
            "invalid baseline manifest: `runs` must list the profile files of the folder",
        ));
    }
    Ok(Baseline { manifest, dir })
}

/// Every baseline in `store`, by name; an absent store holds none. Folders without a readable
/// manifest are skipped.
pub fn list(store: &Path) -> Result<Vec<Baseline>> {
    let entries = match std::fs::read_dir(store) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(store.display(), e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        if let Ok(b) = open(store, &name) {
            out.push(b);
        }
    }
    out.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
    Ok(out)
}

/// A machine as recordings describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineId {
    pub host: String,
    pub cpu_model: String,
}

impl MachineId {
    /// The machine the profiles agree they were recorded on, where they say.
    pub fn of_profiles(profiles: &[Profile]) -> Option<MachineId> {
        let host = common_value(profiles, machine::HOST).unwrap_or_default();
        let cpu_model = common_value(profiles, machine::CPU_MODEL).unwrap_or_default();
        (!host.is_empty() || !cpu_model.is_empty()).then_some(MachineId { host, cpu_model })
    }

    /// This machine.
    pub fn here() -> MachineId {
        MachineId {
            host: machine::host(),
            cpu_model: machine::cpu_model(),
        }
    }
}

/// A warning when two sides come from different hosts or CPU models (fields one side does not
/// know are not compared).
pub fn machine_warning(old: &MachineId, new: &MachineId) -> Option<String> {
    let differ = |a: &str, b: &str| !a.is_empty() && !b.is_empty() && a != b;
    let mut what = Vec::new();
    if differ(&old.host, &new.host) {
        what.push(format!("host {} vs {}", old.host, new.host));
    }
    if differ(&old.cpu_model, &new.cpu_model) {
        what.push(format!("CPU {} vs {}", old.cpu_model, new.cpu_model));
    }
    (!what.is_empty()).then(|| {
        format!(
            "OLD and NEW were recorded on different machines ({}): differences may come from \
             the machine, not the code",
            what.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1796460055` = Sat Dec  5 08:40:55 UTC 2026.
        assert_eq!(rfc3339(1_796_460_055), "2026-12-05T08:40:55Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn names_are_single_plain_folder_names() {
        for ok in ["main", "v1.2", "pr-42_before"] {
            check_name(ok).unwrap();
        }
        for bad in ["", ".", "..", "a/b", ".hidden", "x y"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn clashing_file_names_are_numbered() {
        let a = [
            PathBuf::from("x/run-01.pb.gz"),
            PathBuf::from("y/run-02.pb.gz"),
        ];
        assert_eq!(run_names(&a), ["run-01.pb.gz", "run-02.pb.gz"]);
        let b = [PathBuf::from("x/p.pb.gz"), PathBuf::from("y/p.pb.gz")];
        assert_eq!(run_names(&b), ["01-p.pb.gz", "02-p.pb.gz"]);
    }

    #[test]
    fn save_replaces_atomically_and_list_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let src = dir.path().join("run-01.folded");
        std::fs::write(&src, "main;work 3\n").unwrap();
        let m = manifest_for("main", &[], Some("./bench".into()));
        let saved = save(&store, m.clone(), std::slice::from_ref(&src)).unwrap();
        assert_eq!(
            std::fs::read(saved.join("run-01.folded")).unwrap(),
            b"main;work 3\n"
        );
        std::fs::write(&src, "main;work 4\n").unwrap();
        save(&store, m, std::slice::from_ref(&src)).unwrap();
        let all = list(&store).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].manifest.command.as_deref(), Some("./bench"));
        let files = all[0].profiles();
        assert_eq!(std::fs::read(&files[0]).unwrap(), b"main;work 4\n");
        // Nothing but the baseline is left in the store (no temp or replaced folders).
        assert_eq!(std::fs::read_dir(&store).unwrap().count(), 1);
        let e = open(&store, "nope").unwrap_err().to_string();
        assert!(e.contains("it holds: main"), "{e}");
    }

    #[test]
    fn different_hosts_or_cpus_warn() {
        let a = MachineId {
            host: "ci-1".into(),
            cpu_model: "Xeon".into(),
        };
        assert_eq!(machine_warning(&a, &a), None);
        let b = MachineId {
            host: "laptop".into(),
            cpu_model: "Xeon".into(),
        };
        let w = machine_warning(&a, &b).unwrap();
        assert!(
            w.contains("host ci-1 vs laptop") && !w.contains("CPU"),
            "{w}"
        );
        assert_eq!(machine_warning(&a, &MachineId::default()), None);
    }
}
