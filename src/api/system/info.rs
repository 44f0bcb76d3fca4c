//! `/api/v1/system/info`, `/cpus`, `/memory`, `/block_devices`, `/disk_usage`: the host, for
//! admins. Inside a container, what the container sees.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::updater::TaskStarted;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::system::{self, disk, info};

/// The host: identity, uptime, boot time, whether it needs a reboot, the boxd version.
#[utoipa::path(get, path = "/api/v1/system/info", tag = "System",
    responses((status = 200, body = info::SystemInfo), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_system_info(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<info::SystemInfo>, ApiError> {
    Ok(Json(system::info(&state).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CpuList {
    pub cpus: Vec<info::Cpu>,
}

/// The CPUs: model, speed (MHz) and the time each spent per mode since boot (ms).
#[utoipa::path(get, path = "/api/v1/system/cpus", tag = "System",
    responses((status = 200, body = CpuList), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_cpus(_: Admin) -> Result<Json<CpuList>, ApiError> {
    Ok(Json(CpuList {
        cpus: system::cpus().await?,
    }))
}

/// Memory and swap, in bytes.
#[utoipa::path(get, path = "/api/v1/system/memory", tag = "System",
    responses((status = 200, body = info::Memory), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_memory(_: Admin) -> Result<Json<info::Memory>, ApiError> {
    Ok(Json(system::memory().await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockDeviceList {
    pub devices: Vec<info::BlockDevice>,
}

/// The mounted block devices.
#[utoipa::path(get, path = "/api/v1/system/block_devices", tag = "System",
    responses((status = 200, body = BlockDeviceList), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_block_devices(_: Admin) -> Result<Json<BlockDeviceList>, ApiError> {
    Ok(Json(BlockDeviceList {
        devices: system::block_devices().await?,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiskUsageBody {
    pub usage: disk::DiskUsage,
}

/// Disk usage per file system, and what boxd's data dir takes; measured daily (and on
/// `POST`), so `ts` says when.
#[utoipa::path(get, path = "/api/v1/system/disk_usage", tag = "System",
    responses((status = 200, body = DiskUsageBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_disk_usage(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<DiskUsageBody>, ApiError> {
    Ok(Json(DiskUsageBody {
        usage: system::disk_usage(&state).await?,
    }))
}

/// Measure the disk usage again, as an `updateDiskUsage` task.
#[utoipa::path(post, path = "/api/v1/system/disk_usage", tag = "System",
    responses((status = 202, body = TaskStarted), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody),
              (status = 409, description = "A measurement is running", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn update_disk_usage(
    _: Admin,
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<TaskStarted>), ApiError> {
    let id = system::update_disk_usage(&state).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TaskStarted {
            task_id: id.to_string(),
        }),
    ))
}
