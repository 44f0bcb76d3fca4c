//! `/api/v1/external_ldap/config` and `/api/v1/external_ldap/sync`: the external directory (a
//! real OpenLDAP `slapd`, `support::slapd`), its bind password never shown; the connection
//! tried before saving ([`config`]); the sync of users and groups ([`sync`], [`paging`]) and its
//! failures ([`failures`]); its users signing in to the directory server ([`signin`]). Their
//! `/auth/login` is in `auth.rs`, their profile in `profile/`.

mod config;
mod failures;
mod paging;
mod signin;
mod sync;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::slapd::Slapd;
use crate::support::{
    TestServer, expect_admin_only, expect_error_exact, expect_secret_hidden_and_kept,
};

#[tokio::test]
async fn the_external_ldap_config_needs_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/external_ldap/config", Value::Null),
            (
                Method::POST,
                "/api/v1/external_ldap/config",
                json!({"provider": "noop"}),
            ),
            (Method::POST, "/api/v1/external_ldap/sync", json!({})),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fresh_server_has_no_external_ldap() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/external_ldap/config", &owner).await;

    assert_eq!(
        answer,
        (
            StatusCode::OK,
            json!({"provider": "noop", "url": "", "baseDn": "", "usernameField": "", "filter": "", "groupBaseDn": "", "bindDn": "", "bindPassword": ""})
        )
    );
}

#[tokio::test]
async fn the_external_ldap_config_is_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let cases = [
        (
            json!({"provider": "ad", "url": "https://ad.example.com", "baseDn": "dc=x", "usernameField": "uid"}),
            "url must be an ldap:// or ldaps:// URL",
        ),
        (
            json!({"provider": "ad", "url": "ldap://ad.example.com", "usernameField": "uid"}),
            "baseDn is required",
        ),
        (
            json!({"provider": "ad", "url": "ldap://ad.example.com", "baseDn": "dc=x"}),
            "usernameField is required",
        ),
        (
            json!({"provider": "ad", "url": "ldap://ad.example.com", "baseDn": "dc=x", "usernameField": "uid)(uid=*"}),
            "usernameField must be an attribute name",
        ),
        (
            json!({"provider": "samba"}),
            "provider must be one of ad, cloudron, jumpcloud, okta, univention, other, noop",
        ),
    ];

    for (body, expected) in cases {
        let answer = server
            .post("/api/v1/external_ldap/config", &owner, body)
            .await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
}

#[tokio::test]
async fn the_bind_password_never_comes_back_and_the_placeholder_keeps_it() {
    let slapd = Slapd::start("").await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_secret_hidden_and_kept(
        &server,
        &owner,
        "/api/v1/external_ldap/config",
        slapd.config(),
        "bindPassword",
    )
    .await;
}

// The placeholder never carries a hidden secret to a server the admin did not type it for.
#[tokio::test]
async fn the_placeholder_is_refused_for_another_server() {
    let slapd = Slapd::start("").await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (code, _) = server
        .post("/api/v1/external_ldap/config", &owner, slapd.config())
        .await;
    assert_eq!(code, StatusCode::OK);

    let mut moved = slapd.config();
    moved["url"] = json!("ldaps://evil.example.com");
    moved["bindPassword"] = json!("********");
    let answer = server
        .post("/api/v1/external_ldap/config", &owner, moved)
        .await;

    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "bindPassword must be sent again for a new server or account",
    );
}

#[tokio::test]
async fn a_sync_without_a_directory_is_a_conflict() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .post("/api/v1/external_ldap/sync", &owner, json!({}))
        .await;

    expect_error_exact(
        answer,
        StatusCode::CONFLICT,
        "External LDAP is not configured: set a provider in /external_ldap/config first",
    );
}
