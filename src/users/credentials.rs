//! Changing credentials: passwords and TOTP two-factor authentication. A new password ends the
//! user's login sessions; API tokens (made on purpose, for scripts) stay.

use std::net::IpAddr;

use serde_json::json;

use super::rules::{self, ensure_outranks};
use super::{Accounts, Actor, UserError, manageable, not_yourself, record_update};
use crate::auth::throttle::Throttle;
use crate::auth::{CLIENT_WEBADMIN, login, secrets};
use crate::eventlog::Source;
use crate::store;
use crate::store::users::UserRow;

/// A user manager sets the password of a user of a lower role; all their login sessions end.
/// Your own password needs your current one: [`change_password`].
pub async fn set_password(
    accounts: Accounts<'_>,
    by: &Actor<'_>,
    user_id: &str,
    password: String,
) -> Result<(), UserError> {
    rules::validate_password(&password)?;
    let hash = secrets::hash_password(password).await?;
    let mut tx = store::begin_write(accounts.db).await?;
    let target = manageable(&mut tx, by.user, user_id).await?;
    not_yourself(
        by.user,
        &target,
        "Use /api/v1/profile/password to change your own password",
    )?;
    ensure_outranks(by.user, &target)?;
    rules::ensure_local_password(&target)?;
    store::users::set_password_hash(&mut *tx, &target.id, &hash).await?;
    store::tokens::delete_for_client(&mut *tx, &target.id, CLIENT_WEBADMIN, None).await?;
    let changed = json!({ "passwordChanged": true });
    record_update(&mut tx, &target, &by.source, changed).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(&target.id);
    Ok(())
}

/// The user's own new password (the caller confirmed the current one); their other login
/// sessions end, `keep_token` (the one making the change) stays. Returns how many ended.
pub async fn change_password(
    accounts: Accounts<'_>,
    user: &UserRow,
    source: &Source,
    new_password: String,
    keep_token: &str,
) -> Result<u64, UserError> {
    rules::validate_password(&new_password)?;
    let hash = secrets::hash_password(new_password).await?;
    let mut tx = store::begin_write(accounts.db).await?;
    store::users::set_password_hash(&mut *tx, &user.id, &hash).await?;
    let ended =
        store::tokens::delete_for_client(&mut *tx, &user.id, CLIENT_WEBADMIN, Some(keep_token))
            .await?;
    record_update(&mut tx, user, source, json!({ "passwordChanged": true })).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(&user.id);
    Ok(ended)
}

/// The operator's reset (`boxd admin reset-password`): sets the password and ends the user's
/// login sessions.
pub async fn reset_password(
    accounts: Accounts<'_>,
    user_id: &str,
    password: String,
) -> Result<(), UserError> {
    rules::validate_password(&password)?;
    let hash = secrets::hash_password(password).await?;
    let mut tx = store::begin_write(accounts.db).await?;
    store::users::set_password_hash(&mut *tx, user_id, &hash).await?;
    store::tokens::delete_for_client(&mut *tx, user_id, CLIENT_WEBADMIN, None).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(user_id);
    Ok(())
}

/// The session that turns 2FA on, and where it comes from.
pub struct Session<'a> {
    pub token_id: &'a str,
    pub ip: IpAddr,
    pub source: Source,
}

/// Turns 2FA on with a code of the secret made before; wrong codes count against the user like
/// wrong passwords. Only the secret the code was checked against is enabled. The user's other
/// login sessions end, as after a password change: they were opened without the second factor.
pub async fn enable_two_factor(
    accounts: Accounts<'_>,
    throttle: &Throttle,
    user: &UserRow,
    session: &Session<'_>,
    code: &str,
) -> Result<(), UserError> {
    let (ip, source) = (session.ip, &session.source);
    if code.trim().is_empty() {
        return Err(UserError::Invalid("totpToken must not be empty".into()));
    }
    let attempt = throttle.begin(ip, &user.id)?;
    let current = store::users::totp(accounts.db, &user.id)
        .await?
        .ok_or(UserError::NotFound)?;
    let secret = current.totp_secret.ok_or(UserError::WrongCode)?;
    let mut tx = store::begin_write(accounts.db).await?;
    // Cloudron checks the code before the enabled flag: a bad code is 412 even when enabled.
    if !login::check_code(&mut *tx, throttle, &user.id, &secret, code).await? {
        return Err(UserError::WrongCode);
    }
    throttle.succeeded(attempt);
    if current.totp_enabled {
        return Err(UserError::Conflict(
            "TwoFactor Authentication is already enabled".into(),
        ));
    }
    // A concurrent new secret wins: the code was not checked against it.
    if !store::users::enable_totp(&mut *tx, &user.id, &secret).await? {
        return Err(UserError::Conflict(
            "The secret changed meanwhile; scan the new QR code".into(),
        ));
    }
    store::tokens::delete_for_client(&mut *tx, &user.id, CLIENT_WEBADMIN, Some(session.token_id))
        .await?;
    let changed = json!({ "twoFactorAuthenticationEnabled": true });
    record_update(&mut tx, user, source, changed).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(&user.id);
    Ok(())
}

/// Turns the user's own 2FA off (the caller confirmed the password); the secret is deleted.
pub async fn disable_two_factor(
    accounts: Accounts<'_>,
    user: &UserRow,
    source: &Source,
) -> Result<(), UserError> {
    let mut tx = store::begin_write(accounts.db).await?;
    store::users::disable_totp(&mut *tx, &user.id).await?;
    let changed = json!({ "twoFactorAuthenticationEnabled": false });
    record_update(&mut tx, user, source, changed).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(&user.id);
    Ok(())
}

/// A user manager turns off the 2FA of a user of a lower role (one who lost their device).
pub async fn disable_two_factor_of(
    accounts: Accounts<'_>,
    by: &Actor<'_>,
    user_id: &str,
) -> Result<(), UserError> {
    let mut tx = store::begin_write(accounts.db).await?;
    let target = manageable(&mut tx, by.user, user_id).await?;
    not_yourself(
        by.user,
        &target,
        "Use /api/v1/profile/twofactorauthentication_disable for yourself",
    )?;
    ensure_outranks(by.user, &target)?;
    store::users::disable_totp(&mut *tx, &target.id).await?;
    let user = super::reload(&mut tx, &target.id).await?;
    let changed = json!({ "twoFactorAuthenticationEnabled": false });
    record_update(&mut tx, &user, &by.source, changed).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(&target.id);
    Ok(())
}
