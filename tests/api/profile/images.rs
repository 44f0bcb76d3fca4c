//! `/api/v1/profile/avatar` and `/api/v1/profile/background_image` (also `backgroundImage`):
//! the caller's pictures, checked by content.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH, X_CONTENT_TYPE_OPTIONS};
use serde_json::json;

use crate::support::{TestServer, expect_error, expect_error_exact, form, gif, jpeg, png};

#[tokio::test]
async fn an_uploaded_avatar_is_served_publicly_with_the_type_of_its_content() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let image = jpeg();

    let (code, body) = server
        .upload(
            "/api/v1/profile/avatar",
            &owner,
            form("avatar", "me.png", "image/png", &image),
        )
        .await;

    assert_eq!((code, body), (StatusCode::OK, json!({})));
    let (_, profile) = server.get("/api/v1/profile", &owner).await;
    let id = profile["id"].as_str().unwrap();
    assert_eq!(
        profile["avatarUrl"],
        format!("https://my.example.com/api/v1/profile/avatar/{id}")
    );
    let response = server
        .http
        .get(server.url(&format!("/api/v1/profile/avatar/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "public: no token");
    assert_eq!(
        response.headers()[CONTENT_TYPE],
        "image/jpeg",
        "typed by content, not by the client's claim"
    );
    assert_eq!(response.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
    let etag = response.headers()[ETAG].clone();
    assert_eq!(response.bytes().await.unwrap().to_vec(), image);
    let cached = server
        .http
        .get(server.url(&format!("/api/v1/profile/avatar/{id}")))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn an_unknown_users_avatar_is_404() {
    let server = TestServer::start().await;

    let answer = server.get("/api/v1/profile/avatar/uid-nobody", "").await;

    expect_error_exact(answer, StatusCode::NOT_FOUND, "No such avatar");
}

/// Uploads a small PNG as the caller's avatar.
async fn upload_avatar(server: &TestServer, token: &str) {
    let (code, _) = server
        .upload(
            "/api/v1/profile/avatar",
            token,
            form("avatar", "a.png", "image/png", &png(10, 10)),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn choosing_gravatar_drops_the_uploaded_avatar() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    upload_avatar(&server, &owner).await;

    let (code, _) = server
        .post(
            "/api/v1/profile/avatar",
            &owner,
            json!({"avatar": "gravatar"}),
        )
        .await;

    assert_eq!(code, StatusCode::OK);
    let (_, profile) = server.get("/api/v1/profile", &owner).await;
    assert!(
        profile["avatarUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://www.gravatar.com/avatar/")
    );
    let (code, _) = server
        .get(
            &format!("/api/v1/profile/avatar/{}", profile["id"].as_str().unwrap()),
            "",
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "the uploaded image is gone");
}

#[tokio::test]
async fn an_empty_avatar_means_none() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    upload_avatar(&server, &owner).await;

    let (code, _) = server
        .post("/api/v1/profile/avatar", &owner, json!({"avatar": ""}))
        .await;

    assert_eq!(code, StatusCode::OK);
    let (_, profile) = server.get("/api/v1/profile", &owner).await;
    assert_eq!(profile["avatarUrl"], "");
}

#[tokio::test]
async fn an_avatar_url_is_refused() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .post(
            "/api/v1/profile/avatar",
            &owner,
            json!({"avatar": "https://evil.example/x.svg"}),
        )
        .await;

    expect_error(answer, StatusCode::BAD_REQUEST, "");
}

/// Uploads `image` as the caller's background.
async fn upload_background(server: &TestServer, token: &str, image: &[u8]) {
    let (code, _) = server
        .upload(
            "/api/v1/profile/background_image",
            token,
            form("backgroundImage", "bg.png", "image/png", image),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn the_background_image_is_set_and_served_under_both_names() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let image = png(1920, 1080);

    upload_background(&server, &owner, &image).await;

    let (_, profile) = server.get("/api/v1/profile", &owner).await;
    assert_eq!(profile["hasBackgroundImage"], true);
    for path in [
        "/api/v1/profile/background_image",
        "/api/v1/profile/backgroundImage",
    ] {
        let response = server
            .http
            .get(server.url(path))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()[CONTENT_TYPE], "image/png");
        assert_eq!(response.bytes().await.unwrap().to_vec(), image);
    }
}

#[tokio::test]
async fn the_background_image_is_private() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    upload_background(&server, &owner, &png(1920, 1080)).await;

    let (code, _) = server.get("/api/v1/profile/background_image", &bob).await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "bob sees his own (none), never alice's"
    );
    let (code, _) = server.get("/api/v1/profile/background_image", "").await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_empty_background_field_clears_it() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    upload_background(&server, &owner, &png(1920, 1080)).await;

    let (code, _) = server
        .upload(
            "/api/v1/profile/backgroundImage",
            &owner,
            form("backgroundImage", "", "application/octet-stream", b""),
        )
        .await;

    assert_eq!(code, StatusCode::OK);
    let (_, profile) = server.get("/api/v1/profile", &owner).await;
    assert_eq!(profile["hasBackgroundImage"], false);
    let (code, _) = server.get("/api/v1/profile/background_image", &owner).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn uploads_are_validated_by_content_and_size() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    let mut oversized = png(100, 100);
    oversized.resize(6 * 1024 * 1024, 0);
    let cases = [
        (
            form("avatar", "x.png", "image/png", b"definitely not an image"),
            StatusCode::BAD_REQUEST,
            "The file is not a PNG, JPEG, GIF or WebP image",
        ),
        (
            form("avatar", "x.svg", "image/svg+xml", &svg),
            StatusCode::BAD_REQUEST,
            "The file is not a PNG, JPEG, GIF or WebP image",
        ),
        (
            form("avatar", "bomb.png", "image/png", &png(65535, 65535)),
            StatusCode::BAD_REQUEST,
            "The image is 65535x65535 pixels; at most 4096 per side and 16777216 in all",
        ),
        (
            form("avatar", "big.png", "image/png", &oversized),
            StatusCode::PAYLOAD_TOO_LARGE,
            "The image is larger than 5 MiB",
        ),
        (
            form("picture", "x.png", "image/png", &png(10, 10)),
            StatusCode::BAD_REQUEST,
            "avatar must be provided",
        ),
    ];
    for (body, status, expected) in cases {
        let answer = server.upload("/api/v1/profile/avatar", &owner, body).await;
        expect_error_exact(answer, status, expected);
    }
    let answer = server
        .post(
            "/api/v1/profile/background_image",
            &owner,
            json!({"backgroundImage": ""}),
        )
        .await;
    expect_error(answer, StatusCode::BAD_REQUEST, "");
    let (_, profile) = server.get("/api/v1/profile", &owner).await;
    assert_eq!(
        (
            profile["avatarUrl"].clone(),
            profile["hasBackgroundImage"].clone()
        ),
        (json!(""), json!(false)),
        "nothing was stored"
    );
}

#[tokio::test]
async fn image_bombs_within_the_byte_cap_are_refused() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let cases = [
        (
            "/api/v1/profile/background_image",
            form("backgroundImage", "wide.png", "image/png", &png(8000, 5000)),
            "The image is 8000x5000 pixels; at most 8192 per side and 16777216 in all",
        ),
        (
            "/api/v1/profile/avatar",
            form("avatar", "tall.png", "image/png", &png(100, 5000)),
            "The image is 100x5000 pixels; at most 4096 per side and 16777216 in all",
        ),
        (
            "/api/v1/profile/avatar",
            form("avatar", "movie.gif", "image/gif", &gif(64, 64, 1000)),
            "The animation has 1000 frames of 64x64 pixels; at most 100 frames and 67108864 pixels in all",
        ),
    ];
    for (path, body, expected) in cases {
        let answer = server.upload(path, &owner, body).await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
    let (_, profile) = server.get("/api/v1/profile", &owner).await;
    assert_eq!(profile["hasBackgroundImage"], false);
}

#[tokio::test]
async fn twenty_parallel_large_uploads_are_all_answered() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let mut large = png(100, 100);
    large.resize(5 * 1024 * 1024 - 1024, 0);
    let body = form("backgroundImage", "bg.png", "image/png", &large);

    let answers = futures_util::future::join_all(
        (0..20).map(|_| server.upload("/api/v1/profile/background_image", &owner, body.clone())),
    )
    .await;

    for (code, body) in answers {
        assert!(
            code == StatusCode::OK || code == StatusCode::TOO_MANY_REQUESTS,
            "{code} {body}"
        );
    }
    let (_, profile) = server.get("/api/v1/profile", &owner).await;
    assert_eq!(profile["hasBackgroundImage"], true);
}

/// An upload that sends its headers and the start of its body, then stalls.
async fn stalled_upload(server: &TestServer, token: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let addr = server.url("").trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/profile/background_image HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 4000000\r\n\r\n\
         --b\r\nContent-Disposition: form-data; name=\"backgroundImage\"; filename=\"a.png\"\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&[0u8; 1024]).await.unwrap();
    socket
}

#[tokio::test]
async fn two_uploads_are_read_at_a_time_and_a_third_waits_then_gets_429() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let stalled = [
        stalled_upload(&server, &owner).await,
        stalled_upload(&server, &owner).await,
    ];
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let started = std::time::Instant::now();
    let (content_type, body) = form("backgroundImage", "b.png", "image/png", &png(8, 8));
    let response = server
        .http
        .post(server.url("/api/v1/profile/background_image"))
        .bearer_auth(&owner)
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    let waited = started.elapsed();
    assert!(waited >= std::time::Duration::from_secs(4), "{waited:?}");

    drop(stalled);
    let (code, _) = server
        .upload(
            "/api/v1/profile/background_image",
            &owner,
            form("backgroundImage", "b.png", "image/png", &png(8, 8)),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::OK,
        "the slots are free once those uploads end"
    );
}
