//! `/api/v1/tokens`: API tokens, their secrets, expiry and scope.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, expect_error, expect_error_exact};

#[tokio::test]
async fn a_created_token_shows_its_secret_once_and_works() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, created) = server
        .post("/api/v1/tokens", &owner, json!({"name": "ci"}))
        .await;

    assert_eq!(code, StatusCode::OK, "{created}");
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("tid-"));
    assert_eq!(created["clientId"], "cid-sdk");
    assert_eq!(created["scope"], json!({"*": "rw"}));
    assert_eq!(created["lastUsedAt"], json!(null));
    let year = chrono::Utc::now().timestamp_millis() + 365 * 24 * 3600 * 1000;
    assert!(
        (created["expires"].as_i64().unwrap() - year).abs() < 60_000,
        "a one-year default"
    );
    let secret = created["accessToken"].as_str().unwrap();
    assert_eq!(secret.len(), 43);

    let (code, got) = server.get(&format!("/api/v1/tokens/{id}"), secret).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(got["name"], "ci");
    assert!(
        got.get("accessToken").is_none(),
        "the secret is never shown again: {got}"
    );
    assert!(
        got["lastUsedAt"].is_string(),
        "the request just made used it"
    );
    let (_, list) = server.get("/api/v1/tokens", &owner).await;
    assert!(
        list["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("accessToken").is_none())
    );
    assert!(!list.to_string().contains(secret));
}

#[tokio::test]
async fn expiry_and_scope_are_kept_as_given() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let at = chrono::Utc::now().timestamp_millis() + 3_600_000;

    let body = json!({"name": "hour", "expiresAt": at, "scope": {"profile": "rw", "*": "r"}});
    let (code, created) = server.post("/api/v1/tokens", &owner, body).await;

    assert_eq!(code, StatusCode::OK);
    assert_eq!(created["expires"], at);
    assert_eq!(created["scope"], json!({"*": "r", "profile": "rw"}));
}

#[tokio::test]
async fn create_validates_its_input() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let past = chrono::Utc::now().timestamp_millis() - 1;
    let cases = [
        (json!({}), "name is required"),
        (json!({"name": "  "}), "name must be 1 to 64 characters"),
        (
            json!({"name": "x".repeat(65)}),
            "name must be 1 to 64 characters",
        ),
        (json!({"name": 3}), "name must be a string"),
        (
            json!({"name": "x", "expiresAt": past}),
            "expiresAt must be a timestamp in the future",
        ),
        (
            json!({"name": "x", "expiresAt": "soon"}),
            "expiresAt must be an integer",
        ),
        (
            json!({"name": "x", "scope": "rw"}),
            "scope must be an object",
        ),
        (
            json!({"name": "x", "scope": {}}),
            "scope must name at least one resource",
        ),
        (
            json!({"name": "x", "scope": {"apps": "rw"}}),
            "scope names an unknown resource: apps",
        ),
        (
            json!({"name": "x", "scope": {"*": "write"}}),
            "scope values must be \"r\" or \"rw\"",
        ),
    ];
    for (body, expected) in cases {
        let answer = server.post("/api/v1/tokens", &owner, body).await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
    let (_, list) = server.get("/api/v1/tokens", &owner).await;
    assert_eq!(
        list["tokens"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
}

#[tokio::test]
async fn lists_are_paged_and_bad_pages_are_400() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    for name in ["a", "b", "c"] {
        server.create_token(&owner, json!({"name": name})).await;
    }

    let (_, one) = server.get("/api/v1/tokens?per_page=1", &owner).await;
    assert_eq!(one["tokens"].as_array().unwrap().len(), 1);
    let (_, second) = server.get("/api/v1/tokens?page=2&per_page=3", &owner).await;
    assert_eq!(second["tokens"].as_array().unwrap().len(), 1);
    let (_, past_end) = server.get("/api/v1/tokens?page=9", &owner).await;
    assert_eq!(past_end["tokens"], json!([]));
    for query in [
        "page=0",
        "per_page=abc",
        "per_page=0",
        "page=-1",
        "per_page=5001",
    ] {
        let answer = server.get(&format!("/api/v1/tokens?{query}"), &owner).await;
        expect_error(answer, StatusCode::BAD_REQUEST, "");
    }
}

#[tokio::test]
async fn users_see_and_delete_only_their_own_tokens() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let bob = server.add_user(&owner, "bob", "user").await.1;
    let (_, created) = server
        .post("/api/v1/tokens", &owner, json!({"name": "mine"}))
        .await;
    let id = created["id"].as_str().unwrap();

    let answer = server.get(&format!("/api/v1/tokens/{id}"), &bob).await;
    expect_error_exact(answer, StatusCode::NOT_FOUND, "No such token");
    let (code, _) = server.delete(&format!("/api/v1/tokens/{id}"), &bob).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (_, list) = server.get("/api/v1/tokens", &bob).await;
    assert!(
        list["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] == "login")
    );
    let (code, _) = server.get(&format!("/api/v1/tokens/{id}"), &owner).await;
    assert_eq!(code, StatusCode::OK, "still there for its owner");
}

#[tokio::test]
async fn a_deleted_token_stops_working_at_once() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, created) = server
        .post("/api/v1/tokens", &owner, json!({"name": "short"}))
        .await;
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["accessToken"].as_str().unwrap(),
    );

    let (code, body) = server.delete(&format!("/api/v1/tokens/{id}"), secret).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(body, json!(null), "204 has no body");

    let (code, _) = server.get("/api/v1/tokens", secret).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = server.delete(&format!("/api/v1/tokens/{id}"), &owner).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn last_used_survives_a_restart() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (code, _) = server.get("/api/v1/tokens", &owner).await;
    assert_eq!(code, StatusCode::OK);
    let db_path = server.db_path();
    let _dir = server.shutdown().await;

    let db = boxd::store::connect(&format!("sqlite://{}", db_path.display()))
        .await
        .unwrap();
    let stored: Option<String> = sqlx::query_scalar("SELECT last_used_at FROM tokens")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(stored.is_some(), "flushed at shutdown");
}

