//! `/api/v1/notifications`: what the platform wants admins to see.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, PageQuery, parse_bool_filter, parse_id};
use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::store::notifications::NotificationRow;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    #[schema(example = "50")]
    pub id: String,
    /// The event it is about, if any.
    pub event_id: Option<String>,
    pub title: String,
    /// Markdown.
    pub message: String,
    pub creation_time: String,
    pub acknowledged: bool,
}

impl From<NotificationRow> for Notification {
    fn from(row: NotificationRow) -> Self {
        Self {
            id: row.id.to_string(),
            event_id: row.event_id,
            title: row.title,
            message: row.message,
            creation_time: row.creation_time,
            acknowledged: row.acknowledged,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    pub notifications: Vec<Notification>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilter {
    /// `true` or `false`; applied before paging.
    #[param(value_type = Option<bool>)]
    acknowledged: Option<String>,
}

/// List notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "Notifications",
    params(PageQuery, NotificationFilter),
    responses((status = 200, body = NotificationList), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn list_notifications(
    _: Admin,
    State(state): State<AppState>,
    page: Page,
    ApiQuery(filter): ApiQuery<NotificationFilter>,
) -> Result<Json<NotificationList>, ApiError> {
    let acknowledged = parse_bool_filter(
        filter.acknowledged.as_deref(),
        "acknowledged must be a true or false",
    )?;
    let rows = store::notifications::list(&state.db, acknowledged, page).await?;
    Ok(Json(NotificationList {
        notifications: rows.into_iter().map(Notification::from).collect(),
    }))
}

/// Get a notification.
#[utoipa::path(get, path = "/api/v1/notifications/{notificationId}", tag = "Notifications",
    params(("notificationId" = String, Path, description = "Notification id")),
    responses((status = 200, body = Notification), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_notification(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(notification_id_text): ApiPath<String>,
) -> Result<Json<Notification>, ApiError> {
    let id = parse_id(&notification_id_text, "notification")?;
    let row = store::notifications::get(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound("notification"))?;
    Ok(Json(Notification::from(row)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcknowledgeRequest {
    pub acknowledged: bool,
}

/// Mark a notification as acknowledged or not.
#[utoipa::path(post, path = "/api/v1/notifications/{notificationId}", tag = "Notifications",
    params(("notificationId" = String, Path, description = "Notification id")),
    request_body = AcknowledgeRequest,
    responses((status = 204, description = "Updated"), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn acknowledge_notification(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(notification_id_text): ApiPath<String>,
    ApiJson(req): ApiJson<AcknowledgeRequest>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&notification_id_text, "notification")?;
    if !store::notifications::set_acknowledged(&state.db, id, req.acknowledged).await? {
        return Err(ApiError::NotFound("notification"));
    }
    Ok(StatusCode::NO_CONTENT)
}
