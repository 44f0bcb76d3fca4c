//! `/api/v1/profile/twofactorauthentication_*`: TOTP two-factor authentication of the caller.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, login, totp};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::settings::CloudronName;
use crate::state::AppState;
use crate::store;
use crate::users::{self, Session};

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorSecret {
    /// The TOTP secret, base32. Shown only here.
    pub secret: String,
    /// The otpauth QR code as a `data:image/png;base64,...` URL.
    pub qrcode: String,
}

/// Make a new TOTP secret (2FA stays off until enabled with a code from it).
#[utoipa::path(post, path = "/api/v1/profile/twofactorauthentication_secret", tag = "Profile",
    responses((status = 200, body = TwoFactorSecret), (status = 401, body = ErrorBody),
              (status = 409, description = "2FA is already enabled", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn create_two_factor_secret(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<TwoFactorSecret>, ApiError> {
    let secret = totp::new_secret();
    if !store::users::set_totp_secret(&state.db, &caller.user.id, &secret).await? {
        return Err(ApiError::conflict(
            "TwoFactor Authentication is enabled, disable first",
        ));
    }
    let CloudronName(name) = state.settings.get().await?;
    let username = caller
        .user
        .username
        .as_deref()
        .unwrap_or(&caller.user.email);
    let qrcode = totp::qrcode(
        &secret,
        &format!("{name} ({username})"),
        &state.config.domain,
    )?;
    Ok(Json(TwoFactorSecret { secret, qrcode }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnableTwoFactorRequest {
    /// A current code of the secret.
    pub totp_token: String,
}

/// Turn 2FA on with a code of the secret; from then on login needs `totpToken`. The caller's
/// other login sessions end (API tokens stay).
#[utoipa::path(post, path = "/api/v1/profile/twofactorauthentication_enable", tag = "Profile",
    request_body = EnableTwoFactorRequest,
    responses((status = 204, description = "Enabled"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 409, description = "Already enabled", body = ErrorBody),
              (status = 412, description = "Wrong code, or no secret yet", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn enable_two_factor(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<EnableTwoFactorRequest>,
) -> Result<StatusCode, ApiError> {
    let session = Session {
        token_id: &caller.token_id,
        ip: caller.ip,
        source: caller.source(),
    };
    let (user, code) = (&caller.user, &req.totp_token);
    users::enable_two_factor(state.accounts(), &state.throttle, user, &session, code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DisableTwoFactorRequest {
    /// The current password.
    pub password: String,
}

/// Turn 2FA off (needs the password); the secret is deleted.
#[utoipa::path(post, path = "/api/v1/profile/twofactorauthentication_disable", tag = "Profile",
    request_body = DisableTwoFactorRequest,
    responses((status = 204, description = "Disabled"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 412, description = "Wrong password", body = ErrorBody),
              (status = 429, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn disable_two_factor(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<DisableTwoFactorRequest>,
) -> Result<StatusCode, ApiError> {
    let user = &caller.user;
    login::confirm_password(state.verifier(), user, caller.ip, req.password).await?;
    users::disable_two_factor(state.accounts(), user, &caller.source()).await?;
    Ok(StatusCode::NO_CONTENT)
}
