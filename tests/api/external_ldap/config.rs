//! `POST /api/v1/external_ldap/config` tries the directory before saving it: the server must
//! answer, accept the bind and hold the base DNs; otherwise nothing is stored.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::slapd::{PEOPLE, SERVICE_DN, Silent, Slapd};
use crate::support::{TestServer, expect_error, expect_error_exact};

async fn stored_provider(server: &TestServer, owner: &str) -> Value {
    let (code, config) = server.get("/api/v1/external_ldap/config", owner).await;
    assert_eq!(code, StatusCode::OK);
    config["provider"].clone()
}

#[tokio::test]
async fn a_directory_that_answers_and_accepts_the_bind_is_saved() {
    let slapd = Slapd::start("").await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, body) = server
        .post("/api/v1/external_ldap/config", &owner, slapd.config())
        .await;

    assert_eq!(code, StatusCode::OK, "{body}");
    let (_, shown) = server.get("/api/v1/external_ldap/config", &owner).await;
    let mut expected = slapd.config();
    expected["bindPassword"] = json!("********");
    assert_eq!(shown, expected);
}

#[tokio::test]
async fn an_unreachable_server_is_a_424_and_nothing_is_stored() {
    let mut slapd = Slapd::start("").await;
    slapd.stop();
    // A port held but not listening: connections are refused, and no other test's server can
    // take it meanwhile (as one could take the port slapd left).
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("ldap://{}", closed.local_addr().unwrap());
    let mut config = slapd.config();
    config["url"] = json!(url);
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .post("/api/v1/external_ldap/config", &owner, config)
        .await;

    let expected = format!("Cannot reach the LDAP server at {url}");
    expect_error(answer, StatusCode::FAILED_DEPENDENCY, &expected);
    assert_eq!(stored_provider(&server, &owner).await, "noop");
}

#[tokio::test]
async fn a_refused_bind_is_a_400_and_nothing_is_stored() {
    let slapd = Slapd::start("").await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let mut config = slapd.config();
    config["bindPassword"] = json!("Not-The-Password-5");

    let answer = server
        .post("/api/v1/external_ldap/config", &owner, config)
        .await;

    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        &format!("The LDAP server refused the bind as {SERVICE_DN}: invalidCredentials (49)"),
    );
    assert_eq!(stored_provider(&server, &owner).await, "noop");
}

#[tokio::test]
async fn a_base_dn_the_server_does_not_hold_is_a_400() {
    let slapd = Slapd::start("").await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let mut config = slapd.config();
    config["groupBaseDn"] = json!("ou=teams,dc=example,dc=com");

    let answer = server
        .post("/api/v1/external_ldap/config", &owner, config)
        .await;

    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "groupBaseDn ou=teams,dc=example,dc=com does not exist on the LDAP server",
    );
    assert_eq!(stored_provider(&server, &owner).await, "noop");
}

#[tokio::test]
async fn a_filter_that_does_not_parse_is_a_400() {
    let slapd = Slapd::start("").await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let mut config = slapd.config();
    config["filter"] = json!("(&(objectclass=person)(uid=");

    let answer = server
        .post("/api/v1/external_ldap/config", &owner, config)
        .await;

    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "filter is not a valid LDAP filter",
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_424_within_the_timeout() {
    let silent = Silent::start(0).await;
    let server = TestServer::start_with(|config| {
        config.external_ldap.timeout = Duration::from_secs(2);
    })
    .await;
    let owner = server.owner_token().await;
    let config = json!({"provider": "other", "url": format!("ldap://127.0.0.1:{}", silent.port()),
                        "baseDn": PEOPLE, "usernameField": "uid"});
    let started = Instant::now();

    let answer = server
        .post("/api/v1/external_ldap/config", &owner, config)
        .await;

    let took = started.elapsed();
    expect_error(
        answer,
        StatusCode::FAILED_DEPENDENCY,
        "did not answer within 2s",
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(stored_provider(&server, &owner).await, "noop");
}
