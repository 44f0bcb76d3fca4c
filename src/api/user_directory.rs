//! `/api/v1/user_directory/profile_config`: the profile policy, for admins.

use axum::Json;
use axum::extract::State;

use super::Empty;
use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::settings::ProfileConfig;
use crate::state::AppState;

/// Whether profiles are locked and 2FA is mandatory.
#[utoipa::path(get, path = "/api/v1/user_directory/profile_config", tag = "User Directory",
    responses((status = 200, body = ProfileConfig), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_profile_config(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<ProfileConfig>, ApiError> {
    Ok(Json(state.settings.get().await?))
}

/// Set the profile policy; both fields are required.
#[utoipa::path(post, path = "/api/v1/user_directory/profile_config", tag = "User Directory",
    request_body = ProfileConfig,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_profile_config(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(config): ApiJson<ProfileConfig>,
) -> Result<Json<Empty>, ApiError> {
    state.settings.set(config).await?;
    Ok(Json(Empty {}))
}
