//! Issuing tokens: API tokens and login sessions. Only a token's hash is stored; the secret is
//! handed back once.

use sqlx::{SqliteExecutor, SqlitePool};

use super::cache::AuthCache;

use super::{
    API_TOKEN_LIFETIME_MS, CLIENT_SDK, CLIENT_WEBADMIN, LOGIN_TOKEN_LIFETIME_MS, Scope, secrets,
};
use crate::clock::{now_iso, now_ms};
use crate::error::Invalid;
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
    store_new(db, spec, None).await
}

async fn store_new(
    db: impl SqliteExecutor<'_>,
    spec: &TokenSpec<'_>,
    impersonator: Option<&str>,
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
        impersonator,
    };
    store::tokens::insert(db, &token).await?;
    Ok(issued)
}

/// Deletes one of the user's tokens; it stops working at once. False when there is no such token.
pub async fn revoke_token(
    db: &SqlitePool,
    cache: &AuthCache,
    user_id: &str,
    token_id: &str,
) -> sqlx::Result<bool> {
    let deleted = store::tokens::delete_for_user(db, user_id, token_id).await?;
    cache.invalidate_token(token_id);
    Ok(deleted)
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

/// A session of `user_id` opened with the ghost password `impersonator_id` set: a dashboard
/// session named `ghost` that ends at `expires`, with the admin behind it recorded.
pub async fn issue_ghost_session(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    impersonator_id: &str,
    expires: i64,
) -> sqlx::Result<IssuedToken> {
    let spec = TokenSpec {
        user_id,
        name: "ghost",
        client_id: CLIENT_WEBADMIN,
        scope: &Scope::full(),
        expires,
    };
    store_new(db, &spec, Some(impersonator_id)).await
}

/// Why an API token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// More power than the token asking for it has (a 403 over HTTP).
    #[error("{0}")]
    TooPowerful(&'static str),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// The token that asks for a new API token.
pub struct Minter<'a> {
    pub user_id: &'a str,
    pub client_id: &'a str,
    pub expires: i64,
    pub scope: &'a Scope,
}

/// What a client asks for in `POST /tokens`.
pub struct ApiTokenRequest<'a> {
    pub name: &'a str,
    pub expires_at: Option<i64>,
    pub scope: Option<&'a serde_json::Value>,
}

/// A new API token (`cid-sdk`) of the minter's user; never wider or, for an API token, longer
/// lived than the minter. Returns the token and its scope.
pub async fn issue_api_token(
    db: impl SqliteExecutor<'_>,
    minter: &Minter<'_>,
    req: &ApiTokenRequest<'_>,
) -> Result<(IssuedToken, Scope), TokenError> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(Invalid::new("name must be 1 to 64 characters").into());
    }
    let now = now_ms();
    let expires = match req.expires_at {
        Some(at) if at <= now => {
            return Err(Invalid::new("expiresAt must be a timestamp in the future").into());
        }
        Some(at) => at,
        None => now + API_TOKEN_LIFETIME_MS,
    };
    // A login session may make long-lived API tokens (that is what it is for), but an API
    // token cannot make one that outlives it.
    let expires = if minter.client_id == CLIENT_WEBADMIN {
        expires
    } else if req.expires_at.is_some() && expires > minter.expires {
        return Err(TokenError::TooPowerful(
            "A token cannot create a token that outlives it",
        ));
    } else {
        expires.min(minter.expires)
    };
    let scope = req
        .scope
        .map(Scope::parse)
        .transpose()?
        .unwrap_or_else(Scope::full);
    if !minter.scope.covers(&scope) {
        return Err(TokenError::TooPowerful(
            "A token cannot create a token with a wider scope than its own",
        ));
    }
    let spec = TokenSpec {
        user_id: minter.user_id,
        name,
        client_id: CLIENT_SDK,
        scope: &scope,
        expires,
    };
    Ok((issue_token(db, &spec).await?, scope))
}
