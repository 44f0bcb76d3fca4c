//! `/setupaccount.html` and `/passwordreset.html`, the pages invite and reset links open: served
//! under a strict policy, and used in a real browser (Chromium over WebDriver) from the link in
//! the mail to an account that logs in. Screenshots: `target/screenshots/*.png`.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use serde_json::json;

use crate::support::{Browser, SmtpSink, TestServer, add_invited_user, link_param};

/// The link of a mail, pointed at the test server (the mail names the configured domain).
fn on(server: &TestServer, link: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    format!("{}{}?{}", server.base, url.path(), url.query().unwrap())
}

async fn mail_server(sink: &SmtpSink) -> (TestServer, String) {
    let server = TestServer::start_with(|config| config.mail.relay = sink.relay()).await;
    let owner = server.owner_token().await;
    let name = json!({"name": "Home Cloud"});
    let (code, _) = server
        .post("/api/v1/branding/cloudron_name", &owner, name)
        .await;
    assert_eq!(code, StatusCode::OK);
    (server, owner)
}

#[tokio::test]
async fn the_pages_and_their_assets_are_served_under_a_strict_policy() {
    let server = TestServer::start().await;

    for (path, kind) in [
        ("/setupaccount.html", "text/html; charset=utf-8"),
        ("/passwordreset.html", "text/html; charset=utf-8"),
        ("/account.js", "text/javascript; charset=utf-8"),
        ("/account.css", "text/css; charset=utf-8"),
    ] {
        let response = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()[CONTENT_TYPE], kind, "{path}");
        let policy = response.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"));
        assert!(!policy.contains("unsafe"), "{policy}");
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        let body = response.text().await.unwrap();
        if path.ends_with(".html") {
            assert_eq!(
                body.matches("<script").count(),
                body.matches("<script src=").count()
            );
            assert!(!body.contains("<style") && !body.contains(" style=") && !body.contains(" on"));
        }
    }
}

#[tokio::test]
async fn an_invite_from_the_mail_is_accepted_in_a_browser() {
    let sink = SmtpSink::start().await;
    let (server, owner) = mail_server(&sink).await;
    let carol = add_invited_user(&server, &owner, None).await;
    let send = json!({"email": "carol@example.com"});
    let path = format!("/api/v1/users/{carol}/send_invite_email");
    assert_eq!(
        server.post(&path, &owner, send).await.0,
        StatusCode::ACCEPTED
    );
    let link = sink.wait_for(1).await[0].link("setupaccount.html");
    let browser = Browser::start().await;

    browser.goto(&on(&server, &link)).await;

    assert_eq!(
        browser.visible_text("[data-cloudron-name]").await,
        "Home Cloud"
    );
    assert_eq!(browser.value("#email").await, "carol@example.com");
    assert_eq!(browser.value("#display-name").await, "Carol C");
    browser.type_into("#username", "carol").await;
    browser.type_into("#password", "short").await;
    browser.type_into("#password-repeat", "short").await;
    browser.press_enter("#password-repeat").await;
    let problem = browser.visible_text("#message").await;
    assert_eq!(problem, "The password must be at least 8 characters long");
    browser.screenshot("setupaccount-form").await;
    browser.type_into("#password", " and longer").await;
    browser.type_into("#password-repeat", " and longer").await;
    browser.press_enter("#password-repeat").await;
    assert_eq!(
        browser.visible_text("#done h2").await,
        "Your account is ready"
    );
    browser.screenshot("setupaccount").await;
    browser.close().await;
    server.login("carol", "short and longer").await;
}

#[tokio::test]
async fn a_reset_from_the_mail_sets_a_new_password_in_a_browser() {
    let sink = SmtpSink::start().await;
    let (server, owner) = mail_server(&sink).await;
    server.add_user(&owner, "bob", "user").await;
    let request = json!({"identifier": "bob"});
    let answer = server
        .post("/api/v1/auth/password_reset_request", "", request)
        .await;
    assert_eq!(answer.0, StatusCode::ACCEPTED);
    let link = sink.wait_for(1).await[0].link("passwordreset.html");
    let browser = Browser::start().await;

    browser.goto(&on(&server, &link)).await;

    assert_eq!(
        browser.visible_text("[data-cloudron-name]").await,
        "Home Cloud"
    );
    browser.type_into("#password", "bobs new password").await;
    browser
        .type_into("#password-repeat", "bobs new passwrod")
        .await;
    browser.press_enter("#password-repeat").await;
    assert_eq!(
        browser.visible_text("#message").await,
        "The two passwords are not the same"
    );
    browser.screenshot("passwordreset-mismatch").await;
    let repeat = browser
        .client
        .find(fantoccini::Locator::Css("#password-repeat"))
        .await
        .unwrap();
    repeat.clear().await.unwrap();
    browser
        .type_into("#password-repeat", "bobs new password")
        .await;
    browser.press_enter("#password-repeat").await;
    assert_eq!(
        browser.visible_text("#done h2").await,
        "Your password is changed"
    );
    browser.screenshot("passwordreset").await;
    browser.close().await;
    server.login("bob", "bobs new password").await;
}

#[tokio::test]
async fn a_used_link_shows_the_apis_error_in_the_browser() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let (_, body) = server
        .get(&format!("/api/v1/users/{bob}/password_reset_link"), &owner)
        .await;
    let link = body["passwordResetLink"].as_str().unwrap().to_owned();
    let reset = json!({"resetToken": link_param(&link, "resetToken"), "password": "used already"});
    assert_eq!(
        server
            .post("/api/v1/auth/password_reset", "", reset)
            .await
            .0,
        StatusCode::OK
    );
    let browser = Browser::start().await;

    browser.goto(&on(&server, &link)).await;
    browser.type_into("#password", "another password").await;
    browser
        .type_into("#password-repeat", "another password")
        .await;
    browser.press_enter("#password-repeat").await;

    let shown = browser.visible_text("#message").await;
    browser.screenshot("used-link").await;
    browser.close().await;
    assert_eq!(
        shown,
        "This password reset link is invalid, used or expired"
    );
}
