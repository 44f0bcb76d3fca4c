//! Account rules shared by activation, the users API and the operator CLI: validation of
//! usernames, emails and passwords, and creating the owner.

use serde_json::json;
use sqlx::{Sqlite, Transaction};

use crate::api::now_iso;
use crate::auth::Role;
use crate::error::{ApiError, ConflictOnUnique};
use crate::eventlog::{self, Action, Source};
use crate::store;
use crate::store::users::{NewUser, UserRow};

/// Cloudron's reserved names (the spec's list, which adds `root` to 2019's).
const RESERVED_USERNAMES: &[&str] = &[
    "admin",
    "no-reply",
    "postmaster",
    "mailer-daemon",
    "root",
    "admins",
    "users",
];

pub fn new_user_id() -> String {
    format!("uid-{}", uuid::Uuid::new_v4())
}

/// Lowercases and checks a username as Cloudron does.
pub fn normalize_username(username: &str) -> Result<String, ApiError> {
    let username = username.to_lowercase();
    if username.is_empty() {
        return Err(ApiError::bad_request("Username cannot be empty"));
    }
    if username.chars().count() >= 200 {
        return Err(ApiError::bad_request("Username too long"));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(ApiError::bad_request(
            "Username can only contain alphanumerals, dot and -",
        ));
    }
    if username.contains(".app") {
        return Err(ApiError::bad_request(
            "Username pattern is reserved for apps",
        ));
    }
    if RESERVED_USERNAMES.contains(&username.as_str()) {
        return Err(ApiError::bad_request("Username is reserved"));
    }
    Ok(username)
}

pub fn validate_password(password: &str) -> Result<(), ApiError> {
    match password.chars().count() {
        0..8 => Err(ApiError::bad_request(
            "Password must be atleast 8 characters",
        )),
        257.. => Err(ApiError::bad_request(
            "Password cannot be more than 256 characters",
        )),
        _ => Ok(()),
    }
}

pub fn validate_display_name(name: &str) -> Result<(), ApiError> {
    if name.chars().count() > 512 {
        return Err(ApiError::bad_request(
            "displayName must be at most 512 characters",
        ));
    }
    Ok(())
}

/// Lowercases and checks an email address; `field` names it in the error.
pub fn normalize_email(field: &str, email: &str) -> Result<String, ApiError> {
    let email = email.trim().to_lowercase();
    if email_address::EmailAddress::is_valid(&email) {
        Ok(email)
    } else {
        Err(ApiError::bad_request(format!(
            "{field} is not a valid email address"
        )))
    }
}

/// Cloudron: a duplicate is 409 "email already exists" or "username already exists".
pub fn duplicate_to_conflict(err: sqlx::Error) -> ApiError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            if db.message().contains("users.username") {
                ApiError::conflict("username already exists")
            } else {
                ApiError::conflict("email already exists")
            }
        }
        _ => ApiError::from(err),
    }
}

/// Nobody acts on a user who outranks them; so only the owner touches the owner.
pub fn ensure_can_manage(caller: &UserRow, target: &UserRow) -> Result<(), ApiError> {
    if target.role.outranks(caller.role) {
        return Err(ApiError::forbidden(
            "You cannot change a user whose role is above yours",
        ));
    }
    Ok(())
}

/// Nobody gives a role above their own, the owner role is never given, and user managers
/// give no role but `user` (Cloudron: they manage users, not roles).
pub fn ensure_can_grant(caller: &UserRow, role: Role) -> Result<(), ApiError> {
    if role == Role::Owner {
        return Err(ApiError::forbidden(
            "There is exactly one owner; the role cannot be given",
        ));
    }
    if role.outranks(caller.role) {
        return Err(ApiError::forbidden("You cannot give a role above your own"));
    }
    if !caller.role.at_least(Role::Admin) && role != Role::User {
        return Err(ApiError::forbidden(
            "User managers can only give the user role",
        ));
    }
    Ok(())
}

/// Setting someone's password or turning off their 2FA takes over their account: only for
/// users of a lower role than the caller's.
pub fn ensure_outranks(caller: &UserRow, target: &UserRow) -> Result<(), ApiError> {
    if !caller.role.outranks(target.role) {
        return Err(ApiError::forbidden(
            "Only a higher role can change this user's credentials",
        ));
    }
    Ok(())
}

/// A validated profile edit; absent fields stay as they are.
#[derive(Debug, Default)]
pub struct ProfileEdit {
    pub email: Option<String>,
    pub fallback_email: Option<String>,
    pub display_name: Option<String>,
}

