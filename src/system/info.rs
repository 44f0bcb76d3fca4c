//! What the host is and has: identity, uptime, CPUs, memory, block devices. Read from `/proc`,
//! `/sys` and `statvfs` through sysinfo (and procfs for CPU times); inside a container this is
//! what the container sees.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use procfs::CurrentSI;
use serde::Serialize;
use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, Product, RefreshKind, System};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemInfo {
    /// The hardware vendor (DMI), `""` when unknown (VMs, containers).
    pub sys_vendor: String,
    /// The hardware product name (DMI), `""` when unknown.
    pub product_name: String,
    pub uptime_secs: u64,
    /// When the host booted, ISO 8601.
    pub boot_time: String,
    pub reboot_required: bool,
    /// When the owner was created; null before activation.
    pub activation_time: Option<String>,
    pub hostname: String,
    /// The kernel release, e.g. `6.1.0-26-amd64`.
    pub kernel: String,
    /// The operating system, e.g. `Linux 12 Debian GNU/Linux`.
    pub os: String,
    /// The boxd version.
    pub version: String,
}

/// The host's identity and uptime; `reboot_required` and `activation_time` come from the caller.
pub fn host(reboot_required: bool, activation_time: Option<String>) -> SystemInfo {
    let boot = i64::try_from(System::boot_time()).unwrap_or_default();
    let boot_time = chrono::DateTime::from_timestamp(boot, 0).unwrap_or_default();
    SystemInfo {
        sys_vendor: Product::vendor_name().unwrap_or_default(),
        product_name: Product::name().unwrap_or_default(),
        uptime_secs: System::uptime(),
        boot_time: crate::clock::iso(boot_time),
        reboot_required,
        activation_time,
        hostname: System::host_name().unwrap_or_default(),
        kernel: System::kernel_version().unwrap_or_default(),
        os: System::long_os_version().unwrap_or_default(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cpu {
    #[schema(example = "AMD EPYC Processor")]
    pub model: String,
    /// MHz; 0 when the host does not say.
    pub speed: u64,
    pub times: CpuTimes,
}

/// Time the CPU spent in each mode since boot, in milliseconds.
#[derive(Debug, Serialize, ToSchema)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub sys: u64,
    pub idle: u64,
    pub irq: u64,
}

/// Every CPU the host (or container) sees, with its times since boot.
pub fn cpus() -> anyhow::Result<Vec<Cpu>> {
    let refresh = CpuRefreshKind::nothing().with_frequency();
    let system = System::new_with_specifics(RefreshKind::nothing().with_cpu(refresh));
    let stats = procfs::KernelStats::current().context("cannot read /proc/stat")?;
    Ok(system
        .cpus()
        .iter()
        .zip(stats.cpu_time)
        .map(|(cpu, time)| Cpu {
            model: cpu.brand().to_owned(),
            speed: cpu.frequency(),
            times: CpuTimes {
                user: time.user_ms(),
                nice: time.nice_ms(),
                sys: time.system_ms(),
                idle: time.idle_ms(),
                irq: time.irq_ms().unwrap_or_default(),
            },
        })
        .collect())
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    /// Total memory, bytes.
    pub memory: u64,
    /// Total swap, bytes.
    pub swap: u64,
    /// Memory available to new work, bytes.
    pub memory_available: u64,
    /// Unused swap, bytes.
    pub swap_free: u64,
}

pub fn memory() -> Memory {
    let system = System::new_with_specifics(
        RefreshKind::nothing().with_memory(MemoryRefreshKind::everything()),
    );
    Memory {
        memory: system.total_memory(),
        swap: system.total_swap(),
        memory_available: system.available_memory(),
        swap_free: system.free_swap(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockDevice {
    #[schema(example = "/dev/sda1")]
    pub path: String,
    /// The size as `lsblk` shows it.
    #[schema(example = "40G")]
    pub size: String,
    pub size_bytes: u64,
    /// The file system type.
    #[serde(rename = "type")]
    #[schema(example = "ext4")]
    pub fs_type: String,
    /// The file system UUID, `""` when the host does not list it.
    pub uuid: String,
    /// Where it is mounted (the first mount point, if several).
    pub mountpoint: String,
}

/// The mounted block devices (`/dev/...`), each once.
pub fn block_devices() -> Vec<BlockDevice> {
    let uuids = uuids(Path::new("/dev/disk/by-uuid"));
    let mut devices: BTreeMap<String, BlockDevice> = BTreeMap::new();
    for disk in Disks::new_with_refreshed_list().list() {
        let path = disk.name().to_string_lossy().into_owned();
        if !path.starts_with("/dev/") || devices.contains_key(&path) {
            continue;
        }
        devices.insert(
            path.clone(),
            BlockDevice {
                uuid: uuids.get(&path).cloned().unwrap_or_default(),
                size: human_size(disk.total_space()),
                size_bytes: disk.total_space(),
                fs_type: disk.file_system().to_string_lossy().into_owned(),
                mountpoint: disk.mount_point().to_string_lossy().into_owned(),
                path,
            },
        );
    }
    devices.into_values().collect()
}

/// Device path → file system UUID, from udev's symlinks.
fn uuids(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let device = std::fs::canonicalize(entry.path()).ok()?;
            let uuid = entry.file_name().to_string_lossy().into_owned();
            Some((device.to_string_lossy().into_owned(), uuid))
        })
        .collect()
}

/// Bytes as `lsblk` prints them: 1024-based, one decimal below 10 (`512M`, `1.5G`, `40G`).
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    let number = if size < 10.0 && unit > 0 {
        format!("{size:.1}")
    } else {
        format!("{size:.0}")
    };
    format!("{}{}", number.trim_end_matches(".0"), UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_lsblk() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(512 * 1024 * 1024), "512M");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024 / 2), "1.5G");
        assert_eq!(human_size(40 * 1024 * 1024 * 1024), "40G");
    }

    #[test]
    fn this_host_has_cpus_and_memory() {
        let cpus = cpus().unwrap();
        assert!(!cpus.is_empty());
        assert!(cpus.iter().any(|cpu| cpu.times.user + cpu.times.idle > 0));
        assert!(memory().memory > 0);
        let info = host(false, None);
        assert!(info.uptime_secs > 0 && !info.kernel.is_empty());
    }
}
