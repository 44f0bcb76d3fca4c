//! `POST /api/v1/reverseproxy/renew_certs` and the ACME challenge route, against a real ACME
//! server (see `support::pebble`).

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use boxd::clock::{Clock, ManualClock};
use chrono::TimeDelta;
use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use serde_json::json;

use crate::support::pebble::{
    DOMAIN, Pebble, boxd_for, cert_dir, certificate_events, free_port, installed_leaf, port_of,
    reloads, renew, renewal_alert, scheduled_check,
};
use crate::support::{TestServer, expect_error_exact};

#[tokio::test]
async fn a_certificate_from_a_real_acme_server_verifies_matches_its_key_and_is_reloaded() {
    let mut pebble = Pebble::prepare();
    let server = boxd_for(&pebble, |_| {}).await;
    pebble.start(port_of(&server.base)).await;
    let owner = server.owner_token().await;

    let task = renew(&server, &owner, Some(json!({}))).await;

    assert_eq!(task["success"], true, "{task}\n{}", pebble.log());
    assert_eq!(task["type"], "checkCerts");
    assert_eq!(task["result"]["renewed"], true);
    let dir = cert_dir(&server);
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("fullchain.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let (leaf, intermediates) = chain.split_first().unwrap();
    let leaf = ParsedCertificate::try_from(leaf).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pebble.issuing_root().await).unwrap();
    let provider = rustls::crypto::ring::default_provider();
    rustls::client::verify_server_cert_signed_by_trust_anchor(
        &leaf,
        &roots,
        intermediates,
        UnixTime::now(),
        provider.signature_verification_algorithms.all,
    )
    .expect("the chain verifies against pebble's root");
    rustls::client::verify_server_name(&leaf, &ServerName::try_from(DOMAIN).unwrap())
        .expect("the certificate is for the domain");
    let pem = std::fs::read(dir.join("fullchain.pem")).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    let key = rcgen::KeyPair::from_pem(&std::fs::read_to_string(dir.join("privkey.pem")).unwrap())
        .unwrap();
    assert_eq!(
        cert.public_key().raw,
        rcgen::PublicKeyData::subject_public_key_info(&key).as_slice(),
        "privkey.pem is the certificate's key"
    );
    assert_eq!(key.algorithm(), &rcgen::PKCS_ECDSA_P256_SHA256);
    assert_eq!(task["result"]["serial"], cert.raw_serial_as_string());
    let mode = |name: &str| {
        std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("privkey.pem"), 0o600);
    assert_eq!(
        reloads(&server),
        [format!("{DOMAIN}|{}", dir.display())],
        "the reload command ran once, with the domain and the directory"
    );
    let log = server.task_log(&owner, task["id"].as_str().unwrap()).await;
    for step in [
        "Registering an ACME account (contact: alice@example.com)",
        "Ordering a certificate",
        "Serving http://box.example.test/.well-known/acme-challenge/",
        "validated the challenge",
        "Finalizing the order",
        "Downloading the certificate",
        "reloaded",
    ] {
        assert!(log.contains(step), "the log lacks {step:?}:\n{log}");
    }
    let events = certificate_events(&server, &owner).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["data"],
        json!({"domain": DOMAIN, "errorMessage": ""})
    );
    assert_eq!(events[0]["source"]["username"], "alice");
    assert!(renewal_alert(&server, &owner).await.is_none());
}

#[tokio::test]
async fn a_valid_certificate_is_kept_and_a_rebuild_replaces_it() {
    let mut pebble = Pebble::prepare();
    let server = boxd_for(&pebble, |_| {}).await;
    pebble.start(port_of(&server.base)).await;
    let owner = server.owner_token().await;
    let first = renew(&server, &owner, Some(json!({}))).await;
    assert_eq!(first["success"], true, "{first}");
    let (serial, expiry) = installed_leaf(&cert_dir(&server));

    let kept = renew(&server, &owner, None).await;

    assert_eq!(kept["success"], true, "{kept}");
    assert_eq!(kept["result"]["renewed"], false);
    assert_eq!(installed_leaf(&cert_dir(&server)).0, serial, "same serial");
    let log = server.task_log(&owner, kept["id"].as_str().unwrap()).await;
    let until = boxd::clock::iso(expiry);
    assert!(
        log.contains(&format!(
            "The certificate of {DOMAIN} is valid until {until}"
        )),
        "{log}"
    );
    assert_eq!(
        reloads(&server).len(),
        1,
        "no reload without a new certificate"
    );
    assert_eq!(certificate_events(&server, &owner).await.len(), 1);

    let rebuilt = renew(&server, &owner, Some(json!({"rebuild": true}))).await;

    assert_eq!(rebuilt["success"], true, "{rebuilt}");
    assert_eq!(rebuilt["result"]["renewed"], true);
    let (new_serial, _) = installed_leaf(&cert_dir(&server));
    assert_ne!(new_serial, serial, "a new certificate");
    assert_eq!(rebuilt["result"]["serial"], new_serial);
    assert_eq!(reloads(&server).len(), 2, "the reload command ran again");
    let log = server
        .task_log(&owner, rebuilt["id"].as_str().unwrap())
        .await;
    assert!(
        log.contains("Using the ACME account"),
        "the account is kept: {log}"
    );
}

