//! `--log-format json`: one JSON object a line, the request's id on every line logged while
//! serving it, numbers as numbers and field values without embedded quotes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Served, client};

#[tokio::test]
async fn every_line_of_a_request_carries_its_id_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start_with_args(dir.path(), &["--log-format", "json"]);
    served.activate("alice", "password123").await;

    let response = client()
        .post(served.url("/api/v1/auth/login"))
        .header("X-Request-Id", "req-test-42")
        .json(&json!({"username": "alice", "password": "wrong"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["x-request-id"], "req-test-42");
    let (exit, _, log) = served.terminate();
    assert!(exit.success(), "{log}");
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    // `spans` lists every open span, outermost first: the request's, then any inside it.
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|line| line["spans"][0]["route"] == "/api/v1/auth/login")
        .collect();
    assert!(of_request.len() >= 2, "{log}");
    for line in &of_request {
        assert_eq!(line["spans"][0]["request.id"], "req-test-42", "{line}");
    }
    let failed = of_request
        .iter()
        .find(|line| line["level"] == "WARN")
        .unwrap_or_else(|| panic!("a failed-login line:\n{log}"));
    assert_eq!(failed["user.name"], "alice", "no quotes inside the value");
    assert_eq!(failed["client.ip"], "127.0.0.1");
    let finished = of_request
        .iter()
        .find(|line| line["message"] == "finished processing request")
        .unwrap_or_else(|| panic!("the request's last line:\n{log}"));
    assert_eq!(finished["status"], 401);
    assert!(finished["latency_ms"].as_f64().unwrap() > 0.0, "{finished}");
}
