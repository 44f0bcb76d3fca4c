//! `/api/v1/system/logs/{unit}` and `/system/logstream/{unit}`: boxd's own log (`box`), served
//! as task logs are. The real binary writes it; an in-process server answers the rules.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    Served, TestServer, client, expect_admin_only, expect_error, expect_error_exact,
};

#[tokio::test]
async fn the_log_routes_need_an_admin() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/system/logs/box", Value::Null),
            (Method::GET, "/api/v1/system/logstream/box", Value::Null),
        ],
    )
    .await;
}

#[tokio::test]
async fn unknown_units_and_bad_queries_are_refused() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let unknown = server.get("/api/v1/system/logs/nginx", &owner).await;
    let unknown_stream = server
        .http
        .get(server.url("/api/v1/system/logstream/mail"))
        .bearer_auth(&owner)
        .header(ACCEPT, "text/event-stream")
        .send()
        .await
        .unwrap();
    let unknown_stream = (
        unknown_stream.status(),
        unknown_stream.json::<Value>().await.unwrap(),
    );
    let lines = server
        .get("/api/v1/system/logs/box?lines=ten", &owner)
        .await;
    let format = server
        .get("/api/v1/system/logs/box?format=xml", &owner)
        .await;
    let not_sse = server.get("/api/v1/system/logstream/box", &owner).await;

    expect_error_exact(
        unknown,
        StatusCode::NOT_FOUND,
        "No such log unit: boxd has one, box",
    );
    expect_error(unknown_stream, StatusCode::NOT_FOUND, "box");
    expect_error_exact(lines, StatusCode::BAD_REQUEST, "lines must be a number");
    expect_error_exact(
        format,
        StatusCode::BAD_REQUEST,
        "format must be json or short",
    );
    expect_error_exact(
        not_sse,
        StatusCode::BAD_REQUEST,
        "This API call requires EventStream",
    );
}

/// A failed login for `name`: boxd logs it, naming the name.
async fn failed_login(served: &Served, name: &str) {
    let response = client()
        .post(served.url("/api/v1/auth/login"))
        .json(&json!({"username": name, "password": "not the password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_box_log_has_the_lines_boxd_logged() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let token = served.activate("alice", "alices password").await;
    failed_login(&served, "mallory-in-the-log").await;

    let mut found = None;
    for _ in 0..50 {
        let response = client()
            .get(served.url("/api/v1/system/logs/box?lines=-1"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/x-logs");
        assert_eq!(
            response.headers()[CONTENT_DISPOSITION],
            "attachment; filename=\"box.log\""
        );
        let text = response.text().await.unwrap();
        found = text
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .find(|record| {
                record["message"]
                    .as_str()
                    .unwrap()
                    .contains("mallory-in-the-log")
            });
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (exit, _, stderr) = served.terminate();

    let record = found.expect("the failed login is in the box log");
    assert_eq!(record["source"], "box");
    assert!(record["message"].as_str().unwrap().contains("failed login"));
    assert!(record["realtimeTimestamp"].as_i64().unwrap() > 1_600_000_000_000_000);
    assert!(
        stderr.contains("mallory-in-the-log"),
        "the same line went to stderr"
    );
    assert!(exit.success());
    let file = std::fs::read_to_string(dir.path().join("logs/box.log")).unwrap();
    assert!(file.contains("mallory-in-the-log"));
}

#[tokio::test]
async fn the_box_log_stream_shows_a_line_as_it_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let token = served.activate("alice", "alices password").await;
    let response = client()
        .get(served.url("/api/v1/system/logstream/box?lines=0"))
        .bearer_auth(&token)
        .header(ACCEPT, "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    let mut events = response.bytes_stream().eventsource();

    failed_login(&served, "mallory-live").await;

    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.next().await {
            let event = event.unwrap();
            if event.data.contains("mallory-live") {
                return event;
            }
        }
        panic!("the stream ended");
    })
    .await
    .expect("the line was streamed within 10 s");
    let record: Value = serde_json::from_str(&seen.data).unwrap();
    assert_eq!(seen.id, record["realtimeTimestamp"].to_string());
    assert_eq!(record["source"], "box");
    drop(events);
    assert!(served.terminate().0.success());
}
