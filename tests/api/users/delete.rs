//! `DELETE /api/v1/users/{userId}`: the user and everything they had.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestServer;

#[tokio::test]
async fn deleting_a_user_revokes_everything_they_had() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, token) = server.add_user(&owner, "bob", "user").await;
    let api_token = server.create_token(&token, json!({"name": "script"})).await;
    let (code, _) = server
        .post(
            "/api/v1/app_passwords",
            &token,
            json!({"name": "phone", "identifier": "mail"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    let (code, body) = server.delete(&format!("/api/v1/users/{bob}"), &owner).await;

    assert_eq!((code, body), (StatusCode::NO_CONTENT, Value::Null));
    for secret in [&token, &api_token] {
        let (code, _) = server.get("/api/v1/profile", secret).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
    }
    let db = server.db().await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM app_passwords")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let (code, _) = server.get(&format!("/api/v1/users/{bob}"), &owner).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.remove", &owner)
        .await;
    assert_eq!(events["eventlogs"][0]["data"]["user"]["username"], "bob");
}
