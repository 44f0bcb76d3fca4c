//! Invite and password reset links: made for a user by a user manager (shown, or mailed), or
//! asked for by the user (mailed). A link carries a 256-bit secret of which only the SHA-256 is
//! stored; it works once, within its lifetime, and ends with any password change or a
//! deactivation. Using one is [`super::redeem`].

use std::net::IpAddr;
use std::sync::Arc;

use chrono::TimeDelta;
use serde_json::json;
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::rules::{self, ensure_outranks};
use super::{Actor, UserError, manageable, not_yourself, record_update};
use crate::auth::cache::AuthCache;
use crate::auth::secrets;
use crate::auth::throttle::Throttle;
use crate::clock::{self, Clock};
use crate::external_ldap;
use crate::mail::{Email, Mailer};
use crate::settings::{CloudronName, Settings};
use crate::store;
use crate::store::account_tokens::Purpose;
use crate::store::users::UserRow;

pub const INVITE_LIFETIME: TimeDelta = TimeDelta::days(7);
pub const RESET_LIFETIME: TimeDelta = TimeDelta::hours(1);

/// What links need: the accounts, the clock their lifetimes run on, the domain they point to,
/// the mail queue, and the throttle of the public routes. Cheap to clone.
#[derive(Clone)]
pub struct Links {
    pub db: SqlitePool,
    pub sessions: Arc<AuthCache>,
    pub clock: Arc<dyn Clock>,
    pub domain: Arc<str>,
    pub mailer: Mailer,
    pub settings: Arc<Settings>,
    pub throttle: Arc<Throttle>,
}

impl Links {
    pub(super) fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Stores a new link secret for `user`; answers the secret.
    async fn issue(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        user: &UserRow,
        purpose: Purpose,
    ) -> sqlx::Result<String> {
        let secret = secrets::new_token();
        let now = self.clock.now();
        let lifetime = match purpose {
            Purpose::Invite => INVITE_LIFETIME,
            Purpose::Reset => RESET_LIFETIME,
        };
        let expires = (now + lifetime).timestamp_millis();
        let hash = secrets::token_hash(&secret);
        let created = clock::iso(now);
        store::account_tokens::insert(&mut **tx, &hash, &user.id, purpose, expires, &created)
            .await?;
        store::account_tokens::prune(&mut **tx, &user.id, purpose, now.timestamp_millis()).await?;
        Ok(secret)
    }

    fn invite_url(&self, secret: &str, user: &UserRow) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("inviteToken", secret);
        query.append_pair("email", &user.email);
        if let Some(username) = &user.username {
            query.append_pair("username", username);
        }
        if !user.display_name.is_empty() {
            query.append_pair("displayName", &user.display_name);
        }
        format!(
            "https://{}/setupaccount.html?{}",
            self.domain,
            query.finish()
        )
    }

    fn reset_url(&self, secret: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("resetToken", secret)
            .finish();
        format!("https://{}/passwordreset.html?{query}", self.domain)
    }

    async fn cloudron_name(&self) -> Result<String, UserError> {
        let CloudronName(name) = self.settings.get().await?;
        Ok(name)
    }
}

/// How a user manager hands a link over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// Answered to the caller.
    Shown,
    /// Mailed to this address.
    Mailed(&'a str),
}

impl Delivery<'_> {
    fn recorded(self) -> &'static str {
        match self {
            Self::Shown => "link",
            Self::Mailed(_) => "email",
        }
    }
}

/// A recipient address as a user manager typed it.
fn parse_address(text: &str) -> Result<lettre::Address, UserError> {
    rules::normalize_email("email", text)?
        .parse()
        .map_err(|_| UserError::Invalid("email is not a valid email address".into()))
}

/// Where a link is mailed, if it is: a valid address, with a relay configured to send to it.
fn recipient(links: &Links, delivery: Delivery<'_>) -> Result<Option<lettre::Address>, UserError> {
    let Delivery::Mailed(text) = delivery else {
        return Ok(None);
    };
    let to = parse_address(text)?;
    links.mailer.ensure_configured()?;
    Ok(Some(to))
}

/// An invite link for a user who has not set up the account yet; recorded as `user.update`.
/// Mailed, the answer is `None`.
pub async fn invite(
    links: &Links,
    by: &Actor<'_>,
    user_id: &str,
    delivery: Delivery<'_>,
) -> Result<Option<String>, UserError> {
    let to = recipient(links, delivery)?;
    let mut tx = store::begin_write(&links.db).await?;
    let target = manageable(&mut tx, by.user, user_id).await?;
    ensure_local(&target)?;
    if target.invite_accepted {
        return Err(UserError::Conflict(
            "The user has already set up the account".into(),
        ));
    }
    if !target.active {
        return Err(UserError::Conflict("The user is not active".into()));
    }
    let secret = links.issue(&mut tx, &target, Purpose::Invite).await?;
    let data = json!({ "invite": delivery.recorded() });
    record_update(&mut tx, &target, &by.source, data).await?;
    let url = links.invite_url(&secret, &target);
    let Some(to) = to else {
        tx.commit().await?;
        return Ok(Some(url));
    };
    let name = links.cloudron_name().await?;
    let inviter = super::display(by.user);
    links.mailer.send(Email {
        to,
        subject: format!("Welcome to {name}"),
        body: format!(
            "Hello,\n\n{inviter} invited you to {name} ({domain}).\n\nSet up your account \
             here; the link works once, within 7 days:\n\n{url}\n",
            domain = links.domain
        ),
        sender_name: name,
    })?;
    tx.commit().await?;
    Ok(None)
}

