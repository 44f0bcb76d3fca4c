//! Issuing tokens: API tokens and login sessions. Only a token's hash is stored; the secret is
//! handed back once.

use sqlx::SqliteExecutor;

use super::{CLIENT_WEBADMIN, LOGIN_TOKEN_LIFETIME_MS, Scope, secrets};
use crate::clock::{now_iso, now_ms};
use crate::store;

/// A token to create; the secret is generated here and returned once.
pub struct TokenSpec<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub client_id: &'a str,
    pub scope: &'a Scope,
    pub expires: i64,
}

pub struct IssuedToken {
    pub id: String,
    pub secret: String,
    pub creation_time: String,
    /// Epoch milliseconds.
    pub expires: i64,
}

/// Stores a new token (only its hash) and hands back the secret.
pub async fn issue_token(
    db: impl SqliteExecutor<'_>,
    spec: &TokenSpec<'_>,
) -> sqlx::Result<IssuedToken> {
    let secret = secrets::new_token();
    let issued = IssuedToken {
        id: format!("tid-{}", uuid::Uuid::new_v4()),
        creation_time: now_iso(),
        expires: spec.expires,
        secret,
    };
    let token = store::tokens::NewToken {
        id: &issued.id,
        user_id: spec.user_id,
        hash: &secrets::token_hash(&issued.secret),
        name: spec.name,
        client_id: spec.client_id,
        scope: spec.scope,
        expires: spec.expires,
        creation_time: &issued.creation_time,
    };
    store::tokens::insert(db, &token).await?;
    Ok(issued)
}

/// A dashboard session (`cid-webadmin`, full scope, 7 days), as login and activation give.
pub async fn issue_login_session(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    name: &str,
) -> sqlx::Result<IssuedToken> {
    let spec = TokenSpec {
        user_id,
        name,
        client_id: CLIENT_WEBADMIN,
        scope: &Scope::full(),
        expires: now_ms() + LOGIN_TOKEN_LIFETIME_MS,
    };
    issue_token(db, &spec).await
}
