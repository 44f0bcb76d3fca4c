//! The token layer in front of every protected route.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::{Caller, secrets, token_from};
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::network::ClientIp;
use crate::state::AppState;
use crate::store;

/// 401 without a live token of an active user; 403 when the token's scope does not cover this
/// method and resource. Leaves the [`Caller`] in the request for the extractors.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let secret = token_from(req.headers(), req.uri()).ok_or_else(ApiError::unauthorized)?;
    let hash = secrets::token_hash(&secret);
    let found = store::tokens::find_with_user(&state.db, &hash, now_ms())
        .await?
        .filter(|found| secrets::hashes_equal(&found.token_hash, &hash))
        .ok_or_else(ApiError::unauthorized)?;
    let scope = found.token_scope.0;
    if !scope.allows(req.method(), req.uri().path()) {
        return Err(ApiError::forbidden(
            "This token's scope does not allow this request",
        ));
    }
    state.last_used.touch(&found.token_id);
    let ClientIp(ip) = req.extensions().get::<ClientIp>().copied().ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "the network layer must run before the token layer"
        ))
    })?;
    req.extensions_mut().insert(Caller {
        user: found.user,
        token_id: found.token_id,
        client_id: found.token_client_id,
        expires: found.token_expires,
        scope,
        ip,
    });
    Ok(next.run(req).await)
}
