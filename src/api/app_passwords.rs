//! `/api/v1/app_passwords`: the caller's passwords for apps (LDAP, mail), not for this API.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Page, PageQuery};
use crate::auth::{Caller, secrets};
use crate::clock::now_iso;
use crate::error::{ApiError, ApiJson, ApiPath, ConflictOnUnique, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::store::app_passwords::AppPasswordRow;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppPassword {
    #[schema(example = "uid-1bf6f7a0-c909-41f5-96a1-68183a6edd8b")]
    pub id: String,
    pub name: String,
    pub user_id: String,
    /// The app it authenticates: an app id, or `mail`.
    pub identifier: String,
    pub creation_time: String,
}

impl From<AppPasswordRow> for AppPassword {
    fn from(row: AppPasswordRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            user_id: row.user_id,
            identifier: row.identifier,
            creation_time: row.creation_time,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppPasswordList {
    pub app_passwords: Vec<AppPassword>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAppPasswordRequest {
    /// 1 to 200 characters.
    pub name: String,
    /// The app it is for (an app id, or `mail`) [default: `""`].
    #[serde(default)]
    pub identifier: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedAppPassword {
    pub id: String,
    /// 32 hex characters (128 bits); shown only here.
    pub password: String,
}

/// List the caller's app passwords (never the passwords).
#[utoipa::path(get, path = "/api/v1/app_passwords", tag = "App Passwords", params(PageQuery),
    responses((status = 200, body = AppPasswordList), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn list_app_passwords(
    caller: Caller,
    State(state): State<AppState>,
    page: Page,
) -> Result<Json<AppPasswordList>, ApiError> {
    let rows = store::app_passwords::list_for_user(&state.db, &caller.user.id, page).await?;
    Ok(Json(AppPasswordList {
        app_passwords: rows.into_iter().map(AppPassword::from).collect(),
    }))
}

/// Create an app password; the password is shown only in this response.
#[utoipa::path(post, path = "/api/v1/app_passwords", tag = "App Passwords",
    request_body = CreateAppPasswordRequest,
    responses((status = 200, body = CreatedAppPassword), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "Only a full-access token may create one", body = ErrorBody),
              (status = 409, description = "Same name for the same app", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn create_app_password(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CreateAppPasswordRequest>,
) -> Result<Json<CreatedAppPassword>, ApiError> {
    // An app password logs into apps as the user: more power than any narrowed token has.
    if !caller.scope.is_full() {
        return Err(ApiError::forbidden(
            "Only a token with full access can create app passwords",
        ));
    }
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::bad_request("name must be 1 to 200 characters"));
    }
    if req.identifier.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "identifier must be at most 200 characters",
        ));
    }
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let password = hex::encode(bytes);
    let row = AppPasswordRow {
        // Cloudron gives app passwords ids of the users' form.
        id: format!("uid-{}", uuid::Uuid::new_v4()),
        user_id: caller.user.id.clone(),
        name: name.to_owned(),
        identifier: req.identifier,
        creation_time: now_iso(),
    };
    store::app_passwords::insert(&state.db, &row, &secrets::token_hash(&password))
        .await
        .conflict_on_unique("An app password with this name already exists for this app")?;
    Ok(Json(CreatedAppPassword {
        id: row.id,
        password,
    }))
}

/// Get one of the caller's app passwords (without the password).
#[utoipa::path(get, path = "/api/v1/app_passwords/{passwordId}", tag = "App Passwords",
    params(("passwordId" = String, Path, description = "App password id")),
    responses((status = 200, body = AppPassword), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_app_password(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(password_id): ApiPath<String>,
) -> Result<Json<AppPassword>, ApiError> {
    let row = store::app_passwords::get_for_user(&state.db, &caller.user.id, &password_id)
        .await?
        .ok_or(ApiError::NotFound("app password"))?;
    Ok(Json(AppPassword::from(row)))
}

/// Delete one of the caller's app passwords; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/app_passwords/{passwordId}", tag = "App Passwords",
    params(("passwordId" = String, Path, description = "App password id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn delete_app_password(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(password_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if !store::app_passwords::delete_for_user(&state.db, &caller.user.id, &password_id).await? {
        return Err(ApiError::NotFound("app password"));
    }
    Ok(StatusCode::NO_CONTENT)
}
