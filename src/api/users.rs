//! `/api/v1/users`: the user directory, for user managers and up. Nobody acts on a user above
//! their own role, nobody grants a role above their own, and nobody removes, demotes or
//! deactivates themselves.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{Sqlite, Transaction};
use utoipa::{IntoParams, ToSchema};

use super::{Empty, Page, PageQuery, now_iso, parse_bool_filter};
use crate::app::AppState;
use crate::auth::{CLIENT_WEBADMIN, Caller, Role, UserManager, secrets};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::eventlog::{self, Action};
use crate::store::users::{NewUser, UserRow};
use crate::users::{self, ProfileEdit};
use crate::{notifications, store};

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
    /// Always empty: boxd has no groups.
    pub group_ids: Vec<String>,
    pub active: bool,
    pub source: String,
    pub role: Role,
    /// With `mandatory2FA` on, admins see here who has not set up 2FA yet.
    pub two_factor_authentication_enabled: bool,
    pub invite_accepted: bool,
}

impl From<UserRow> for User {
    fn from(user: UserRow) -> Self {
        Self {
            id: user.id,
            username: user.username,
            email: user.email,
            fallback_email: user.fallback_email,
            display_name: user.display_name,
            group_ids: Vec::new(),
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

/// The target of a `/users/{userId}/...` change, which the caller may act on. Read inside the
/// change's transaction, so a concurrent role change cannot slip between check and write.
async fn manageable(
    tx: &mut Transaction<'static, Sqlite>,
    caller: &Caller,
    user_id: &str,
) -> Result<UserRow, ApiError> {
    let target = store::users::find_by_id(&mut **tx, user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    users::ensure_can_manage(&caller.user, &target)?;
    Ok(target)
}

/// How notifications name a user.
fn display(user: &UserRow) -> &str {
    match (user.display_name.as_str(), user.username.as_deref()) {
        ("", Some(username)) => username,
        ("", None) => &user.email,
        (name, _) => name,
    }
}

fn not_yourself(caller: &Caller, target: &UserRow, message: &str) -> Result<(), ApiError> {
    if caller.user.id == target.id {
        return Err(ApiError::conflict(message));
    }
    Ok(())
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
    let rows = store::users::list(&state.db, search, active, page).await?;
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
    let role = req.role.unwrap_or(Role::User);
    users::ensure_can_grant(&caller.user, role)?;
    let email = users::normalize_email("email", &req.email)?;
    let username = req
        .username
        .as_deref()
        .map(users::normalize_username)
        .transpose()?;
    let fallback_email = match req.fallback_email.as_deref().map(str::trim) {
        Some("") | None => email.clone(),
        Some(fallback) => users::normalize_email("fallbackEmail", fallback)?,
    };
    let display_name = req.display_name.unwrap_or_default();
    users::validate_display_name(&display_name)?;
    if let Some(password) = &req.password {
        users::validate_password(password)?;
    }
    let invite_accepted = req.password.is_some();
    let password_hash =
        secrets::hash_password(req.password.unwrap_or_else(secrets::new_token)).await?;

    let id = users::new_user_id();
    let new_user = NewUser {
        id: &id,
        username: username.as_deref(),
        email: &email,
        fallback_email: &fallback_email,
        display_name: &display_name,
        password_hash: &password_hash,
        role,
        invite_accepted,
        creation_time: &now_iso(),
    };
    let mut tx = store::begin_write(&state.db).await?;
    store::users::insert(&mut *tx, &new_user)
        .await
        .map_err(users::duplicate_to_conflict)?;
    let user = users::reload(&mut tx, &id).await?;
    let data = json!({
        "userId": id,
        "email": email,
        "user": eventlog::public_user(&user),
        "invitor": eventlog::public_user(&caller.user),
    });
    let event = eventlog::record(&mut *tx, Action::UserAdd, &caller.source(), data).await?;
    let (name, by) = (display(&user), display(&caller.user));
    notifications::notify(
        &mut *tx,
        Some(&event),
        &format!("User '{name}' added"),
        &format!("{by} added {name}."),
    )
    .await?;
    tx.commit().await?;
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
    let user = store::users::find_by_id(&state.db, &user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(Json(User::from(user)))
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
    let mut tx = store::begin_write(&state.db).await?;
    let target = manageable(&mut tx, &caller, &user_id).await?;
    not_yourself(&caller, &target, "Not allowed to remove yourself.")?;
    store::users::delete(&mut *tx, &target.id).await?;
    let data = json!({ "userId": target.id, "user": eventlog::public_user(&target) });
    let event = eventlog::record(&mut *tx, Action::UserRemove, &caller.source(), data).await?;
    let (name, by) = (display(&target), display(&caller.user));
    let title = format!("User '{name}' removed");
    notifications::notify(
        &mut *tx,
        Some(&event),
        &title,
        &format!("{by} removed {name}."),
    )
    .await?;
    tx.commit().await?;
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
    let mut tx = store::begin_write(&state.db).await?;
    let target = manageable(&mut tx, &caller, &user_id).await?;
    let edit = ProfileEdit::new(
        &target,
        req.email.as_deref(),
        req.fallback_email.as_deref(),
        req.display_name.as_deref(),
    )?;
    let username = req
        .username
        .as_deref()
        .map(users::normalize_username)
        .transpose()?;
    let username = match (&target.username, username) {
        (Some(current), Some(new)) if *current != new => {
            return Err(ApiError::conflict(
                "The username cannot be changed once set",
            ));
        }
        (None, new) => new,
        (Some(_), _) => None,
    };
    if !edit.is_empty() || username.is_some() {
        users::update_profile(
            &mut tx,
            &target,
            &edit,
            username.as_deref(),
            &caller.source(),
        )
        .await?;
        tx.commit().await?;
    }
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
    let mut tx = store::begin_write(&state.db).await?;
    let target = manageable(&mut tx, &caller, &user_id).await?;
    not_yourself(&caller, &target, "Users can't set roles for themselves")?;
    users::ensure_can_grant(&caller.user, req.role)?;
    if target.role == req.role {
        return Ok(StatusCode::NO_CONTENT);
    }
    store::users::set_role(&mut *tx, &target.id, req.role).await?;
    let user = users::reload(&mut tx, &target.id).await?;
    let changed = json!({ "roleChanged": true, "oldRole": target.role });
    let event = users::record_update(&mut tx, &user, &caller.source(), changed).await?;
    let (name, role) = (display(&user), req.role.as_str());
    let message = format!(
        "{} changed the role of {name} from {} to {role}.",
        display(&caller.user),
        target.role.as_str()
    );
    let title = format!("User '{name}' is now {role}");
    notifications::notify(&mut *tx, Some(&event), &title, &message).await?;
    tx.commit().await?;
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
    let mut tx = store::begin_write(&state.db).await?;
    let target = manageable(&mut tx, &caller, &user_id).await?;
    not_yourself(&caller, &target, "Users can't deactivate themselves")?;
    store::users::set_active(&mut *tx, &target.id, req.active).await?;
    if !req.active {
        store::tokens::delete_all_for_user(&mut *tx, &target.id).await?;
        store::app_passwords::delete_all_for_user(&mut *tx, &target.id).await?;
    }
    let user = users::reload(&mut tx, &target.id).await?;
    let changed = json!({ "activeChanged": target.active != req.active });
    users::record_update(&mut tx, &user, &caller.source(), changed).await?;
    tx.commit().await?;
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
    users::validate_password(&req.password)?;
    let hash = secrets::hash_password(req.password).await?;
    let mut tx = store::begin_write(&state.db).await?;
    let target = manageable(&mut tx, &caller, &user_id).await?;
    // Your own password needs your current one: /profile/password.
    not_yourself(
        &caller,
        &target,
        "Use /api/v1/profile/password to change your own password",
    )?;
    users::ensure_outranks(&caller.user, &target)?;
    store::users::set_password_hash(&mut *tx, &target.id, &hash).await?;
    store::tokens::delete_for_client(&mut *tx, &target.id, CLIENT_WEBADMIN, None).await?;
    let changed = json!({ "passwordChanged": true });
    users::record_update(&mut tx, &target, &caller.source(), changed).await?;
    tx.commit().await?;
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
    let mut tx = store::begin_write(&state.db).await?;
    let target = manageable(&mut tx, &caller, &user_id).await?;
    // Your own 2FA needs your password: /profile/twofactorauthentication_disable.
    not_yourself(
        &caller,
        &target,
        "Use /api/v1/profile/twofactorauthentication_disable for yourself",
    )?;
    users::ensure_outranks(&caller.user, &target)?;
    store::users::disable_totp(&mut *tx, &target.id).await?;
    let user = users::reload(&mut tx, &target.id).await?;
    let changed = json!({ "twoFactorAuthenticationEnabled": false });
    users::record_update(&mut tx, &user, &caller.source(), changed).await?;
    tx.commit().await?;
    Ok(Json(Empty {}))
}
