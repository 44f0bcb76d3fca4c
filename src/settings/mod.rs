//! Typed platform settings over the `settings` table: each has a name, a default, a struct and
//! its validation. Secrets inside settings are never shown: GET answers a placeholder.
//!
//! Requests read settings from [`Settings`], a snapshot in memory: the store is read once per
//! setting, and each write through [`Settings::set`] replaces the value after it is stored.

mod integrations;
mod network;
mod platform;

pub use integrations::*;
pub use network::*;
pub use platform::*;

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{SqliteExecutor, SqlitePool};

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

/// The settings in memory. A read that misses loads the stored value and keeps it only if no
/// write or invalidation happened meanwhile (a generation check), so a read that raced a
/// write never brings the old value back.
pub struct Settings {
    db: SqlitePool,
    snapshot: ArcSwap<Snapshot>,
}

#[derive(Default)]
struct Snapshot {
    generation: u64,
    values: HashMap<&'static str, Arc<dyn Any + Send + Sync>>,
}

impl Settings {
    pub fn new(db: SqlitePool) -> Self {
        Self {
            db,
            snapshot: ArcSwap::default(),
        }
    }

    pub async fn get<T: Setting + Clone + Send + Sync + 'static>(&self) -> anyhow::Result<T> {
        let snapshot = self.snapshot.load();
        if let Some(value) = snapshot.values.get(T::NAME)
            && let Some(value) = value.downcast_ref::<T>()
        {
            return Ok(value.clone());
        }
        let generation = snapshot.generation;
        drop(snapshot);
        let value: T = get(&self.db).await?;
        let cached = Arc::new(value.clone());
        self.snapshot.rcu(|current| {
            if current.generation != generation {
                return Arc::clone(current);
            }
            let mut values = current.values.clone();
            values.insert(T::NAME, cached.clone());
            Arc::new(Snapshot { generation, values })
        });
        Ok(value)
    }

    /// Stores `value`, then puts it in the snapshot.
    pub async fn set<T: Setting + Send + Sync + 'static>(&self, value: T) -> anyhow::Result<()> {
        set(&self.db, &value).await?;
        let value: Arc<dyn Any + Send + Sync> = Arc::new(value);
        self.snapshot.rcu(|current| {
            let mut values = current.values.clone();
            values.insert(T::NAME, value.clone());
            Arc::new(Snapshot {
                generation: current.generation + 1,
                values,
            })
        });
        Ok(())
    }

    /// After `T` was written in a transaction (with [`set`]) that has committed.
    pub fn changed<T: Setting>(&self) {
        self.snapshot.rcu(|current| {
            let mut values = current.values.clone();
            values.remove(T::NAME);
            Arc::new(Snapshot {
                generation: current.generation + 1,
                values,
            })
        });
    }

    /// Forgets every value, e.g. when another process changed the store.
    pub fn clear(&self) {
        self.snapshot.rcu(|current| {
            Arc::new(Snapshot {
                generation: current.generation + 1,
                values: HashMap::new(),
            })
        });
    }
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
    async fn the_snapshot_serves_what_was_written_and_rereads_after_a_change() {
        let (db, _dir) = test_pool().await;
        let settings = Settings::new(db.clone());
        assert_eq!(settings.get::<CloudronName>().await.unwrap().0, "Cloudron");
        settings.set(CloudronName("Home".into())).await.unwrap();
        assert_eq!(settings.get::<CloudronName>().await.unwrap().0, "Home");
        set(&db, &CloudronName("Elsewhere".into())).await.unwrap();
        assert_eq!(
            settings.get::<CloudronName>().await.unwrap().0,
            "Home",
            "served from memory"
        );
        settings.changed::<CloudronName>();
        assert_eq!(settings.get::<CloudronName>().await.unwrap().0, "Elsewhere");
        set(&db, &CloudronName("Again".into())).await.unwrap();
        settings.clear();
        assert_eq!(settings.get::<CloudronName>().await.unwrap().0, "Again");
    }

    #[tokio::test]
    async fn a_setting_reads_its_default_until_written() {
        let (db, _dir) = test_pool().await;
        assert_eq!(get::<CloudronName>(&db).await.unwrap().0, "Cloudron");
        set(&db, &CloudronName("Home".into())).await.unwrap();
        assert_eq!(get::<CloudronName>(&db).await.unwrap().0, "Home");
    }
}
