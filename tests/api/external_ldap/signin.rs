//! Users of the external directory sign in to boxd's own directory server (an app's LDAP
//! login) with their directory password, checked by a bind to the external server.

use std::net::SocketAddr;
use std::time::Duration;

use ldap3::LdapConnAsync;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::slapd::{CAROL_PASSWORD, Slapd, configure_and_sync, staff};
use crate::support::{TestServer, expect_error};

// LDAP result codes.
const SUCCESS: u32 = 0;
const INVALID_CREDENTIALS: u32 = 49;
const UNAVAILABLE: u32 = 52;

/// A server that synced `slapd` and serves its directory server to loopback clients.
async fn directory_server(slapd: &Slapd) -> (TestServer, SocketAddr) {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    configure_and_sync(&server, &owner, slapd).await;
    let body = json!({"enabled": true, "secret": "Directory-Secret-1", "allowlist": "127.0.0.1"});
    let (code, answer) = server
        .post("/api/v1/directory_server/config", &owner, body)
        .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    let listening = tokio::time::timeout(
        Duration::from_secs(5),
        server.state.directory_server.listening(),
    )
    .await
    .unwrap();
    (server, listening.ldap.unwrap())
}

/// The result code of a bind to boxd's directory server.
async fn bind(addr: SocketAddr, dn: &str, password: &str) -> u32 {
    let (conn, mut ldap) = LdapConnAsync::new(&format!("ldap://{addr}")).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(dn, password).await.unwrap().rc
}

#[tokio::test]
async fn a_directory_user_binds_with_the_directory_password() {
    let slapd = Slapd::start(&staff()).await;
    let (_server, addr) = directory_server(&slapd).await;

    let right = bind(addr, "cn=carol,ou=users,dc=cloudron", CAROL_PASSWORD).await;
    let wrong = bind(addr, "cn=carol,ou=users,dc=cloudron", "Not-Carols-1").await;

    assert_eq!((right, wrong), (SUCCESS, INVALID_CREDENTIALS));
}

#[tokio::test]
async fn a_bind_while_the_external_directory_is_down_is_unavailable() {
    let mut slapd = Slapd::start(&staff()).await;
    let (_server, addr) = directory_server(&slapd).await;
    slapd.stop();

    let rc = bind(addr, "cn=carol,ou=users,dc=cloudron", CAROL_PASSWORD).await;

    assert_eq!(rc, UNAVAILABLE);
}

#[tokio::test]
async fn no_invite_or_reset_link_sets_a_directory_users_password() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    configure_and_sync(&server, &owner, &slapd).await;
    let (_, users) = server.get("/api/v1/users?search=carol", &owner).await;
    let carol = users["users"][0]["id"].as_str().unwrap().to_owned();

    for path in ["invite_link", "password_reset_link"] {
        let answer = server
            .get(&format!("/api/v1/users/{carol}/{path}"), &owner)
            .await;
        expect_error(
            answer,
            StatusCode::FORBIDDEN,
            "The password of a user of the external directory is set in the directory",
        );
    }
}
