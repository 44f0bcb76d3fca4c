//! `/api/v1/tasks`: background tasks, their logs and live log streams, for admins.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::logs::{self, LogsQuery, LogstreamQuery};
use super::{Page, PageQuery, parse_id};
use crate::auth::Admin;
use crate::error::{ApiError, ApiPath, ApiQuery, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::store::tasks::TaskRow;
use crate::tasks::stream;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    #[schema(example = "364")]
    pub id: String,
    #[serde(rename = "type")]
    #[schema(example = "syncDyndns")]
    pub task_type: String,
    /// 0 to 100.
    pub percent: i64,
    pub message: String,
    /// Null, or `{message, code?}` with code `stopped`, `crashed` or `timeout`.
    pub error: Option<Value>,
    pub active: bool,
    pub pending: bool,
    pub success: bool,
    pub creation_time: String,
    /// When the task last changed.
    pub ts: String,
    pub result: Option<Value>,
}

impl From<TaskRow> for Task {
    fn from(row: TaskRow) -> Self {
        Self {
            id: row.id.to_string(),
            task_type: row.task_type,
            percent: row.percent,
            message: row.message,
            error: row.error.map(|e| e.0),
            active: row.active,
            pending: row.pending,
            success: row.success,
            creation_time: row.creation_time,
            ts: row.ts,
            result: row.result.map(|r| r.0),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskList {
    pub tasks: Vec<Task>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// Only tasks of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    task_type: Option<String>,
}

async fn existing(state: &AppState, raw: &str) -> Result<TaskRow, ApiError> {
    store::tasks::get(&state.db, parse_id(raw, "task")?)
        .await?
        .ok_or(ApiError::NotFound("task"))
}

/// List tasks, newest first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "Tasks", params(PageQuery, TaskFilter),
    responses((status = 200, body = TaskList), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn list_tasks(
    _: Admin,
    State(state): State<AppState>,
    page: Page,
    ApiQuery(filter): ApiQuery<TaskFilter>,
) -> Result<Json<TaskList>, ApiError> {
    let rows = store::tasks::list(&state.db, filter.task_type.as_deref(), page).await?;
    Ok(Json(TaskList {
        tasks: rows.into_iter().map(Task::from).collect(),
    }))
}

/// Get a task.
#[utoipa::path(get, path = "/api/v1/tasks/{taskId}", tag = "Tasks",
    params(("taskId" = String, Path, description = "Task id")),
    responses((status = 200, body = Task), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_task(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(task_id): ApiPath<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(Task::from(existing(&state, &task_id).await?)))
}

/// Download a task's log.
#[utoipa::path(get, path = "/api/v1/tasks/{taskId}/logs", tag = "Tasks",
    params(("taskId" = String, Path, description = "Task id"), LogsQuery),
    responses((status = 200, description = "The log", content_type = "application/x-logs"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 424, description = "The log file cannot be read", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_task_logs(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(task_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> Result<Response, ApiError> {
    let task = existing(&state, &task_id).await?;
    let lines = logs::lines(query.lines.as_deref(), "lines must be a number")?;
    let json = logs::json_format(query.format.as_deref())?;
    let body = stream::download(state.tasks.log(task.id), lines, json).await?;
    Ok(logs::download_response(
        body,
        &format!("task-{}.log", task.id),
    ))
}

/// Follow a task's log live (Server-Sent Events; needs `Accept: text/event-stream`). Each event
/// has `id` = the line's `realtimeTimestamp` and `data` = `{realtimeTimestamp, message, source}`.
#[utoipa::path(get, path = "/api/v1/tasks/{taskId}/logstream", tag = "Tasks",
    params(("taskId" = String, Path, description = "Task id"), LogstreamQuery),
    responses((status = 200, description = "The event stream", content_type = "text/event-stream"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "Too many open streams", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_task_logstream(
    Admin(caller): Admin,
    State(state): State<AppState>,
    ApiPath(task_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<LogstreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    logs::require_event_stream(&headers)?;
    let task = existing(&state, &task_id).await?;
    let start = logs::start(&headers, query.lines.as_deref())?;
    let permit = state.log_streams.acquire(&caller.user.id)?;
    let lines = stream::follow(state.tasks.log(task.id), start, permit).await?;
    Ok(logs::event_stream(&state, &caller, lines))
}

/// Stop a pending or running task; read the task afterwards for its final state.
#[utoipa::path(post, path = "/api/v1/tasks/{taskId}/stop", tag = "Tasks",
    params(("taskId" = String, Path, description = "Task id")),
    responses((status = 204, description = "Stopping"), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "The task is not active", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn stop_task(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(task_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.tasks.stop(parse_id(&task_id, "task")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
