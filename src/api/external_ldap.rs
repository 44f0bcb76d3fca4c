//! `/api/v1/external_ldap/config` and `/api/v1/external_ldap/sync`: an external directory to
//! take users and groups from, for admins.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::Empty;
use super::updater::TaskStarted;
use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::external_ldap;
use crate::settings::{ExternalLdapConfig, ExternalLdapConfigRequest};
use crate::state::AppState;

/// The external LDAP configuration; the bind password shows as `********` when set.
#[utoipa::path(get, path = "/api/v1/external_ldap/config", tag = "External LDAP",
    responses((status = 200, body = ExternalLdapConfig), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_external_ldap_config(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<ExternalLdapConfig>, ApiError> {
    let config: ExternalLdapConfig = state.settings.get().await?;
    Ok(Json(config.masked()))
}

/// Set it; every provider but `noop` needs an ldap:// or ldaps:// url, baseDn and usernameField,
/// and is tried first: the server must answer and accept the bind, and the base DNs must exist.
#[utoipa::path(post, path = "/api/v1/external_ldap/config", tag = "External LDAP",
    request_body = ExternalLdapConfigRequest,
    responses((status = 200, body = Empty),
              (status = 400, description = "Invalid, or the bind was refused", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 424, description = "The LDAP server cannot be reached", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_external_ldap_config(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ExternalLdapConfigRequest>,
) -> Result<Json<Empty>, ApiError> {
    state.external_ldap.configure(req).await?;
    Ok(Json(Empty {}))
}

/// The body of a sync: nothing to set.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SyncExternalLdapRequest {}

/// Sync the users and groups of the external directory: a `syncExternalLdap` task whose result
/// is `{added, updated, deactivated, skipped}`.
#[utoipa::path(post, path = "/api/v1/external_ldap/sync", tag = "External LDAP",
    request_body(content = Option<SyncExternalLdapRequest>, description = "Optional"),
    responses((status = 202, body = TaskStarted), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, description = "No directory is configured, or a sync is running", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn sync_external_ldap(
    Admin(caller): Admin,
    State(state): State<AppState>,
    ApiJson(SyncExternalLdapRequest {}): ApiJson<SyncExternalLdapRequest>,
) -> Result<(StatusCode, Json<TaskStarted>), ApiError> {
    let task = external_ldap::start_sync(&state, caller.source()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TaskStarted {
            task_id: task.to_string(),
        }),
    ))
}
