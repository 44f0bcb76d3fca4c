//! `/api/v1/docker/registry_config`: the private registry for custom apps, for admins.

use axum::Json;
use axum::extract::State;

use super::Empty;
use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::settings::{RegistryConfig, RegistryConfigRequest};
use crate::state::AppState;

/// The registry configuration; the password shows as `********` when set.
#[utoipa::path(get, path = "/api/v1/docker/registry_config", tag = "Docker",
    responses((status = 200, body = RegistryConfig), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_registry_config(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<RegistryConfig>, ApiError> {
    let config: RegistryConfig = state.settings.get().await?;
    Ok(Json(config.masked()))
}

/// Set the registry; every provider but `noop` needs serverAddress, username and password.
#[utoipa::path(post, path = "/api/v1/docker/registry_config", tag = "Docker",
    request_body = RegistryConfigRequest,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_registry_config(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegistryConfigRequest>,
) -> Result<Json<Empty>, ApiError> {
    let stored: RegistryConfig = state.settings.get().await?;
    state
        .settings
        .set(RegistryConfig::from_request(req, &stored)?)
        .await?;
    Ok(Json(Empty {}))
}
