//! Typed platform settings over the `settings` table: each has a name, a default, a struct and
//! its validation. Secrets inside settings are never shown: GET answers a placeholder.

mod integrations;
mod network;
mod platform;

pub use integrations::*;
pub use network::*;
pub use platform::*;

use anyhow::Context;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::SqliteExecutor;

use crate::error::Invalid;
use crate::store;

pub trait Setting: Serialize + DeserializeOwned + Default {
    const NAME: &'static str;
}

/// The stored value, or the default when it was never written.
pub async fn get<T: Setting>(db: impl SqliteExecutor<'_>) -> anyhow::Result<T> {
    match store::settings::get(db, T::NAME).await? {
        Some(json) => serde_json::from_str(&json)
            .with_context(|| format!("the stored setting {} is malformed", T::NAME)),
        None => Ok(T::default()),
    }
}

pub async fn set<T: Setting>(db: impl SqliteExecutor<'_>, value: &T) -> anyhow::Result<()> {
    let json = serde_json::to_string(value)?;
    store::settings::set(db, T::NAME, &json).await?;
    Ok(())
}

/// What GET answers for a stored secret (Cloudron masks them too, with other characters).
pub const SECRET_PLACEHOLDER: &str = "********";

/// A stored secret as GET shows it: the placeholder, or `""` when none is set.
pub fn mask(secret: &str) -> String {
    if secret.is_empty() {
        String::new()
    } else {
        SECRET_PLACEHOLDER.to_owned()
    }
}

/// A secret sent in a POST: the placeholder keeps the stored value; absent means none. The
/// placeholder is refused when the endpoint the secret is for changed: a hidden secret must
/// never be sent to a server that the admin did not type it for.
pub fn merge_secret(
    field: &str,
    sent: Option<String>,
    stored: &str,
    same_endpoint: bool,
) -> Result<String, Invalid> {
    match sent {
        Some(secret) if secret == SECRET_PLACEHOLDER && !stored.is_empty() && !same_endpoint => {
            Err(Invalid::new(format!(
                "{field} must be sent again for a new server or account"
            )))
        }
        Some(secret) if secret == SECRET_PLACEHOLDER => Ok(stored.to_owned()),
        Some(secret) => Ok(secret),
        None => Ok(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_pool;

    #[test]
    fn the_placeholder_keeps_a_stored_secret() {
        assert_eq!(mask(""), "");
        assert_eq!(mask("hunter2"), SECRET_PLACEHOLDER);
        let placeholder = || Some(SECRET_PLACEHOLDER.to_owned());
        assert_eq!(
            merge_secret("p", placeholder(), "old", true).unwrap(),
            "old"
        );
        assert!(
            merge_secret("p", placeholder(), "old", false).is_err(),
            "a new server"
        );
        assert_eq!(
            merge_secret("p", Some("new".into()), "old", false).unwrap(),
            "new"
        );
        assert_eq!(merge_secret("p", None, "old", true).unwrap(), "");
    }

    #[tokio::test]
    async fn a_setting_reads_its_default_until_written() {
        let (db, _dir) = test_pool().await;
        assert_eq!(get::<CloudronName>(&db).await.unwrap().0, "Cloudron");
        set(&db, &CloudronName("Home".into())).await.unwrap();
        assert_eq!(get::<CloudronName>(&db).await.unwrap().0, "Home");
    }
}