#[tokio::test]
async fn an_acme_server_that_is_down_fails_the_task_with_an_alert_and_a_later_success_clears_it() {
    let mut pebble = Pebble::prepare();
    let server = boxd_for(&pebble, |_| {}).await;
    let owner = server.owner_token().await;

    let failed = renew(&server, &owner, Some(json!({}))).await;

    assert_eq!(failed["success"], false);
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("cannot reach the ACME server at https://127.0.0.1:")
            && message.contains("could not connect"),
        "{message}"
    );
    let raised = renewal_alert(&server, &owner)
        .await
        .expect("the alert is raised");
    assert_eq!(raised["acknowledged"], false);
    assert!(
        raised["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach the ACME server")
    );
    let events = certificate_events(&server, &owner).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["domain"], DOMAIN);
    assert_eq!(events[0]["data"]["errorMessage"], message);
    assert!(!cert_dir(&server).join("fullchain.pem").exists());
    assert!(reloads(&server).is_empty());

    pebble.start(port_of(&server.base)).await;
    let task = renew(&server, &owner, Some(json!({"rebuild": true}))).await;

    assert_eq!(task["success"], true, "{task}\n{}", pebble.log());
    let alert = renewal_alert(&server, &owner).await.unwrap();
    assert_eq!(alert["id"], raised["id"], "cleared in place");
    assert_eq!(alert["acknowledged"], true, "the success cleared the alert");
    let events = certificate_events(&server, &owner).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["data"]["errorMessage"], "", "newest first");

    // A fresh ACME server no longer knows the stored account: boxd registers a new one.
    pebble.stop();
    pebble.start(port_of(&server.base)).await;
    let task = renew(&server, &owner, Some(json!({"rebuild": true}))).await;

    assert_eq!(task["success"], true, "{task}\n{}", pebble.log());
    let log = server.task_log(&owner, task["id"].as_str().unwrap()).await;
    assert!(
        log.contains("The ACME server no longer knows the account; registering a new one"),
        "{log}"
    );
}

#[tokio::test]
async fn a_challenge_the_acme_server_cannot_fetch_fails_the_validation() {
    let mut pebble = Pebble::prepare();
    let server = boxd_for(&pebble, |_| {}).await;
    // pebble validates on a port where nothing answers, not on boxd's.
    pebble.start(free_port()).await;
    let owner = server.owner_token().await;

    let task = renew(&server, &owner, Some(json!({}))).await;

    assert_eq!(task["success"], false, "{task}");
    let message = task["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("the validation of {DOMAIN} failed: "))
            && message.contains("connection refused"),
        "{message}"
    );
    let alert = renewal_alert(&server, &owner).await.unwrap();
    assert_eq!(alert["message"], message);
    assert!(!cert_dir(&server).join("fullchain.pem").exists());
    assert!(reloads(&server).is_empty());
}

