//! Logging: text or JSON lines on stderr, filtered `RUST_LOG`-style, written by a background
//! thread so a request never waits for the terminal or the log collector; and the request span.

use std::io::IsTerminal;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use tracing::Span;
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Lines waiting for the writer; past this, new lines are dropped and counted rather than
/// slowing requests down.
const BUFFERED_LINES: usize = 16_384;

/// Keeps the log writer running; dropping it flushes what is buffered.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    _writer: WorkerGuard,
    dropped: ErrorCounter,
}

impl LogGuard {
    /// Lines dropped because the writer could not keep up.
    pub fn dropped(&self) -> usize {
        self.dropped.dropped_lines()
    }
}

/// Installs the global subscriber; `RUST_LOG` overrides the default of `info`.
pub fn init(format: LogFormat) -> LogGuard {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(BUFFERED_LINES)
        .thread_name("boxd-log")
        .finish(std::io::stderr());
    let dropped = writer.error_counter();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    LogGuard {
        _writer: guard,
        dropped,
    }
}

/// The span of one request: method, route template and request id, so every line logged while
/// serving it carries them. Never the URI, which can carry `?access_token=`, and never headers.
pub fn request_span<B>(req: &Request<B>) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("request", method = %req.method(), route, request.id = request_id)
}

/// The one line per request: its status and latency in milliseconds (a number).
pub fn log_response<B>(response: &Response<B>, latency: Duration, _: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "finished processing request"
    );
}
