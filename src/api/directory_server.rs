//! `/api/v1/directory_server/config`: boxd as an LDAP server for outside apps, for admins.

use axum::Json;
use axum::extract::State;

use super::Empty;
use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::settings::{DirectoryServerConfig, DirectoryServerConfigRequest};
use crate::state::AppState;

/// The directory server configuration; the secret shows as `********` when set.
#[utoipa::path(get, path = "/api/v1/directory_server/config", tag = "Directory Server",
    responses((status = 200, body = DirectoryServerConfig), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_directory_server_config(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<DirectoryServerConfig>, ApiError> {
    let config: DirectoryServerConfig = state.settings.get().await?;
    Ok(Json(config.masked()))
}

/// Set it; enabling needs a secret and an allowlist with at least one entry. The LDAP server
/// applies it at once: disabling ends open connections, and so does taking an address off the
/// allowlist.
#[utoipa::path(post, path = "/api/v1/directory_server/config", tag = "Directory Server",
    request_body = DirectoryServerConfigRequest,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_directory_server_config(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<DirectoryServerConfigRequest>,
) -> Result<Json<Empty>, ApiError> {
    let stored: DirectoryServerConfig = state.settings.get().await?;
    let config = DirectoryServerConfig::from_request(req, &stored)?;
    state.settings.set(config.clone()).await?;
    state.directory_server.config.send_replace(config);
    Ok(Json(Empty {}))
}
