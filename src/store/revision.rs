//! Noticing changes made by other processes (the operator CLI works on the same database):
//! SQLite's `data_version`, read on a connection of its own, changes whenever any other
//! connection commits. Caches that must follow the store are cleared when it moves.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, SqliteConnection};
use tokio::sync::Mutex;

/// How often the store is checked; a change by another process is seen within this.
pub const REVISION_CHECK_EVERY: Duration = Duration::from_secs(1);

pub struct Revision {
    state: Mutex<(SqliteConnection, i64)>,
}

impl Revision {
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let mut connection = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("bad database URL {url}"))?
            .busy_timeout(Duration::from_secs(10))
            .connect()
            .await
            .context("cannot open the database to watch it")?;
        let version = data_version(&mut connection).await?;
        Ok(Self {
            state: Mutex::new((connection, version)),
        })
    }

    /// Whether anything was committed since the last call (or since opening). Commits of this
    /// process's own pool count too: that costs a cache refill, never a stale answer.
    pub async fn changed(&self) -> sqlx::Result<bool> {
        let mut state = self.state.lock().await;
        let (connection, last) = &mut *state;
        let version = data_version(connection).await?;
        let changed = version != *last;
        *last = version;
        Ok(changed)
    }
}

async fn data_version(connection: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(connection)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_pool;

    #[tokio::test]
    async fn commits_of_other_connections_are_noticed() {
        let (db, dir) = test_pool().await;
        let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
        let revision = Revision::open(&url).await.unwrap();
        assert!(!revision.changed().await.unwrap(), "nothing happened");
        crate::settings::set(&db, &crate::settings::CloudronName("x".into()))
            .await
            .unwrap();
        assert!(revision.changed().await.unwrap());
        assert!(!revision.changed().await.unwrap());
    }
}
