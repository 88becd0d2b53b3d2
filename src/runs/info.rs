//! A run's measurements in the profile's metadata: wall time, CPU time (user + system, from
//! the command's `wait4` rusage) and exit status, under fixed keys that `record` writes and
//! `ab` / `compare` read back.

use crate::model::Profile;
use std::time::Duration;

/// Metadata key: wall time of the run in nanoseconds.
pub const WALL_NS: &str = "wall_ns";
/// Metadata key: user CPU time of the command (and the children it waited for), nanoseconds.
pub const CPU_USER_NS: &str = "cpu_user_ns";
/// Metadata key: system CPU time, nanoseconds.
pub const CPU_SYS_NS: &str = "cpu_sys_ns";
/// Metadata key: exit status as a shell reports it (128 + N for death by signal N).
pub const EXIT_STATUS: &str = "exit_status";

/// What one run measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunInfo {
    pub wall: Duration,
    /// User and system CPU time; absent where the command was not our child (`--pid`).
    pub cpu: Option<(Duration, Duration)>,
    /// Exit status as a shell reports it; absent for `--pid`.
    pub exit_status: Option<i32>,
}

impl RunInfo {
    /// The metadata entries that carry this run.
    pub fn to_metadata(&self) -> Vec<(String, String)> {
        let mut m = vec![(WALL_NS.to_string(), self.wall.as_nanos().to_string())];
        if let Some((user, sys)) = self.cpu {
            m.push((CPU_USER_NS.into(), user.as_nanos().to_string()));
            m.push((CPU_SYS_NS.into(), sys.as_nanos().to_string()));
        }
        if let Some(s) = self.exit_status {
            m.push((EXIT_STATUS.into(), s.to_string()));
        }
        m
    }

    /// The run a profile carries, if it was recorded by `profdiff record`.
    pub fn of_profile(p: &Profile) -> Option<RunInfo> {
        let ns = |k: &str| -> Option<Duration> {
            p.metadata
                .get(k)?
                .parse::<u64>()
                .ok()
                .map(Duration::from_nanos)
        };
        Some(RunInfo {
            wall: ns(WALL_NS)?,
            cpu: ns(CPU_USER_NS).zip(ns(CPU_SYS_NS)),
            exit_status: p.metadata.get(EXIT_STATUS).and_then(|s| s.parse().ok()),
        })
    }

    /// User + system time.
    pub fn cpu_total(&self) -> Option<Duration> {
        self.cpu.map(|(u, s)| u + s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::pprof;

    #[test]
    fn survives_a_pprof_round_trip() {
        let run = RunInfo {
            wall: Duration::from_nanos(1_234_567_890),
            cpu: Some((Duration::from_millis(1100), Duration::from_millis(20))),
            exit_status: Some(3),
        };
        let mut p = Profile {
            sample_types: vec![crate::model::ValueType::new("cpu", "nanoseconds")],
            ..Profile::default()
        };
        p.metadata.extend(run.to_metadata());
        let mut bytes = Vec::new();
        pprof::write_gz(&p, &mut bytes).unwrap();
        let back = crate::formats::gunzip(&bytes, Some(1 << 20)).unwrap();
        let q = pprof::parse(&back).unwrap();
        assert_eq!(RunInfo::of_profile(&q), Some(run));
    }

    #[test]
    fn profiles_from_elsewhere_carry_no_run() {
        let p = Profile::default();
        assert_eq!(RunInfo::of_profile(&p), None);
    }
}
