//! `/api/v1/eventlog`: the audit trail, for admins.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, PageQuery};
use crate::auth::Admin;
use crate::error::{ApiError, ApiPath, ApiQuery, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::store::eventlog::EventRow;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[schema(example = "7f32f714-ad40-4bea-b5e5-e71562679f0c")]
    pub id: String,
    #[schema(example = "user.login")]
    pub action: String,
    #[schema(example = "2022-03-05T02:30:00.000Z")]
    pub creation_time: String,
    /// Who caused it: `{userId, username, ip}`.
    pub source: serde_json::Value,
    pub data: serde_json::Value,
}

impl From<EventRow> for Event {
    fn from(row: EventRow) -> Self {
        Self {
            id: row.id,
            action: row.action,
            creation_time: row.creation_time,
            source: row.source.0,
            data: row.data.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub eventlogs: Vec<Event>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// Case-insensitive text to find in the event's source or data.
    search: Option<String>,
    /// Comma-separated action names, each matched exactly (e.g. `user.add,user.remove`).
    actions: Option<String>,
}

/// List events, newest first.
#[utoipa::path(get, path = "/api/v1/eventlog", tag = "Eventlog", params(PageQuery, EventFilter),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn list_events(
    _: Admin,
    State(state): State<AppState>,
    page: Page,
    ApiQuery(filter): ApiQuery<EventFilter>,
) -> Result<Json<EventList>, ApiError> {
    let search = filter.search.as_deref().filter(|s| !s.is_empty());
    let actions: Vec<&str> = filter
        .actions
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|action| !action.is_empty())
        .collect();
    let rows = store::eventlog::list(&state.db, search, &actions, page).await?;
    Ok(Json(EventList {
        eventlogs: rows.into_iter().map(Event::from).collect(),
    }))
}

/// Get one event.
#[utoipa::path(get, path = "/api/v1/eventlog/{eventId}", tag = "Eventlog",
    params(("eventId" = String, Path, description = "Event id")),
    responses((status = 200, body = Event), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_event(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(event_id): ApiPath<String>,
) -> Result<Json<Event>, ApiError> {
    let row = store::eventlog::get(&state.db, &event_id)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    Ok(Json(Event::from(row)))
}
