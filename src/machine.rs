//! What machine a recording was made on: host name, CPU model and kernel, written into every
//! recording's metadata and every baseline's manifest, so comparing runs from different
//! machines can be pointed out.

/// Metadata key of the host name.
pub const HOST: &str = "host";
/// Metadata key of the CPU model.
pub const CPU_MODEL: &str = "cpu_model";
/// Metadata key of the kernel release.
pub const KERNEL: &str = "kernel";

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// This machine's host name.
pub fn host() -> String {
    read_trim("/proc/sys/kernel/hostname").unwrap_or_default()
}

/// The kernel release (`uname -r`).
pub fn kernel() -> String {
    read_trim("/proc/sys/kernel/osrelease").unwrap_or_default()
}

/// The CPU model as `/proc/cpuinfo` names it (`model name`, or `Hardware` / `cpu model` on
/// other architectures); empty when unknown.
pub fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpu_model_of(&info)
}

fn cpu_model_of(cpuinfo: &str) -> String {
    for key in ["model name", "cpu model", "Hardware", "cpu"] {
        for line in cpuinfo.lines() {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim() == key && !v.trim().is_empty() {
                    return v.trim().to_string();
                }
            }
        }
    }
    String::new()
}

/// This machine's host, CPU model and kernel as metadata entries.
pub fn metadata() -> Vec<(String, String)> {
    vec![
        (HOST.into(), host()),
        (CPU_MODEL.into(), cpu_model()),
        (KERNEL.into(), kernel()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_from_cpuinfo() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(cpu_model_of(x86), "Intel(R) Xeon(R) CPU @ 2.20GHz");
        assert_eq!(cpu_model_of("processor : 0\n"), "");
    }
}
