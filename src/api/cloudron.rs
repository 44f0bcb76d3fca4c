//! `/api/v1/cloudron/...`: status, the avatar and background, and platform-wide preferences.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Empty;
use super::uploads;
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::images;
use crate::settings::{CloudronName, LANGUAGES, Language, TimeZone};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The boxd version.
    #[schema(example = "0.1.0")]
    pub version: String,
    /// Whether an owner exists.
    pub activated: bool,
    pub cloudron_name: String,
}

/// Health and identity of the server; also the readiness probe. Public.
#[utoipa::path(get, path = "/api/v1/cloudron/status", tag = "Cloudron",
    responses((status = 200, body = Status)))]
pub async fn get_status(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let activated = state.activation.is_done(&state.db).await?;
    let CloudronName(cloudron_name) = state.settings.get().await?;
    Ok(Json(Status {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        activated,
        cloudron_name,
    }))
}

/// The Cloudron avatar (a built-in image until one is uploaded). Public.
#[utoipa::path(get, path = "/api/v1/cloudron/avatar", tag = "Cloudron",
    responses((status = 200, description = "The image, with its own content type",
               content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"))),
              (status = 304, description = "Unchanged (If-None-Match)")))]
pub async fn get_cloudron_avatar(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(uploads::image_response(
        images::cloudron_avatar(&state.db).await?,
        &headers,
    ))
}

/// The Cloudron background, as set with `/branding/cloudron_background`. Public.
#[utoipa::path(get, path = "/api/v1/cloudron/background", tag = "Cloudron",
    responses((status = 200, description = "The image, with its own content type",
               content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"))),
              (status = 304, description = "Unchanged (If-None-Match)"),
              (status = 404, description = "No background is set", body = ErrorBody)))]
pub async fn get_cloudron_background(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    super::branding::background_response(&state, &headers).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LanguageList {
    #[schema(example = json!(["de", "en", "fr", "nl"]))]
    pub languages: Vec<&'static str>,
}

/// The languages the dashboard is translated into. Public.
#[utoipa::path(get, path = "/api/v1/cloudron/languages", tag = "Cloudron",
    responses((status = 200, body = LanguageList)))]
pub async fn list_languages() -> Json<LanguageList> {
    Json(LanguageList {
        languages: LANGUAGES.to_vec(),
    })
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LanguageBody {
    /// One of `/cloudron/languages`.
    #[schema(example = "en")]
    pub language: String,
}

/// The default language of the dashboard, login page and emails.
#[utoipa::path(get, path = "/api/v1/cloudron/language", tag = "Cloudron",
    responses((status = 200, body = LanguageBody), (status = 401, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_language(
    _: Caller,
    State(state): State<AppState>,
) -> Result<Json<LanguageBody>, ApiError> {
    let Language(language) = state.settings.get().await?;
    Ok(Json(LanguageBody { language }))
}

/// Set the default language.
#[utoipa::path(post, path = "/api/v1/cloudron/language", tag = "Cloudron", request_body = LanguageBody,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_language(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LanguageBody>,
) -> Result<Json<Empty>, ApiError> {
    state.settings.set(Language::new(&req.language)?).await?;
    Ok(Json(Empty {}))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeZoneBody {
    /// An IANA time zone name.
    #[schema(example = "Europe/Zurich")]
    pub time_zone: String,
}

/// The time zone schedules (automatic updates) run in; the server itself stays in UTC.
#[utoipa::path(get, path = "/api/v1/cloudron/time_zone", tag = "Cloudron",
    responses((status = 200, body = TimeZoneBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_time_zone(_: Admin, State(state): State<AppState>) -> Json<TimeZoneBody> {
    Json(TimeZoneBody {
        time_zone: state.time_zone.borrow().name().to_owned(),
    })
}

/// Set the time zone; schedules are re-planned at once.
#[utoipa::path(post, path = "/api/v1/cloudron/time_zone", tag = "Cloudron", request_body = TimeZoneBody,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_time_zone(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<TimeZoneBody>,
) -> Result<Json<Empty>, ApiError> {
    let zone = TimeZone::new(&req.time_zone)?;
    state.settings.set(zone).await?;
    state.time_zone.send_replace(zone.0);
    Ok(Json(Empty {}))
}
