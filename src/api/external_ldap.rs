//! `/api/v1/external_ldap/config`: an external directory to take users from, for admins.

use axum::Json;
use axum::extract::State;

use super::Empty;
use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ErrorBody};
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

/// Set it; every provider but `noop` needs an ldap:// or ldaps:// url, baseDn and usernameField.
#[utoipa::path(post, path = "/api/v1/external_ldap/config", tag = "External LDAP",
    request_body = ExternalLdapConfigRequest,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_external_ldap_config(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ExternalLdapConfigRequest>,
) -> Result<Json<Empty>, ApiError> {
    let stored: ExternalLdapConfig = state.settings.get().await?;
    state
        .settings
        .set(ExternalLdapConfig::from_request(req, &stored)?)
        .await?;
    Ok(Json(Empty {}))
}
