//! `/api/v1/users`: the user directory, for user managers and up. Nobody acts on a user above
//! their own role, nobody grants a role above their own, and nobody removes, demotes or
//! deactivates themselves. Invite and reset links are in [`links`], ghost passwords in [`ghost`].

mod ghost;
mod links;

pub use ghost::*;
pub use links::*;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Empty, Page, PageQuery, parse_bool_filter};
use crate::auth::{Role, UserManager};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::groups;
use crate::state::AppState;
use crate::users::{self, NewAccount, UserEdit, UserWithGroups};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[schema(example = "uid-3f07b9e7-8cf2-494b-95cc-93dd05fc5bbc")]
    pub id: String,
    /// Null for an invited user who has not picked one yet.
    pub username: Option<String>,
    pub email: String,
    pub fallback_email: String,
    pub display_name: String,
    /// The groups the user is in (`/groups`).
    pub group_ids: Vec<String>,
    pub active: bool,
    pub source: String,
    pub role: Role,
    /// With `mandatory2FA` on, admins see here who has not set up 2FA yet.
    pub two_factor_authentication_enabled: bool,
    pub invite_accepted: bool,
}

impl From<UserWithGroups> for User {
    fn from(UserWithGroups { user, group_ids }: UserWithGroups) -> Self {
        Self {
            id: user.id,
            username: user.username,
            email: user.email,
            fallback_email: user.fallback_email,
            display_name: user.display_name,
            group_ids,
            active: user.active,
            source: user.source,
            role: user.role,
            two_factor_authentication_enabled: user.totp_enabled,
            invite_accepted: user.invite_accepted,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<User>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Case-insensitive text to find in username, email or display name.
    search: Option<String>,
    /// `true` or `false`: only active or only inactive users.
    #[param(value_type = Option<bool>)]
    active: Option<String>,
}

/// List users by username.
#[utoipa::path(get, path = "/api/v1/users", tag = "Users", params(PageQuery, UserFilter),
    responses((status = 200, body = UserList), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn list_users(
    _: UserManager,
    State(state): State<AppState>,
    page: Page,
    ApiQuery(filter): ApiQuery<UserFilter>,
) -> Result<Json<UserList>, ApiError> {
    let active = parse_bool_filter(filter.active.as_deref(), "active must be true or false")?;
    let search = filter.search.as_deref().filter(|s| !s.is_empty());
    let rows = users::list(&state.db, search, active, page).await?;
    Ok(Json(UserList {
        users: rows.into_iter().map(User::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserRequest {
    pub email: String,
    pub username: Option<String>,
    /// Without one, the user must finish an invite (`inviteAccepted` false).
    pub password: Option<String>,
    pub display_name: Option<String>,
    /// Default `user`; never above the caller's own role, never `owner`.
    pub role: Option<Role>,
    /// Default: the email.
    pub fallback_email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    pub id: String,
}

/// Add a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "Users", request_body = CreateUserRequest,
    responses((status = 201, body = CreatedUser), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, description = "Username or email taken", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn create_user(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    let account = NewAccount {
        email: req.email,
        username: req.username,
        password: req.password,
        display_name: req.display_name,
        role: req.role,
        fallback_email: req.fallback_email,
    };
    let id = users::create(state.accounts(), &caller.actor(), account).await?;
    Ok((StatusCode::CREATED, Json(CreatedUser { id })))
}

/// Get a user.
#[utoipa::path(get, path = "/api/v1/users/{userId}", tag = "Users",
    params(("userId" = String, Path, description = "User id")),
    responses((status = 200, body = User), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_user(
    _: UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(User::from(users::get(&state.db, &user_id).await?)))
}

/// Delete a user, with their tokens, app passwords and images.
#[utoipa::path(delete, path = "/api/v1/users/{userId}", tag = "Users",
    params(("userId" = String, Path, description = "User id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "Removing yourself", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn delete_user(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    users::delete(state.accounts(), &caller.actor(), &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUserRequest {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub fallback_email: Option<String>,
    /// Accepted only while the user has no username.
    pub username: Option<String>,
}

/// Update a user's profile.
#[utoipa::path(post, path = "/api/v1/users/{userId}/profile", tag = "Users",
    params(("userId" = String, Path, description = "User id")), request_body = UpdateUserRequest,
    responses((status = 204, description = "Updated"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn update_user(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateUserRequest>,
) -> Result<StatusCode, ApiError> {
    let edit = UserEdit {
        email: req.email,
        display_name: req.display_name,
        fallback_email: req.fallback_email,
        username: req.username,
    };
    users::update(state.accounts(), &caller.actor(), &user_id, edit).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetRoleRequest {
    pub role: Role,
}

/// Change a user's role.
#[utoipa::path(put, path = "/api/v1/users/{userId}/role", tag = "Users",
    params(("userId" = String, Path, description = "User id")), request_body = SetRoleRequest,
    responses((status = 204, description = "Changed"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "Changing your own role", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_user_role(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(req): ApiJson<SetRoleRequest>,
) -> Result<StatusCode, ApiError> {
    users::set_role(state.accounts(), &caller.actor(), &user_id, req.role).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetActiveRequest {
    pub active: bool,
}

/// Activate or deactivate a user; deactivation revokes their tokens and app passwords at once.
#[utoipa::path(put, path = "/api/v1/users/{userId}/active", tag = "Users",
    params(("userId" = String, Path, description = "User id")), request_body = SetActiveRequest,
    responses((status = 204, description = "Changed"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "Changing yourself", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_user_active(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(req): ApiJson<SetActiveRequest>,
) -> Result<StatusCode, ApiError> {
    users::set_active(state.accounts(), &caller.actor(), &user_id, req.active).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetPasswordRequest {
    /// 8 to 256 characters.
    pub password: String,
}

/// Set the password of a user of a lower role; their login sessions end.
#[utoipa::path(post, path = "/api/v1/users/{userId}/password", tag = "Users",
    params(("userId" = String, Path, description = "User id")), request_body = SetPasswordRequest,
    responses((status = 204, description = "Changed"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "Your own password: use /profile/password", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_user_password(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(req): ApiJson<SetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    users::set_password(state.accounts(), &caller.actor(), &user_id, req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turn off the 2FA of a user of a lower role (one who lost their device).
#[utoipa::path(post, path = "/api/v1/users/{userId}/twofactorauthentication_disable", tag = "Users",
    params(("userId" = String, Path, description = "User id")),
    responses((status = 200, body = Empty), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "Your own 2FA: use /profile", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn disable_user_two_factor(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
) -> Result<Json<Empty>, ApiError> {
    users::disable_two_factor_of(state.accounts(), &caller.actor(), &user_id).await?;
    Ok(Json(Empty {}))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetUserGroupsRequest {
    /// Every group the user should be in (ids from `/groups`), each once.
    pub group_ids: Vec<String>,
}

/// Set the groups of a user (not of one whose role is above yours).
#[utoipa::path(put, path = "/api/v1/users/{userId}/groups", tag = "Users",
    params(("userId" = String, Path, description = "User id")), request_body = SetUserGroupsRequest,
    responses((status = 204, description = "Changed"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "No such user, or a group id names no group", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_user_groups(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(req): ApiJson<SetUserGroupsRequest>,
) -> Result<StatusCode, ApiError> {
    groups::set_groups_of_user(&state.db, &caller.actor(), &user_id, req.group_ids).await?;
    Ok(StatusCode::NO_CONTENT)
}
