//! `POST /api/v1/auth/login`: boxd's API-level equivalent of Cloudron's OIDC login.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::now_ms;
use super::profile::two_factor_setup_required;
use crate::app::AppState;
use crate::auth::{
    self, CLIENT_WEBADMIN, LOGIN_TOKEN_LIFETIME_MS, Scope, TokenSpec, secrets, totp,
};
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
    /// boxd: true when the admin made 2FA mandatory and this user has not set it up yet; the
    /// login succeeds, and the client should lead the user to the 2FA setup.
    pub two_factor_authentication_setup_required: bool,
}

fn invalid_credentials(name: &str, ip: IpAddr) -> ApiError {
    let name: String = name.chars().take(64).collect();
    tracing::warn!(user.name = ?name, client.ip = %ip, "failed login for {name:?} from {ip}");
    ApiError::Unauthorized("Invalid credentials".into())
}

/// Log in with a password (and a TOTP code when 2FA is on) and get a session token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "Auth",
    request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "Wrong credentials or TOTP code", body = ErrorBody),
              (status = 429, description = "Too many failures; see Retry-After", body = ErrorBody)))]
pub async fn login(
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    // No username or email is this long; refusing it early keeps junk out of the throttle.
    if req.username.len() > 254 {
        return Err(ApiError::bad_request("username is too long"));
    }
    let found = store::users::find_for_login(&state.db, &req.username).await?;
    // Unknown names are throttled (and cost an argon2 run) like known ones: no enumeration.
    let account = match &found {
        Some((user, _)) => user.id.clone(),
        None => format!("login:{}", req.username.to_lowercase()),
    };
    let attempt = state.throttle.begin(ip, &account)?;
    let (user, hash) = found.map_or((None, None), |(user, hash)| (Some(user), Some(hash)));
    let password_ok = secrets::verify_password(req.password, hash).await?;
    let user = match user {
        Some(user) if password_ok && user.active => user,
        _ => return Err(invalid_credentials(&req.username, ip)),
    };

    let mut tx = store::begin_write(&state.db).await?;
    if user.totp_enabled {
        let code = req
            .totp_token
            .as_deref()
            .filter(|code| !code.trim().is_empty());
        let code =
            code.ok_or_else(|| ApiError::Unauthorized("A totpToken must be provided".into()))?;
        let secret = store::users::totp(&mut *tx, &user.id)
            .await?
            .and_then(|t| t.totp_secret);
        let step = match secret {
            Some(secret) => totp::check(&secret, code, Utc::now())?,
            None => None,
        };
        let accepted = match step {
            Some(step) => store::users::use_totp_step(&mut *tx, &user.id, step).await?,
            None => false,
        };
        if !accepted {
            tracing::warn!(user.id = %user.id, client.ip = %ip, "wrong or reused TOTP code from {ip}");
            return Err(ApiError::Unauthorized("Invalid totpToken".into()));
        }
    }
    state.throttle.succeeded(attempt);
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
        two_factor_authentication_setup_required: two_factor_setup_required(&state, &user).await?,
    }))
}
