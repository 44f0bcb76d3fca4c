//! Not a resource: the log download and the live log stream (SSE) that the log routes (of
//! tasks, and of the system's log units) share, with their query rules (`lines`, `format`,
//! `Last-Event-ID`).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use crate::tasks::log::LogLine;
use crate::tasks::stream::Start;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// The last this many lines [default: 10]; -1 for all.
    #[param(value_type = Option<i64>)]
    pub lines: Option<String>,
    /// `json` (one `{realtimeTimestamp, message, source}` per line) or `short` (the lines as stored).
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogstreamQuery {
    /// Start with the last this many lines [default: 10]; -1 for all. A `Last-Event-ID` header
    /// (on reconnect) starts after that line instead.
    #[param(value_type = Option<i64>)]
    pub lines: Option<String>,
}

/// How often an open log stream checks that its token still works.
const STREAM_AUTH_EVERY: Duration = Duration::from_secs(15);

/// `lines`: a count of last lines (default 10), or -1 for all.
pub fn lines(raw: Option<&str>, message: &str) -> Result<Option<usize>, ApiError> {
    match raw {
        None => Ok(Some(10)),
        Some("-1") => Ok(None),
        Some(text) => text
            .parse::<usize>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(message)),
    }
}

/// `format`: `json` (the default, NDJSON records) or `short` (the stored lines).
pub fn json_format(raw: Option<&str>) -> Result<bool, ApiError> {
    match raw {
        None | Some("json") => Ok(true),
        Some("short") => Ok(false),
        Some(_) => Err(ApiError::bad_request("format must be json or short")),
    }
}

/// A log file download, streamed.
pub fn download_response(
    body: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    filename: &str,
) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
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
    response
}

/// Cloudron: a log stream needs `Accept: text/event-stream`.
pub fn require_event_stream(headers: &HeaderMap) -> Result<(), ApiError> {
    let accepts = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accepts.contains("text/event-stream") {
        Ok(())
    } else {
        Err(ApiError::bad_request("This API call requires EventStream"))
    }
}

/// Where a stream starts: after `Last-Event-ID` (a reconnect), else the last `lines` lines.
pub fn start(headers: &HeaderMap, lines_query: Option<&str>) -> Result<Start, ApiError> {
    let last_event = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok()?.trim().parse().ok());
    match last_event {
        Some(id) => Ok(Start::After(id)),
        None => Ok(Start::Last(lines(
            lines_query,
            "lines must be a valid number",
        )?)),
    }
}

/// The SSE response of a log stream: `retry`, then one event per line with its id. It ends
/// with the server, or when the caller's token stops working.
pub fn event_stream(
    state: &AppState,
    caller: &Caller,
    lines: impl Stream<Item = LogLine> + Send + 'static,
) -> Response {
    let retry =
        futures_util::stream::once(async { Event::default().retry(Duration::from_millis(3000)) });
    let events = retry
        .chain(lines.map(|line| {
            Event::default()
                .id(line.micros.to_string())
                .data(&*line.data)
        }))
        .map(Ok::<_, Infallible>);
    let shutdown = state.shutdown.clone();
    let revoked = auth::revoked(
        state.db.clone(),
        caller.token_id.to_string(),
        STREAM_AUTH_EVERY,
    );
    let events = events.take_until(async move {
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = revoked => {}
        }
    });
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    let headers = [("x-accel-buffering", "no"), ("cache-control", "no-cache")];
    (headers, sse).into_response()
}
