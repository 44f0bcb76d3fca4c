//! `/api/v1/tokens`: the caller's API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Page, PageQuery};
use crate::auth::sessions::{self, ApiTokenRequest, Minter};
use crate::auth::{CLIENT_SDK, Caller, Scope};
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use crate::state::AppState;
use crate::store;
use crate::store::tokens::TokenRow;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    #[schema(example = "tid-f3694710-ec08-4352-b8bc-b094ae40a0f4")]
    pub id: String,
    pub name: String,
    /// The secret; only in the response of `POST /tokens` (boxd stores a hash of it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The id of the user the token belongs to.
    pub identifier: String,
    /// `cid-sdk` for API tokens, `cid-webadmin` for login sessions.
    pub client_id: String,
    /// Expiry, epoch milliseconds.
    pub expires: i64,
    /// When the token was last used, or null.
    pub last_used_at: Option<String>,
    pub scope: Scope,
}

impl Token {
    fn from_row(row: TokenRow, state: &AppState) -> Self {
        Self {
            last_used_at: state.last_used.get(&row.id).or(row.last_used_at),
            id: row.id,
            name: row.name,
            access_token: None,
            identifier: row.user_id,
            client_id: row.client_id,
            expires: row.expires,
            scope: row.scope.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<Token>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateTokenRequest {
    /// 1 to 64 characters.
    pub name: String,
    /// Expiry, epoch milliseconds in the future [default: one year from now].
    pub expires_at: Option<i64>,
    /// Map of `"*"` or a resource to `"r"` or `"rw"` [default: `{"*": "rw"}`]. It cannot be
    /// wider than the scope of the token making the request.
    #[schema(value_type = Option<Scope>)]
    pub scope: Option<serde_json::Value>,
}

/// List the caller's tokens, oldest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "Tokens", params(PageQuery),
    responses((status = 200, body = TokenList), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn list_tokens(
    caller: Caller,
    State(state): State<AppState>,
    page: Page,
) -> Result<Json<TokenList>, ApiError> {
    let rows = store::tokens::list_for_user(&state.db, &caller.user.id, page).await?;
    let tokens = rows
        .into_iter()
        .map(|row| Token::from_row(row, &state))
        .collect();
    Ok(Json(TokenList { tokens }))
}

/// Create an API token; its secret `accessToken` is shown only in this response.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "Tokens", request_body = CreateTokenRequest,
    responses((status = 200, body = Token), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "Read-only token, or a scope wider than the caller's", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn create_token(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> Result<Json<Token>, ApiError> {
    let minter = Minter {
        user_id: &caller.user.id,
        client_id: &caller.client_id,
        expires: caller.expires,
        scope: &caller.scope,
    };
    let request = ApiTokenRequest {
        name: &req.name,
        expires_at: req.expires_at,
        scope: req.scope.as_ref(),
    };
    let (issued, scope) = sessions::issue_api_token(&state.db, &minter, &request).await?;
    tracing::info!(user.id = %caller.user.id, token.id = %issued.id, "token {} created", issued.id);
    Ok(Json(Token {
        id: issued.id,
        name: req.name.trim().to_owned(),
        access_token: Some(issued.secret),
        identifier: caller.user.id.clone(),
        client_id: CLIENT_SDK.to_owned(),
        expires: issued.expires,
        last_used_at: None,
        scope,
    }))
}

/// Get one of the caller's tokens.
#[utoipa::path(get, path = "/api/v1/tokens/{tokenId}", tag = "Tokens",
    params(("tokenId" = String, Path, description = "Token id")),
    responses((status = 200, body = Token), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_token(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(token_id): ApiPath<String>,
) -> Result<Json<Token>, ApiError> {
    let row = store::tokens::get_for_user(&state.db, &caller.user.id, &token_id)
        .await?
        .ok_or(ApiError::NotFound("token"))?;
    Ok(Json(Token::from_row(row, &state)))
}

/// Delete one of the caller's tokens; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{tokenId}", tag = "Tokens",
    params(("tokenId" = String, Path, description = "Token id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn delete_token(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(token_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if !sessions::revoke_token(&state.db, &state.auth_cache, &caller.user.id, &token_id).await? {
        return Err(ApiError::NotFound("token"));
    }
    tracing::info!(user.id = %caller.user.id, token.id = %token_id, "token {token_id} deleted");
    Ok(StatusCode::NO_CONTENT)
}