impl ProfileEdit {
    /// Normalizes the fields and drops those equal to the current values.
    pub fn new(
        current: &UserRow,
        email: Option<&str>,
        fallback_email: Option<&str>,
        display_name: Option<&str>,
    ) -> Result<Self, ApiError> {
        let email = email.map(|e| normalize_email("email", e)).transpose()?;
        let fallback_email = match fallback_email.map(str::trim) {
            Some("") => Some(String::new()),
            Some(e) => Some(normalize_email("fallbackEmail", e)?),
            None => None,
        };
        display_name.map(validate_display_name).transpose()?;
        Ok(Self {
            email: email.filter(|e| *e != current.email),
            fallback_email: fallback_email.filter(|e| *e != current.fallback_email),
            display_name: display_name
                .map(str::to_owned)
                .filter(|n| *n != current.display_name),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.fallback_email.is_none() && self.display_name.is_none()
    }
}

/// Applies `edit` (and a first `username`) to `target` in `tx`, with a `user.update` event.
pub async fn update_profile(
    tx: &mut Transaction<'static, Sqlite>,
    target: &UserRow,
    edit: &ProfileEdit,
    username: Option<&str>,
    source: &Source,
) -> Result<UserRow, ApiError> {
    let change = store::users::ProfileChange {
        email: edit.email.as_deref(),
        fallback_email: edit.fallback_email.as_deref(),
        display_name: edit.display_name.as_deref(),
        username,
    };
    store::users::update_profile(&mut **tx, &target.id, &change)
        .await
        .map_err(duplicate_to_conflict)?;
    let user = reload(tx, &target.id).await?;
    record_update(tx, &user, source, json!({})).await?;
    Ok(user)
}

/// The user as stored now, inside `tx`.
pub async fn reload(tx: &mut Transaction<'static, Sqlite>, id: &str) -> Result<UserRow, ApiError> {
    store::users::find_by_id(&mut **tx, id)
        .await?
        .ok_or(ApiError::NotFound("user"))
}

/// `user.update` with the user's public fields and what changed (`extra`, merged in); returns
/// the event id.
pub async fn record_update(
    tx: &mut Transaction<'static, Sqlite>,
    user: &UserRow,
    source: &Source,
    extra: serde_json::Value,
) -> Result<String, ApiError> {
    let mut data = json!({ "userId": user.id, "user": eventlog::public_user(user) });
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    Ok(eventlog::record(&mut **tx, Action::UserUpdate, source, data).await?)
}

/// A validated owner account, its password already hashed.
pub struct NewOwner {
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
}

/// Creates the one owner in `tx` with the events of activation: `user.add` (its source is the new
/// owner, as in Cloudron) and `cloudron.activate` (the caller's source).
pub async fn create_owner(
    tx: &mut Transaction<'static, Sqlite>,
    owner: &NewOwner,
    source: &Source,
) -> Result<UserRow, ApiError> {
    let id = new_user_id();
    let user = NewUser {
        id: &id,
        username: Some(&owner.username),
        email: &owner.email,
        fallback_email: &owner.email,
        display_name: &owner.display_name,
        password_hash: &owner.password_hash,
        role: Role::Owner,
        invite_accepted: true,
        creation_time: &now_iso(),
    };
    // Cloudron: a second activation is 409 "Already setup"; the one-owner index decides races.
    store::users::insert(&mut **tx, &user)
        .await
        .conflict_on_unique("Already setup")?;
    let row = store::users::find_by_id(&mut **tx, &id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the new owner vanished"))?;
    let owner_source = Source {
        user_id: Some(row.id.clone()),
        username: row.username.clone(),
        ip: source.ip.clone(),
    };
    let data = json!({
        "userId": row.id,
        "email": row.email,
        "user": eventlog::public_user(&row),
        "invitor": null,
    });
    eventlog::record(&mut **tx, Action::UserAdd, &owner_source, data).await?;
    eventlog::record(&mut **tx, Action::CloudronActivate, source, json!({})).await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_cloudron_rules() {
        assert_eq!(normalize_username("Alice.B-2").unwrap(), "alice.b-2");
        for bad in [
            "",
            "a b",
            "a_b",
            "x.app",
            "my.apps",
            "admin",
            "ROOT",
            &"a".repeat(200),
        ] {
            assert!(normalize_username(bad).is_err(), "{bad}");
        }
        assert!(normalize_username(&"a".repeat(199)).is_ok());
    }

    #[test]
    fn passwords_are_8_to_256_characters() {
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
        assert!(validate_password(&"x".repeat(256)).is_ok());
        assert!(validate_password(&"x".repeat(257)).is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            normalize_email("email", " Bob@Example.COM ").unwrap(),
            "bob@example.com"
        );
        assert!(normalize_email("email", "nope").is_err());
        assert!(normalize_email("email", "a@").is_err());
    }
}
