//! `/api/v1/branding/...`: the Cloudron name, avatar, background and footer, for admins.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Empty;
use super::uploads::{self, AvatarUpload, CloudronBackgroundUpload};
use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::images::{self, ImageKind};
use crate::settings::{CloudronName, Footer};
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
    store::images::put(&state.db, images::CLOUDRON_AVATAR, None, image).await?;
    Ok(Json(Empty {}))
}

/// The Cloudron background, as `/cloudron/background` serves it publicly.
#[utoipa::path(get, path = "/api/v1/branding/cloudron_background", tag = "Branding",
    responses((status = 200, description = "The image, with its own content type",
               content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"))),
              (status = 304, description = "Unchanged (If-None-Match)"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "No background is set", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_branding_background(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    background_response(&state, &headers).await
}

/// The Cloudron background, or 404 when none is set.
pub(super) async fn background_response(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let image = images::cloudron_background(&state.db)
        .await?
        .ok_or(ApiError::NotFound("background"))?;
    Ok(uploads::image_response(image, headers))
}

/// Set the Cloudron background (multipart `background`; PNG, JPEG, GIF or WebP, at most 5 MiB);
/// without the field, or with it empty, the background is cleared.
#[utoipa::path(post, path = "/api/v1/branding/cloudron_background", tag = "Branding",
    request_body(content((CloudronBackgroundUpload = "multipart/form-data"))),
    responses((status = 202, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 413, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_branding_background(
    _: Admin,
    State(state): State<AppState>,
    req: Request,
) -> Result<(StatusCode, Json<Empty>), ApiError> {
    if !uploads::is_multipart(&req) {
        return Err(ApiError::bad_request(
            "background must be sent as multipart/form-data",
        ));
    }
    let image = match uploads::file_field(req, &state, "background").await? {
        Some(bytes) if !bytes.is_empty() => Some(images::validate(bytes, ImageKind::Background)?),
        _ => None,
    };
    images::set_cloudron_background(&state.db, image).await?;
    Ok((StatusCode::ACCEPTED, Json(Empty {})))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FooterBody {
    /// Markdown, at most 4096 characters; `%YEAR%` and `%VERSION%` stand for the current year and
    /// the version.
    #[schema(example = "All Rights Reserved (c) 2010-%YEAR%")]
    pub footer: String,
}

/// The footer of the dashboard and login pages.
#[utoipa::path(get, path = "/api/v1/branding/footer", tag = "Branding",
    responses((status = 200, body = FooterBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_footer(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<FooterBody>, ApiError> {
    let Footer(footer) = state.settings.get().await?;
    Ok(Json(FooterBody { footer }))
}

/// Set the footer.
#[utoipa::path(post, path = "/api/v1/branding/footer", tag = "Branding", request_body = FooterBody,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_footer(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<FooterBody>,
) -> Result<Json<Empty>, ApiError> {
    state.settings.set(Footer::new(&req.footer)?).await?;
    Ok(Json(Empty {}))
}
