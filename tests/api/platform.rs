//! Cloudron preferences, branding, registry, directory server, external LDAP, reboot.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, expect_error, expect_error_exact, form, jpeg, png};

/// Every admin route of the platform: 401 without a token, 403 for a plain user, 403 for a
/// read-only token on writes.
#[tokio::test]
async fn platform_routes_need_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, user) = server.add_user(&owner, "bob", "user").await;
    let read_only = server.read_only_token(&owner).await;
    let routes: &[(&str, &str, Value)] = &[
        ("GET", "/api/v1/cloudron/time_zone", json!(null)),
        (
            "POST",
            "/api/v1/cloudron/time_zone",
            json!({"timeZone": "UTC"}),
        ),
        (
            "POST",
            "/api/v1/cloudron/language",
            json!({"language": "en"}),
        ),
        ("GET", "/api/v1/branding/cloudron_name", json!(null)),
        (
            "POST",
            "/api/v1/branding/cloudron_name",
            json!({"name": "x"}),
        ),
        ("GET", "/api/v1/branding/cloudron_avatar", json!(null)),
        ("POST", "/api/v1/branding/cloudron_avatar", json!({})),
        ("GET", "/api/v1/docker/registry_config", json!(null)),
        (
            "POST",
            "/api/v1/docker/registry_config",
            json!({"provider": "noop"}),
        ),
        ("GET", "/api/v1/directory_server/config", json!(null)),
        (
            "POST",
            "/api/v1/directory_server/config",
            json!({"enabled": false}),
        ),
        ("GET", "/api/v1/external_ldap/config", json!(null)),
        (
            "POST",
            "/api/v1/external_ldap/config",
            json!({"provider": "noop"}),
        ),
        ("GET", "/api/v1/network/blocklist", json!(null)),
        (
            "POST",
            "/api/v1/network/blocklist",
            json!({"blocklist": ""}),
        ),
        ("GET", "/api/v1/network/dynamic_dns", json!(null)),
        (
            "POST",
            "/api/v1/network/dynamic_dns",
            json!({"enabled": false}),
        ),
        ("GET", "/api/v1/network/ipv4_config", json!(null)),
        (
            "POST",
            "/api/v1/network/ipv4_config",
            json!({"provider": "noop"}),
        ),
        ("GET", "/api/v1/network/ipv6_config", json!(null)),
        (
            "POST",
            "/api/v1/network/ipv6_config",
            json!({"provider": "noop"}),
        ),
        ("GET", "/api/v1/network/ipv4", json!(null)),
        ("GET", "/api/v1/network/ipv6", json!(null)),
        ("GET", "/api/v1/reverseproxy/trusted_ips", json!(null)),
        (
            "POST",
            "/api/v1/reverseproxy/trusted_ips",
            json!({"trustedIps": ""}),
        ),
        ("GET", "/api/v1/system/reboot", json!(null)),
        ("POST", "/api/v1/system/reboot", json!({})),
    ];
    for (method, path, body) in routes {
        let method: Method = method.parse().unwrap();
        let body = (!body.is_null()).then(|| body.clone());
        let (code, _) = server.request(method.clone(), path, "", body.clone()).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{method} {path}");
        let answer = server
            .request(method.clone(), path, &user, body.clone())
            .await;
        expect_error_exact(answer, StatusCode::FORBIDDEN, "This needs the admin role");
        if method == Method::POST {
            let (code, _) = server.request(method.clone(), path, &read_only, body).await;
            assert_eq!(code, StatusCode::FORBIDDEN, "read-only {path}");
        } else {
            let (code, _) = server.request(method.clone(), path, &read_only, None).await;
            assert_ne!(code, StatusCode::FORBIDDEN, "read-only {path}");
        }
    }
}

