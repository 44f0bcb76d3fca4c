//! The token layer in front of every protected route.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use std::sync::Arc;

use super::cache::CachedToken;
use super::{Caller, secrets, token_from};
use crate::error::ApiError;
use crate::eventlog::SourceUser;
use crate::network::ClientIp;
use crate::state::AppState;
use crate::{store, telemetry};

/// 401 without a live token of an active user; 403 when the token's scope does not cover this
/// method and resource. Leaves the [`Caller`] in the request for the extractors.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let secret = token_from(req.headers(), req.uri()).ok_or_else(ApiError::unauthorized)?;
    let hash = secrets::token_hash(&secret);
    let now = state.config.clock.now().timestamp_millis();
    let cached = state.auth_cache.get(&hash);
    telemetry::metrics::auth_cache_lookup(cached.is_some());
    let token = match cached {
        Some(token) => token,
        None => lookup(&state, hash, now).await?,
    };
    // Cached tokens expire too: checked on every request.
    if token.expires <= now {
        return Err(ApiError::unauthorized());
    }
    if !token.scope.allows(req.method(), req.uri().path()) {
        return Err(ApiError::forbidden(
            "This token's scope does not allow this request",
        ));
    }
    state.last_used.touch(&token.token_id);
    let ClientIp(ip) = req.extensions().get::<ClientIp>().copied().ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "the network layer must run before the token layer"
        ))
    })?;
    req.extensions_mut().insert(Caller {
        user: token.user,
        token_id: token.token_id,
        client_id: token.client_id,
        expires: token.expires,
        scope: token.scope,
        impersonator: token.impersonator,
        ip,
    });
    Ok(next.run(req).await)
}

/// A cache miss: the store, then the cache (unless something changed meanwhile).
async fn lookup(state: &AppState, hash: [u8; 32], now: i64) -> Result<CachedToken, ApiError> {
    let generation = state.auth_cache.generation();
    let found = store::tokens::find_with_user(&state.db, &hash, now)
        .await?
        .filter(|found| secrets::hashes_equal(&found.token_hash, &hash))
        .ok_or_else(ApiError::unauthorized)?;
    let token = CachedToken {
        token_id: found.token_id.into(),
        client_id: found.token_client_id.into(),
        expires: found.token_expires,
        scope: Arc::new(found.token_scope.0),
        user: Arc::new(found.user),
        impersonator: found.impersonator_id.map(|user_id| {
            Arc::new(SourceUser {
                user_id,
                username: found.impersonator_username,
            })
        }),
    };
    state.auth_cache.insert(hash, token.clone(), generation);
    Ok(token)
}
