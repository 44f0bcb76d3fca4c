//! The eventlog service: every state change records an event, in the caller's transaction.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::SqliteExecutor;
use sqlx::types::Json;

use crate::clock::now_iso;
use crate::store;
use crate::store::users::UserRow;

/// The upstream action names boxd records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CertificateNew,
    CloudronStart,
    CloudronActivate,
    CloudronUpdate,
    CloudronUpdateFinish,
    DyndnsUpdate,
    GroupAdd,
    GroupRemove,
    GroupUpdate,
    UserAdd,
    UserLogin,
    UserLoginGhost,
    UserRemove,
    UserUpdate,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CertificateNew => "certificate.new",
            Self::CloudronStart => "cloudron.start",
            Self::CloudronActivate => "cloudron.activate",
            Self::CloudronUpdate => "cloudron.update",
            Self::CloudronUpdateFinish => "cloudron.update.finish",
            Self::DyndnsUpdate => "dyndns.update",
            Self::GroupAdd => "group.add",
            Self::GroupRemove => "group.remove",
            Self::GroupUpdate => "group.update",
            Self::UserAdd => "user.add",
            Self::UserLogin => "user.login",
            Self::UserLoginGhost => "user.login.ghost",
            Self::UserRemove => "user.remove",
            Self::UserUpdate => "user.update",
        }
    }
}

/// Who caused an event: `{userId, username, ip}`; system sources carry a name such as `boot`.
/// In a session opened with a ghost password, `impersonator` names the admin behind it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonator: Option<SourceUser>,
}

/// A user named in a source beside the one acting.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SourceUser {
    pub user_id: String,
    pub username: Option<String>,
}

impl Source {
    pub fn user(user: &UserRow, ip: IpAddr) -> Self {
        Self {
            user_id: Some(user.id.clone()),
            username: user.username.clone(),
            ip: Some(ip.to_string()),
            impersonator: None,
        }
    }

    /// `user` acting in a session; in one opened with a ghost password, `impersonator` is the
    /// admin behind it.
    pub fn session(user: &UserRow, impersonator: Option<SourceUser>, ip: IpAddr) -> Self {
        Self {
            impersonator,
            ..Self::user(user, ip)
        }
    }

    /// An unauthenticated request.
    pub fn anonymous(ip: IpAddr) -> Self {
        Self {
            user_id: None,
            username: None,
            ip: Some(ip.to_string()),
            impersonator: None,
        }
    }

    /// boxd itself: `boot` at start-up, `cron` for schedules, `sysadmin` for the operator CLI.
    pub fn system(name: &str) -> Self {
        Self {
            user_id: None,
            username: Some(name.to_owned()),
            ip: None,
            impersonator: None,
        }
    }
}

/// A user's public fields, as events carry them; never hashes or 2FA secrets.
pub fn public_user(user: &UserRow) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "displayName": user.display_name,
        "role": user.role,
        "active": user.active,
    })
}

/// Records one event; pass the transaction of the change it describes.
pub async fn record(
    db: impl SqliteExecutor<'_>,
    action: Action,
    source: &Source,
    data: Value,
) -> sqlx::Result<String> {
    let event = store::eventlog::EventRow {
        id: uuid::Uuid::new_v4().to_string(),
        action: action.as_str().to_owned(),
        source: Json(serde_json::to_value(source).unwrap_or(Value::Null)),
        data: Json(data),
        creation_time: now_iso(),
    };
    store::eventlog::insert(db, &event).await?;
    Ok(event.id)
}