#[tokio::test]
async fn the_daily_check_keeps_a_valid_certificate_and_renews_one_within_30_days_of_expiry() {
    let mut pebble = Pebble::prepare();
    let clock = Arc::new(ManualClock::default());
    let server = boxd_for(&pebble, |config| config.clock = clock.clone()).await;
    pebble.start(port_of(&server.base)).await;
    let session = server.owner_token().await;
    // The clock moves years ahead, past the 7 days of a login session.
    let ten_years = clock.now().timestamp_millis() + 10 * 365 * 24 * 3600 * 1000;
    let owner = server
        .create_token(&session, json!({"name": "long", "expiresAt": ten_years}))
        .await;
    let first = renew(&server, &owner, Some(json!({}))).await;
    assert_eq!(first["success"], true, "{first}");
    let (serial, expiry) = installed_leaf(&cert_dir(&server));

    clock.advance(TimeDelta::hours(2));
    let kept = scheduled_check(&server, &owner, 2).await;
    assert_eq!(kept["success"], true, "{kept}");
    assert_eq!(kept["result"]["renewed"], false);
    assert_eq!(installed_leaf(&cert_dir(&server)).0, serial);

    clock.advance(expiry - TimeDelta::days(10) - clock.now());
    let renewed = scheduled_check(&server, &owner, 3).await;

    assert_eq!(renewed["success"], true, "{renewed}");
    assert_eq!(renewed["result"]["renewed"], true);
    assert_ne!(installed_leaf(&cert_dir(&server)).0, serial);
    let log = server
        .task_log(&owner, renewed["id"].as_str().unwrap())
        .await;
    assert!(log.contains("within 30 days: renewing it"), "{log}");
    let events = certificate_events(&server, &owner).await;
    assert_eq!(events[0]["source"]["username"], "cron");
}

#[tokio::test]
async fn localhost_fails_at_once_and_is_skipped_by_the_daily_check() {
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| {
        config.domain = "localhost".into();
        config.clock = clock.clone();
    })
    .await;
    let owner = server.owner_token().await;
    let started = Instant::now();

    let task = renew(&server, &owner, Some(json!({"rebuild": true}))).await;

    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(task["success"], false);
    let message = task["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Cannot get a certificate for localhost: localhost names cannot have a publicly trusted certificate"),
        "{message}"
    );
    assert!(
        certificate_events(&server, &owner).await.is_empty(),
        "no attempt was made"
    );

    clock.advance(TimeDelta::days(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, list) = server.get("/api/v1/tasks?type=checkCerts", &owner).await;
    assert_eq!(
        list["tasks"].as_array().unwrap().len(),
        1,
        "only the one asked for"
    );
}

#[tokio::test]
async fn bad_bodies_missing_rights_and_a_second_check_are_refused() {
    // An ACME "server" that accepts connections and never answers keeps the task running.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/dir", silent.local_addr().unwrap());
    let server = TestServer::start_with(|config| config.certs.acme_directory_url = url).await;
    let owner = server.owner_token().await;
    let path = "/api/v1/reverseproxy/renew_certs";

    let refused = server.post(path, &owner, json!({"rebuild": "yes"})).await;
    expect_error_exact(
        refused,
        StatusCode::BAD_REQUEST,
        "rebuild must be a boolean",
    );
    let (code, body) = server.post(path, &owner, json!([true])).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let (code, _) = server.post(path, "", json!({})).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (_, user) = server.add_user(&owner, "bob", "user").await;
    let (code, body) = server.post(path, &user, json!({})).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    let read_only = server
        .create_token(&owner, json!({"name": "ro", "scope": {"*": "r"}}))
        .await;
    let (code, _) = server.post(path, &read_only, json!({})).await;
    assert_eq!(code, StatusCode::FORBIDDEN);

    let (code, started) = server.post(path, &owner, json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{started}");
    let again = server.post(path, &owner, json!({"rebuild": true})).await;
    expect_error_exact(
        again,
        StatusCode::CONFLICT,
        "A checkCerts task is already running",
    );
    let id = started["taskId"].as_str().unwrap();
    let (code, _) = server
        .post(&format!("/api/v1/tasks/{id}/stop"), &owner, json!({}))
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    drop(silent);
}

#[tokio::test]
async fn the_challenge_route_is_public_404s_unknown_tokens_and_obeys_the_blocklist() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let path = "/.well-known/acme-challenge/unknown-token";

    let unknown = server.get(path, "").await;
    expect_error_exact(unknown, StatusCode::NOT_FOUND, "No such challenge");

    for (path, body) in [
        (
            "/api/v1/reverseproxy/trusted_ips",
            json!({"trustedIps": "127.0.0.1"}),
        ),
        (
            "/api/v1/network/blocklist",
            json!({"blocklist": "203.0.113.7"}),
        ),
    ] {
        let (code, _) = server.post(path, &owner, body).await;
        assert_eq!(code, StatusCode::OK);
    }
    let blocked = server
        .http
        .get(server.url(path))
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), StatusCode::FORBIDDEN);
}
