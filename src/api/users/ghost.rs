//! `POST /api/v1/users/{userId}/ghost`: an admin's temporary password to log in as a user of a
//! lower role.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use crate::state::AppState;
use crate::users;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GhostRequest {
    /// The temporary password, 8 to 256 characters.
    pub password: String,
    /// When it expires, epoch milliseconds (also as a numeric string); default in 6 hours, at
    /// most 7 days ahead.
    #[serde(default, deserialize_with = "epoch_ms")]
    #[schema(value_type = Option<i64>, example = 1725615073184_i64)]
    pub expires_at: Option<i64>,
}

/// Cloudron's sample sends `expiresAt` as a string of digits; the schema says integer.
fn epoch_ms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let millis = match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(text)) => text.trim().parse().ok(),
        Some(_) => None,
    };
    millis
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("expiresAt must be a timestamp in milliseconds"))
}

/// Set a temporary password with which to log in as this user (once, until `expiresAt`); not
/// for users of your own role or above, nor yourself.
#[utoipa::path(post, path = "/api/v1/users/{userId}/ghost", tag = "Users",
    params(("userId" = String, Path, description = "User id")), request_body = GhostRequest,
    responses((status = 204, description = "Set"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "Yourself, or an inactive user", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_ghost(
    Admin(caller): Admin,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(req): ApiJson<GhostRequest>,
) -> Result<StatusCode, ApiError> {
    let now = state.config.clock.now().timestamp_millis();
    let actor = caller.actor();
    users::set_ghost(
        state.accounts(),
        &actor,
        &user_id,
        req.password,
        req.expires_at,
        now,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
