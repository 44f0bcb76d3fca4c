//! `/api/v1/profile/twofactorauthentication_*`: TOTP two-factor authentication of the caller.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{self, Caller, totp};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::settings::{self, CloudronName};
use crate::store;
use crate::users;

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
    let CloudronName(name) = settings::get(&state.db).await?;
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

/// Turn 2FA on with a code of the secret; from then on login needs `totpToken`.
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
    if req.totp_token.trim().is_empty() {
        return Err(ApiError::bad_request("totpToken must not be empty"));
    }
    // Wrong codes count against the caller like wrong passwords.
    let attempt = state.throttle.begin(caller.ip, &caller.user.id)?;
    let current = store::users::totp(&state.db, &caller.user.id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let invalid = || ApiError::PreconditionFailed("Invalid token".into());
    let secret = current.totp_secret.ok_or_else(invalid)?;
    // Cloudron checks the code before the enabled flag: a bad code is 412 even when enabled.
    let step = totp::check(&secret, &req.totp_token, Utc::now())?.ok_or_else(invalid)?;
    state.throttle.succeeded(attempt);
    if current.totp_enabled {
        return Err(ApiError::conflict(
            "TwoFactor Authentication is already enabled",
        ));
    }
    let mut tx = store::begin_write(&state.db).await?;
    if !store::users::use_totp_step(&mut *tx, &caller.user.id, step).await? {
        return Err(invalid());
    }
    // Only the secret the code was checked against is enabled; a concurrent new secret wins.
    if !store::users::enable_totp(&mut *tx, &caller.user.id, &secret).await? {
        return Err(ApiError::conflict(
            "The secret changed meanwhile; scan the new QR code",
        ));
    }
    users::record_update(
        &mut tx,
        &caller.user,
        &caller.source(),
        json!({ "twoFactorAuthenticationEnabled": true }),
    )
    .await?;
    tx.commit().await?;
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
    auth::confirm_password(&state, &caller, req.password).await?;
    let mut tx = store::begin_write(&state.db).await?;
    store::users::disable_totp(&mut *tx, &caller.user.id).await?;
    users::record_update(
        &mut tx,
        &caller.user,
        &caller.source(),
        json!({ "twoFactorAuthenticationEnabled": false }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
