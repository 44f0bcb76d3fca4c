//! Cross-cutting: email through the SMTP relay (`--smtp-url`): the relay's login, the sender,
//! retries while the relay is down with the admins alerted, and what the relay URL may be.

use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{BOXD, SmtpSink, TestServer, add_invited_user, wait_for_notification};

const ALERT: &str = "Email cannot be sent";

async fn send_invite(server: &TestServer, owner: &str, user_id: &str) {
    let answer = server
        .post(
            &format!("/api/v1/users/{user_id}/send_invite_email"),
            owner,
            json!({"email": "carol@example.com"}),
        )
        .await;
    assert_eq!(answer, (StatusCode::ACCEPTED, json!({})));
}

#[tokio::test]
async fn a_relay_that_is_down_gets_the_mail_later_and_the_admins_are_told() {
    let sink = SmtpSink::start().await;
    sink.set_down(true);
    let server = TestServer::start_with(|config| config.mail.relay = sink.relay()).await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, Some("carol")).await;

    send_invite(&server, &owner, &carol).await;

    let alert = wait_for_notification(&server, &owner, ALERT).await;
    assert!(
        alert["message"].as_str().unwrap().contains("127.0.0.1"),
        "{alert}"
    );
    assert!(sink.refused() >= 1);
    sink.set_down(false);
    let mail = sink.wait_for(1).await.remove(0);
    assert!(mail.link("setupaccount.html").contains("inviteToken="));
    let path = format!("/api/v1/notifications/{}", alert["id"].as_str().unwrap());
    for _ in 0..100 {
        let (_, note) = server.get(&path, &owner).await;
        if note["acknowledged"] == true {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the alert was not cleared after the mail went out");
}

#[tokio::test]
async fn the_relay_login_and_the_sender_are_used() {
    let sink = SmtpSink::start().await;
    let url = format!(
        "smtp://relay%40example.net:s3cret@127.0.0.1:{}?tls=none",
        sink.port
    );
    let server = TestServer::start_with(|config| {
        config.mail.relay = Some(boxd::mail::Relay::parse(&url).unwrap());
        config.mail.from = "boxd@example.net".parse().unwrap();
    })
    .await;
    let owner = server.owner_token().await;
    let name = server
        .post(
            "/api/v1/branding/cloudron_name",
            &owner,
            json!({"name": "Home Cloud"}),
        )
        .await;
    assert_eq!(name.0, StatusCode::OK);
    let carol = add_invited_user(&server, &owner, None).await;

    send_invite(&server, &owner, &carol).await;

    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(sink.logins().await, ["relay@example.net:s3cret"]);
    assert_eq!(mail.from, "boxd@example.net");
    let from = mail.header("From").unwrap();
    assert!(
        from.contains("Home Cloud") && from.contains("<boxd@example.net>"),
        "{from}"
    );
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Welcome to Home Cloud")
    );
}

#[tokio::test]
async fn a_relay_in_the_clear_is_refused_unless_it_is_on_this_host() {
    let dir = tempfile::tempdir().unwrap();

    let output = Command::new(BOXD)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args([
            "--smtp-url",
            "smtp://user:hunter2hunter2@mail.example.com?tls=none",
        ])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tls=none is only allowed"), "{stderr}");
    assert!(
        !stderr.contains("hunter2hunter2"),
        "the password was shown: {stderr}"
    );
}

#[tokio::test]
async fn the_help_never_shows_the_relay_password() {
    let output = Command::new(BOXD)
        .args(["serve", "--help"])
        .env(
            "BOXD_SMTP_URL",
            "smtps://user:hunter2hunter2@mail.example.com",
        )
        .env("BOXD_MAIL_FROM", "boxd@example.net")
        .output()
        .unwrap();

    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("--smtp-url") && help.contains("BOXD_SMTP_URL"),
        "{help}"
    );
    assert!(!help.contains("hunter2hunter2"), "{help}");
}

#[tokio::test]
async fn a_relay_that_cannot_starttls_gets_nothing_in_the_clear() {
    let sink = SmtpSink::start().await;
    let url = format!("smtp://relay:s3cret@127.0.0.1:{}", sink.port);
    let server = TestServer::start_with(|config| {
        config.mail.relay = Some(boxd::mail::Relay::parse(&url).unwrap());
    })
    .await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, None).await;

    send_invite(&server, &owner, &carol).await;

    let alert = wait_for_notification(&server, &owner, ALERT).await;
    let message = alert["message"].as_str().unwrap();
    assert!(message.contains("STARTTLS is not supported"), "{message}");
    assert!(
        sink.logins().await.is_empty(),
        "the password went out in the clear"
    );
    assert!(sink.mails().await.is_empty());
}
