//! Logging: text or JSON lines on stderr, filtered `RUST_LOG`-style, and the request span.

use std::io::IsTerminal;

use axum::extract::MatchedPath;
use axum::http::Request;
use tracing::Span;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; `RUST_LOG` overrides the default of `info`.
pub fn init(format: LogFormat) {
    let spec = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(spec.as_deref()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
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

/// The span of one request: method, route template and request id. Never the URI, which can
/// carry `?access_token=`, and never headers.
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
