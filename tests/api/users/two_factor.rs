//! `POST /api/v1/users/{userId}/twofactorauthentication_disable`: a manager turns off a user's
//! lost 2FA.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, enable_two_factor, try_login};

#[tokio::test]
async fn a_manager_turns_off_a_users_lost_2fa() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob_id, bob) = server.add_user(&owner, "bob", "user").await;
    enable_two_factor(&server, &bob).await;
    let (_, user) = server.get(&format!("/api/v1/users/{bob_id}"), &owner).await;
    assert_eq!(user["twoFactorAuthenticationEnabled"], true);

    let (code, body) = server
        .post(
            &format!("/api/v1/users/{bob_id}/twofactorauthentication_disable"),
            &owner,
            json!({}),
        )
        .await;

    assert_eq!((code, body), (StatusCode::OK, json!({})));
    let (code, _) = try_login(&server, "bob", None).await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_users_2fa_is_404() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, _) = server
        .post(
            "/api/v1/users/uid-nobody/twofactorauthentication_disable",
            &owner,
            json!({}),
        )
        .await;

    assert_eq!(code, StatusCode::NOT_FOUND);
}
