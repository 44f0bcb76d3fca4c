//! `/api/v1/updater/...`: release checks, updates and the automatic update schedule, for admins.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Empty;
use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;
use crate::updater::schedule::AutoupdatePattern;
use crate::updater::{self, BoxUpdateInfo, CachedUpdate};

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Updates {
    /// The platform release on offer; absent when there is none.
    #[serde(rename = "box", skip_serializing_if = "Option::is_none")]
    pub release: Option<BoxUpdateInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdatesBody {
    pub updates: Updates,
}

fn updates(release: Option<BoxUpdateInfo>) -> Json<UpdatesBody> {
    Json(UpdatesBody {
        updates: Updates { release },
    })
}

/// The result of the last check (no network).
#[utoipa::path(get, path = "/api/v1/updater/updates", tag = "Updater",
    responses((status = 200, body = UpdatesBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_updates(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<UpdatesBody>, ApiError> {
    let CachedUpdate { release } = state.settings.get().await?;
    Ok(updates(release))
}

/// Check the release feed now; the result is cached and raises or clears the `boxUpdate` alert.
#[utoipa::path(post, path = "/api/v1/updater/check_for_updates", tag = "Updater",
    responses((status = 200, body = UpdatesBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody),
              (status = 422, description = "No feed is configured", body = ErrorBody),
              (status = 424, description = "The feed cannot be reached or read", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn check_for_updates(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<UpdatesBody>, ApiError> {
    Ok(updates(updater::check(&state).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRequest {
    /// Skip the database backup taken before the update [default: false].
    #[serde(default)]
    pub skip_backup: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskStarted {
    /// Follow it with the tasks API.
    #[schema(example = "295")]
    pub task_id: String,
}

/// Update to the release on offer: an `update` task downloads, verifies and stages it.
#[utoipa::path(post, path = "/api/v1/updater/update", tag = "Updater", request_body = UpdateRequest,
    responses((status = 202, body = TaskStarted), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, description = "An update is already running", body = ErrorBody),
              (status = 422, description = "No update available", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn update(
    Admin(caller): Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<UpdateRequest>,
) -> Result<(StatusCode, Json<TaskStarted>), ApiError> {
    let task = updater::start_update(&state, req.skip_backup, &caller.source()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TaskStarted {
            task_id: task.to_string(),
        }),
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PatternBody {
    /// `never`, or a cron pattern with seconds (`sec min hour day month weekday`; 5 fields are
    /// read without seconds), at most once a minute, in the `/cloudron/time_zone`.
    #[schema(example = "00 00 1,3,5,23 * * *")]
    pub pattern: String,
}

/// The automatic update schedule.
#[utoipa::path(get, path = "/api/v1/updater/autoupdate_pattern", tag = "Updater",
    responses((status = 200, body = PatternBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_autoupdate_pattern(_: Admin, State(state): State<AppState>) -> Json<PatternBody> {
    Json(PatternBody {
        pattern: state.autoupdate_pattern.borrow().clone(),
    })
}

/// Set the schedule; the next run is re-planned at once.
#[utoipa::path(post, path = "/api/v1/updater/autoupdate_pattern", tag = "Updater", request_body = PatternBody,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_autoupdate_pattern(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<PatternBody>,
) -> Result<Json<Empty>, ApiError> {
    let pattern = AutoupdatePattern::new(&req.pattern)?;
    state.settings.set(pattern.clone()).await?;
    state.autoupdate_pattern.send_replace(pattern.0);
    Ok(Json(Empty {}))
}
