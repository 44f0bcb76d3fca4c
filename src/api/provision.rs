//! `POST /api/v1/provision/activate`: creates the owner on a fresh server.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::now_ms;
use crate::app::AppState;
use crate::auth::{self, CLIENT_WEBADMIN, LOGIN_TOKEN_LIFETIME_MS, Scope, TokenSpec, secrets};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::eventlog::Source;
use crate::network::ClientIp;
use crate::store;
use crate::users::{self, NewOwner};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivateRequest {
    pub username: String,
    pub password: String,
    pub email: String,
    #[serde(default)]
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivateResponse {
    #[schema(example = "uid-743e4cee-448e-4f82-b880-8a530265b1e5")]
    pub user_id: String,
    /// A full read-write token of the new owner.
    pub token: String,
    /// Expiry of the token, epoch milliseconds.
    pub expires: i64,
}

/// Create the owner. Public, and only until an owner exists.
#[utoipa::path(post, path = "/api/v1/provision/activate", tag = "Provision",
    request_body = ActivateRequest,
    responses((status = 201, body = ActivateResponse), (status = 400, body = ErrorBody),
              (status = 409, description = "Already activated", body = ErrorBody)))]
pub async fn activate(
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ActivateRequest>,
) -> Result<(StatusCode, Json<ActivateResponse>), ApiError> {
    let username = users::normalize_username(&req.username)?;
    users::validate_password(&req.password)?;
    let email = users::normalize_email("email", &req.email)?;
    users::validate_display_name(&req.display_name)?;
    // Cloudron: a second activation is 409 "Already setup".
    if store::users::owner_exists(&state.db).await? {
        return Err(ApiError::conflict("Already setup"));
    }
    let password_hash = secrets::hash_password(req.password).await?;
    let owner = NewOwner {
        username,
        email,
        display_name: req.display_name,
        password_hash,
    };

    let mut tx = store::begin_write(&state.db).await?;
    let user = users::create_owner(&mut tx, &owner, &Source::anonymous(ip)).await?;
    let expires = now_ms() + LOGIN_TOKEN_LIFETIME_MS;
    let spec = TokenSpec {
        user_id: &user.id,
        name: "activation",
        client_id: CLIENT_WEBADMIN,
        scope: &Scope::full(),
        expires,
    };
    let token = auth::issue_token(&mut *tx, &spec).await?;
    tx.commit().await?;
    tracing::info!(user.id = %user.id, "activated: {} is the owner", owner.username);
    Ok((
        StatusCode::CREATED,
        Json(ActivateResponse {
            user_id: user.id,
            token: token.secret,
            expires,
        }),
    ))
}
