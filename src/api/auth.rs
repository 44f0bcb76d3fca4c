//! `POST /api/v1/auth/login`: boxd's API-level equivalent of Cloudron's OIDC login.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::now_ms;
use crate::app::AppState;
use crate::auth::{self, CLIENT_WEBADMIN, LOGIN_TOKEN_LIFETIME_MS, Scope, TokenSpec, secrets};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::eventlog::{self, Action, Source};
use crate::network::ClientIp;
use crate::store;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// A username, or the user's email address.
    pub username: String,
    pub password: String,
    /// The current TOTP code, when the user has two-factor authentication on.
    pub totp_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// A read-write token (`clientId` `cid-webadmin`), valid for 7 days.
    pub access_token: String,
    /// Expiry of the token, epoch milliseconds.
    pub expires: i64,
}

/// Log in with a password and get a session token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "Auth",
    request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "Wrong credentials", body = ErrorBody)))]
pub async fn login(
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let found = store::users::find_for_login(&state.db, &req.username).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let password_ok = secrets::verify_password(req.password, hash).await?;
    let user = match user {
        Some(user) if password_ok && user.active => user,
        _ => {
            let name = &req.username;
            tracing::warn!(user.name = ?name, client.ip = %ip, "failed login for {name:?} from {ip}");
            return Err(ApiError::Unauthorized("Invalid credentials".into()));
        }
    };

    let mut tx = store::begin_write(&state.db).await?;
    let expires = now_ms() + LOGIN_TOKEN_LIFETIME_MS;
    let spec = TokenSpec {
        user_id: &user.id,
        name: "login",
        client_id: CLIENT_WEBADMIN,
        scope: &Scope::full(),
        expires,
    };
    let token = auth::issue_token(&mut *tx, &spec).await?;
    let data = json!({ "userId": user.id, "user": eventlog::public_user(&user) });
    eventlog::record(&mut *tx, Action::UserLogin, &Source::user(&user, ip), data).await?;
    tx.commit().await?;
    Ok(Json(LoginResponse {
        access_token: token.secret,
        expires,
    }))
}
