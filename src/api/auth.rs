//! `/api/v1/auth/...`, public: `login` (boxd's API-level equivalent of Cloudron's OIDC login),
//! setting up an invited account, and resetting a forgotten password. All are throttled as
//! logins are.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Empty;
use crate::auth::login::{self, Credentials};
use crate::auth::sessions::IssuedToken;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::network::ClientIp;
use crate::state::AppState;
use crate::store::users::UserRow;
use crate::users::{self, AccountSetup, PasswordReset, Redeemed};

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

async fn session_response(
    state: &AppState,
    user: &UserRow,
    session: IssuedToken,
) -> Result<Json<LoginResponse>, ApiError> {
    Ok(Json(LoginResponse {
        access_token: session.secret,
        expires: session.expires,
        two_factor_authentication_setup_required: users::two_factor_setup_required(
            &state.settings,
            user,
        )
        .await?,
    }))
}

/// Log in with a password (and a TOTP code when 2FA is on) and get a session token. An admin's
/// ghost password for the user (`/users/{userId}/ghost`) logs in once, without a TOTP code.
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
    let now = state.config.clock.now().timestamp_millis();
    let login = login::authenticate(state.verifier(), ip, credentials, now).await?;
    let session = login::open_session(&state.db, &login, ip).await?;
    session_response(&state, &login.user, session).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetupAccountRequest {
    /// The `inviteToken` of the invite link.
    pub invite_token: String,
    /// 8 to 256 characters.
    pub password: String,
    /// Required when the invite named no username; otherwise it must be that one.
    pub username: Option<String>,
    pub display_name: Option<String>,
}

/// Set up an invited account with the invite link's token: the password (once), and the
/// username and display name; answers a session as login does.
#[utoipa::path(post, path = "/api/v1/auth/setup_account", tag = "Auth",
    request_body = SetupAccountRequest,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "The link is invalid, used or expired", body = ErrorBody),
              (status = 409, description = "The username is taken, or differs from the invite's", body = ErrorBody),
              (status = 429, description = "Too many failures; see Retry-After", body = ErrorBody)))]
pub async fn setup_account(
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SetupAccountRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let setup = AccountSetup {
        invite_token: req.invite_token,
        password: req.password,
        username: req.username,
        display_name: req.display_name,
    };
    let Redeemed { user, session } = users::setup_account(&state.links(), ip, setup).await?;
    session_response(&state, &user, session).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetRequestBody {
    /// A username or an email address.
    pub identifier: String,
}

/// Ask for a password reset link by email (to the fallback email, else the email). The answer
/// is the same whether or not the account exists.
#[utoipa::path(post, path = "/api/v1/auth/password_reset_request", tag = "Auth",
    request_body = PasswordResetRequestBody,
    responses((status = 202, body = Empty), (status = 400, body = ErrorBody),
              (status = 422, description = "No mail relay is configured", body = ErrorBody),
              (status = 429, description = "Too many requests; see Retry-After", body = ErrorBody)))]
pub async fn request_password_reset(
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<PasswordResetRequestBody>,
) -> Result<(StatusCode, Json<Empty>), ApiError> {
    users::links::request_reset(&state.links(), ip, &req.identifier)?;
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetBody {
    /// The `resetToken` of the reset link.
    pub reset_token: String,
    /// The new password, 8 to 256 characters.
    pub password: String,
    /// The current TOTP code, required when the user has 2FA on.
    pub totp_token: Option<String>,
}

/// Set a new password with a reset link's token: every login session of the user ends, and a
/// new one is answered as login does.
#[utoipa::path(post, path = "/api/v1/auth/password_reset", tag = "Auth",
    request_body = PasswordResetBody,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "The link is invalid, used or expired, or the TOTP code is missing or wrong", body = ErrorBody),
              (status = 429, description = "Too many failures; see Retry-After", body = ErrorBody)))]
pub async fn reset_password(
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<PasswordResetBody>,
) -> Result<Json<LoginResponse>, ApiError> {
    let reset = PasswordReset {
        reset_token: req.reset_token,
        password: req.password,
        totp_token: req.totp_token,
    };
    let Redeemed { user, session } =
        users::reset_forgotten_password(&state.links(), ip, reset).await?;
    session_response(&state, &user, session).await
}
