//! `POST /api/v1/provision/activate`: the first owner, once.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, expect_error_exact};

#[tokio::test]
async fn activation_creates_the_owner_with_a_working_token() {
    let server = TestServer::start().await;
    let (_, status) = server.get("/api/v1/cloudron/status", "").await;
    assert_eq!(status["activated"], false);

    let body = json!({"username": "Alice", "password": "correct horse", "email": "Alice@Example.com", "displayName": "Alice A"});
    let (code, activated) = server.post("/api/v1/provision/activate", "", body).await;

    assert_eq!(code, StatusCode::CREATED, "{activated}");
    assert!(activated["userId"].as_str().unwrap().starts_with("uid-"));
    let expires = activated["expires"].as_i64().unwrap();
    let week = chrono::Utc::now().timestamp_millis() + 7 * 24 * 3600 * 1000;
    assert!((expires - week).abs() < 60_000, "a 7-day session token");
    let token = activated["token"].as_str().unwrap();
    let (code, tokens) = server.get("/api/v1/tokens", token).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(tokens["tokens"][0]["scope"], json!({"*": "rw"}));
    assert_eq!(tokens["tokens"][0]["identifier"], activated["userId"]);
    let (_, status) = server.get("/api/v1/cloudron/status", "").await;
    assert_eq!(status["activated"], true);
    server.login("alice", "correct horse").await;
}

#[tokio::test]
async fn a_second_activation_is_a_conflict() {
    let server = TestServer::start().await;
    server.owner_token().await;

    let body = json!({"username": "mallory", "password": "12345678", "email": "m@example.com"});
    let answer = server.post("/api/v1/provision/activate", "", body).await;

    expect_error_exact(answer, StatusCode::CONFLICT, "Already setup");
}

#[tokio::test]
async fn fifty_concurrent_activations_make_exactly_one_owner() {
    let server = TestServer::start().await;
    let attempts = (0..50).map(|i| {
        let body = json!({"username": format!("user{i}"), "password": "password123", "email": format!("u{i}@example.com")});
        server.post("/api/v1/provision/activate", "", body)
    });

    let results = futures_util::future::join_all(attempts).await;

    let created = results
        .iter()
        .filter(|(code, _)| *code == StatusCode::CREATED)
        .count();
    let conflicts = results
        .iter()
        .filter(|(code, _)| *code == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 49), "{results:?}");
    let db = server.db().await;
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn activation_validates_every_field() {
    let server = TestServer::start().await;
    let good = json!({"username": "alice", "password": "password123", "email": "a@example.com"});
    let cases = [
        (
            json!({"password": "password123", "email": "a@example.com"}),
            "username is required",
        ),
        (
            json!({"username": "alice", "email": "a@example.com"}),
            "password is required",
        ),
        (
            json!({"username": "alice", "password": "password123"}),
            "email is required",
        ),
        (
            json!({"username": "", "password": "password123", "email": "a@example.com"}),
            "Username cannot be empty",
        ),
        (
            json!({"username": "a b", "password": "password123", "email": "a@example.com"}),
            "Username can only contain alphanumerals, dot and -",
        ),
        (
            json!({"username": "admin", "password": "password123", "email": "a@example.com"}),
            "Username is reserved",
        ),
        (
            json!({"username": "alice", "password": "short", "email": "a@example.com"}),
            "Password must be atleast 8 characters",
        ),
        (
            json!({"username": "alice", "password": "password123", "email": "nope"}),
            "email is not a valid email address",
        ),
        (
            json!({"username": 5, "password": "password123", "email": "a@example.com"}),
            "username must be a string",
        ),
    ];
    for (body, expected) in cases {
        let answer = server.post("/api/v1/provision/activate", "", body).await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
    let (code, _) = server.post("/api/v1/provision/activate", "", good).await;
    assert_eq!(
        code,
        StatusCode::CREATED,
        "nothing was half-written by the failures"
    );
}

#[tokio::test]
async fn activation_records_user_add_and_cloudron_activate() {
    let server = TestServer::start().await;
    let token = server.owner_token().await;

    let (_, events) = server
        .get(
            "/api/v1/eventlog?actions=user.add,cloudron.activate",
            &token,
        )
        .await;

    let events = events["eventlogs"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    let activate = &events[0];
    assert_eq!(activate["action"], "cloudron.activate");
    assert_eq!(
        activate["source"],
        json!({"userId": null, "username": null, "ip": "127.0.0.1"})
    );
    let add = &events[1];
    assert_eq!(add["action"], "user.add");
    assert_eq!(
        add["source"]["username"], "alice",
        "the source is the new owner"
    );
    assert_eq!(add["data"]["user"]["role"], "owner");
    let text = add.to_string();
    assert!(
        !text.contains("correct horse") && !text.contains("argon2"),
        "no secret in events: {text}"
    );
}
