//! Disk usage: each mounted file system's size and use, and what boxd's data dir takes of its
//! own. Measuring walks the data dir, so the answer is cached in `<data-dir>/disk_usage.json`:
//! refreshed daily, by the `updateDiskUsage` task, and when there is none yet.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sysinfo::Disks;
use utoipa::ToSchema;

use crate::clock::Clock;
use crate::tasks::{Job, TaskContext};

/// `GET /system/disk_usage`'s `usage`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DiskUsage {
    /// When it was measured, epoch milliseconds.
    pub ts: i64,
    /// By device (`/dev/vda1`, or `overlay` in a container).
    pub filesystems: BTreeMap<String, FileSystem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FileSystem {
    pub filesystem: String,
    #[serde(rename = "type")]
    pub fs_type: String,
    /// Bytes.
    pub size: u64,
    pub used: u64,
    pub available: u64,
    /// The fraction in use, 0 to 1.
    pub capacity: f64,
    pub mountpoint: String,
    /// What boxd keeps here: its data dir, on the file system that holds it.
    pub contents: Vec<Content>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Content {
    #[schema(example = "boxd")]
    pub id: String,
    #[serde(rename = "type")]
    #[schema(example = "standard")]
    pub kind: String,
    pub path: String,
    /// Bytes.
    pub usage: u64,
}

pub fn cache_path(data_dir: &Path) -> PathBuf {
    data_dir.join("disk_usage.json")
}

/// The cached measurement, if there is one.
pub fn cached(data_dir: &Path) -> anyhow::Result<Option<DiskUsage>> {
    match std::fs::read(cache_path(data_dir)) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).context("the cached disk usage is malformed")?,
        )),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(anyhow::Error::from(err).context("cannot read the cached disk usage")),
    }
}

/// Measures now and replaces the cache.
pub fn refresh(data_dir: &Path, now_ms: i64) -> anyhow::Result<DiskUsage> {
    let usage = measure(data_dir, now_ms)?;
    let path = cache_path(data_dir);
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, serde_json::to_vec(&usage)?)?;
    std::fs::rename(&partial, &path)?;
    Ok(usage)
}

fn measure(data_dir: &Path, now_ms: i64) -> anyhow::Result<DiskUsage> {
    let data_dir = std::fs::canonicalize(data_dir).context("cannot resolve the data dir")?;
    let disks = Disks::new_with_refreshed_list();
    // The file system holding the data dir: the longest mount point above it.
    let home = disks
        .list()
        .iter()
        .filter(|disk| data_dir.starts_with(disk.mount_point()))
        .max_by_key(|disk| disk.mount_point().as_os_str().len());
    let mut filesystems = BTreeMap::new();
    if let Some(disk) = home {
        let content = Content {
            id: "boxd".into(),
            kind: "standard".into(),
            path: data_dir.to_string_lossy().into_owned(),
            usage: du(&data_dir),
        };
        filesystems.insert(name(disk), file_system(disk, vec![content]));
    }
    for disk in disks.list() {
        filesystems
            .entry(name(disk))
            .or_insert_with(|| file_system(disk, Vec::new()));
    }
    Ok(DiskUsage {
        ts: now_ms,
        filesystems,
    })
}

fn name(disk: &sysinfo::Disk) -> String {
    disk.name().to_string_lossy().into_owned()
}

fn file_system(disk: &sysinfo::Disk, contents: Vec<Content>) -> FileSystem {
    let size = disk.total_space();
    let available = disk.available_space();
    let used = size.saturating_sub(available);
    FileSystem {
        filesystem: name(disk),
        fs_type: disk.file_system().to_string_lossy().into_owned(),
        size,
        used,
        available,
        capacity: if size == 0 {
            0.0
        } else {
            used as f64 / size as f64
        },
        mountpoint: disk.mount_point().to_string_lossy().into_owned(),
        contents,
    }
}

/// Bytes allocated to the files under `dir`, as `du` counts them (symbolic links not followed).
fn du(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => meta.blocks() * 512 + du(&entry.path()),
            Ok(meta) => meta.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// `updateDiskUsage`: measures again and replaces the cache.
pub struct UpdateDiskUsage {
    pub data_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
}

impl Job for UpdateDiskUsage {
    fn task_type(&self) -> &'static str {
        "updateDiskUsage"
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(30 * 60)
    }

    async fn run(self, ctx: TaskContext) -> anyhow::Result<Value> {
        ctx.progress(10, "Measuring disk usage").await?;
        let now = self.clock.now().timestamp_millis();
        let data_dir = self.data_dir;
        let usage = tokio::task::spawn_blocking(move || refresh(&data_dir, now)).await??;
        for fs in usage.filesystems.values() {
            ctx.log(&format!(
                "{} on {}: {} of {} bytes used",
                fs.filesystem, fs.mountpoint, fs.used, fs.size
            ));
        }
        Ok(serde_json::to_value(usage)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_dir_is_found_on_its_file_system_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), vec![7u8; 64 * 1024]).unwrap();
        assert!(cached(dir.path()).unwrap().is_none());

        let usage = refresh(dir.path(), 42).unwrap();

        let home = usage
            .filesystems
            .values()
            .find(|fs| !fs.contents.is_empty())
            .expect("the data dir's file system");
        assert!(home.size > 0 && home.capacity > 0.0 && home.capacity <= 1.0);
        assert!(home.contents[0].usage >= 64 * 1024, "{:?}", home.contents);
        assert_eq!(cached(dir.path()).unwrap().unwrap().ts, 42);
    }
}
