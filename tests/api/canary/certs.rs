//! ACME keys: the account key and the certificate key never come back or reach a log.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::pebble::{DOMAIN, Pebble, port_of};
use crate::support::{Served, client};

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
