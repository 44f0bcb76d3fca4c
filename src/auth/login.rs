//! Checking credentials: a login (password, then the TOTP code when 2FA is on) and the current
//! password before a credential change. Every check passes the brute-force throttle first.

use std::net::IpAddr;

use sqlx::SqlitePool;

use super::secrets::{self, HashError};
use super::throttle::{RateLimited, Throttle};
use super::totp;
use crate::store;
use crate::store::users::UserRow;

/// Why credentials were refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("Invalid credentials")]
    InvalidCredentials,
    #[error("A totpToken must be provided")]
    TotpRequired,
    #[error("Invalid totpToken")]
    InvalidTotp,
    /// Cloudron: a wrong *current* password is 412, not 401, so the session survives.
    #[error("Password incorrect")]
    WrongCurrentPassword,
    #[error(transparent)]
    RateLimited(#[from] RateLimited),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<HashError> for LoginError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy(busy) => Self::RateLimited(busy),
            HashError::Internal(err) => Self::Internal(err),
        }
    }
}

/// What a login names and proves.
pub struct Credentials<'a> {
    /// A username, or an email address.
    pub login: &'a str,
    pub password: String,
    /// The current TOTP code, for users with 2FA.
    pub totp: Option<&'a str>,
}

/// The active user these credentials prove, with the TOTP code (if 2FA is on) marked used.
/// Unknown names cost an argon2 run and count in the throttle like known ones: no enumeration.
pub async fn authenticate(
    db: &SqlitePool,
    throttle: &Throttle,
    ip: IpAddr,
    credentials: Credentials<'_>,
) -> Result<UserRow, LoginError> {
    let found = store::users::find_for_login(db, credentials.login).await?;
    let account = match &found {
        Some((user, _)) => user.id.clone(),
        None => format!("login:{}", credentials.login.to_lowercase()),
    };
    let attempt = throttle.begin(ip, &account)?;
    let (user, hash) = found.map_or((None, None), |(user, hash)| (Some(user), Some(hash)));
    let password_ok = secrets::verify_password(credentials.password, hash).await?;
    let user = match user {
        Some(user) if password_ok && user.active => user,
        _ => return Err(refused(credentials.login, ip)),
    };
    if user.totp_enabled {
        let code = credentials.totp.filter(|code| !code.trim().is_empty());
        let code = code.ok_or(LoginError::TotpRequired)?;
        let secret = store::users::totp(db, &user.id)
            .await?
            .and_then(|state| state.totp_secret);
        let accepted = match secret {
            Some(secret) => totp::accept(db, &user.id, &secret, code).await?,
            None => false,
        };
        if !accepted {
            tracing::warn!(user.id = %user.id, client.ip = %ip, "wrong or reused TOTP code from {ip}");
            return Err(LoginError::InvalidTotp);
        }
    }
    throttle.succeeded(attempt);
    Ok(user)
}

fn refused(login: &str, ip: IpAddr) -> LoginError {
    let name: String = login.chars().take(64).collect();
    tracing::warn!(user.name = ?name, client.ip = %ip, "failed login for {name:?} from {ip}");
    LoginError::InvalidCredentials
}

/// Checks a user's current password before a credential change.
pub async fn confirm_password(
    db: &SqlitePool,
    throttle: &Throttle,
    user_id: &str,
    ip: IpAddr,
    password: String,
) -> Result<(), LoginError> {
    let attempt = throttle.begin(ip, user_id)?;
    let hash = store::users::password_hash(db, user_id).await?;
    if secrets::verify_password(password, hash).await? {
        throttle.succeeded(attempt);
        Ok(())
    } else {
        tracing::warn!(user.id = %user_id, client.ip = %ip, "wrong current password from {ip}");
        Err(LoginError::WrongCurrentPassword)
    }
}
