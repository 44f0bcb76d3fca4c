//! Cross-cutting: the token layer in front of every route (where the token comes from, when it
//! stops working, and what its scope and its user's role allow).

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, expect_error, expect_error_exact};

async fn assert_unauthorized(server: &TestServer, token: &str) {
    let answer = server.get("/api/v1/tokens", token).await;
    expect_error(answer, StatusCode::UNAUTHORIZED, "");
}

#[tokio::test]
async fn missing_garbage_and_empty_tokens_are_401() {
    let server = TestServer::start().await;
    server.owner_token().await;
    assert_unauthorized(&server, "").await;
    assert_unauthorized(&server, "garbage").await;
    let (code, _) = server.get("/api/v1/tokens?access_token=", "").await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let response = server
        .http
        .get(server.url("/api/v1/tokens"))
        .header("Authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_token_works_in_the_header_and_in_the_query() {
    let server = TestServer::start().await;
    let token = server.owner_token().await;
    let (code, _) = server.get("/api/v1/tokens", &token).await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = server
        .get(&format!("/api/v1/tokens?access_token={token}"), "")
        .await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn expired_and_deleted_tokens_are_401() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let expired = server.create_token(&owner, json!({"name": "soon"})).await;
    let deleted = server.create_token(&owner, json!({"name": "gone"})).await;
    let db = server.db().await;
    sqlx::query("UPDATE tokens SET expires = 1 WHERE name = 'soon'")
        .execute(&db)
        .await
        .unwrap();
    let (_, list) = server.get("/api/v1/tokens", &owner).await;
    let gone_id = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "gone")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, _) = server
        .delete(&format!("/api/v1/tokens/{gone_id}"), &owner)
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);

    assert_unauthorized(&server, &expired).await;
    assert_unauthorized(&server, &deleted).await;
}

#[tokio::test]
async fn tokens_of_deactivated_and_deleted_users_are_401() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, bob_token) = server.add_user(&owner, "bob", "user").await;
    let (code, _) = server
        .put(
            &format!("/api/v1/users/{bob}/active"),
            &owner,
            json!({"active": false}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_unauthorized(&server, &bob_token).await;

    let (carol, carol_token) = server.add_user(&owner, "carol", "user").await;
    let (code, _) = server.get("/api/v1/tokens", &carol_token).await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = server
        .delete(&format!("/api/v1/users/{carol}"), &owner)
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_unauthorized(&server, &carol_token).await;
}

#[tokio::test]
async fn a_read_only_token_reads_but_cannot_write() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let read_only = server.read_only_token(&owner).await;

    let (code, _) = server.get("/api/v1/tokens", &read_only).await;
    assert_eq!(code, StatusCode::OK);
    let answer = server
        .post(
            "/api/v1/tokens",
            &read_only,
            json!({"name": "x", "scope": {"*": "r"}}),
        )
        .await;
    expect_error(answer, StatusCode::FORBIDDEN, "");
    let (_, list) = server.get("/api/v1/tokens", &owner).await;
    let id = list["tokens"][0]["id"].as_str().unwrap().to_owned();
    let (code, _) = server
        .delete(&format!("/api/v1/tokens/{id}"), &read_only)
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_scoped_token_only_reaches_its_resources() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let scoped = server
        .create_token(
            &owner,
            json!({"name": "events", "scope": {"eventlog": "r"}}),
        )
        .await;

    let (code, _) = server.get("/api/v1/eventlog", &scoped).await;
    assert_eq!(code, StatusCode::OK);
    let answer = server.get("/api/v1/tokens", &scoped).await;
    expect_error_exact(
        answer,
        StatusCode::FORBIDDEN,
        "This token's scope does not allow this request",
    );
}

#[tokio::test]
async fn roles_gate_admin_routes_whatever_the_scope() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let user = server.add_user(&owner, "bob", "user").await.1;
    let manager = server.add_user(&owner, "carol", "usermanager").await.1;
    let admin = server.add_user(&owner, "dave", "admin").await.1;

    for token in [&user, &manager] {
        let answer = server.get("/api/v1/eventlog", token).await;
        expect_error_exact(answer, StatusCode::FORBIDDEN, "This needs the admin role");
    }
    let (code, _) = server.get("/api/v1/eventlog", &admin).await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = server.get("/api/v1/tokens", &user).await;
    assert_eq!(code, StatusCode::OK, "tokens are every user's");
}
