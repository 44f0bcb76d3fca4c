//! The host: whether it needs a reboot, and running the operator's reboot command; what it is
//! and has ([`info`]), its disk usage ([`disk`]), and boxd's own log as a log unit.

pub mod disk;
pub mod info;

use std::path::Path;
use std::time::Duration;

use crate::notifications::{self, REBOOT};
use crate::state::AppState;
use crate::store;
use crate::tasks::TaskError;
use crate::tasks::log::LogSource;
use crate::telemetry;

/// Why a system request failed.
#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    #[error("No such log unit: boxd has one, box")]
    UnknownUnit,
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Runs blocking host reads off the async runtime.
async fn blocking<T: Send + 'static>(
    read: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(read).await?
}

pub async fn info(state: &AppState) -> Result<info::SystemInfo, SystemError> {
    let reboot = reboot_required(&state.config.reboot_required_file).await;
    let activated = store::users::activation_time(&state.db).await?;
    Ok(blocking(move || Ok(info::host(reboot, activated))).await?)
}

pub async fn cpus() -> Result<Vec<info::Cpu>, SystemError> {
    Ok(blocking(info::cpus).await?)
}

pub async fn memory() -> Result<info::Memory, SystemError> {
    Ok(blocking(|| Ok(info::memory())).await?)
}

pub async fn block_devices() -> Result<Vec<info::BlockDevice>, SystemError> {
    Ok(blocking(|| Ok(info::block_devices())).await?)
}

/// The cached disk usage; measured now when there is none yet.
pub async fn disk_usage(state: &AppState) -> Result<disk::DiskUsage, SystemError> {
    let data_dir = state.config.data_dir.clone();
    let now = state.config.clock.now().timestamp_millis();
    Ok(blocking(move || match disk::cached(&data_dir)? {
        Some(usage) => Ok(usage),
        None => disk::refresh(&data_dir, now),
    })
    .await?)
}

/// Starts the `updateDiskUsage` task; answers its id.
pub async fn update_disk_usage(state: &AppState) -> Result<i64, SystemError> {
    let job = disk::UpdateDiskUsage {
        data_dir: state.config.data_dir.clone(),
        clock: state.config.clock.clone(),
    };
    Ok(state.tasks.start(job).await?)
}

/// The daily refresh of the disk usage (no task: nobody is waiting for it).
pub async fn refresh_disk_usage(state: AppState) {
    let data_dir = state.config.data_dir.clone();
    let now = state.config.clock.now().timestamp_millis();
    if let Err(err) = blocking(move || disk::refresh(&data_dir, now)).await {
        tracing::warn!(error = %err, "cannot measure the disk usage: {err:#}");
    }
}

/// A log unit: `box`, boxd's own log, with its live lines when this process writes it.
pub fn log_unit(state: &AppState, unit: &str) -> Result<LogSource, SystemError> {
    if unit != "box" {
        return Err(SystemError::UnknownUnit);
    }
    Ok(match &state.box_log {
        Some(log) => log.reader(),
        None => LogSource {
            path: telemetry::box_log_path(&state.config.data_dir),
            source: "box".into(),
            live: None,
        },
    })
}

/// Lets the 202 reach the client before the host goes down.
const REBOOT_DELAY: Duration = Duration::from_millis(500);

pub async fn reboot_required(file: &Path) -> bool {
    tokio::fs::try_exists(file).await.unwrap_or(false)
}

/// The scheduled check: raises the `reboot` alert while the reboot-required file exists.
pub async fn check_reboot(state: AppState) {
    let message = if reboot_required(&state.config.reboot_required_file).await {
        "A security update needs a reboot. Reboot from the dashboard or with POST /api/v1/system/reboot."
    } else {
        ""
    };
    if let Err(err) = notifications::alert(&state.db, REBOOT, "Reboot Required", message).await {
        tracing::warn!(error = %err, "cannot update the reboot alert: {err}");
    }
}

/// Runs `command` with `sh -c` shortly, in the background; the outcome is logged.
pub fn reboot_soon(command: String) {
    tokio::spawn(async move {
        tokio::time::sleep(REBOOT_DELAY).await;
        match tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .status()
            .await
        {
            Ok(status) if status.success() => tracing::info!("the reboot command ran"),
            Ok(status) => tracing::error!("the reboot command failed with {status}"),
            Err(err) => tracing::error!(error = %err, "the reboot command could not start: {err}"),
        }
    });
}