#[tokio::test]
async fn a_fresh_server_answers_the_defaults() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let defaults = [
        ("/api/v1/cloudron/language", json!({"language": "en"})),
        ("/api/v1/cloudron/time_zone", json!({"timeZone": "UTC"})),
        (
            "/api/v1/branding/cloudron_name",
            json!({"name": "Cloudron"}),
        ),
        (
            "/api/v1/docker/registry_config",
            json!({"provider": "noop", "serverAddress": "", "username": "", "email": "", "password": ""}),
        ),
        (
            "/api/v1/directory_server/config",
            json!({"enabled": false, "secret": "", "allowlist": ""}),
        ),
        (
            "/api/v1/external_ldap/config",
            json!({"provider": "noop", "url": "", "baseDn": "", "usernameField": "", "filter": "", "groupBaseDn": "", "bindDn": "", "bindPassword": ""}),
        ),
        ("/api/v1/network/blocklist", json!({"blocklist": ""})),
        ("/api/v1/network/dynamic_dns", json!({"enabled": false})),
        (
            "/api/v1/network/ipv4_config",
            json!({"provider": "generic"}),
        ),
        ("/api/v1/network/ipv6_config", json!({"provider": "noop"})),
        ("/api/v1/network/ipv6", json!({"ip": null})),
        (
            "/api/v1/reverseproxy/trusted_ips",
            json!({"trustedIps": ""}),
        ),
        ("/api/v1/system/reboot", json!({"rebootRequired": false})),
    ];
    for (path, expected) in defaults {
        let (code, body) = server.get(path, &owner).await;
        assert_eq!(code, StatusCode::OK, "{path}");
        assert_eq!(body, expected, "{path}");
    }
    let (_, languages) = server.get("/api/v1/cloudron/languages", "").await;
    assert!(
        languages["languages"]
            .as_array()
            .unwrap()
            .contains(&json!("en"))
    );
}

#[tokio::test]
async fn language_time_zone_and_name_are_validated_and_kept() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, user) = server.add_user(&owner, "bob", "user").await;
    let cases = [
        (
            "/api/v1/cloudron/language",
            json!({"language": "xx"}),
            "Invalid language",
        ),
        (
            "/api/v1/cloudron/language",
            json!({}),
            "language is required",
        ),
        (
            "/api/v1/cloudron/time_zone",
            json!({"timeZone": "Mars/Olympus"}),
            "Bad timeZone",
        ),
        (
            "/api/v1/cloudron/time_zone",
            json!({"language": "de"}),
            "timeZone is required",
        ),
        (
            "/api/v1/cloudron/time_zone",
            json!({"timeZone": 1}),
            "timeZone must be a string",
        ),
        (
            "/api/v1/branding/cloudron_name",
            json!({"name": ""}),
            "name is empty",
        ),
        (
            "/api/v1/branding/cloudron_name",
            json!({"name": "x".repeat(65)}),
            "name must be at most 64 characters",
        ),
        (
            "/api/v1/branding/cloudron_name",
            json!({}),
            "name is required",
        ),
    ];
    for (path, body, expected) in cases {
        let answer = server.post(path, &owner, body).await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }

    for (path, body) in [
        ("/api/v1/cloudron/language", json!({"language": "de"})),
        (
            "/api/v1/cloudron/time_zone",
            json!({"timeZone": "Europe/Zurich"}),
        ),
        (
            "/api/v1/branding/cloudron_name",
            json!({"name": "Home Lab"}),
        ),
    ] {
        let (code, answer) = server.post(path, &owner, body.clone()).await;
        assert_eq!((code, answer), (StatusCode::OK, json!({})), "{path}");
        let (_, stored) = server.get(path, &owner).await;
        assert_eq!(stored, body, "{path}");
    }
    let (_, language) = server.get("/api/v1/cloudron/language", &user).await;
    assert_eq!(
        language,
        json!({"language": "de"}),
        "any user reads the language"
    );
    let (_, status) = server.get("/api/v1/cloudron/status", "").await;
    assert_eq!(status["cloudronName"], "Home Lab");
}

