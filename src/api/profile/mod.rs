//! `/api/v1/profile`: the caller's own account.

mod images;
mod two_factor;

pub use images::*;
pub use two_factor::*;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::api::Empty;
use crate::auth::login;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::settings::ProfileConfig;
use crate::state::AppState;
use crate::store::users::UserRow;
use crate::users::{self, ProfileEdit};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    #[schema(example = "uid-743e4cee-448e-4f82-b880-8a530265b1e5")]
    pub id: String,
    pub username: Option<String>,
    pub email: String,
    pub fallback_email: String,
    pub display_name: String,
    pub two_factor_authentication_enabled: bool,
    /// boxd: true when the admin made 2FA mandatory and this user has not set it up yet.
    pub two_factor_authentication_setup_required: bool,
    pub role: Role,
    pub has_background_image: bool,
    /// `""` without an avatar, a Gravatar URL, or the URL of `GET /profile/avatar/{userId}`.
    pub avatar_url: String,
    /// `""` for local users, `ldap` for users of an external directory.
    pub source: String,
}

/// The `avatarUrl` of a user: empty, Gravatar (by the SHA-256 of the email), or boxd's own.
pub fn avatar_url(user: &UserRow, domain: &str) -> String {
    match user.avatar.as_str() {
        "gravatar" => {
            let hash = hex::encode(Sha256::digest(user.email.trim().to_lowercase().as_bytes()));
            format!("https://www.gravatar.com/avatar/{hash}?s=128&d=identicon")
        }
        "custom" => format!("https://{domain}/api/v1/profile/avatar/{}", user.id),
        _ => String::new(),
    }
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/profile", tag = "Profile",
    responses((status = 200, body = Profile), (status = 401, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_profile(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Profile>, ApiError> {
    let user = caller.user;
    Ok(Json(Profile {
        two_factor_authentication_setup_required: users::two_factor_setup_required(
            &state.settings,
            &user,
        )
        .await?,
        avatar_url: avatar_url(&user, &state.config.domain),
        has_background_image: user.has_background_image,
        id: user.id.clone(),
        username: user.username.clone(),
        email: user.email.clone(),
        fallback_email: user.fallback_email.clone(),
        display_name: user.display_name.clone(),
        two_factor_authentication_enabled: user.totp_enabled,
        role: user.role,
        source: user.source.clone(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProfileRequest {
    pub email: Option<String>,
    /// Changing it needs `password`.
    pub fallback_email: Option<String>,
    pub display_name: Option<String>,
    /// The current password; required to change `fallbackEmail`.
    pub password: Option<String>,
}

/// Update the caller's email, fallback email or display name. Other fields are ignored.
#[utoipa::path(post, path = "/api/v1/profile", tag = "Profile", request_body = UpdateProfileRequest,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "Profiles are locked by the admin, or the field comes from the external directory", body = ErrorBody),
              (status = 409, description = "Email taken", body = ErrorBody),
              (status = 412, description = "Wrong current password", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn update_profile(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<UpdateProfileRequest>,
) -> Result<Json<Empty>, ApiError> {
    let edit = ProfileEdit::new(
        &caller.user,
        req.email.as_deref(),
        req.fallback_email.as_deref(),
        req.display_name.as_deref(),
    )?;
    if edit.is_empty() {
        return Ok(Json(Empty {}));
    }
    users::rules::ensure_profile_editable(&caller.user, &edit)?;
    let config: ProfileConfig = state.settings.get().await?;
    if config.lock_user_profiles && !caller.user.role.at_least(Role::Admin) {
        return Err(ApiError::forbidden(
            "Profile changes are locked by the administrator",
        ));
    }
    if edit.fallback_email.is_some() {
        let password = req
            .password
            .ok_or_else(|| ApiError::bad_request("password is required to change fallbackEmail"))?;
        login::confirm_password(state.verifier(), &caller.user, caller.ip, password).await?;
    }
    users::update_profile(state.accounts(), &caller.user, &caller.source(), &edit).await?;
    Ok(Json(Empty {}))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    /// The current password.
    pub password: String,
    /// 8 to 256 characters.
    pub new_password: String,
}

/// Change the caller's password. Their other login sessions end; API tokens stay valid.
#[utoipa::path(post, path = "/api/v1/profile/password", tag = "Profile",
    request_body = ChangePasswordRequest,
    responses((status = 204, description = "Changed"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "The password is in the external directory", body = ErrorBody),
              (status = 412, description = "Wrong current password", body = ErrorBody),
              (status = 429, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn change_password(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let user = &caller.user;
    users::rules::ensure_local_password(user)?;
    users::rules::validate_password(&req.new_password)?;
    login::confirm_password(state.verifier(), user, caller.ip, req.password).await?;
    let ended = users::change_password(
        state.accounts(),
        user,
        &caller.source(),
        req.new_password,
        &caller.token_id,
    )
    .await?;
    tracing::info!(user.id = %caller.user.id, "password changed; {ended} other sessions ended");
    Ok(StatusCode::NO_CONTENT)
}
