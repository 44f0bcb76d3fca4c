//! Accounts: the rules of users ([`rules`]) and one function per account change. Each change
//! checks who may make it, writes the store, records its event and notification, all in one
//! transaction. The users API, activation, the profile routes and the operator CLI call these.

mod changes;
mod credentials;
mod directory;
mod ghost;
pub mod links;
mod redeem;
pub mod rules;

pub use changes::*;
pub use credentials::*;
pub use directory::*;
pub use ghost::*;
pub use links::{Delivery, Links};
pub use redeem::*;
pub use rules::ProfileEdit;

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::auth::cache::AuthCache;
use crate::auth::login::LoginError;
use crate::auth::secrets::HashError;
use crate::auth::throttle::RateLimited;
use crate::error::Invalid;
use crate::eventlog::{self, Action, Source};
use crate::mail::MailError;
use crate::settings::{ProfileConfig, Settings};
use crate::store;
use crate::store::Page;
use crate::store::users::UserRow;

/// Why an account change was refused.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error("No such user")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// Cloudron: a second activation is 409 "Already setup".
    #[error("Already setup")]
    AlreadySetup,
    /// A TOTP code that does not match the secret being enabled.
    #[error("Invalid token")]
    WrongCode,
    /// An invite or reset link that is unknown, used up or expired.
    #[error("{0}")]
    BadLink(&'static str),
    #[error(transparent)]
    Mail(#[from] MailError),
    /// A credential check failed or was throttled.
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Invalid> for UserError {
    fn from(Invalid(message): Invalid) -> Self {
        Self::Invalid(message)
    }
}

impl From<HashError> for UserError {
    fn from(err: HashError) -> Self {
        Self::Login(err.into())
    }
}

impl From<RateLimited> for UserError {
    fn from(limited: RateLimited) -> Self {
        Self::Login(limited.into())
    }
}

/// Whether the owner exists. Activation is for good (nobody can remove the owner), so once the
/// store says yes, the answer comes from memory.
#[derive(Debug, Default)]
pub struct Activation {
    done: AtomicBool,
}

impl Activation {
    pub async fn is_done(&self, db: &SqlitePool) -> sqlx::Result<bool> {
        if self.done.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let done = store::users::owner_exists(db).await?;
        if done {
            self.done.store(true, Ordering::Relaxed);
        }
        Ok(done)
    }
}

/// Where account changes go: the store, and the authentication cache, which each change
/// invalidates for the users it touched right after its commit.
#[derive(Clone, Copy)]
pub struct Accounts<'a> {
    pub db: &'a SqlitePool,
    pub sessions: &'a AuthCache,
}

/// Who makes a change: the user acting, and the eventlog source of the request.
pub struct Actor<'a> {
    pub user: &'a UserRow,
    pub source: Source,
}

/// A user with the ids of their groups, as the users API shows them.
pub struct UserWithGroups {
    pub user: UserRow,
    pub group_ids: Vec<String>,
}

/// A page of users (see [`store::users::list`]) with their groups.
pub async fn list(
    db: &SqlitePool,
    search: Option<&str>,
    active: Option<bool>,
    page: Page,
) -> sqlx::Result<Vec<UserWithGroups>> {
    let users = store::users::list(db, search, active, page).await?;
    with_groups(db, users).await
}

pub async fn get(db: &SqlitePool, id: &str) -> Result<UserWithGroups, UserError> {
    let user = store::users::find_by_id(db, id)
        .await?
        .ok_or(UserError::NotFound)?;
    let mut found = with_groups(db, vec![user]).await?;
    found.pop().ok_or(UserError::NotFound)
}

async fn with_groups(db: &SqlitePool, users: Vec<UserRow>) -> sqlx::Result<Vec<UserWithGroups>> {
    let ids: Vec<String> = users.iter().map(|user| user.id.clone()).collect();
    let memberships = store::groups::memberships_of_users(db, &ids).await?;
    Ok(users
        .into_iter()
        .map(|user| {
            let group_ids = memberships
                .iter()
                .filter(|m| m.user_id == user.id)
                .map(|m| m.group_id.clone())
                .collect();
            UserWithGroups { user, group_ids }
        })
        .collect())
}

/// `uid-<uuid>`, the id of users.
pub fn new_user_id() -> String {
    format!("uid-{}", uuid::Uuid::new_v4())
}

/// How notifications name a user.
pub fn display(user: &UserRow) -> &str {
    match (user.display_name.as_str(), user.username.as_deref()) {
        ("", Some(username)) => username,
        ("", None) => &user.email,
        (name, _) => name,
    }
}

/// Whether `user` still has to set up 2FA under the current policy.
pub async fn two_factor_setup_required(
    settings: &Settings,
    user: &UserRow,
) -> anyhow::Result<bool> {
    let config: ProfileConfig = settings.get().await?;
    Ok(config.mandatory_2fa && !user.totp_enabled)
}

/// The target of a change by `by`, read inside the change's transaction, so a concurrent role
/// change cannot slip between check and write.
async fn manageable(
    tx: &mut Transaction<'static, Sqlite>,
    by: &UserRow,
    user_id: &str,
) -> Result<UserRow, UserError> {
    let target = reload(tx, user_id).await?;
    rules::ensure_can_manage(by, &target)?;
    Ok(target)
}

fn not_yourself(by: &UserRow, target: &UserRow, message: &str) -> Result<(), UserError> {
    if by.id == target.id {
        return Err(UserError::Conflict(message.to_owned()));
    }
    Ok(())
}

/// The user as stored now, inside `tx`.
async fn reload(tx: &mut Transaction<'static, Sqlite>, id: &str) -> Result<UserRow, UserError> {
    store::users::find_by_id(&mut **tx, id)
        .await?
        .ok_or(UserError::NotFound)
}

/// `user.update` with the user's public fields and what changed (`extra`, merged in); returns
/// the event id.
async fn record_update(
    tx: &mut Transaction<'static, Sqlite>,
    user: &UserRow,
    source: &Source,
    extra: serde_json::Value,
) -> sqlx::Result<String> {
    let mut data = json!({ "userId": user.id, "user": eventlog::public_user(user) });
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    eventlog::record(&mut **tx, Action::UserUpdate, source, data).await
}

/// Activates or deactivates `target` inside `tx`, with `user.update`; deactivation revokes the
/// user's tokens and app passwords.
async fn apply_active(
    tx: &mut Transaction<'static, Sqlite>,
    target: &UserRow,
    active: bool,
    source: &Source,
) -> Result<(), UserError> {
    store::users::set_active(&mut **tx, &target.id, active).await?;
    if !active {
        store::tokens::delete_all_for_user(&mut **tx, &target.id).await?;
        store::app_passwords::delete_all_for_user(&mut **tx, &target.id).await?;
    }
    let user = reload(tx, &target.id).await?;
    let changed = json!({ "activeChanged": target.active != active });
    record_update(tx, &user, source, changed).await?;
    Ok(())
}
