//! `/api/v1/branding/cloudron_name`, `/cloudron_avatar`, `/cloudron_background` and `/footer`.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    TestServer, expect_admin_only, expect_error, expect_error_exact, form, jpeg, png,
};

#[tokio::test]
async fn branding_needs_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/branding/cloudron_name", Value::Null),
            (
                Method::POST,
                "/api/v1/branding/cloudron_name",
                json!({"name": "x"}),
            ),
            (Method::GET, "/api/v1/branding/cloudron_avatar", Value::Null),
            (Method::POST, "/api/v1/branding/cloudron_avatar", json!({})),
            (
                Method::GET,
                "/api/v1/branding/cloudron_background",
                Value::Null,
            ),
            (
                Method::POST,
                "/api/v1/branding/cloudron_background",
                json!({}),
            ),
            (Method::GET, "/api/v1/branding/footer", Value::Null),
            (
                Method::POST,
                "/api/v1/branding/footer",
                json!({"footer": "x"}),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fresh_server_is_called_cloudron() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/branding/cloudron_name", &owner).await;

    assert_eq!(answer, (StatusCode::OK, json!({"name": "Cloudron"})));
}

#[tokio::test]
async fn the_name_is_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let cases = [
        (json!({"name": ""}), "name is empty"),
        (
            json!({"name": "x".repeat(65)}),
            "name must be at most 64 characters",
        ),
        (json!({}), "name is required"),
    ];

    for (body, expected) in cases {
        let answer = server
            .post("/api/v1/branding/cloudron_name", &owner, body)
            .await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
}

#[tokio::test]
async fn the_name_is_kept_and_shown_in_the_status() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let body = json!({"name": "Home Lab"});

    let answer = server
        .post("/api/v1/branding/cloudron_name", &owner, body.clone())
        .await;

    assert_eq!(answer, (StatusCode::OK, json!({})));
    let (_, stored) = server.get("/api/v1/branding/cloudron_name", &owner).await;
    assert_eq!(stored, body);
    let (_, status) = server.get("/api/v1/cloudron/status", "").await;
    assert_eq!(status["cloudronName"], "Home Lab");
}

#[tokio::test]
async fn an_uploaded_avatar_is_served_by_both_avatar_routes() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let image = jpeg();

    let answer = server
        .upload(
            "/api/v1/branding/cloudron_avatar",
            &owner,
            form("avatar", "logo.png", "image/png", &image),
        )
        .await;

    assert_eq!(answer, (StatusCode::OK, json!({})));
    for (path, token) in [
        ("/api/v1/cloudron/avatar", ""),
        ("/api/v1/branding/cloudron_avatar", owner.as_str()),
    ] {
        let response = server
            .http
            .get(server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()[CONTENT_TYPE], "image/jpeg", "{path}");
        assert_eq!(response.bytes().await.unwrap().to_vec(), image, "{path}");
    }
}

#[tokio::test]
async fn avatar_uploads_are_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let path = "/api/v1/branding/cloudron_avatar";

    let svg = server
        .upload(
            path,
            &owner,
            form("avatar", "x.svg", "image/svg+xml", b"<svg/>"),
        )
        .await;
    expect_error_exact(
        svg,
        StatusCode::BAD_REQUEST,
        "The file is not a PNG, JPEG, GIF or WebP image",
    );
    let (code, _) = server
        .upload(
            path,
            &owner,
            form("avatar", "b.png", "image/png", &png(65535, 65535)),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let wrong_field = server
        .upload(path, &owner, form("logo", "b.png", "image/png", &png(5, 5)))
        .await;
    expect_error_exact(
        wrong_field,
        StatusCode::BAD_REQUEST,
        "avatar must be provided",
    );
    let (code, _) = server.post(path, &owner, json!({"avatar": "x"})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_footer_is_empty_until_set_then_kept() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let footer =
        json!({"footer": "All Rights Reserved (c) 2010-%YEAR% [Home](https://home.example)"});

    let (_, fresh) = server.get("/api/v1/branding/footer", &owner).await;
    let answer = server
        .post("/api/v1/branding/footer", &owner, footer.clone())
        .await;

    assert_eq!(fresh, json!({"footer": ""}));
    assert_eq!(answer, (StatusCode::OK, json!({})));
    assert_eq!(
        server.get("/api/v1/branding/footer", &owner).await.1,
        footer
    );
}

#[tokio::test]
async fn the_footer_is_capped_and_must_be_text() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let path = "/api/v1/branding/footer";

    let long = server
        .post(path, &owner, json!({"footer": "x".repeat(4097)}))
        .await;
    let missing = server.post(path, &owner, json!({})).await;
    let number = server.post(path, &owner, json!({"footer": 7})).await;

    expect_error_exact(
        long,
        StatusCode::BAD_REQUEST,
        "footer must be at most 4096 characters",
    );
    assert_eq!(missing.0, StatusCode::BAD_REQUEST);
    assert_eq!(number.0, StatusCode::BAD_REQUEST);
    let fits = server
        .post(path, &owner, json!({"footer": "é".repeat(4096)}))
        .await;
    assert_eq!(fits.0, StatusCode::OK);
}

#[tokio::test]
async fn a_background_is_set_served_and_cleared() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let path = "/api/v1/branding/cloudron_background";
    let image = png(1920, 1080);

    let none = server.get(path, &owner).await;
    let set = server
        .upload(
            path,
            &owner,
            form("background", "bg.png", "image/png", &image),
        )
        .await;

    expect_error_exact(none, StatusCode::NOT_FOUND, "No such background");
    assert_eq!(set, (StatusCode::ACCEPTED, json!({})));
    let response = server
        .http
        .get(server.url(path))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[CONTENT_TYPE], "image/png");
    assert_eq!(response.bytes().await.unwrap().to_vec(), image);
    let cleared = server
        .upload(path, &owner, form("other", "x.txt", "text/plain", b"x"))
        .await;
    assert_eq!(cleared, (StatusCode::ACCEPTED, json!({})));
    assert_eq!(server.get(path, &owner).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn background_uploads_are_validated_as_other_images() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let path = "/api/v1/branding/cloudron_background";

    let svg = server
        .upload(
            path,
            &owner,
            form("background", "x.svg", "image/svg+xml", b"<svg/>"),
        )
        .await;
    let huge = server
        .upload(
            path,
            &owner,
            form("background", "b.png", "image/png", &png(65535, 65535)),
        )
        .await;
    let json_body = server.post(path, &owner, json!({"background": "x"})).await;

    expect_error_exact(
        svg,
        StatusCode::BAD_REQUEST,
        "The file is not a PNG, JPEG, GIF or WebP image",
    );
    expect_error(huge, StatusCode::BAD_REQUEST, "pixels");
    expect_error_exact(
        json_body,
        StatusCode::BAD_REQUEST,
        "background must be sent as multipart/form-data",
    );
}
