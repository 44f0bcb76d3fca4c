//! The host: whether it needs a reboot, and running the operator's reboot command.

use std::path::Path;
use std::time::Duration;

use crate::notifications::{self, REBOOT};
use crate::state::AppState;

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
