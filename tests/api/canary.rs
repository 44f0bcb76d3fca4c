//! Cross-cutting: known secrets are set, then every identity route is read and the server's logs
//! are searched: no secret may come back or be logged.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use tempfile::TempDir;

use crate::support::pebble::{DOMAIN, Pebble, port_of};
use crate::support::{Served, SmtpSink, client, link_param, totp_code};

const OWNER_PASSWORD: &str = "Canary-Owner-Password-1";
const NEW_PASSWORD: &str = "Canary-New-Password-2";
const BOB_PASSWORD: &str = "Canary-Bob-Password-3";
const BOB_RESET: &str = "Canary-Bob-Reset-4";

struct Client {
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

/// The account key and the certificate key never come back from the API or reach a log.
#[tokio::test]
async fn no_key_is_ever_shown_or_logged() {
    let mut pebble = Pebble::prepare();
    let data = tempfile::tempdir().unwrap();
    let served = Served::start_with_args(
        data.path(),
        &[
            "--domain",
            DOMAIN,
            "--acme-directory-url",
            &pebble.directory_url(),
            "--acme-ca-file",
            pebble.ca_file().to_str().unwrap(),
        ],
    );
    pebble.start(port_of(&served.base)).await;
    let token = served.activate("alice", "Canary-Owner-Password-1").await;
    let http = client();
    let call = async |method: Method, path: &str, body: Option<Value>| {
        let mut request = http.request(method, served.url(path)).bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    };
    let (code, started) = call(
        Method::POST,
        "/api/v1/reverseproxy/renew_certs",
        Some(json!({"rebuild": true})),
    )
    .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{started}");
    let id = serde_json::from_str::<Value>(&started).unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let started_at = Instant::now();
    loop {
        let (_, task) = call(Method::GET, &format!("/api/v1/tasks/{id}"), None).await;
        let task: Value = serde_json::from_str(&task).unwrap();
        if task["active"] == false && task["pending"] == false {
            assert_eq!(task["success"], true, "{task}");
            break;
        }
        assert!(started_at.elapsed() < Duration::from_secs(60), "{task}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut seen = String::new();
    for path in [
        format!("/api/v1/tasks/{id}"),
        format!("/api/v1/tasks/{id}/logs?lines=-1"),
        "/api/v1/tasks".to_owned(),
        "/api/v1/eventlog?per_page=1000".to_owned(),
        "/api/v1/notifications".to_owned(),
        "/api/v1/reverseproxy/trusted_ips".to_owned(),
        "/api/v1/cloudron/status".to_owned(),
        "/api/v1/profile".to_owned(),
    ] {
        let (code, body) = call(Method::GET, &path, None).await;
        assert_eq!(code, StatusCode::OK, "{path}");
        seen.push_str(&body);
    }
    let task_log =
        std::fs::read_to_string(data.path().join(format!("logs/tasks/{id}.log"))).unwrap();
    let stored = {
        let db = boxd::store::connect(&format!(
            "sqlite://{}",
            data.path().join("boxd.sqlite").display()
        ))
        .await
        .unwrap();
        let value: String =
            sqlx::query_scalar("SELECT value FROM settings WHERE name = 'acme_account'")
                .fetch_one(&db)
                .await
                .unwrap();
        db.close().await;
        serde_json::from_str::<Value>(&value).unwrap()
    };
    let (_, _, log) = served.terminate();

    let account_key = stored["credentials"]["key_pkcs8"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(account_key.len() > 100, "the stored account key: {stored}");
    let account_der = base64_url_decode(&account_key);
    let privkey =
        std::fs::read_to_string(data.path().join("certs").join(DOMAIN).join("privkey.pem"))
            .unwrap();
    let privkey_body: String = privkey
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    assert!(seen.contains("certificate.new") && task_log.contains("Downloaded certificate"));
    for (what, secret) in [
        ("the account key", account_key.clone()),
        ("the account key (base64)", base64_std(&account_der)),
        ("the account key (hex)", hex::encode(&account_der)),
        ("the certificate key", privkey_body[..64].to_owned()),
        (
            "the certificate key",
            privkey_body[privkey_body.len() - 64..].to_owned(),
        ),
    ] {
        assert!(!seen.contains(&secret), "a GET response contains {what}");
        assert!(!task_log.contains(&secret), "the task log contains {what}");
        assert!(!log.contains(&secret), "the server log contains {what}");
    }
}

fn base64_url_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The secrets of mail and account links: the relay's password, link tokens, passwords set with
/// links, a ghost password. Used for real, then every read is searched, and both logs.
#[tokio::test]
async fn no_link_ghost_or_relay_secret_is_shown_again_or_logged() {
    const RELAY_PASSWORD: &str = "Canary-Relay-Password-7";
    const CAROL_PASSWORD: &str = "Canary-Carol-Password-8";
    const CAROL_RESET: &str = "Canary-Carol-Reset-9";
    const GHOST: &str = "Canary-Ghost-Password-10";
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let relay = format!(
        "smtp://canary:{RELAY_PASSWORD}@127.0.0.1:{}?tls=none",
        sink.port
    );
    let served = Served::start_with_args(dir.path(), &["--smtp-url", &relay]);
    let token = served.activate("alice", OWNER_PASSWORD).await;
    let mut api = Client {
        http: client(),
        served_base: served.base.clone(),
        seen: String::new(),
    };
    let body = json!({"email": "carol@example.com", "username": "carol"});
    let (_, carol) = api
        .call(Method::POST, "/api/v1/users", &token, Some(body))
        .await;
    let carol = carol["id"].as_str().unwrap().to_owned();
    let invite = json!({"email": "carol@example.com"});
    let path = format!("/api/v1/users/{carol}/send_invite_email");
    assert_eq!(
        api.call(Method::POST, &path, &token, Some(invite)).await.0,
        StatusCode::ACCEPTED
    );
    let invite_token = link_param(
        &sink.wait_for(1).await[0].link("setupaccount.html"),
        "inviteToken",
    );
    let setup = json!({"inviteToken": invite_token, "password": CAROL_PASSWORD});
    let (code, _) = api
        .call(Method::POST, "/api/v1/auth/setup_account", "", Some(setup))
        .await;
    assert_eq!(code, StatusCode::OK);
    let path = format!("/api/v1/users/{carol}/password_reset_link");
    let (_, link) = api.call(Method::GET, &path, &token, None).await;
    let reset_token = link_param(link["passwordResetLink"].as_str().unwrap(), "resetToken");
    let reset = json!({"resetToken": reset_token, "password": CAROL_RESET});
    let (code, _) = api
        .call(Method::POST, "/api/v1/auth/password_reset", "", Some(reset))
        .await;
    assert_eq!(code, StatusCode::OK);
    let request = json!({"identifier": "carol"});
    api.call(
        Method::POST,
        "/api/v1/auth/password_reset_request",
        "",
        Some(request),
    )
    .await;
    let requested = link_param(
        &sink.wait_for(2).await[1].link("passwordreset.html"),
        "resetToken",
    );
    let path = format!("/api/v1/users/{carol}/ghost");
    let ghost = json!({"password": GHOST});
    assert_eq!(
        api.call(Method::POST, &path, &token, Some(ghost)).await.0,
        StatusCode::NO_CONTENT
    );
    let login = json!({"username": "carol", "password": GHOST});
    let (code, _) = api
        .call(Method::POST, "/api/v1/auth/login", "", Some(login))
        .await;
    assert_eq!(code, StatusCode::OK);
    api.seen.clear();

    for path in [
        "/api/v1/users".to_owned(),
        format!("/api/v1/users/{carol}"),
        "/api/v1/eventlog?per_page=1000".to_owned(),
        "/api/v1/notifications".to_owned(),
        "/api/v1/tokens".to_owned(),
        "/api/v1/system/logs/box?lines=-1".to_owned(),
    ] {
        let (code, _) = api.call(Method::GET, &path, &token, None).await;
        assert_eq!(code, StatusCode::OK, "{path}");
    }
    let (exit, _, log) = served.terminate();
    let file = std::fs::read_to_string(dir.path().join("logs/box.log")).unwrap();

    assert!(exit.success());
    assert_eq!(sink.logins().await[0], format!("canary:{RELAY_PASSWORD}"));
    assert!(
        api.seen.contains("user.login.ghost"),
        "the reads did return data"
    );
    for secret in [
        RELAY_PASSWORD,
        CAROL_PASSWORD,
        CAROL_RESET,
        GHOST,
        &invite_token,
        &reset_token,
        &requested,
    ] {
        assert!(
            !api.seen.contains(secret),
            "a GET response contains a secret"
        );
        assert!(!log.contains(secret), "the log contains a secret");
        assert!(!file.contains(secret), "box.log contains a secret");
    }
}
