//! `/api/v1/tasks`: background tasks, their logs and live log streams, for admins.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{Page, PageQuery, parse_id};
use crate::auth::{self, Admin};
use crate::error::{ApiError, ApiPath, ApiQuery, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::store::tasks::TaskRow;
use crate::tasks::stream::{self, Start};

/// How often an open log stream checks that its token still works.
const STREAM_AUTH_EVERY: Duration = Duration::from_secs(15);

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

/// `lines`: a count of last lines (default 10), or -1 for all.
fn lines(raw: Option<&str>, message: &str) -> Result<Option<usize>, ApiError> {
    match raw {
        None => Ok(Some(10)),
        Some("-1") => Ok(None),
        Some(text) => text
            .parse::<usize>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(message)),
    }
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// The last this many lines [default: 10]; -1 for all.
    #[param(value_type = Option<i64>)]
    lines: Option<String>,
    /// `json` (one `{realtimeTimestamp, message, source}` per line) or `short` (the lines as stored).
    format: Option<String>,
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
    let lines = lines(query.lines.as_deref(), "lines must be a number")?;
    let json = match query.format.as_deref() {
        None | Some("json") => true,
        Some("short") => false,
        Some(_) => return Err(ApiError::bad_request("format must be json or short")),
    };
    let body = stream::download(&state.tasks, task.id, lines, json).await?;
    let disposition = format!("attachment; filename=\"task-{}.log\"", task.id);
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-logs"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if let Ok(disposition) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogstreamQuery {
    /// Start with the last this many lines [default: 10]; -1 for all. A `Last-Event-ID` header
    /// (on reconnect) starts after that line instead.
    #[param(value_type = Option<i64>)]
    lines: Option<String>,
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
    let accepts = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !accepts.contains("text/event-stream") {
        return Err(ApiError::bad_request("This API call requires EventStream"));
    }
    let task = existing(&state, &task_id).await?;
    let last_event = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok()?.trim().parse().ok());
    let start = match last_event {
        Some(id) => Start::After(id),
        None => Start::Last(lines(
            query.lines.as_deref(),
            "lines must be a valid number",
        )?),
    };
    let permit = state.log_streams.acquire(&caller.user.id)?;
    let lines = stream::follow(&state.tasks, task.id, start, permit).await?;
    let retry =
        futures_util::stream::once(async { Event::default().retry(Duration::from_millis(3000)) });
    let events = retry
        .chain(lines.map(|line| {
            Event::default()
                .id(line.micros.to_string())
                .data(&*line.data)
        }))
        .map(Ok::<_, Infallible>);
    // The stream ends with the server, or with the caller's authorization.
    let shutdown = state.shutdown.clone();
    let revoked = auth::revoked(state.db.clone(), caller.token_id.clone(), STREAM_AUTH_EVERY);
    let events = events.take_until(async move {
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = revoked => {}
        }
    });
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    let headers = [
        ("x-accel-buffering", "no"),
        ("cache-control", "no-cache"),
        ("access-control-allow-origin", "*"),
    ];
    Ok((headers, sse).into_response())
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