/// A password reset link for a user of a lower role than the caller's (it takes over the
/// account, as setting the password does); recorded as `user.update`. Mailed, the answer is
/// `None`.
pub async fn reset(
    links: &Links,
    by: &Actor<'_>,
    user_id: &str,
    delivery: Delivery<'_>,
) -> Result<Option<String>, UserError> {
    let to = recipient(links, delivery)?;
    let mut tx = store::begin_write(&links.db).await?;
    let target = manageable(&mut tx, by.user, user_id).await?;
    not_yourself(
        by.user,
        &target,
        "Use /api/v1/profile/password to change your own password",
    )?;
    ensure_outranks(by.user, &target)?;
    ensure_resettable(&target)?;
    let secret = links.issue(&mut tx, &target, Purpose::Reset).await?;
    let data = json!({ "passwordReset": delivery.recorded() });
    record_update(&mut tx, &target, &by.source, data).await?;
    let url = links.reset_url(&secret);
    match to {
        None => {
            tx.commit().await?;
            Ok(Some(url))
        }
        Some(to) => {
            links
                .mailer
                .send(reset_email(links, &target, to, &url).await?)?;
            tx.commit().await?;
            Ok(None)
        }
    }
}

/// Users of the external directory have their password there: no link sets one here.
fn ensure_local(user: &UserRow) -> Result<(), UserError> {
    if user.source == external_ldap::SOURCE {
        return Err(UserError::Forbidden(
            "The password of a user of the external directory is set in the directory".into(),
        ));
    }
    Ok(())
}

fn ensure_resettable(user: &UserRow) -> Result<(), UserError> {
    ensure_local(user)?;
    if !user.invite_accepted {
        return Err(UserError::Conflict(
            "The user has not set up the account yet: send an invite".into(),
        ));
    }
    if !user.active {
        return Err(UserError::Conflict("The user is not active".into()));
    }
    Ok(())
}

async fn reset_email(
    links: &Links,
    user: &UserRow,
    to: lettre::Address,
    url: &str,
) -> Result<Email, UserError> {
    let name = links.cloudron_name().await?;
    let who = super::display(user);
    Ok(Email {
        to,
        subject: format!("Reset your password of {name}"),
        body: format!(
            "Hello {who},\n\nsomeone, hopefully you, asked to reset the password of your account \
             on {name} ({domain}).\n\nChoose a new password here; the link works once, within \
             an hour:\n\n{url}\n\nIf you did not ask for this, ignore this email: your password \
             stays as it is.\n",
            domain = links.domain
        ),
        sender_name: name,
    })
}

/// A user's own request for a reset link, by username or email: the link goes to their
/// fallback email, else their email. The answer is the same whether or not such a user
/// exists (the lookup and the mail happen in the background); every request counts in the
/// throttle, per client address and per identifier.
pub fn request_reset(links: &Links, ip: IpAddr, identifier: &str) -> Result<(), UserError> {
    let identifier = identifier.trim().to_lowercase();
    if identifier.is_empty() || identifier.len() > 254 {
        return Err(UserError::Invalid(
            "identifier must be a username or an email address".into(),
        ));
    }
    links.mailer.ensure_configured()?;
    // Never refunded: a request is not a credential that can succeed.
    let _counted = links.throttle.begin(ip, &format!("reset:{identifier}"))?;
    let links = links.clone();
    tokio::spawn(async move {
        if let Err(err) = mail_reset(&links, &identifier).await {
            tracing::warn!(error = %err, "cannot send a requested password reset: {err}");
        }
    });
    Ok(())
}

async fn mail_reset(links: &Links, identifier: &str) -> Result<(), UserError> {
    let user = store::users::find_for_login(&links.db, identifier)
        .await?
        .map(|(user, _)| user)
        .filter(|user| ensure_resettable(user).is_ok());
    let Some(user) = user else {
        tracing::info!("a password reset was asked for an unknown or inactive account");
        return Ok(());
    };
    let address = match user.fallback_email.as_str() {
        "" => user.email.as_str(),
        fallback => fallback,
    };
    let to = parse_address(address)?;
    let mut tx = store::begin_write(&links.db).await?;
    let secret = links.issue(&mut tx, &user, Purpose::Reset).await?;
    let email = reset_email(links, &user, to, &links.reset_url(&secret)).await?;
    links.mailer.send(email)?;
    tx.commit().await?;
    tracing::info!(user.id = %user.id, "a password reset link was mailed to user {}", user.id);
    Ok(())
}
