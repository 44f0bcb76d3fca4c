//! `POST /api/v1/auth/password_reset_request`: a user who forgot the password asks for a link
//! by username or email; the answer never tells whether the account exists.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{SmtpSink, TestServer, expect_error, expect_error_exact, link_param};

async fn mail_server(sink: &SmtpSink) -> (TestServer, String) {
    let server = TestServer::start_with(|config| config.mail.relay = sink.relay()).await;
    let owner = server.owner_token().await;
    (server, owner)
}

async fn request(server: &TestServer, identifier: &str) -> (StatusCode, serde_json::Value) {
    let body = json!({"identifier": identifier});
    server
        .post("/api/v1/auth/password_reset_request", "", body)
        .await
}

#[tokio::test]
async fn the_link_goes_to_the_fallback_email_and_works() {
    let sink = SmtpSink::start().await;
    let (server, owner) = mail_server(&sink).await;
    let body = json!({"username": "bob", "email": "bob@example.com", "password": "bobs password",
                      "fallbackEmail": "bob@fallback.example"});
    assert_eq!(
        server.post("/api/v1/users", &owner, body).await.0,
        StatusCode::CREATED
    );

    let answer = request(&server, "BOB").await;

    assert_eq!(answer, (StatusCode::ACCEPTED, json!({})));
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["bob@fallback.example"]);
    let token = link_param(&mail.link("passwordreset.html"), "resetToken");
    let reset = json!({"resetToken": token, "password": "bobs new password"});
    let (code, body) = server.post("/api/v1/auth/password_reset", "", reset).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    server.login("bob", "bobs new password").await;
}

#[tokio::test]
async fn without_a_fallback_the_link_goes_to_the_email() {
    let sink = SmtpSink::start().await;
    let (server, owner) = mail_server(&sink).await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let path = format!("/api/v1/users/{bob}/profile");
    let (code, _) = server
        .post(&path, &owner, json!({"fallbackEmail": ""}))
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);

    assert_eq!(
        request(&server, "bob@example.com").await.0,
        StatusCode::ACCEPTED
    );

    assert_eq!(sink.wait_for(1).await[0].to, ["bob@example.com"]);
}

#[tokio::test]
async fn an_unknown_identifier_gets_the_same_answer_and_no_mail() {
    let sink = SmtpSink::start().await;
    let (server, owner) = mail_server(&sink).await;
    server.add_user(&owner, "bob", "user").await;

    let unknown = request(&server, "nobody").await;
    let known = request(&server, "bob").await;

    assert_eq!(unknown, known);
    assert_eq!(unknown, (StatusCode::ACCEPTED, json!({})));
    sink.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = sink.mails().await;
    assert_eq!(mails.len(), 1, "no mail for the unknown name");
    assert_eq!(mails[0].to, ["bob@example.com"]);
}

#[tokio::test]
async fn requests_are_throttled_per_client_address() {
    let sink = SmtpSink::start().await;
    let (server, _) = mail_server(&sink).await;

    for n in 0..10 {
        assert_eq!(
            request(&server, &format!("user{n}")).await.0,
            StatusCode::ACCEPTED
        );
    }
    let answer = request(&server, "user10").await;

    expect_error(answer, StatusCode::TOO_MANY_REQUESTS, "try again");
}

#[tokio::test]
async fn requests_are_throttled_per_identifier_whatever_the_address() {
    let sink = SmtpSink::start().await;
    let (server, owner) = mail_server(&sink).await;
    let trust = json!({"trustedIps": "127.0.0.1"});
    let (code, _) = server
        .post("/api/v1/reverseproxy/trusted_ips", &owner, trust)
        .await;
    assert_eq!(code, StatusCode::OK);
    let body = json!({"identifier": "bob"});
    let path = "/api/v1/auth/password_reset_request";

    for n in 0..10 {
        let client = format!("192.0.2.{n}");
        let (code, _) = server
            .via_proxy(Method::POST, path, "", &client, Some(body.clone()))
            .await;
        assert_eq!(code, StatusCode::ACCEPTED);
    }
    let same = server
        .via_proxy(Method::POST, path, "", "198.51.100.1", Some(body))
        .await;
    let other = server
        .via_proxy(
            Method::POST,
            path,
            "",
            "198.51.100.2",
            Some(json!({"identifier": "ann"})),
        )
        .await;

    expect_error(same, StatusCode::TOO_MANY_REQUESTS, "try again");
    assert_eq!(other.0, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn without_a_relay_the_request_says_how_to_configure_one() {
    let server = TestServer::start().await;
    server.owner_token().await;

    let answer = request(&server, "bob").await;

    expect_error(answer, StatusCode::UNPROCESSABLE_ENTITY, "--smtp-url");
}

#[tokio::test]
async fn the_identifier_is_validated() {
    let sink = SmtpSink::start().await;
    let (server, _) = mail_server(&sink).await;
    let path = "/api/v1/auth/password_reset_request";

    let empty = request(&server, " ").await;
    let long = request(&server, &"x".repeat(300)).await;
    let missing = server.post(path, "", json!({})).await;

    let message = "identifier must be a username or an email address";
    expect_error_exact(empty, StatusCode::BAD_REQUEST, message);
    expect_error_exact(long, StatusCode::BAD_REQUEST, message);
    expect_error(missing, StatusCode::BAD_REQUEST, "identifier");
}
