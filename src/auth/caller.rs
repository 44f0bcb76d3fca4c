//! Who is calling: the token of a request, the caller the token layer found, and the
//! extractors that put a route's role requirement in its handler signature.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri, header};

use super::scope::Access;
use super::{Role, Scope};
use crate::error::ApiError;
use crate::eventlog::{Source, SourceUser};
use crate::store::users::UserRow;

/// The authenticated caller of a protected route.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: Arc<UserRow>,
    pub token_id: Arc<str>,
    /// `cid-webadmin` for a login session, `cid-sdk` for an API token.
    pub client_id: Arc<str>,
    /// When the caller's token expires, epoch milliseconds.
    pub expires: i64,
    pub scope: Arc<Scope>,
    /// The admin behind a session opened with a ghost password.
    pub impersonator: Option<Arc<SourceUser>>,
    pub ip: IpAddr,
}

impl Caller {
    /// For a GET that hands out a credential (an invite or reset link): a token that may only
    /// read `resource` is refused, as it would be for a change.
    pub fn ensure_may_write(&self, resource: &str) -> Result<(), ApiError> {
        match self.scope.access(resource) {
            Some(Access::ReadWrite) => Ok(()),
            _ => Err(ApiError::forbidden(
                "This token's scope does not allow this request",
            )),
        }
    }

    /// The eventlog source of what this caller does; in a ghost session it names the admin too.
    pub fn source(&self) -> Source {
        let impersonator = self.impersonator.as_deref().cloned();
        Source::session(&self.user, impersonator, self.ip)
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

fn require(caller: Caller, min: Role, what: &str) -> Result<Caller, ApiError> {
    if caller.user.role.at_least(min) {
        Ok(caller)
    } else {
        Err(ApiError::forbidden(format!("This needs the {what} role")))
    }
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr, $what:literal) => {
        $(#[$doc])*
        pub struct $name(pub Caller);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                let caller = Caller::from_request_parts(parts, state).await?;
                require(caller, $role, $what).map($name)
            }
        }
    };
}

role_extractor!(
    /// In a handler's arguments: the caller is at least a user manager.
    UserManager,
    Role::UserManager,
    "usermanager"
);
role_extractor!(
    /// In a handler's arguments: the caller is an admin or the owner.
    Admin,
    Role::Admin,
    "admin"
);

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

    #[test]
    fn empty_tokens_are_missing_tokens() {
        let uri: Uri = "/api/v1/profile?access_token=".parse().unwrap();
        assert_eq!(token_from(&headers("Bearer "), &uri), None);
        assert_eq!(token_from(&HeaderMap::new(), &"/x".parse().unwrap()), None);
    }
}
