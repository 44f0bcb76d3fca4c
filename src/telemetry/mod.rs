//! Logging: text or JSON lines on stderr, filtered `RUST_LOG`-style, written by a background
//! thread so a request never waits for the terminal or the log collector; and the request span.
//! [`metrics`] has the Prometheus metrics.

pub mod metrics;

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
    let spec = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(spec.as_deref()))
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

/// The filter of a `RUST_LOG` spec (default `info`), which never lets the LDAP codec log: it
/// traces whole decoded messages and logs the raw bytes of ones it cannot parse, bind passwords
/// included (the directory server logs what matters itself).
fn filter(spec: Option<&str>) -> EnvFilter {
    let filter = spec
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    match "ldap3_proto=off".parse() {
        Ok(quiet) => filter.add_directive(quiet),
        Err(_) => filter,
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
        // Microsecond precision, without a float's trailing noise.
        latency_ms = latency.as_micros() as f64 / 1000.0,
        "finished processing request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn enabled(spec: Option<&str>, target_is_codec: bool, level: Level) -> bool {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter(spec))
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, || match (target_is_codec, level) {
            (true, Level::ERROR) => tracing::enabled!(target: "ldap3_proto", Level::ERROR),
            (true, _) => tracing::enabled!(target: "ldap3_proto::proto", Level::TRACE),
            (false, Level::TRACE) => tracing::enabled!(target: "boxd::ldap", Level::TRACE),
            (false, _) => tracing::enabled!(target: "boxd::ldap", Level::INFO),
        })
    }

    #[test]
    fn the_ldap_codec_never_logs_whatever_the_spec() {
        for spec in [
            None,
            Some("trace"),
            Some("ldap3_proto=trace"),
            Some("bad spec =="),
        ] {
            assert!(!enabled(spec, true, Level::ERROR), "{spec:?}");
            assert!(!enabled(spec, true, Level::TRACE), "{spec:?}");
        }
        assert!(enabled(Some("trace"), false, Level::TRACE));
        assert!(enabled(None, false, Level::INFO) && !enabled(None, false, Level::TRACE));
    }
}
