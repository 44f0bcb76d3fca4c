//! `/api/v1/profile/avatar` and `/api/v1/profile/background_image`: the caller's images.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::Empty;
use crate::api::uploads::{self, AvatarUpload, BackgroundUpload};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use crate::images::{self, Avatar, ImageKind, avatar_name, background_name};
use crate::state::AppState;
use crate::store;

#[derive(Debug, Deserialize, ToSchema)]
pub struct AvatarChoice {
    /// `gravatar` to use Gravatar, `""` to have no avatar.
    #[schema(example = "gravatar")]
    pub avatar: String,
}

/// Set the caller's avatar: upload an image (multipart `avatar`), or choose Gravatar or none (JSON).
#[utoipa::path(post, path = "/api/v1/profile/avatar", tag = "Profile",
    request_body(content((AvatarUpload = "multipart/form-data"), (AvatarChoice = "application/json"))),
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_avatar(
    caller: Caller,
    State(state): State<AppState>,
    req: Request,
) -> Result<Json<Empty>, ApiError> {
    let avatar = if uploads::is_multipart(&req) {
        let bytes = uploads::required_file(req, &state, "avatar").await?;
        Avatar::Upload(images::validate(bytes, ImageKind::Avatar)?)
    } else {
        let ApiJson(choice) = ApiJson::<AvatarChoice>::from_request(req, &state).await?;
        match choice.avatar.as_str() {
            "gravatar" => Avatar::Gravatar,
            "" => Avatar::None,
            _ => {
                return Err(ApiError::bad_request(
                    "avatar must be \"gravatar\", \"\" or an uploaded image",
                ));
            }
        }
    };
    images::set_avatar(state.accounts(), &caller.user.id, avatar).await?;
    Ok(Json(Empty {}))
}

/// A user's uploaded avatar. Public: the user id is the only key, as in Cloudron.
#[utoipa::path(get, path = "/api/v1/profile/avatar/{userId}", tag = "Profile",
    params(("userId" = String, Path, description = "User id")),
    responses((status = 200, description = "The image, with its own content type",
               content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"))),
              (status = 304, description = "Unchanged (If-None-Match)"),
              (status = 404, body = ErrorBody)))]
pub async fn get_avatar(
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let image = store::images::get(&state.db, &avatar_name(&user_id))
        .await?
        .ok_or(ApiError::NotFound("avatar"))?;
    Ok(uploads::image_response(image, &headers))
}

/// The caller's dashboard background image.
#[utoipa::path(get, path = "/api/v1/profile/background_image", tag = "Profile",
    responses((status = 200, description = "The image, with its own content type",
               content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"))),
              (status = 304, description = "Unchanged (If-None-Match)"),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_background_image(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let name = background_name(&caller.user.id);
    let image = store::images::get(&state.db, &name)
        .await?
        .ok_or(ApiError::NotFound("background image"))?;
    Ok(uploads::image_response(image, &headers))
}

/// Set the caller's background image (multipart `backgroundImage`); an empty field clears it.
#[utoipa::path(post, path = "/api/v1/profile/background_image", tag = "Profile",
    request_body(content((BackgroundUpload = "multipart/form-data"))),
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_background_image(
    caller: Caller,
    State(state): State<AppState>,
    req: Request,
) -> Result<Json<Empty>, ApiError> {
    if !uploads::is_multipart(&req) {
        return Err(ApiError::bad_request(
            "backgroundImage must be sent as multipart/form-data",
        ));
    }
    let bytes = uploads::file_field(req, &state, "backgroundImage")
        .await?
        .ok_or_else(|| ApiError::bad_request("backgroundImage must be provided"))?;
    let image = match bytes.is_empty() {
        true => None,
        false => Some(images::validate(bytes, ImageKind::Background)?),
    };
    images::set_background(state.accounts(), &caller.user.id, image).await?;
    Ok(Json(Empty {}))
}

/// The camelCase path Cloudron's own dashboard and the seed's sample use.
#[utoipa::path(get, path = "/api/v1/profile/backgroundImage", tag = "Profile", operation_id = "get_background_image_alias",
    responses((status = 200, description = "As GET /api/v1/profile/background_image"),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_background_image_alias(
    caller: Caller,
    state: State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    get_background_image(caller, state, headers).await
}

/// The camelCase path Cloudron's own dashboard uses.
#[utoipa::path(post, path = "/api/v1/profile/backgroundImage", tag = "Profile", operation_id = "set_background_image_alias",
    request_body(content((BackgroundUpload = "multipart/form-data"))),
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_background_image_alias(
    caller: Caller,
    state: State<AppState>,
    req: Request,
) -> Result<Json<Empty>, ApiError> {
    set_background_image(caller, state, req).await
}
