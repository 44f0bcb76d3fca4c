//! `/api/v1/system/...`, for admins: whether the host needs a reboot, and rebooting it; the host
//! itself in [`info`]; boxd's own log in [`logs`].

mod info;
mod logs;

pub use info::*;
pub use logs::*;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::Empty;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::system;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebootStatus {
    /// Whether the reboot-required file exists (e.g. after a kernel update).
    pub reboot_required: bool,
}

/// Whether the server needs a reboot.
#[utoipa::path(get, path = "/api/v1/system/reboot", tag = "System",
    responses((status = 200, body = RebootStatus), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_reboot(_: Admin, State(state): State<AppState>) -> Json<RebootStatus> {
    Json(RebootStatus {
        reboot_required: system::reboot_required(&state.config.reboot_required_file).await,
    })
}

/// Reboot: runs the configured reboot command just after answering.
#[utoipa::path(post, path = "/api/v1/system/reboot", tag = "System",
    responses((status = 202, body = Empty), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody),
              (status = 422, description = "No reboot command is configured", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn reboot(
    Admin(caller): Admin,
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<Empty>), ApiError> {
    let command = state.config.reboot_command.clone().ok_or_else(|| {
        ApiError::Unprocessable(
            "No reboot command is configured: start boxd with --reboot-command (BOXD_REBOOT_COMMAND), \
             e.g. \"systemctl reboot\""
                .into(),
        )
    })?;
    tracing::warn!(user.id = %caller.user.id, "reboot requested by {}", caller.user.id);
    system::reboot_soon(command);
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}
