//! `/api/v1/system/logs/{unit}` and `/system/logstream/{unit}`: boxd's own log (unit `box`), for
//! admins, as the task logs are served.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::api::logs::{self, LogsQuery, LogstreamQuery};
use crate::auth::Admin;
use crate::error::{ApiError, ApiPath, ApiQuery, ErrorBody};
use crate::state::AppState;
use crate::system;
use crate::tasks::stream;

/// Download a log unit: `box`, boxd's own log (`<data-dir>/logs/box.log`, the current file).
#[utoipa::path(get, path = "/api/v1/system/logs/{unit}", tag = "System",
    params(("unit" = String, Path, description = "The log unit: box"), LogsQuery),
    responses((status = 200, description = "The log", content_type = "application/x-logs"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 424, description = "The log file cannot be read", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_system_logs(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(unit): ApiPath<String>,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> Result<Response, ApiError> {
    let log = system::log_unit(&state, &unit)?;
    let lines = logs::lines(query.lines.as_deref(), "lines must be a number")?;
    let json = logs::json_format(query.format.as_deref())?;
    let body = stream::download(log, lines, json).await?;
    Ok(logs::download_response(body, &format!("{unit}.log")))
}

/// Follow a log unit live (Server-Sent Events; needs `Accept: text/event-stream`), as task log
/// streams: `id` = the line's `realtimeTimestamp`, `data` = `{realtimeTimestamp, message, source}`.
#[utoipa::path(get, path = "/api/v1/system/logstream/{unit}", tag = "System",
    params(("unit" = String, Path, description = "The log unit: box"), LogstreamQuery),
    responses((status = 200, description = "The event stream", content_type = "text/event-stream"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "Too many open streams", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_system_logstream(
    Admin(caller): Admin,
    State(state): State<AppState>,
    ApiPath(unit): ApiPath<String>,
    ApiQuery(query): ApiQuery<LogstreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    logs::require_event_stream(&headers)?;
    let log = system::log_unit(&state, &unit)?;
    let start = logs::start(&headers, query.lines.as_deref())?;
    let permit = state.log_streams.acquire(&caller.user.id)?;
    let lines = stream::follow(log, start, permit).await?;
    Ok(logs::event_stream(&state, &caller, lines))
}
