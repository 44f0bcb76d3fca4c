use reqwest::StatusCode;
use serde_json::json;

use crate::support::{OWNER_PASSWORD, TestServer, expect_error_exact};

#[tokio::test]
async fn the_right_password_gives_a_working_session_token() {
    let server = TestServer::start().await;
    server.owner_token().await;

    let (code, body) = server
        .post(
            "/api/v1/auth/login",
            "",
            json!({"username": "alice", "password": OWNER_PASSWORD}),
        )
        .await;

    assert_eq!(code, StatusCode::OK, "{body}");
    let token = body["accessToken"].as_str().unwrap();
    let (code, tokens) = server.get("/api/v1/tokens", token).await;
    assert_eq!(code, StatusCode::OK);
    let session = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "login")
        .unwrap();
    assert_eq!(session["clientId"], "cid-webadmin");
    assert_eq!(session["expires"], body["expires"]);
}

#[tokio::test]
async fn an_email_address_logs_in_like_the_username() {
    let server = TestServer::start().await;
    server.owner_token().await;
    server.login("Alice@Example.com", OWNER_PASSWORD).await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_401() {
    let server = TestServer::start().await;
    server.owner_token().await;

    for body in [
        json!({"username": "alice", "password": "wrong password"}),
        json!({"username": "nobody", "password": OWNER_PASSWORD}),
    ] {
        let answer = server.post("/api/v1/auth/login", "", body).await;
        expect_error_exact(answer, StatusCode::UNAUTHORIZED, "Invalid credentials");
    }
    let (code, _) = server
        .post("/api/v1/auth/login", "", json!({"username": "alice"}))
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_login_is_recorded_with_the_client_ip() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server.login("alice", OWNER_PASSWORD).await;

    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.login", &owner)
        .await;

    let login = &events["eventlogs"][0];
    assert_eq!(login["action"], "user.login");
    assert_eq!(login["source"]["ip"], "127.0.0.1");
    assert_eq!(login["source"]["username"], "alice");
    assert_eq!(login["data"]["user"]["username"], "alice");
    assert!(!login.to_string().contains(OWNER_PASSWORD));
}
