//! `/api/v1/groups`: groups of users, for user managers and up. Apps (through the directory
//! server) authorise by group; nobody changes the memberships of a user above their own role.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Empty;
use crate::auth::UserManager;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use crate::groups::{self, GroupWithMembers};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    #[schema(example = "gid-bd6d2757-320c-4c8c-b429-b283a8bd7647")]
    pub id: String,
    #[schema(example = "developers")]
    pub name: String,
    /// `""` for groups made here.
    pub source: String,
    /// The members.
    pub user_ids: Vec<String>,
}

impl From<GroupWithMembers> for Group {
    fn from(GroupWithMembers { group, user_ids }: GroupWithMembers) -> Self {
        Self {
            id: group.id,
            name: group.name,
            source: group.source,
            user_ids,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub groups: Vec<Group>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GroupNameRequest {
    /// 1 to 200 printable characters, unique whatever their case; not `users` or `admins`.
    #[schema(example = "developers")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedGroup {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetMembersRequest {
    /// Every member the group should have, each once.
    pub user_ids: Vec<String>,
}

/// List the groups with their members, by name.
#[utoipa::path(get, path = "/api/v1/groups", tag = "Groups",
    responses((status = 200, body = GroupList), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn list_groups(
    _: UserManager,
    State(state): State<AppState>,
) -> Result<Json<GroupList>, ApiError> {
    let groups = groups::list(&state.db).await?;
    Ok(Json(GroupList {
        groups: groups.into_iter().map(Group::from).collect(),
    }))
}

/// Add a group (without members).
#[utoipa::path(post, path = "/api/v1/groups", tag = "Groups", request_body = GroupNameRequest,
    responses((status = 201, body = CreatedGroup), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, description = "The name is taken or reserved", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn create_group(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<GroupNameRequest>,
) -> Result<(StatusCode, Json<CreatedGroup>), ApiError> {
    let group = groups::create(&state.db, &caller.actor(), &req.name).await?;
    let created = CreatedGroup {
        id: group.id,
        name: group.name,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Get a group with its members.
#[utoipa::path(get, path = "/api/v1/groups/{groupId}", tag = "Groups",
    params(("groupId" = String, Path, description = "Group id")),
    responses((status = 200, body = Group), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_group(
    _: UserManager,
    State(state): State<AppState>,
    ApiPath(group_id): ApiPath<String>,
) -> Result<Json<Group>, ApiError> {
    Ok(Json(Group::from(groups::get(&state.db, &group_id).await?)))
}

/// Delete a group; its members stay, without it.
#[utoipa::path(delete, path = "/api/v1/groups/{groupId}", tag = "Groups",
    params(("groupId" = String, Path, description = "Group id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn delete_group(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(group_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    groups::delete(&state.db, &caller.actor(), &group_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rename a group.
#[utoipa::path(put, path = "/api/v1/groups/{groupId}/name", tag = "Groups",
    params(("groupId" = String, Path, description = "Group id")), request_body = GroupNameRequest,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "The name is taken or reserved", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_group_name(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(group_id): ApiPath<String>,
    ApiJson(req): ApiJson<GroupNameRequest>,
) -> Result<Json<Empty>, ApiError> {
    groups::rename(&state.db, &caller.actor(), &group_id, &req.name).await?;
    Ok(Json(Empty {}))
}

/// Set the members of a group.
#[utoipa::path(put, path = "/api/v1/groups/{groupId}/members", tag = "Groups",
    params(("groupId" = String, Path, description = "Group id")), request_body = SetMembersRequest,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "No such group, or a user id names no user", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_group_members(
    UserManager(caller): UserManager,
    State(state): State<AppState>,
    ApiPath(group_id): ApiPath<String>,
    ApiJson(req): ApiJson<SetMembersRequest>,
) -> Result<Json<Empty>, ApiError> {
    groups::set_members(&state.db, &caller.actor(), &group_id, req.user_ids).await?;
    Ok(Json(Empty {}))
}
