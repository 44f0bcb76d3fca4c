//! Logging: text or JSON lines on stderr, filtered `RUST_LOG`-style, written by a background
//! thread so a request never waits for the terminal or the log collector; the same lines in
//! boxd's own log file ([`box_log`]), which `/system/logs/box` serves; and the request span.
//! [`metrics`] has the Prometheus metrics.

mod box_log;
pub mod metrics;

pub use box_log::box_log_path;

use std::io::{BufWriter, IsTerminal, Stderr, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Request, Response};
use tower_http::request_id::{MakeRequestId, RequestId};
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
    // Buffered: the writer's thread flushes whenever its queue is empty, so a busy server writes
    // many lines per system call and a quiet one each line at once.
    let stderr = BufWriter::with_capacity(64 * 1024, std::io::stderr());
    let box_log = data_dir.map(box_log::open).transpose()?.map(Arc::new);
    let terminal = std::io::stderr().is_terminal();
    let spec = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let registry = tracing_subscriber::registry().with(filter(spec.as_deref()));
    let (dropped, writers) = match (&box_log, format) {
        // The usual case, a service's plain text: each line is formatted once and written to
        // both by one thread.
        (Some(log), LogFormat::Text) if !terminal => {
            let tee = Tee {
                stderr,
                file: box_log::Writer::new(log, box_log::Stamp::Replace),
            };
            let (writer, guard) = non_blocking("boxd-log").finish(tee);
            let dropped = writer.error_counter();
            registry
                .with(fmt::layer().with_writer(writer).with_ansi(false))
                .init();
            (dropped, vec![guard])
        }
        _ => {
            let (writer, guard) = non_blocking("boxd-log").finish(stderr);
            let dropped = writer.error_counter();
            let stderr = match format {
                LogFormat::Text => fmt::layer().with_writer(writer).with_ansi(terminal).boxed(),
                LogFormat::Json => fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(writer)
                    .boxed(),
            };
            let mut writers = vec![guard];
            let file = box_log.as_ref().map(|log| {
                let writer = box_log::Writer::new(log, box_log::Stamp::Add);
                let (writer, guard) = non_blocking("boxd-log-file").finish(writer);
                writers.push(guard);
                fmt::layer()
                    .with_writer(writer)
                    .with_ansi(false)
                    .without_time()
            });
            registry.with(stderr).with(file).init();
            (dropped, writers)
        }
    };
    Ok(LogGuard {
        _writers: writers,
        dropped,
        box_log,
    })
}

/// Text lines for stderr and for boxd's own log file.
struct Tee {
    stderr: BufWriter<Stderr>,
    file: box_log::Writer,
}

impl Write for Tee {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.file.write_all(line)?;
        self.stderr.write_all(line)?;
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        self.stderr.flush()
    }
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

/// A UUID v4 for each request without an `X-Request-Id`, from the thread's RNG: an id needs to be
/// unique, not secret, and a system call per request (as `getrandom` is) is most of its cost.
#[derive(Clone, Copy)]
pub struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut text = uuid::Uuid::encode_buffer();
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut text))
            .ok()
            .map(RequestId::new)
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

    #[test]
    fn new_request_ids_are_distinct_version_4_uuids() {
        let request = Request::new(());
        let mut ids = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = NewRequestId.make_request_id(&request).unwrap();
            let id = uuid::Uuid::parse_str(id.header_value().to_str().unwrap()).unwrap();
            assert_eq!(id.get_version_num(), 4);
            assert!(ids.insert(id));
        }
    }
}
