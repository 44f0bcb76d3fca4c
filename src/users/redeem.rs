//! Using a link (public, throttled like login): setting up an invited account, or choosing a new
//! password with a reset link. Either sets the password once, ends the user's login sessions and
//! opens a new one, as a login does.

use std::net::IpAddr;

use serde_json::json;
use sqlx::{Sqlite, Transaction};

use super::links::Links;
use super::rules::{self, duplicate_to_conflict};
use super::{UserError, record_update, reload};
use crate::auth::login::{self, LoginError};
use crate::auth::sessions::{self, IssuedToken};
use crate::auth::{CLIENT_WEBADMIN, secrets};
use crate::eventlog::{self, Action, Source};
use crate::store;
use crate::store::account_tokens::Purpose;
use crate::store::users::{ProfileChange, UserRow};

const INVITE_INVALID: &str = "This invite link is invalid, used or expired";
const RESET_INVALID: &str = "This password reset link is invalid, used or expired";

/// What an invited user sends to set up the account.
pub struct AccountSetup {
    pub invite_token: String,
    pub password: String,
    /// Required when the user has no username yet; otherwise it must be the same.
    pub username: Option<String>,
    pub display_name: Option<String>,
}

/// What a user sends with a reset link.
pub struct PasswordReset {
    pub reset_token: String,
    pub password: String,
    /// The current TOTP code, for users with 2FA.
    pub totp_token: Option<String>,
}

/// The user and the session a used link opened.
pub struct Redeemed {
    pub user: UserRow,
    pub session: IssuedToken,
}

/// The throttle's account for a link: the secret's hash, so unknown links cannot lock out
/// known ones.
fn throttle_key(hash: &[u8; 32]) -> String {
    format!("link:{}", hex::encode(&hash[..8]))
}

/// Sets up an invited account: username (if it had none), display name, password; the invite
/// is accepted, and a session opens.
pub async fn setup_account(
    links: &Links,
    ip: IpAddr,
    setup: AccountSetup,
) -> Result<Redeemed, UserError> {
    rules::validate_password(&setup.password)?;
    let username = match setup.username.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) => Some(rules::normalize_username(name)?),
    };
    if let Some(name) = &setup.display_name {
        rules::validate_display_name(name)?;
    }
    let hash = secrets::token_hash(&setup.invite_token);
    let attempt = links.throttle.begin(ip, &throttle_key(&hash))?;
    let now = links.now_ms();
    store::account_tokens::find_user(&links.db, &hash, Purpose::Invite, now)
        .await?
        .ok_or(UserError::BadLink(INVITE_INVALID))?;
    let password_hash = secrets::hash_password(setup.password).await?;
    let mut tx = store::begin_write(&links.db).await?;
    let user = take(&mut tx, &hash, Purpose::Invite, now, INVITE_INVALID).await?;
    let username = match (&user.username, username) {
        (Some(current), Some(new)) if *current != new => {
            return Err(UserError::Conflict(
                "The username cannot be changed once set".into(),
            ));
        }
        (None, None) => return Err(UserError::Invalid("username is required".into())),
        (None, new) => new,
        (Some(_), _) => None,
    };
    let change = ProfileChange {
        username: username.as_deref(),
        display_name: setup.display_name.as_deref(),
        ..ProfileChange::default()
    };
    store::users::update_profile(&mut *tx, &user.id, &change)
        .await
        .map_err(duplicate_to_conflict)?;
    store::users::set_password_hash(&mut *tx, &user.id, &password_hash).await?;
    store::users::accept_invite(&mut *tx, &user.id).await?;
    let redeemed = finish(&mut tx, &user.id, ip, json!({ "inviteAccepted": true })).await?;
    tx.commit().await?;
    links.sessions.invalidate_user(&redeemed.user.id);
    links.throttle.succeeded(attempt);
    Ok(redeemed)
}

/// Sets a new password with a reset link (and the TOTP code, for users with 2FA); all the
/// user's login sessions end, and a new one opens.
pub async fn reset_forgotten_password(
    links: &Links,
    ip: IpAddr,
    reset: PasswordReset,
) -> Result<Redeemed, UserError> {
    rules::validate_password(&reset.password)?;
    let hash = secrets::token_hash(&reset.reset_token);
    let attempt = links.throttle.begin(ip, &throttle_key(&hash))?;
    let now = links.now_ms();
    let user_id = store::account_tokens::find_user(&links.db, &hash, Purpose::Reset, now)
        .await?
        .ok_or(UserError::BadLink(RESET_INVALID))?;
    let user = store::users::find_by_id(&links.db, &user_id)
        .await?
        .ok_or(UserError::BadLink(RESET_INVALID))?;
    if user.totp_enabled {
        let code = reset.totp_token.as_deref().map(str::trim);
        let code = code.filter(|code| !code.is_empty());
        let code = code.ok_or(LoginError::TotpRequired)?;
        login::accept_code(&links.db, &links.throttle, &user, code, ip).await?;
    }
    let password_hash = secrets::hash_password(reset.password).await?;
    let mut tx = store::begin_write(&links.db).await?;
    let user = take(&mut tx, &hash, Purpose::Reset, now, RESET_INVALID).await?;
    store::users::set_password_hash(&mut *tx, &user.id, &password_hash).await?;
    store::tokens::delete_for_client(&mut *tx, &user.id, CLIENT_WEBADMIN, None).await?;
    let redeemed = finish(&mut tx, &user.id, ip, json!({ "passwordChanged": true })).await?;
    tx.commit().await?;
    links.sessions.invalidate_user(&redeemed.user.id);
    links.throttle.succeeded(attempt);
    Ok(redeemed)
}

/// Uses the link up inside `tx` (of two concurrent uses, one gets through): its active user.
async fn take(
    tx: &mut Transaction<'static, Sqlite>,
    hash: &[u8; 32],
    purpose: Purpose,
    now: i64,
    invalid: &'static str,
) -> Result<UserRow, UserError> {
    let user_id = store::account_tokens::take(&mut **tx, hash, purpose, now)
        .await?
        .ok_or(UserError::BadLink(invalid))?;
    let user = reload(tx, &user_id).await?;
    if !user.active {
        return Err(UserError::BadLink(invalid));
    }
    Ok(user)
}

/// `user.update` with `changed`, and the new session with its `user.login`.
async fn finish(
    tx: &mut Transaction<'static, Sqlite>,
    user_id: &str,
    ip: IpAddr,
    changed: serde_json::Value,
) -> Result<Redeemed, UserError> {
    let user = reload(tx, user_id).await?;
    let source = Source::user(&user, ip);
    record_update(tx, &user, &source, changed).await?;
    let session = sessions::issue_login_session(&mut **tx, &user.id, "login").await?;
    let data = json!({ "userId": user.id, "user": eventlog::public_user(&user) });
    eventlog::record(&mut **tx, Action::UserLogin, &source, data).await?;
    Ok(Redeemed { user, session })
}
