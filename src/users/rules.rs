//! The rules of accounts: what a username, email, password and display name may be, and who
//! may act on whom.

use super::UserError;
use crate::auth::Role;
use crate::error::Invalid;
use crate::store::users::UserRow;

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

/// Lowercases and checks a username as Cloudron does.
pub fn normalize_username(username: &str) -> Result<String, Invalid> {
    let username = username.to_lowercase();
    if username.is_empty() {
        return Err(Invalid::new("Username cannot be empty"));
    }
    if username.chars().count() >= 200 {
        return Err(Invalid::new("Username too long"));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(Invalid::new(
            "Username can only contain alphanumerals, dot and -",
        ));
    }
    if username.contains(".app") {
        return Err(Invalid::new("Username pattern is reserved for apps"));
    }
    if RESERVED_USERNAMES.contains(&username.as_str()) {
        return Err(Invalid::new("Username is reserved"));
    }
    Ok(username)
}

pub fn validate_password(password: &str) -> Result<(), Invalid> {
    match password.chars().count() {
        0..8 => Err(Invalid::new("Password must be atleast 8 characters")),
        257.. => Err(Invalid::new("Password cannot be more than 256 characters")),
        _ => Ok(()),
    }
}

pub fn validate_display_name(name: &str) -> Result<(), Invalid> {
    if name.chars().count() > 512 {
        return Err(Invalid::new("displayName must be at most 512 characters"));
    }
    Ok(())
}

/// Lowercases and checks an email address; `field` names it in the error.
pub fn normalize_email(field: &str, email: &str) -> Result<String, Invalid> {
    let email = email.trim().to_lowercase();
    if email_address::EmailAddress::is_valid(&email) {
        Ok(email)
    } else {
        Err(Invalid::new(format!(
            "{field} is not a valid email address"
        )))
    }
}

/// Cloudron: a duplicate is 409 "email already exists" or "username already exists".
pub fn duplicate_to_conflict(err: sqlx::Error) -> UserError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            if db.message().contains("users.username") {
                UserError::Conflict("username already exists".into())
            } else {
                UserError::Conflict("email already exists".into())
            }
        }
        _ => UserError::Store(err),
    }
}

/// Nobody acts on a user who outranks them; so only the owner touches the owner.
pub fn ensure_can_manage(caller: &UserRow, target: &UserRow) -> Result<(), UserError> {
    if target.role.outranks(caller.role) {
        return Err(UserError::Forbidden(
            "You cannot change a user whose role is above yours".into(),
        ));
    }
    Ok(())
}

/// Nobody gives a role above their own, the owner role is never given, and user managers
/// give no role but `user` (Cloudron: they manage users, not roles).
pub fn ensure_can_grant(caller: &UserRow, role: Role) -> Result<(), UserError> {
    if role == Role::Owner {
        return Err(UserError::Forbidden(
            "There is exactly one owner; the role cannot be given".into(),
        ));
    }
    if role.outranks(caller.role) {
        return Err(UserError::Forbidden(
            "You cannot give a role above your own".into(),
        ));
    }
    if !caller.role.at_least(Role::Admin) && role != Role::User {
        return Err(UserError::Forbidden(
            "User managers can only give the user role".into(),
        ));
    }
    Ok(())
}

/// Setting someone's password or turning off their 2FA takes over their account: only for
/// users of a lower role than the caller's.
pub fn ensure_outranks(caller: &UserRow, target: &UserRow) -> Result<(), UserError> {
    if !caller.role.outranks(target.role) {
        return Err(UserError::Forbidden(
            "Only a higher role can change this user's credentials".into(),
        ));
    }
    Ok(())
}

/// The email and display name of a user from an external directory (`source` not `""`) are
/// the directory's: they cannot be edited here.
pub fn ensure_profile_editable(user: &UserRow, edit: &ProfileEdit) -> Result<(), UserError> {
    if !user.source.is_empty() && (edit.email.is_some() || edit.display_name.is_some()) {
        return Err(UserError::Forbidden(
            "The email and display name of this user come from the external directory; change \
             them there"
                .into(),
        ));
    }
    Ok(())
}

/// The password of a user from an external directory is the directory's.
pub fn ensure_local_password(user: &UserRow) -> Result<(), UserError> {
    if !user.source.is_empty() {
        return Err(UserError::Forbidden(
            "The password of this user is in the external directory; change it there".into(),
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
    ) -> Result<Self, Invalid> {
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
