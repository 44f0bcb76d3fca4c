//! `/api/v1/cloudron/...`: status, avatar, background, languages, language and time zone.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, expect_admin_only, expect_error_exact, form, jpeg};

#[tokio::test]
async fn the_language_and_time_zone_settings_need_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/cloudron/time_zone", Value::Null),
            (
                Method::POST,
                "/api/v1/cloudron/time_zone",
                json!({"timeZone": "UTC"}),
            ),
            (
                Method::POST,
                "/api/v1/cloudron/language",
                json!({"language": "en"}),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fresh_server_answers_english_and_utc() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let language = server.get("/api/v1/cloudron/language", &owner).await;
    let time_zone = server.get("/api/v1/cloudron/time_zone", &owner).await;
    let (_, languages) = server.get("/api/v1/cloudron/languages", "").await;

    assert_eq!(language, (StatusCode::OK, json!({"language": "en"})));
    assert_eq!(time_zone, (StatusCode::OK, json!({"timeZone": "UTC"})));
    assert!(
        languages["languages"]
            .as_array()
            .unwrap()
            .contains(&json!("en"))
    );
}

#[tokio::test]
async fn language_and_time_zone_are_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let cases = [
        (
            "/api/v1/cloudron/language",
            json!({"language": "xx"}),
            "Invalid language",
        ),
        (
            "/api/v1/cloudron/language",
            json!({}),
            "language is required",
        ),
        (
            "/api/v1/cloudron/time_zone",
            json!({"timeZone": "Mars/Olympus"}),
            "Bad timeZone",
        ),
        (
            "/api/v1/cloudron/time_zone",
            json!({"language": "de"}),
            "timeZone is required",
        ),
        (
            "/api/v1/cloudron/time_zone",
            json!({"timeZone": 1}),
            "timeZone must be a string",
        ),
    ];

    for (path, body, expected) in cases {
        let answer = server.post(path, &owner, body).await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
}

#[tokio::test]
async fn language_and_time_zone_are_kept() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    for (path, body) in [
        ("/api/v1/cloudron/language", json!({"language": "de"})),
        (
            "/api/v1/cloudron/time_zone",
            json!({"timeZone": "Europe/Zurich"}),
        ),
    ] {
        let answer = server.post(path, &owner, body.clone()).await;
        assert_eq!(answer, (StatusCode::OK, json!({})), "{path}");
        let (_, stored) = server.get(path, &owner).await;
        assert_eq!(stored, body, "{path}");
    }
}

#[tokio::test]
async fn any_user_reads_the_language() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, user) = server.add_user(&owner, "bob", "user").await;
    server
        .post(
            "/api/v1/cloudron/language",
            &owner,
            json!({"language": "de"}),
        )
        .await;

    let (_, language) = server.get("/api/v1/cloudron/language", &user).await;

    assert_eq!(language, json!({"language": "de"}));
}

#[tokio::test]
async fn the_cloudron_avatar_is_public_and_there_from_the_start() {
    let server = TestServer::start().await;

    let default = server
        .http
        .get(server.url("/api/v1/cloudron/avatar"))
        .send()
        .await
        .unwrap();

    assert_eq!(default.status(), StatusCode::OK);
    assert_eq!(default.headers()[CONTENT_TYPE], "image/png");
    assert!(default.bytes().await.unwrap().starts_with(b"\x89PNG"));
}

#[tokio::test]
async fn the_background_is_public_once_set() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let image = jpeg();

    let none = server.get("/api/v1/cloudron/background", "").await;
    server
        .upload(
            "/api/v1/branding/cloudron_background",
            &owner,
            form("background", "bg.jpg", "image/jpeg", &image),
        )
        .await;
    let response = server
        .http
        .get(server.url("/api/v1/cloudron/background"))
        .send()
        .await
        .unwrap();

    expect_error_exact(none, StatusCode::NOT_FOUND, "No such background");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "image/jpeg");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let etag = response.headers()["etag"].clone();
    assert_eq!(response.bytes().await.unwrap().to_vec(), image);
    let again = server
        .http
        .get(server.url("/api/v1/cloudron/background"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}
