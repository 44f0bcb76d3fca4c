//! The SQLite store: connection pool, pragmas, embedded migrations. One module per table below;
//! handlers never write SQL.

pub mod account_tokens;
pub mod app_passwords;
pub mod eventlog;
pub mod ghosts;
pub mod groups;
pub mod images;
pub mod notifications;
mod page;
mod revision;
pub mod settings;
pub mod tasks;
pub mod tokens;
pub mod users;

pub use page::Page;
pub use revision::{REVISION_CHECK_EVERY, Revision};

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Opens (creating if needed) the database and brings its schema up to date.
pub async fn connect(url: &str) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("bad database URL {url}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // Every acknowledged write must survive a power cut, not just a process crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    MIGRATOR
        .run(&pool)
        .await
        .context("database migrations failed")?;
    Ok(pool)
}

/// An existing database as it is: not created, not migrated (for the backup command, which must
/// not turn a mistyped path into an empty database, nor migrate a running server's).
pub async fn open_existing(url: &str) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("bad database URL {url}"))?
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10));
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open the database {url}"))
}

/// A consistent copy of the live database at `path` (which must not exist), taken with
/// `VACUUM INTO` while the server keeps running, and flushed to disk.
pub async fn backup(pool: &SqlitePool, path: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(!path.exists(), "{} already exists", path.display());
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let target = path
        .to_str()
        .context("the backup path is not UTF-8")?
        .to_owned();
    if let Err(err) = sqlx::query("VACUUM INTO ?")
        .bind(&target)
        .execute(pool)
        .await
    {
        let _ = tokio::fs::remove_file(path).await;
        return Err(anyhow::Error::from(err).context("the database backup failed"));
    }
    tokio::fs::File::open(path).await?.sync_all().await?;
    Ok(())
}

/// A write transaction that takes the write lock up front: a deferred one that reads first could
/// fail with SQLITE_BUSY instead of waiting when another writer commits in between.
pub async fn begin_write(pool: &SqlitePool) -> sqlx::Result<Transaction<'static, Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

#[cfg(test)]
pub(crate) async fn test_pool() -> (SqlitePool, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
    (connect(&url).await.expect("a migrated database"), dir)
}
