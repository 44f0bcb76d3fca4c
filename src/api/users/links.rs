//! `/api/v1/users/{userId}/invite_link`, `/send_invite_email`, `/password_reset_link`,
//! `/send_password_reset_email`: links that let a user set a password, shown or mailed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::Empty;
use crate::auth::UserManager;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use crate::state::AppState;
use crate::users::{self, Delivery};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteLink {
    /// `https://<domain>/setupaccount.html?inviteToken=…&email=…&username=…`; it works once,
    /// within 7 days.
    pub invite_link: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetLink {
    /// `https://<domain>/passwordreset.html?resetToken=…`; it works once, within an hour.
    pub password_reset_link: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendLinkRequest {
    /// Where to send the link.
    pub email: String,
}

/// A new invite link for a user who has not set up the account yet (it needs a token that may
/// change users: the link is a credential).
#[utoipa::path(get, path = "/api/v1/users/{userId}/invite_link", tag = "Users",
    params(("userId" = String, Path, description = "User id")),
    responses((status = 200, body = InviteLink), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "The account is set up already, or inactive", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_invite_link(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
) -> Result<Json<InviteLink>, ApiError> {
    caller.ensure_may_write("users")?;
    let link = users::links::invite(&state.links(), &caller.actor(), &user_id, Delivery::Shown)
        .await?
        .unwrap_or_default();
    Ok(Json(InviteLink { invite_link: link }))
}

/// Mail a new invite link to `email`.
#[utoipa::path(post, path = "/api/v1/users/{userId}/send_invite_email", tag = "Users",
    params(("userId" = String, Path, description = "User id")), request_body = SendLinkRequest,
    responses((status = 202, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "The account is set up already, or inactive", body = ErrorBody),
              (status = 422, description = "No mail relay is configured", body = ErrorBody),
              (status = 429, description = "Too many emails are waiting", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn send_invite_email(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(req): ApiJson<SendLinkRequest>,
) -> Result<(StatusCode, Json<Empty>), ApiError> {
    let delivery = Delivery::Mailed(&req.email);
    users::links::invite(&state.links(), &caller.actor(), &user_id, delivery).await?;
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}

/// A new password reset link for a user of a lower role than yours (it needs a token that may
/// change users: the link is a credential).
#[utoipa::path(get, path = "/api/v1/users/{userId}/password_reset_link", tag = "Users",
    params(("userId" = String, Path, description = "User id")),
    responses((status = 200, body = PasswordResetLink), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "Yourself, or an account not set up or inactive", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_password_reset_link(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
) -> Result<Json<PasswordResetLink>, ApiError> {
    caller.ensure_may_write("users")?;
    let link = users::links::reset(&state.links(), &caller.actor(), &user_id, Delivery::Shown)
        .await?
        .unwrap_or_default();
    Ok(Json(PasswordResetLink {
        password_reset_link: link,
    }))
}

/// Mail a new password reset link to `email`.
#[utoipa::path(post, path = "/api/v1/users/{userId}/send_password_reset_email", tag = "Users",
    params(("userId" = String, Path, description = "User id")), request_body = SendLinkRequest,
    responses((status = 202, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "Yourself, or an account not set up or inactive", body = ErrorBody),
              (status = 422, description = "No mail relay is configured", body = ErrorBody),
              (status = 429, description = "Too many emails are waiting", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn send_password_reset_email(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(req): ApiJson<SendLinkRequest>,
) -> Result<(StatusCode, Json<Empty>), ApiError> {
    let delivery = Delivery::Mailed(&req.email);
    users::links::reset(&state.links(), &caller.actor(), &user_id, delivery).await?;
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}
