//! `POST /api/v1/auth/login`: boxd's API-level equivalent of Cloudron's OIDC login.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::login::{self, Credentials};
use crate::auth::sessions;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::eventlog::{self, Action, Source};
use crate::network::ClientIp;
use crate::state::AppState;
use crate::{store, users};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// A username, or the user's email address.
    pub username: String,
    pub password: String,
    /// The current TOTP code, when the user has two-factor authentication on.
    pub totp_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// A read-write token (`clientId` `cid-webadmin`), valid for 7 days.
    pub access_token: String,
    /// Expiry of the token, epoch milliseconds.
    pub expires: i64,
    /// boxd: true when the admin made 2FA mandatory and this user has not set it up yet; the
    /// login succeeds, and the client should lead the user to the 2FA setup.
    pub two_factor_authentication_setup_required: bool,
}

/// Log in with a password (and a TOTP code when 2FA is on) and get a session token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "Auth",
    request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "Wrong credentials or TOTP code", body = ErrorBody),
              (status = 429, description = "Too many failures; see Retry-After", body = ErrorBody)))]
pub async fn login(
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    // No username or email is this long; refusing it early keeps junk out of the throttle.
    if req.username.len() > 254 {
        return Err(ApiError::bad_request("username is too long"));
    }
    let credentials = Credentials {
        login: &req.username,
        password: req.password,
        totp: req.totp_token.as_deref(),
    };
    let user = login::authenticate(state.verifier(), ip, credentials).await?;
    let mut tx = store::begin_write(&state.db).await?;
    let session = sessions::issue_login_session(&mut *tx, &user.id, "login").await?;
    let data = json!({ "userId": user.id, "user": eventlog::public_user(&user) });
    eventlog::record(&mut *tx, Action::UserLogin, &Source::user(&user, ip), data).await?;
    tx.commit().await?;
    Ok(Json(LoginResponse {
        access_token: session.secret,
        expires: session.expires,
        two_factor_authentication_setup_required: users::two_factor_setup_required(
            &state.settings,
            &user,
        )
        .await?,
    }))
}