#[tokio::test]
async fn a_token_cannot_mint_a_wider_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let narrow = narrow_token(&server, &owner).await;

    for scope in [
        json!(null),
        json!({"*": "r"}),
        json!({"eventlog": "rw"}),
        json!({"tokens": "rw", "profile": "r"}),
    ] {
        let mut body = json!({"name": "wider"});
        if !scope.is_null() {
            body["scope"] = scope;
        }
        let answer = server.post("/api/v1/tokens", &narrow, body).await;
        expect_error_exact(
            answer,
            StatusCode::FORBIDDEN,
            "A token cannot create a token with a wider scope than its own",
        );
    }
}

#[tokio::test]
async fn a_token_mints_a_token_no_wider_than_itself() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let narrow = narrow_token(&server, &owner).await;

    let same = server
        .create_token(
            &narrow,
            json!({"name": "same", "scope": {"tokens": "r", "eventlog": "r"}}),
        )
        .await;

    let (code, _) = server.get("/api/v1/eventlog", &same).await;
    assert_eq!(code, StatusCode::OK);
}

/// A token that may manage tokens and read the eventlog, nothing else.
async fn narrow_token(server: &TestServer, owner: &str) -> String {
    server
        .create_token(
            owner,
            json!({"name": "n", "scope": {"tokens": "rw", "eventlog": "r"}}),
        )
        .await
}

/// Answers an hour from now and a token of the owner's that expires then.
async fn token_for_an_hour(server: &TestServer, owner: &str) -> (i64, String) {
    let hour = chrono::Utc::now().timestamp_millis() + 3_600_000;
    let short = server
        .create_token(owner, json!({"name": "short", "expiresAt": hour}))
        .await;
    (hour, short)
}

#[tokio::test]
async fn an_api_tokens_default_expiry_is_cut_to_its_own() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (hour, short) = token_for_an_hour(&server, &owner).await;

    let (code, created) = server
        .post("/api/v1/tokens", &short, json!({"name": "child"}))
        .await;

    assert_eq!(code, StatusCode::OK);
    assert_eq!(created["expires"], hour);
}

#[tokio::test]
async fn an_api_token_cannot_make_a_token_that_outlives_it() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (hour, short) = token_for_an_hour(&server, &owner).await;

    let answer = server
        .post(
            "/api/v1/tokens",
            &short,
            json!({"name": "longer", "expiresAt": hour + 1}),
        )
        .await;

    expect_error_exact(
        answer,
        StatusCode::FORBIDDEN,
        "A token cannot create a token that outlives it",
    );
}

#[tokio::test]
async fn a_login_session_makes_tokens_that_outlive_it() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (hour, _) = token_for_an_hour(&server, &owner).await;

    let (_, from_session) = server
        .post("/api/v1/tokens", &owner, json!({"name": "year"}))
        .await;

    assert!(from_session["expires"].as_i64().unwrap() > hour + 300 * 24 * 3_600_000);
}
