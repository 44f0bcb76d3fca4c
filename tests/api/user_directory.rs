//! `/api/v1/user_directory/profile_config`: the profile policy (locked profiles, mandatory 2FA).

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, USER_PASSWORD, expect_error};

#[tokio::test]
async fn the_profile_policy_starts_unlocked_without_mandatory_2fa() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .get("/api/v1/user_directory/profile_config", &owner)
        .await;

    assert_eq!(
        answer,
        (
            StatusCode::OK,
            json!({"lockUserProfiles": false, "mandatory2FA": false})
        )
    );
}

#[tokio::test]
async fn the_profile_policy_needs_both_flags_as_booleans() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    for body in [
        json!({"lockUserProfiles": true}),
        json!({"lockUserProfiles": "yes", "mandatory2FA": false}),
    ] {
        let answer = server
            .post("/api/v1/user_directory/profile_config", &owner, body)
            .await;
        expect_error(answer, StatusCode::BAD_REQUEST, "");
    }
}

#[tokio::test]
async fn the_profile_policy_is_an_admin_setting() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;

    let (code, _) = server
        .get("/api/v1/user_directory/profile_config", &bob)
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, _) = server
        .post(
            "/api/v1/user_directory/profile_config",
            &bob,
            json!({"lockUserProfiles": true, "mandatory2FA": true}),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, _) = server
        .get("/api/v1/user_directory/profile_config", "")
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn mandatory_2fa_lets_users_in_and_tells_them_to_set_it_up() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server.add_user(&owner, "bob", "user").await;
    let (code, _) = server
        .post(
            "/api/v1/user_directory/profile_config",
            &owner,
            json!({"lockUserProfiles": false, "mandatory2FA": true}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    let (code, login) = server
        .post(
            "/api/v1/auth/login",
            "",
            json!({"username": "bob", "password": USER_PASSWORD}),
        )
        .await;

    assert_eq!(code, StatusCode::OK);
    assert_eq!(login["twoFactorAuthenticationSetupRequired"], true);
    let token = login["accessToken"].as_str().unwrap();
    let (_, profile) = server.get("/api/v1/profile", token).await;
    assert_eq!(profile["twoFactorAuthenticationSetupRequired"], true);
    let (_, users) = server.get("/api/v1/users", &owner).await;
    let lacking: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["twoFactorAuthenticationEnabled"] == false)
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(lacking, ["alice", "bob"], "admins see who lacks 2FA");
}
