//! `/.well-known/acme-challenge/{token}`: the HTTP-01 answers of pending certificate orders.
//! Public and outside `/api/v1` (the ACME server asks on port 80, through the proxy); the
//! blocklist still applies. Not part of the documented API.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;

use crate::error::ApiError;
use crate::state::AppState;

/// The key authorization for `token` as `text/plain`; 404 unless an order is waiting for it.
pub async fn get_acme_challenge(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let answer = state
        .certs
        .challenges
        .key_authorization(&token)
        .ok_or(ApiError::NotFound("challenge"))?;
    Ok(([(header::CONTENT_TYPE, "text/plain")], answer))
}
