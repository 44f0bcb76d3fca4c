//! Logging: text or JSON lines on stderr, filtered `RUST_LOG`-style, written by a background
//! thread so a request never waits for the terminal or the log collector; the same lines in
//! boxd's own log file ([`box_log`]), which `/system/logs/box` serves; and the request span.
//! [`metrics`] has the Prometheus metrics.

mod box_log;
pub mod metrics;

pub use box_log::box_log_path;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use tracing::Span;
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

use crate::config::LogFormat;
use crate::tasks::log::LiveLog;

/// Lines waiting for the writer; past this, new lines are dropped and counted rather than
/// slowing requests down.
const BUFFERED_LINES: usize = 16_384;

/// Keeps the log writers running; dropping it flushes what is buffered.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    _writers: Vec<WorkerGuard>,
    dropped: ErrorCounter,
    box_log: Option<Arc<LiveLog>>,
}

impl LogGuard {
    /// Lines dropped because the writer could not keep up.
    pub fn dropped(&self) -> usize {
        self.dropped.dropped_lines()
    }

    /// boxd's own log, when [`init`] was given a data dir.
    pub fn box_log(&self) -> Option<Arc<LiveLog>> {
        self.box_log.clone()
    }
}

/// Installs the global subscriber; `RUST_LOG` overrides the default of `info`. With a data dir,
/// every line also goes to `<data-dir>/logs/box.log` (as text, whatever `format`).
pub fn init(format: LogFormat, data_dir: Option<&Path>) -> std::io::Result<LogGuard> {
    let (writer, guard) = non_blocking("boxd-log").finish(std::io::stderr());
    let dropped = writer.error_counter();
    let stderr = match format {
        LogFormat::Text => fmt::layer()
            .with_writer(writer)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(writer)
            .boxed(),
    };
    let mut writers = vec![guard];
    let (file, box_log) = match data_dir {
        Some(dir) => {
            let log = Arc::new(box_log::open(dir)?);
            let (writer, guard) = non_blocking("boxd-log-file").finish(box_log::Writer::new(&log));
            writers.push(guard);
            // The file's writer stamps each record with its own time.
            let layer = fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .without_time();
            (Some(layer), Some(log))
        }
        None => (None, None),
    };
    let spec = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    tracing_subscriber::registry()
        .with(filter(spec.as_deref()))
        .with(stderr)
        .with(file)
        .init();
    Ok(LogGuard {
        _writers: writers,
        dropped,
        box_log,
    })
}

fn non_blocking(thread: &str) -> NonBlockingBuilder {
    NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(BUFFERED_LINES)
        .thread_name(thread)
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
