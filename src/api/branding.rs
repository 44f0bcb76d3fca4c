//! `/api/v1/branding/...`: the Cloudron name and avatar, for admins.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Empty;
use super::uploads::{self, AvatarUpload};
use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::images::{self, ImageKind};
use crate::settings::CloudronName;
use crate::state::AppState;
use crate::store;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NameBody {
    /// 1 to 64 characters.
    #[schema(example = "Cloudron")]
    pub name: String,
}

/// The name used in the dashboard, the login page and emails.
#[utoipa::path(get, path = "/api/v1/branding/cloudron_name", tag = "Branding",
    responses((status = 200, body = NameBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_cloudron_name(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<NameBody>, ApiError> {
    let CloudronName(name) = state.settings.get().await?;
    Ok(Json(NameBody { name }))
}

/// Set the name; `/cloudron/status` shows it.
#[utoipa::path(post, path = "/api/v1/branding/cloudron_name", tag = "Branding", request_body = NameBody,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_cloudron_name(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<NameBody>,
) -> Result<Json<Empty>, ApiError> {
    state.settings.set(CloudronName::new(&req.name)?).await?;
    Ok(Json(Empty {}))
}

/// The Cloudron avatar, as `/cloudron/avatar` serves it publicly.
#[utoipa::path(get, path = "/api/v1/branding/cloudron_avatar", tag = "Branding",
    responses((status = 200, description = "The image, with its own content type",
               content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_branding_avatar(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(uploads::image_response(
        images::cloudron_avatar(&state.db).await?,
        &headers,
    ))
}

/// Upload the Cloudron avatar (multipart `avatar`; PNG, JPEG, GIF or WebP, at most 5 MiB).
#[utoipa::path(post, path = "/api/v1/branding/cloudron_avatar", tag = "Branding",
    request_body(content((AvatarUpload = "multipart/form-data"))),
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 413, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_branding_avatar(
    _: Admin,
    State(state): State<AppState>,
    req: Request,
) -> Result<Json<Empty>, ApiError> {
    if !uploads::is_multipart(&req) {
        return Err(ApiError::bad_request(
            "avatar must be sent as multipart/form-data",
        ));
    }
    let bytes = uploads::required_file(req, &state, "avatar").await?;
    let image = images::validate(bytes, ImageKind::Avatar)?;
    store::images::put(&state.db, images::CLOUDRON_AVATAR, None, &image).await?;
    Ok(Json(Empty {}))
}
