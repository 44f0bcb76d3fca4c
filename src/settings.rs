//! Typed platform settings over the `settings` table: each has a name, a default and a struct.

use anyhow::Context;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::SqliteExecutor;

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

/// The name shown in the dashboard, emails and `/cloudron/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CloudronName(pub String);

impl Default for CloudronName {
    fn default() -> Self {
        Self("Cloudron".into())
    }
}

impl Setting for CloudronName {
    const NAME: &'static str = "cloudron_name";
}

/// `/user_directory/profile_config`: whether users may edit their profile, and whether 2FA is
/// mandatory.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct ProfileConfig {
    /// Non-admins cannot change their email, fallback email or display name.
    #[serde(rename = "lockUserProfiles")]
    pub lock_user_profiles: bool,
    /// Users without 2FA are told to set it up (login and profile report it).
    #[serde(rename = "mandatory2FA")]
    pub mandatory_2fa: bool,
}

impl Setting for ProfileConfig {
    const NAME: &'static str = "profile_config";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_pool;

    #[tokio::test]
    async fn a_setting_reads_its_default_until_written() {
        let (db, _dir) = test_pool().await;
        assert_eq!(get::<CloudronName>(&db).await.unwrap().0, "Cloudron");
        set(&db, &CloudronName("Home".into())).await.unwrap();
        assert_eq!(get::<CloudronName>(&db).await.unwrap().0, "Home");
    }
}
