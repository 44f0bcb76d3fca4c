//! Checking credentials: a login (password, then the TOTP code when 2FA is on) and the current
//! password before a credential change. Every check passes the brute-force throttle first.
//! Users of the external directory (`source` `ldap`) have their password checked there, by a
//! bind as their entry; the rest is the same for them.

use std::net::IpAddr;

use serde_json::json;
use sqlx::SqlitePool;

use super::secrets::{self, HashError};
use super::sessions::{self, IssuedToken};
use super::throttle::{RateLimited, Throttle};
use super::totp;
use crate::eventlog::{self, Action, Source, SourceUser};
use crate::external_ldap::{self, ExternalLdap, ExternalLdapError};
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
    /// The external directory, where the user's password is, cannot be asked now.
    #[error("The external directory cannot be reached; try again later")]
    DirectoryUnavailable,
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

/// Where credentials are checked: the store, the throttle, and the external directory of the
/// users it brought.
#[derive(Clone, Copy)]
pub struct Verifier<'a> {
    pub db: &'a SqlitePool,
    pub throttle: &'a Throttle,
    pub directory: &'a ExternalLdap,
}

impl Verifier<'_> {
    /// Whether `password` is `user`'s: by argon2 against `hash` (with no user, still the same
    /// work), or, for a user of the external directory, by a bind as their entry there.
    async fn password_matches(
        &self,
        user: Option<&UserRow>,
        hash: Option<String>,
        password: String,
    ) -> Result<bool, LoginError> {
        let Some(user) = user.filter(|user| user.source == external_ldap::SOURCE) else {
            return Ok(secrets::verify_password(password, hash).await?);
        };
        let Some(username) = user.username.as_deref().filter(|_| user.active) else {
            return Ok(false);
        };
        match self.directory.check_password(username, &password).await {
            Ok(matches) => Ok(matches),
            Err(ExternalLdapError::Internal(err)) => Err(LoginError::Internal(err)),
            Err(err) => {
                tracing::warn!(user.id = %user.id, error = %err, "cannot check the password of {username} in the external directory: {err}");
                Err(LoginError::DirectoryUnavailable)
            }
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

/// Who a login proved.
pub struct Authenticated {
    pub user: UserRow,
    /// Set when the password was a ghost password an admin gave.
    pub ghost: Option<GhostLogin>,
}

/// A login with a ghost password.
pub struct GhostLogin {
    /// The admin who set it.
    pub admin_id: String,
    /// When the ghost password would have expired: its session ends then.
    pub expires: i64,
}

/// The active user these credentials prove, with the TOTP code (if 2FA is on) marked used.
/// Unknown names cost an argon2 run and count in the throttle like known ones: no enumeration.
/// A ghost password live at `now_ms` proves the user too, once, without a TOTP code.
pub async fn authenticate(
    verifier: Verifier<'_>,
    ip: IpAddr,
    credentials: Credentials<'_>,
    now_ms: i64,
) -> Result<Authenticated, LoginError> {
    let found = store::users::find_for_login(verifier.db, credentials.login).await?;
    let account = match &found {
        Some((user, _)) => user.id.clone(),
        None => format!("login:{}", credentials.login.to_lowercase()),
    };
    let attempt = verifier.throttle.begin(ip, &account)?;
    let (user, hash) = found.map_or((None, None), |(user, hash)| (Some(user), Some(hash)));
    let password_ok = verifier
        .password_matches(user.as_ref(), hash, credentials.password.clone())
        .await?;
    let user = match user {
        Some(user) if user.active => user,
        _ => return Err(refused(credentials.login, ip)),
    };
    if !password_ok {
        // Cloudron: a ghost login skips 2FA (the admin does not hold the user's device).
        let ghost = ghost_login(verifier.db, &user, credentials.password, now_ms).await?;
        let ghost = ghost.ok_or_else(|| refused(credentials.login, ip))?;
        verifier.throttle.succeeded(attempt);
        tracing::warn!(user.id = %user.id, admin.id = %ghost.admin_id, client.ip = %ip,
            "{} logged in as {} with a ghost password", ghost.admin_id, user.id);
        return Ok(Authenticated {
            user,
            ghost: Some(ghost),
        });
    }
    if user.totp_enabled {
        let code = credentials.totp.filter(|code| !code.trim().is_empty());
        let code = code.ok_or(LoginError::TotpRequired)?;
        accept_code(verifier.db, verifier.throttle, &user, code, ip).await?;
    }
    verifier.throttle.succeeded(attempt);
    Ok(Authenticated { user, ghost: None })
}
/// The user's live ghost password, if `password` is it; it is used up (it works once).
async fn ghost_login(
    db: &SqlitePool,
    user: &UserRow,
    password: String,
    now_ms: i64,
) -> Result<Option<GhostLogin>, LoginError> {
    let Some(ghost) = store::ghosts::live(db, &user.id, now_ms).await? else {
        return Ok(None);
    };
    let hash = ghost.password_hash;
    if !secrets::verify_password(password, Some(hash.clone())).await? {
        return Ok(None);
    }
    // Of two logins with it at once, one gets in.
    if !store::ghosts::take(db, &user.id, &hash).await? {
        return Ok(None);
    }
    Ok(Some(GhostLogin {
        admin_id: ghost.created_by,
        expires: ghost.expires,
    }))
}

/// The session a login opens, recorded as `user.login`; a ghost login's session ends when the
/// ghost password would have, and is recorded as `user.login.ghost` with the admin in the source.
pub async fn open_session(
    db: &SqlitePool,
    login: &Authenticated,
    ip: IpAddr,
) -> Result<IssuedToken, LoginError> {
    let user = &login.user;
    let mut tx = store::begin_write(db).await?;
    let (session, action, source) = match &login.ghost {
        None => (
            sessions::issue_login_session(&mut *tx, &user.id, "login").await?,
            Action::UserLogin,
            Source::user(user, ip),
        ),
        Some(ghost) => {
            let admin = store::users::find_by_id(&mut *tx, &ghost.admin_id).await?;
            let impersonator = admin.map(|admin| SourceUser {
                user_id: admin.id,
                username: admin.username,
            });
            let session =
                sessions::issue_ghost_session(&mut *tx, &user.id, &ghost.admin_id, ghost.expires)
                    .await?;
            let source = Source::session(user, impersonator, ip);
            (session, Action::UserLoginGhost, source)
        }
    };
    let data = json!({ "userId": user.id, "user": eventlog::public_user(user) });
    eventlog::record(&mut *tx, action, &source, data).await?;
    tx.commit().await?;
    Ok(session)
}

/// The current TOTP code of a user with 2FA, accepted once.
pub async fn accept_code(
    db: &SqlitePool,
    throttle: &Throttle,
    user: &UserRow,
    code: &str,
    ip: IpAddr,
) -> Result<(), LoginError> {
    let secret = store::users::totp(db, &user.id)
        .await?
        .and_then(|state| state.totp_secret);
    let accepted = match secret {
        Some(secret) => check_code(db, throttle, &user.id, &secret, code).await?,
        None => false,
    };
    if !accepted {
        telemetry::metrics::login_failed("totp");
        tracing::warn!(user.id = %user.id, client.ip = %ip, "wrong or reused TOTP code from {ip}");
        return Err(LoginError::InvalidTotp);
    }
    Ok(())
}

/// Whether `code` is a current, unused code of `secret` (see [`totp::accept`]), within the
/// account's budget of wrong codes.
pub async fn check_code(
    db: impl sqlx::SqliteExecutor<'_>,
    throttle: &Throttle,
    user_id: &str,
    secret: &str,
    code: &str,
) -> Result<bool, LoginError> {
    let attempt = throttle.begin_code(user_id)?;
    let accepted = totp::accept(db, user_id, secret, code).await?;
    if accepted {
        throttle.code_succeeded(attempt);
    }
    Ok(accepted)
}

/// The digits of a TOTP code, which apps send after the password.
const CODE_DIGITS: usize = 6;

/// The active user an app's sign-in proves (the directory server's user bind). `login` is a
/// user id, username or email; `secret` is one of the user's app passwords, or the password,
/// followed by the current TOTP code when the user has 2FA (the code is then used up).
/// As for [`authenticate`], every failure costs an argon2 run and counts in the throttle.
pub async fn authenticate_app(
    verifier: Verifier<'_>,
    ip: IpAddr,
    login: &str,
    secret: String,
) -> Result<UserRow, LoginError> {
    let Verifier { db, throttle, .. } = verifier;
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
    let password_ok = verifier
        .password_matches(user.as_ref(), hash, password)
        .await?;
    let user = match user {
        Some(user) if password_ok && user.active => user,
        _ => return Err(refused(login, ip)),
    };
    if two_factor {
        let code = code.ok_or(LoginError::TotpRequired)?;
        accept_code(db, throttle, &user, &code, ip).await?;
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
    verifier: Verifier<'_>,
    user: &UserRow,
    ip: IpAddr,
    password: String,
) -> Result<(), LoginError> {
    let attempt = verifier.throttle.begin(ip, &user.id)?;
    let hash = store::users::password_hash(verifier.db, &user.id).await?;
    if verifier
        .password_matches(Some(user), hash, password)
        .await?
    {
        verifier.throttle.succeeded(attempt);
        Ok(())
    } else {
        telemetry::metrics::login_failed("current_password");
        tracing::warn!(user.id = %user.id, client.ip = %ip, "wrong current password from {ip}");
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
