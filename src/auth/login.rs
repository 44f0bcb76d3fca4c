//! Checking credentials: a login (password, then the TOTP code when 2FA is on) and the current
//! password before a credential change. Every check passes the brute-force throttle first.

use std::net::IpAddr;

use sqlx::SqlitePool;

use super::secrets::{self, HashError};
use super::throttle::{RateLimited, Throttle};
use super::totp;
use crate::store::users::UserRow;
use crate::{store, telemetry};

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
        accept_code(db, &user, code, ip).await?;
    }
    throttle.succeeded(attempt);
    Ok(user)
}

/// The current TOTP code of a user with 2FA, accepted once.
async fn accept_code(
    db: &SqlitePool,
    user: &UserRow,
    code: &str,
    ip: IpAddr,
) -> Result<(), LoginError> {
    let secret = store::users::totp(db, &user.id)
        .await?
        .and_then(|state| state.totp_secret);
    let accepted = match secret {
        Some(secret) => totp::accept(db, &user.id, &secret, code).await?,
        None => false,
    };
    if !accepted {
        telemetry::metrics::login_failed("totp");
        tracing::warn!(user.id = %user.id, client.ip = %ip, "wrong or reused TOTP code from {ip}");
        return Err(LoginError::InvalidTotp);
    }
    Ok(())
}

/// The digits of a TOTP code, which apps send after the password.
const CODE_DIGITS: usize = 6;

/// The active user an app's sign-in proves (the directory server's user bind). `login` is a
/// user id, username or email; `secret` is one of the user's app passwords, or the password,
/// followed by the current TOTP code when the user has 2FA (the code is then used up).
/// As for [`authenticate`], every failure costs an argon2 run and counts in the throttle.
pub async fn authenticate_app(
    db: &SqlitePool,
    throttle: &Throttle,
    ip: IpAddr,
    login: &str,
    secret: String,
) -> Result<UserRow, LoginError> {
    let found = if login.starts_with("uid-") {
        store::users::find_by_id_for_login(db, login).await?
    } else {
        store::users::find_for_login(db, login).await?
    };
    let account = match &found {
        Some((user, _)) => user.id.clone(),
        None => format!("login:{}", login.to_lowercase()),
    };
    let attempt = throttle.begin(ip, &account)?;
    let (user, hash) = found.map_or((None, None), |(user, hash)| (Some(user), Some(hash)));
    let owner = user.as_ref().map_or("", |user| user.id.as_str());
    let app_password =
        store::app_passwords::user_has(db, owner, &secrets::token_hash(&secret)).await?;
    if let Some(user) = user.as_ref().filter(|user| app_password && user.active) {
        throttle.succeeded(attempt);
        return Ok(user.clone());
    }
    let two_factor = user.as_ref().is_some_and(|user| user.totp_enabled);
    let (password, code) = if two_factor {
        split_code(secret)
    } else {
        (secret, None)
    };
    let password_ok = secrets::verify_password(password, hash).await?;
    let user = match user {
        Some(user) if password_ok && user.active => user,
        _ => return Err(refused(login, ip)),
    };
    if two_factor {
        accept_code(db, &user, &code.ok_or(LoginError::TotpRequired)?, ip).await?;
    }
    throttle.succeeded(attempt);
    Ok(user)
}

/// A password followed by a TOTP code: the two apart, if the secret ends in six digits.
fn split_code(secret: String) -> (String, Option<String>) {
    let digits = secret.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits < CODE_DIGITS || secret.len() == CODE_DIGITS {
        return (secret, None);
    }
    let mut password = secret;
    let code = password.split_off(password.len() - CODE_DIGITS);
    (password, Some(code))
}

fn refused(login: &str, ip: IpAddr) -> LoginError {
    telemetry::metrics::login_failed("password");
    // Escaped, so a name cannot forge a log line, yet without quotes around it in JSON.
    let name: String = login.chars().take(64).collect();
    let name = name.escape_debug();
    tracing::warn!(user.name = %name, client.ip = %ip, "failed login for \"{name}\" from {ip}");
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
        telemetry::metrics::login_failed("current_password");
        tracing::warn!(user.id = %user_id, client.ip = %ip, "wrong current password from {ip}");
        Err(LoginError::WrongCurrentPassword)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_split_off_the_end_of_the_password() {
        let split = |s: &str| split_code(s.to_owned());
        assert_eq!(
            split("hunter2 pw123456"),
            ("hunter2 pw".into(), Some("123456".into()))
        );
        assert_eq!(split("pw9123456"), ("pw9".into(), Some("123456".into())));
        assert_eq!(split("password12345"), ("password12345".into(), None));
        assert_eq!(split("123456"), ("123456".into(), None));
        assert_eq!(
            split("pässwort123456"),
            ("pässwort".into(), Some("123456".into()))
        );
    }
}
