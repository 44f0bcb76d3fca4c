//! Prometheus metrics, served on `--metrics-listen` only: the recorder (installed once per
//! process), the counters the request path and the credential checks bump, and the gauges read
//! at each scrape. Without `--metrics-listen` no recorder is installed and every bump is a no-op.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;
use crate::store;

const REQUESTS: &str = "boxd_http_requests_total";
const LATENCY: &str = "boxd_http_request_duration_seconds";
const AUTH_CACHE: &str = "boxd_auth_cache_lookups_total";
const LOGIN_FAILURES: &str = "boxd_login_failures_total";
const THROTTLED: &str = "boxd_throttled_total";
const LOG_STREAMS: &str = "boxd_log_streams_open";
const TASKS: &str = "boxd_tasks";
const DB_CONNECTIONS: &str = "boxd_db_pool_connections";
const RSS: &str = "process_resident_memory_bytes";

/// Seconds; from a cached authenticated GET (well under a millisecond) to an argon2 login.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// How often histogram samples are folded into their buckets between scrapes, so memory stays
/// bounded when nobody scrapes.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);
const TASK_STATES: [&str; 4] = ["pending", "active", "success", "failed"];

/// The process's recorder, installed by the first call (a process has one global recorder, so
/// servers in one test process share it).
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);
    let mut installed = HANDLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(handle) = installed.as_ref() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(LATENCY.to_owned()), LATENCY_BUCKETS)?
        .install_recorder()?;
    describe();
    *installed = Some(handle.clone());
    Ok(handle)
}

fn describe() {
    describe_counter!(
        REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        LATENCY,
        metrics::Unit::Seconds,
        "Time to the response head, by method and route template"
    );
    describe_counter!(AUTH_CACHE, "Token lookups, by result: hit or miss");
    describe_counter!(
        LOGIN_FAILURES,
        "Refused credentials, by kind: password, totp, current_password"
    );
    describe_counter!(
        THROTTLED,
        "Credential checks refused with 429, by reason: address, account, busy"
    );
    describe_gauge!(LOG_STREAMS, "Task log streams (SSE) open");
    describe_gauge!(TASKS, "Tasks by state: pending, active, success, failed");
    describe_gauge!(
        DB_CONNECTIONS,
        "Database pool connections, by state: idle, in_use"
    );
    describe_gauge!(RSS, metrics::Unit::Bytes, "Resident memory of the process");
}

/// The request counter and latency histogram, by route template (never the raw path, which
/// would let clients mint series).
pub async fn track_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    let status = response.status().as_str().to_owned();
    histogram!(LATENCY, "method" => method.clone(), "route" => route.clone())
        .record(started.elapsed());
    counter!(REQUESTS, "method" => method, "route" => route, "status" => status).increment(1);
    response
}

pub fn auth_cache_lookup(hit: bool) {
    counter!(AUTH_CACHE, "result" => if hit { "hit" } else { "miss" }).increment(1);
}

/// `kind`: `password`, `totp` or `current_password`.
pub fn login_failed(kind: &'static str) {
    counter!(LOGIN_FAILURES, "kind" => kind).increment(1);
}

/// `reason`: `address`, `account` or `busy`.
pub fn throttled(reason: &'static str) {
    counter!(THROTTLED, "reason" => reason).increment(1);
}

/// The exposition text, with the gauges read now.
pub async fn render(state: &AppState, handle: &PrometheusHandle) -> sqlx::Result<String> {
    gauge!(LOG_STREAMS).set(state.log_streams.open() as f64);
    let counts = store::tasks::count_by_state(&state.db).await?;
    for name in TASK_STATES {
        let n = counts
            .iter()
            .find(|(state, _)| state == name)
            .map_or(0, |(_, n)| *n);
        gauge!(TASKS, "state" => name).set(n as f64);
    }
    let idle = state.db.num_idle();
    let open = usize::try_from(state.db.size()).unwrap_or(usize::MAX);
    gauge!(DB_CONNECTIONS, "state" => "idle").set(idle as f64);
    gauge!(DB_CONNECTIONS, "state" => "in_use").set(open.saturating_sub(idle) as f64);
    if let Some(bytes) = resident_bytes() {
        gauge!(RSS).set(bytes as f64);
    }
    Ok(handle.render())
}

/// VmRSS of /proc/self/status (Linux), in bytes.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resident_memory_of_this_process_is_read() {
        let bytes = resident_bytes().unwrap();
        assert!(bytes > 1024 * 1024, "{bytes}");
    }
}
