//! Authentication: the token layer (who is calling, and may this token do this), the caller and
//! role extractors for handlers, checking credentials, issuing tokens, and the secrets behind
//! tokens and passwords.

pub mod cache;
mod caller;
pub mod last_used;
pub mod layer;
pub mod login;
mod roles;
pub mod scope;
pub mod secrets;
pub mod sessions;
pub mod throttle;
pub mod totp;

pub use caller::{Admin, Caller, UserManager, token_from};
pub use roles::Role;
pub use scope::Scope;

use crate::store;

/// `clientId` of tokens made by `/auth/login` and activation (dashboard sessions).
pub const CLIENT_WEBADMIN: &str = "cid-webadmin";
/// `clientId` of API tokens made with `POST /tokens` or the operator CLI.
pub const CLIENT_SDK: &str = "cid-sdk";

pub const LOGIN_TOKEN_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;
pub const API_TOKEN_LIFETIME_MS: i64 = 365 * 24 * 3600 * 1000;

/// Resolves once the token stops working (deleted, expired, user deleted or deactivated),
/// checking every `every`: long-lived streams end with their authorization.
pub async fn revoked(db: sqlx::SqlitePool, token_id: String, every: std::time::Duration) {
    loop {
        tokio::time::sleep(every).await;
        if let Ok(false) = store::tokens::is_live(&db, &token_id, crate::clock::now_ms()).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::sessions::{TokenSpec, issue_token};

    #[tokio::test]
    async fn revocation_is_noticed() {
        let (db, _dir) = crate::store::test_pool().await;
        crate::store::users::tests::add_user(&db, "uid-1", "alice", Role::User).await;
        let spec = TokenSpec {
            user_id: "uid-1",
            name: "t",
            client_id: CLIENT_SDK,
            scope: &Scope::full(),
            expires: i64::MAX,
        };
        let token = issue_token(&db, &spec).await.unwrap();
        let watching = tokio::spawn(revoked(
            db.clone(),
            token.id.clone(),
            std::time::Duration::from_millis(10),
        ));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!watching.is_finished());
        crate::store::tokens::delete_for_user(&db, "uid-1", &token.id)
            .await
            .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), watching)
            .await
            .unwrap()
            .unwrap();
    }
}
