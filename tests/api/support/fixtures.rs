//! Data and flows several topic files need: image bytes and upload forms, TOTP codes and
//! two-factor setup, user bodies, waiting for a task or a notification.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::server::{TestServer, USER_PASSWORD};

/// A PNG signature and IHDR claiming `width` x `height`, then filler.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
    png.extend_from_slice(b"IHDR");
    png.extend_from_slice(&width.to_be_bytes());
    png.extend_from_slice(&height.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    png.extend_from_slice(&[7; 200]);
    png
}

/// A GIF of `frames` frames on a `width` x `height` screen (each frame a 1x1 image).
pub fn gif(width: u16, height: u16, frames: usize) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&width.to_le_bytes());
    gif.extend_from_slice(&height.to_le_bytes());
    gif.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0]);
    for _ in 0..frames {
        gif.extend_from_slice(b"!\xf9\x04\x00\x0a\x00\x00\x00");
        gif.extend_from_slice(b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00");
    }
    gif.push(b';');
    gif
}

/// A JPEG start (SOI, then an SOF0 giving 40 x 30).
pub fn jpeg() -> Vec<u8> {
    let mut jpeg = vec![
        0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 30, 0x00, 40, 0x03,
    ];
    jpeg.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    jpeg.extend_from_slice(&[0xff, 0xd9]);
    jpeg
}

/// A multipart/form-data body with one file field; returns (content type, body).
pub fn form(field: &str, filename: &str, file_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "boxdtestboundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {file_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The code an authenticator app shows for `secret` at `at`.
pub fn totp_code(secret: &str, at: DateTime<Utc>) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    totp.generate(u64::try_from(at.timestamp()).unwrap())
        .to_string()
}

/// Two-factor authentication as `enable_two_factor` turned it on.
pub struct TwoFactor {
    pub secret: String,
    /// When it was enabled, and the code that did it (now spent).
    pub enabled_at: DateTime<Utc>,
    pub enable_code: String,
}

/// Creates a TOTP secret for the caller of `token` and enables it with the current code.
pub async fn enable_two_factor(server: &TestServer, token: &str) -> TwoFactor {
    let (code, created) = server
        .post(
            "/api/v1/profile/twofactorauthentication_secret",
            token,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let enabled_at = Utc::now();
    let enable_code = totp_code(&secret, enabled_at);
    let (code, body) = server
        .post(
            "/api/v1/profile/twofactorauthentication_enable",
            token,
            json!({"totpToken": enable_code}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT, "{body}");
    TwoFactor {
        secret,
        enabled_at,
        enable_code,
    }
}

/// A login as `username` with the usual test password and, if given, a TOTP code.
pub async fn try_login(
    server: &TestServer,
    username: &str,
    totp: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"username": username, "password": USER_PASSWORD});
    if let Some(code) = totp {
        body["totpToken"] = json!(code);
    }
    server.post("/api/v1/auth/login", "", body).await
}

/// The body that creates `username` with `role` and the usual test password.
pub fn user_body(username: &str, role: &str) -> Value {
    json!({"username": username, "email": format!("{username}@example.com"), "password": USER_PASSWORD, "role": role})
}

/// Adds a user without a password (who must finish an invite) as `by`; answers the id.
pub async fn add_invited_user(server: &TestServer, by: &str, username: Option<&str>) -> String {
    let mut body = json!({"email": "carol@example.com", "displayName": "Carol C"});
    if let Some(username) = username {
        body["username"] = json!(username);
    }
    let (status, created) = server.post("/api/v1/users", by, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// The value of `name` in the query of `link`.
pub fn link_param(link: &str, name: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {link}"))
}

/// Polls the task until `done(task)` holds (5 s at most).
pub async fn wait_for_task(
    server: &TestServer,
    token: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..250 {
        let (code, task) = server.get(&format!("/api/v1/tasks/{id}"), token).await;
        assert_eq!(code, StatusCode::OK);
        if done(&task) {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {id} did not get there");
}

/// Polls the task until it has ended (`within` at most); answers it.
pub async fn wait_for_task_end(
    server: &TestServer,
    token: &str,
    id: &str,
    within: Duration,
) -> Value {
    let started = std::time::Instant::now();
    loop {
        let (code, task) = server.get(&format!("/api/v1/tasks/{id}"), token).await;
        assert_eq!(code, StatusCode::OK);
        if task["active"] == false && task["pending"] == false {
            return task;
        }
        assert!(started.elapsed() < within, "task {id} did not end: {task}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls the notifications until one titled `title` is there (5 s at most); answers it.
pub async fn wait_for_notification(server: &TestServer, token: &str, title: &str) -> Value {
    for _ in 0..250 {
        let (code, body) = server.get("/api/v1/notifications", token).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let notes = body["notifications"].as_array().unwrap();
        if let Some(note) = notes.iter().find(|n| n["title"] == title) {
            return note.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no notification {title:?}");
}
