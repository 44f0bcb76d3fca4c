//! Assertions shared by the topic files: Cloudron's error shape, the admin gate, hidden secrets.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::server::TestServer;

/// Asserts a Cloudron error answer: the status `status`, the body `{"status": <its reason
/// phrase>, "message": <string>}` and nothing more, and a message that contains `message_part`
/// (`""` checks the status and the shape only). Answers the message for further checks.
#[track_caller]
pub fn expect_error(got: (StatusCode, Value), status: StatusCode, message_part: &str) -> String {
    let (code, body) = got;
    assert_eq!(code, status, "{body}");
    assert_eq!(body["status"], status.canonical_reason().unwrap(), "{body}");
    assert_eq!(
        body.as_object().map(serde_json::Map::len),
        Some(2),
        "only status and message: {body}"
    );
    let message = body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"));
    assert!(
        message.contains(message_part),
        "{message:?} does not contain {message_part:?}"
    );
    message.to_owned()
}

/// As [`expect_error`], with the whole message.
#[track_caller]
pub fn expect_error_exact(got: (StatusCode, Value), status: StatusCode, message: &str) {
    assert_eq!(expect_error(got, status, ""), message);
}

/// Each route answers 401 without a token, 403 "This needs the admin role" to a plain user,
/// and to a read-only token 403 when it writes but not when it reads. A `Null` body sends none.
pub async fn expect_admin_only(server: &TestServer, owner: &str, routes: &[(Method, &str, Value)]) {
    let (_, user) = server.add_user(owner, "bob", "user").await;
    let read_only = server.read_only_token(owner).await;
    for (method, path, body) in routes {
        let body = (!body.is_null()).then(|| body.clone());
        let (code, _) = server.request(method.clone(), path, "", body.clone()).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{method} {path}");
        let answer = server
            .request(method.clone(), path, &user, body.clone())
            .await;
        expect_error_exact(answer, StatusCode::FORBIDDEN, "This needs the admin role");
        if method == Method::POST {
            let (code, _) = server.request(method.clone(), path, &read_only, body).await;
            assert_eq!(code, StatusCode::FORBIDDEN, "read-only {path}");
        } else {
            let (code, _) = server.request(method.clone(), path, &read_only, None).await;
            assert_ne!(code, StatusCode::FORBIDDEN, "read-only {path}");
        }
    }
}

/// Stores the settings `body` at `path`, then: GET shows `secret_field` as the placeholder and
/// everything else as sent; posting back what GET showed keeps the stored secret (a client's
/// GET-edit-POST round trip); no event carries the secret.
pub async fn expect_secret_hidden_and_kept(
    server: &TestServer,
    owner: &str,
    path: &str,
    body: Value,
    secret_field: &str,
) {
    let secret = body[secret_field].as_str().unwrap().to_owned();
    let (code, _) = server.post(path, owner, body.clone()).await;
    assert_eq!(code, StatusCode::OK, "{path}");

    let (_, shown) = server.get(path, owner).await;
    assert_eq!(shown[secret_field], "********", "{path}");
    assert!(
        !shown.to_string().contains(&secret),
        "{path} showed its secret"
    );
    let mut expected = body.clone();
    expected[secret_field] = json!("********");
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&shown[key], value, "{path} {key} is kept as sent");
    }

    let (code, _) = server.post(path, owner, shown.clone()).await;
    assert_eq!(code, StatusCode::OK);
    let db = server.db().await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT value FROM settings")
        .fetch_all(&db)
        .await
        .unwrap();
    assert!(
        stored.iter().any(|value| value.contains(&secret)),
        "{path}: the stored secret was lost"
    );
    let (_, events) = server.get("/api/v1/eventlog?per_page=1000", owner).await;
    assert!(!events.to_string().contains(&secret));
}
