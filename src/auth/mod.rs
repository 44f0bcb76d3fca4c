//! Authentication: the token layer (who is calling, and may this token do this), the caller and
//! role extractors for handlers, and the secrets behind tokens and passwords.

pub mod last_used;
pub mod layer;
mod roles;
pub mod scope;
pub mod secrets;
pub mod throttle;
pub mod totp;

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri, header};
use sqlx::SqliteExecutor;

pub use roles::{Admin, Role, UserManager};
pub use scope::Scope;

use crate::api::now_iso;
use crate::app::AppState;
use crate::error::ApiError;
use crate::eventlog::Source;
use crate::store;
use crate::store::users::UserRow;

/// `clientId` of tokens made by `/auth/login` and activation (dashboard sessions).
pub const CLIENT_WEBADMIN: &str = "cid-webadmin";
/// `clientId` of API tokens made with `POST /tokens` or the operator CLI.
pub const CLIENT_SDK: &str = "cid-sdk";

pub const LOGIN_TOKEN_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;
pub const API_TOKEN_LIFETIME_MS: i64 = 365 * 24 * 3600 * 1000;

/// The authenticated caller of a protected route.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserRow,
    pub token_id: String,
    /// `cid-webadmin` for a login session, `cid-sdk` for an API token.
    pub client_id: String,
    /// When the caller's token expires, epoch milliseconds.
    pub expires: i64,
    pub scope: Scope,
    pub ip: IpAddr,
}

impl Caller {
    /// The eventlog source of what this caller does.
    pub fn source(&self) -> Source {
        Source::user(&self.user, self.ip)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(ApiError::unauthorized)
    }
}

/// The token of a request: `Authorization: Bearer <token>`, else `?access_token=<token>`.
pub fn token_from(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        // Any Authorization header decides: one that is not a Bearer token means no token.
        let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
        let token = token.trim();
        return (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
            .then(|| token.to_owned());
    }
    form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(key, _)| key == "access_token")
        .map(|(_, token)| token.into_owned())
        .filter(|token| !token.is_empty())
}

/// Resolves once the token stops working (deleted, expired, user deleted or deactivated),
/// checking every `every`: long-lived streams end with their authorization.
pub async fn revoked(db: sqlx::SqlitePool, token_id: String, every: std::time::Duration) {
    loop {
        tokio::time::sleep(every).await;
        if let Ok(false) = store::tokens::is_live(&db, &token_id, crate::api::now_ms()).await {
            return;
        }
    }
}

/// Checks the caller's current password before a credential change: 412 when it is wrong
/// (Cloudron: not 401, so the session survives), 429 while failures are throttled.
pub async fn confirm_password(
    state: &AppState,
    caller: &Caller,
    password: String,
) -> Result<(), ApiError> {
    let attempt = state.throttle.begin(caller.ip, &caller.user.id)?;
    let hash = store::users::password_hash(&state.db, &caller.user.id).await?;
    if secrets::verify_password(password, hash).await? {
        state.throttle.succeeded(attempt);
        Ok(())
    } else {
        tracing::warn!(user.id = %caller.user.id, client.ip = %caller.ip, "wrong current password from {}", caller.ip);
        Err(ApiError::PreconditionFailed("Password incorrect".into()))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(auth: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        headers
    }

    #[test]
    fn the_header_wins_over_the_query() {
        let uri: Uri = "/api/v1/profile?access_token=query".parse().unwrap();
        assert_eq!(
            token_from(&headers("Bearer head"), &uri).as_deref(),
            Some("head")
        );
        assert_eq!(
            token_from(&headers("bearer head"), &uri).as_deref(),
            Some("head")
        );
        assert_eq!(
            token_from(&HeaderMap::new(), &uri).as_deref(),
            Some("query")
        );
        assert_eq!(
            token_from(&headers("Basic abc"), &uri),
            None,
            "API-NOTES 1.3"
        );
    }

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

    #[test]
    fn empty_tokens_are_missing_tokens() {
        let uri: Uri = "/api/v1/profile?access_token=".parse().unwrap();
        assert_eq!(token_from(&headers("Bearer "), &uri), None);
        assert_eq!(token_from(&HeaderMap::new(), &"/x".parse().unwrap()), None);
    }
}
