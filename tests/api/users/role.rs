//! `PUT /api/v1/users/{userId}/role`.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, expect_error, expect_error_exact};

#[tokio::test]
async fn a_role_change_applies_to_existing_tokens_and_is_recorded() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, bob_token) = server.add_user(&owner, "bob", "user").await;

    let (code, _) = server
        .put(
            &format!("/api/v1/users/{bob}/role"),
            &owner,
            json!({"role": "usermanager"}),
        )
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = server.get("/api/v1/users", &bob_token).await;
    assert_eq!(
        code,
        StatusCode::OK,
        "the new role applies to existing tokens"
    );
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.update&per_page=1", &owner)
        .await;
    let data = &events["eventlogs"][0]["data"];
    assert_eq!(
        (
            data["roleChanged"].clone(),
            data["oldRole"].clone(),
            data["user"]["role"].clone()
        ),
        (json!(true), json!("user"), json!("usermanager"))
    );
}

#[tokio::test]
async fn the_owner_role_cannot_be_given_and_a_role_is_required() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let path = format!("/api/v1/users/{bob}/role");

    let to_owner = server.put(&path, &owner, json!({"role": "owner"})).await;
    let missing = server.put(&path, &owner, json!({})).await;

    expect_error(to_owner, StatusCode::FORBIDDEN, "");
    expect_error_exact(missing, StatusCode::BAD_REQUEST, "role is required");
}

#[tokio::test]
async fn an_unknown_users_role_is_404() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, _) = server
        .put(
            "/api/v1/users/uid-nobody/role",
            &owner,
            json!({"role": "user"}),
        )
        .await;

    assert_eq!(code, StatusCode::NOT_FOUND);
}
