//! `GET /metrics` on `--metrics-listen`: the real binary, scraped as Prometheus does.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::support::{Served, client};

/// A server with metrics on an ephemeral port, and the URL of its `/metrics`.
fn start_with_metrics(dir: &std::path::Path) -> (Served, String) {
    let served = Served::start_with_args(dir, &["--metrics-listen", "127.0.0.1:0"]);
    let log = served.logged();
    let (_, rest) = log
        .split_once("metrics at ")
        .unwrap_or_else(|| panic!("a 'metrics at' log line:\n{log}"));
    let url = rest.split_whitespace().next().unwrap().to_owned();
    (served, url)
}

async fn scrape(url: &str) -> String {
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[CONTENT_TYPE].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// The value of the sample of `name` whose labels include all of `labels`, if any.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .map(|value| value.parse().unwrap())
}

#[tokio::test]
async fn requests_are_counted_by_route_and_status_with_a_latency_histogram() {
    let dir = tempfile::tempdir().unwrap();
    let (served, metrics) = start_with_metrics(dir.path());
    let status_200 = [r#"route="/api/v1/cloudron/status""#, r#"status="200""#];
    let before = sample(
        &scrape(&metrics).await,
        "boxd_http_requests_total",
        &status_200,
    )
    .unwrap_or(0.0);

    for _ in 0..3 {
        let response = client()
            .get(served.url("/api/v1/cloudron/status"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let missing = client()
        .get(served.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let text = scrape(&metrics).await;

    let after = sample(&text, "boxd_http_requests_total", &status_200).unwrap();
    assert_eq!(after - before, 3.0, "{text}");
    let unmatched = [r#"route="unmatched""#, r#"status="404""#];
    assert_eq!(
        sample(&text, "boxd_http_requests_total", &unmatched),
        Some(1.0),
        "unknown paths share one series:\n{text}"
    );
    let route = r#"route="/api/v1/cloudron/status""#;
    let count = sample(&text, "boxd_http_request_duration_seconds_count", &[route]).unwrap();
    assert!(count >= 3.0, "{text}");
    let all = sample(
        &text,
        "boxd_http_request_duration_seconds_bucket",
        &[route, r#"le="+Inf""#],
    );
    assert_eq!(all, Some(count), "{text}");
    let fast = sample(
        &text,
        "boxd_http_request_duration_seconds_bucket",
        &[route, r#"le="5""#],
    );
    assert_eq!(fast, Some(count), "{text}");
    assert!(
        !text.contains("/no/such/page"),
        "raw paths never become labels"
    );
    let (exit, _, log) = served.terminate();
    assert!(exit.success(), "{log}");
}

#[tokio::test]
async fn metrics_are_not_served_on_the_api_port() {
    let dir = tempfile::tempdir().unwrap();
    let (served, _) = start_with_metrics(dir.path());

    let response = client().get(served.url("/metrics")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (exit, _, log) = served.terminate();
    assert!(exit.success(), "{log}");
}

#[tokio::test]
async fn logins_the_token_cache_tasks_streams_the_pool_and_memory_are_measured() {
    let dir = tempfile::tempdir().unwrap();
    let (served, metrics) = start_with_metrics(dir.path());
    let token = served.activate("alice", "password123").await;
    let http = client();
    let wrong = json!({"username": "alice", "password": "wrong"});
    let refused = http
        .post(served.url("/api/v1/auth/login"))
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    for _ in 0..2 {
        let profile = http
            .get(served.url("/api/v1/profile"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(profile.status(), StatusCode::OK);
    }

    let text = scrape(&metrics).await;

    let failures = sample(&text, "boxd_login_failures_total", &[r#"kind="password""#]);
    assert_eq!(failures, Some(1.0), "{text}");
    let hits = sample(&text, "boxd_auth_cache_lookups_total", &[r#"result="hit""#]);
    assert!(hits.unwrap() >= 1.0, "{text}");
    let misses = sample(
        &text,
        "boxd_auth_cache_lookups_total",
        &[r#"result="miss""#],
    );
    assert!(misses.unwrap() >= 1.0, "{text}");
    assert_eq!(
        sample(&text, "boxd_tasks", &[r#"state="pending""#]),
        Some(0.0)
    );
    assert_eq!(sample(&text, "boxd_log_streams_open", &[]), Some(0.0));
    let pool = sample(&text, "boxd_db_pool_connections", &[r#"state="idle""#]);
    assert!(pool.unwrap() >= 1.0, "{text}");
    let rss = sample(&text, "process_resident_memory_bytes", &[]).unwrap();
    assert!(rss > 1_000_000.0 && rss < 1_000_000_000.0, "{rss}");
    assert!(!text.contains(&token) && !text.contains("password123"));
    let (exit, _, log) = served.terminate();
    assert!(exit.success(), "{log}");
}
