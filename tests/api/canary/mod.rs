//! Cross-cutting: known secrets are set, then every identity route is read and the server's logs
//! are searched: no secret may come back or be logged. The same for ACME keys, the external
//! directory's passwords, mail relays, account links and ghost passwords.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use tempfile::TempDir;

use crate::support::{Served, client, totp_code};

mod certs;
mod external_ldap;
mod links;

pub(super) const OWNER_PASSWORD: &str = "Canary-Owner-Password-1";
const NEW_PASSWORD: &str = "Canary-New-Password-2";
const BOB_PASSWORD: &str = "Canary-Bob-Password-3";
const BOB_RESET: &str = "Canary-Bob-Reset-4";

pub(super) struct Client {
    http: reqwest::Client,
    served_base: String,
    seen: String,
}

impl Client {
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.served_base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        self.seen.push_str(&text);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// A served boxd in which every kind of identity secret has been set, then every identity
/// route read; answers the server, what the reads returned and the secrets.
async fn set_every_secret_then_read_everything() -> (Served, TempDir, String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let token = served.activate("alice", OWNER_PASSWORD).await;
    let mut api = Client {
        http: client(),
        served_base: served.base.clone(),
        seen: String::new(),
    };

    let (code, _) = api
        .call(
            Method::POST,
            "/api/v1/profile/password",
            &token,
            Some(json!({"password": OWNER_PASSWORD, "newPassword": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (_, created) = api
        .call(
            Method::POST,
            "/api/v1/profile/twofactorauthentication_secret",
            &token,
            None,
        )
        .await;
    let totp_secret = created["secret"].as_str().unwrap().to_owned();
    let (code, _) = api
        .call(
            Method::POST,
            "/api/v1/profile/twofactorauthentication_enable",
            &token,
            Some(json!({"totpToken": totp_code(&totp_secret, Utc::now())})),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (_, app) = api
        .call(
            Method::POST,
            "/api/v1/app_passwords",
            &token,
            Some(json!({"name": "phone", "identifier": "mail"})),
        )
        .await;
    let app_password = app["password"].as_str().unwrap().to_owned();
    let app_id = app["id"].as_str().unwrap().to_owned();
    let (_, bob) = api
        .call(
            Method::POST,
            "/api/v1/users",
            &token,
            Some(json!({"username": "bob", "email": "bob@example.com", "password": BOB_PASSWORD})),
        )
        .await;
    let bob = bob["id"].as_str().unwrap().to_owned();
    let (code, _) = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{bob}/password"),
            &token,
            Some(json!({"password": BOB_RESET})),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (_, profile) = api.call(Method::GET, "/api/v1/profile", &token, None).await;
    let alice = profile["id"].as_str().unwrap().to_owned();
    let secrets = [
        OWNER_PASSWORD,
        NEW_PASSWORD,
        BOB_PASSWORD,
        BOB_RESET,
        &totp_secret,
        &app_password,
        &token,
    ]
    .map(str::to_owned)
    .to_vec();
    api.seen.clear();

    for path in [
        "/api/v1/profile".to_owned(),
        format!("/api/v1/profile/avatar/{alice}"),
        "/api/v1/profile/background_image".to_owned(),
        "/api/v1/app_passwords".to_owned(),
        format!("/api/v1/app_passwords/{app_id}"),
        "/api/v1/users".to_owned(),
        format!("/api/v1/users/{alice}"),
        format!("/api/v1/users/{bob}"),
        "/api/v1/user_directory/profile_config".to_owned(),
        "/api/v1/tokens".to_owned(),
        "/api/v1/eventlog?per_page=1000".to_owned(),
    ] {
        let (code, _) = api.call(Method::GET, &path, &token, None).await;
        assert!(
            code == StatusCode::OK || code == StatusCode::NOT_FOUND,
            "{path}: {code}"
        );
    }
    (served, dir, api.seen, secrets)
}

#[tokio::test]
async fn no_password_totp_secret_or_app_password_is_shown_again() {
    let (served, _dir, seen, secrets) = set_every_secret_then_read_everything().await;

    let (exit, _, _) = served.terminate();

    assert!(exit.success());
    assert!(
        seen.contains("bob@example.com"),
        "the reads did return data"
    );
    for secret in &secrets {
        assert!(!seen.contains(secret), "a GET response contains a secret");
    }
}

#[tokio::test]
async fn no_password_totp_secret_or_app_password_is_logged() {
    let (served, _dir, _, secrets) = set_every_secret_then_read_everything().await;

    let (exit, _, log) = served.terminate();

    assert!(exit.success());
    for secret in &secrets {
        assert!(!log.contains(secret), "the log contains a secret");
    }
}