#[tokio::test]
async fn the_cloudron_avatar_has_a_default_and_takes_an_upload() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let default = server
        .http
        .get(server.url("/api/v1/cloudron/avatar"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        default.status(),
        StatusCode::OK,
        "public, and there from the start"
    );
    assert_eq!(default.headers()[CONTENT_TYPE], "image/png");
    assert!(default.bytes().await.unwrap().starts_with(b"\x89PNG"));

    let image = jpeg();
    let (code, body) = server
        .upload(
            "/api/v1/branding/cloudron_avatar",
            &owner,
            form("avatar", "logo.png", "image/png", &image),
        )
        .await;
    assert_eq!((code, body), (StatusCode::OK, json!({})));
    for (path, token) in [
        ("/api/v1/cloudron/avatar", ""),
        ("/api/v1/branding/cloudron_avatar", owner.as_str()),
    ] {
        let response = server
            .http
            .get(server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()[CONTENT_TYPE], "image/jpeg", "{path}");
        assert_eq!(response.bytes().await.unwrap().to_vec(), image, "{path}");
    }

    let answer = server
        .upload(
            "/api/v1/branding/cloudron_avatar",
            &owner,
            form("avatar", "x.svg", "image/svg+xml", b"<svg/>"),
        )
        .await;
    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "The file is not a PNG, JPEG, GIF or WebP image",
    );
    let (code, _) = server
        .upload(
            "/api/v1/branding/cloudron_avatar",
            &owner,
            form("avatar", "b.png", "image/png", &png(65535, 65535)),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let answer = server
        .upload(
            "/api/v1/branding/cloudron_avatar",
            &owner,
            form("logo", "b.png", "image/png", &png(5, 5)),
        )
        .await;
    expect_error_exact(answer, StatusCode::BAD_REQUEST, "avatar must be provided");
    let (code, _) = server
        .post(
            "/api/v1/branding/cloudron_avatar",
            &owner,
            json!({"avatar": "x"}),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn registry_and_ldap_configs_are_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let cases = [
        (
            "/api/v1/docker/registry_config",
            json!({}),
            "provider is required",
        ),
        (
            "/api/v1/docker/registry_config",
            json!({"provider": "azure"}),
            "provider must be one of aws, digitalocean, dockerhub, google-cloud, linode, quay, treescale, other, noop",
        ),
        (
            "/api/v1/docker/registry_config",
            json!({"provider": "quay", "username": "u", "password": "p"}),
            "serverAddress is required",
        ),
        (
            "/api/v1/docker/registry_config",
            json!({"provider": "quay", "serverAddress": "quay.io", "password": "p"}),
            "username is required",
        ),
        (
            "/api/v1/docker/registry_config",
            json!({"provider": "quay", "serverAddress": "quay.io", "username": "u"}),
            "password is required",
        ),
        (
            "/api/v1/docker/registry_config",
            json!({"provider": "quay", "serverAddress": 5}),
            "serverAddress must be a string",
        ),
        (
            "/api/v1/external_ldap/config",
            json!({"provider": "ad", "url": "https://ad.example.com", "baseDn": "dc=x", "usernameField": "uid"}),
            "url must be an ldap:// or ldaps:// URL",
        ),
        (
            "/api/v1/external_ldap/config",
            json!({"provider": "ad", "url": "ldap://ad.example.com", "usernameField": "uid"}),
            "baseDn is required",
        ),
        (
            "/api/v1/external_ldap/config",
            json!({"provider": "ad", "url": "ldap://ad.example.com", "baseDn": "dc=x"}),
            "usernameField is required",
        ),
        (
            "/api/v1/external_ldap/config",
            json!({"provider": "samba"}),
            "provider must be one of ad, cloudron, jumpcloud, okta, univention, other, noop",
        ),
        (
            "/api/v1/directory_server/config",
            json!({}),
            "enabled is required",
        ),
        (
            "/api/v1/directory_server/config",
            json!({"enabled": "yes"}),
            "enabled must be a boolean",
        ),
        (
            "/api/v1/directory_server/config",
            json!({"enabled": true, "allowlist": "10.0.0.0/8"}),
            "secret is required",
        ),
        (
            "/api/v1/directory_server/config",
            json!({"enabled": true, "secret": "s", "allowlist": "# none"}),
            "allowlist needs at least one entry to enable the directory server",
        ),
        (
            "/api/v1/directory_server/config",
            json!({"enabled": false, "allowlist": "10.0.0.0/8\nten.0.0.1"}),
            "allowlist: ten.0.0.1 is not an IP address or CIDR range",
        ),
    ];
    for (path, body, expected) in cases {
        let answer = server.post(path, &owner, body).await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
}

#[tokio::test]
async fn stored_secrets_never_come_back_and_the_placeholder_keeps_them() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let configs = [
        (
            "/api/v1/docker/registry_config",
            json!({"provider": "dockerhub", "serverAddress": "docker.io", "username": "me", "email": "me@example.com", "password": "CanaryRegistry1"}),
            "password",
        ),
        (
            "/api/v1/external_ldap/config",
            json!({"provider": "other", "url": "ldaps://ldap.example.com", "baseDn": "ou=users,dc=example,dc=com", "usernameField": "uid", "bindDn": "cn=boxd", "bindPassword": "CanaryBind2"}),
            "bindPassword",
        ),
        (
            "/api/v1/directory_server/config",
            json!({"enabled": true, "secret": "CanaryDirectory3", "allowlist": "# office\n10.0.0.0/8\n"}),
            "secret",
        ),
    ];
    for (path, body, secret_field) in configs {
        let secret = body[secret_field].as_str().unwrap().to_owned();
        let (code, _) = server.post(path, &owner, body.clone()).await;
        assert_eq!(code, StatusCode::OK, "{path}");

        let (_, shown) = server.get(path, &owner).await;
        assert_eq!(shown[secret_field], "********", "{path}");
        assert!(
            !shown.to_string().contains(&secret),
            "{path} showed its secret"
        );
        let mut expected = body.clone();
        expected[secret_field] = json!("********");
        for (key, value) in expected.as_object().unwrap() {
            assert_eq!(&shown[key], value, "{path} {key} is kept as sent");
        }

        // A client's GET-edit-POST round trip sends the placeholder back: the secret stays.
        let (code, _) = server.post(path, &owner, shown.clone()).await;
        assert_eq!(code, StatusCode::OK);
        let db = server.db().await;
        let stored: Vec<String> = sqlx::query_scalar("SELECT value FROM settings")
            .fetch_all(&db)
            .await
            .unwrap();
        assert!(
            stored.iter().any(|value| value.contains(&secret)),
            "{path}: the stored secret was lost"
        );
    }
    // The placeholder never carries a hidden secret to a server the admin did not type it for.
    let moved = json!({"provider": "dockerhub", "serverAddress": "evil.example.com", "username": "me", "password": "********"});
    let answer = server
        .post("/api/v1/docker/registry_config", &owner, moved)
        .await;
    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "password must be sent again for a new server or account",
    );
    let moved = json!({"provider": "other", "url": "ldaps://evil.example.com", "baseDn": "dc=x", "usernameField": "uid", "bindDn": "cn=boxd", "bindPassword": "********"});
    let (code, _) = server
        .post("/api/v1/external_ldap/config", &owner, moved)
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);

    let (_, events) = server.get("/api/v1/eventlog?per_page=1000", &owner).await;
    for secret in ["CanaryRegistry1", "CanaryBind2", "CanaryDirectory3"] {
        assert!(!events.to_string().contains(secret));
    }
}

#[tokio::test]
async fn reboot_reports_the_marker_and_runs_only_a_configured_command() {
    let marker_dir = tempfile::tempdir().unwrap();
    let done = marker_dir.path().join("rebooted");
    let command = format!("touch {}", done.display());
    let server = TestServer::start_with(|config| config.reboot_command = Some(command)).await;
    let owner = server.owner_token().await;

    std::fs::write(server.data_dir().join("reboot-required"), "").unwrap();
    let (_, status) = server.get("/api/v1/system/reboot", &owner).await;
    assert_eq!(status, json!({"rebootRequired": true}));

    let (code, body) = server
        .post("/api/v1/system/reboot", &owner, json!({}))
        .await;

    assert_eq!((code, body), (StatusCode::ACCEPTED, json!({})));
    for _ in 0..100 {
        if done.exists() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the reboot command did not run");
}

#[tokio::test]
async fn reboot_without_a_command_is_refused_not_faked() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .post("/api/v1/system/reboot", &owner, json!({}))
        .await;

    expect_error(answer, StatusCode::UNPROCESSABLE_ENTITY, "--reboot-command");
}
