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
        .busy_timeout(Duration::from_secs(10))
        // SQLite's page cache is per connection; the files stay in the OS's cache anyway.
        .pragma("cache_size", "-512");
    // Four: SQLite writes one at a time, reads are mostly served from memory, and every
    // connection keeps a thread and a cache.
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
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

/// Copies the backup file `from` into a new database at `url` (whose file must not exist), after
/// checking that it is an intact boxd database. The copy is not migrated here: the server does
/// that when it starts.
pub async fn restore(from: &std::path::Path, url: &str) -> anyhow::Result<()> {
    let target =
        SqliteConnectOptions::from_str(url).with_context(|| format!("bad database URL {url}"))?;
    let path = target.get_filename();
    anyhow::ensure!(!path.exists(), "{} already exists", path.display());
    let options = SqliteConnectOptions::new()
        .filename(from)
        .create_if_missing(false)
        .read_only(true);
    let source = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open {}", from.display()))?;
    let copied = copy_checked(&source, path).await;
    source.close().await;
    if copied.is_err() {
        let _ = tokio::fs::remove_file(path).await;
    }
    copied.with_context(|| format!("cannot restore {}", from.display()))
}

async fn copy_checked(source: &SqlitePool, path: &std::path::Path) -> anyhow::Result<()> {
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(source)
        .await?;
    anyhow::ensure!(
        problems == ["ok"],
        "it fails SQLite's integrity check: {}",
        problems.join("; ")
    );
    let migrated: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(source)
    .await?;
    anyhow::ensure!(migrated, "it is not a boxd database");
    let target = path.to_str().context("the data dir path is not UTF-8")?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(source)
        .await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_restored_backup_holds_the_same_rows() {
        let (pool, dir) = test_pool().await;
        sqlx::query("INSERT INTO settings (name, value) VALUES ('probe', '\"kept\"')")
            .execute(&pool)
            .await
            .unwrap();
        let file = dir.path().join("backup.sqlite");
        backup(&pool, &file).await.unwrap();
        let restored = format!("sqlite://{}", dir.path().join("restored.sqlite").display());

        restore(&file, &restored).await.unwrap();

        let copy = connect(&restored).await.unwrap();
        let value: String = sqlx::query_scalar("SELECT value FROM settings WHERE name = 'probe'")
            .fetch_one(&copy)
            .await
            .unwrap();
        assert_eq!(value, "\"kept\"");
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("garbage.sqlite");
        std::fs::write(&file, vec![7u8; 8192]).unwrap();
        let restored = dir.path().join("restored.sqlite");
        let url = format!("sqlite://{}", restored.display());

        let err = restore(&file, &url).await.unwrap_err();

        assert!(format!("{err:#}").contains("garbage.sqlite"), "{err:#}");
        assert!(!restored.exists());
    }

    #[tokio::test]
    async fn a_sqlite_file_without_boxd_tables_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.sqlite");
        let pool = open_other(&other).await;
        sqlx::query("CREATE TABLE t (x)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;

        let url = format!("sqlite://{}", dir.path().join("restored.sqlite").display());
        let err = restore(&other, &url).await.unwrap_err();

        assert!(
            format!("{err:#}").contains("not a boxd database"),
            "{err:#}"
        );
    }

    async fn open_other(path: &std::path::Path) -> SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        SqlitePool::connect_with(options).await.unwrap()
    }
}
