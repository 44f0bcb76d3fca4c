//! `POST /api/v1/provision/activate`: creates the owner on a fresh server.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::eventlog::Source;
use crate::network::ClientIp;
use crate::state::AppState;
use crate::users::{self, NewOwner, UserError};

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
    let owner = NewOwner::new(&req.username, &req.email, req.display_name, req.password)?;
    if state.activation.is_done(&state.db).await? {
        return Err(UserError::AlreadySetup.into());
    }
    let username = owner.username.clone();
    let (user, session) = users::create_owner(
        state.accounts(),
        owner,
        &Source::anonymous(ip),
        Some("activation"),
    )
    .await?;
    let session = session.ok_or_else(|| anyhow::anyhow!("activation issued no session"))?;
    tracing::info!(user.id = %user.id, "activated: {username} is the owner");
    Ok((
        StatusCode::CREATED,
        Json(ActivateResponse {
            user_id: user.id,
            token: session.secret,
            expires: session.expires,
        }),
    ))
}
