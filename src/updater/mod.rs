//! The updater: a signed release feed, update checks with a cached result, the `update` task
//! that downloads, verifies and stages a release, and the automatic update schedule.

mod job;
pub mod schedule;

use std::time::Duration;

use anyhow::Context;
use semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

pub use job::UpdateJob;

use crate::eventlog::{self, Action, Source};
use crate::notifications::{self, BOX_UPDATE};
use crate::outbound::{self, Guard, Guarded};
use crate::settings::{self, Setting};
use crate::state::AppState;
use crate::store;
use crate::tasks::TaskError;

/// Why an update check or an update could not be done.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// Something the operator must configure, or nothing to update (a 422 over HTTP).
    #[error("{0}")]
    Unavailable(String),
    /// The feed failed or said something unusable (a 424 over HTTP).
    #[error("{0}")]
    Feed(String),
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The feed is a small JSON document.
const FEED_MAX_BYTES: usize = 1024 * 1024;
const FEED_TIMEOUT: Duration = Duration::from_secs(10);

/// A release, as the feed describes it (upstream's `BoxUpdateInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoxUpdateInfo {
    /// The release's SemVer version.
    #[schema(example = "1.2.0")]
    pub version: String,
    #[serde(default)]
    pub changelog: Vec<String>,
    /// The release tarball.
    pub source_tarball_url: String,
    /// Its minisign signature, whose trusted comment names the version.
    pub source_tarball_sig_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub box_versions_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub box_versions_sig_url: Option<String>,
    #[serde(default)]
    pub unstable: bool,
}

/// The result of the last check: the release on offer, if any.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CachedUpdate {
    #[serde(rename = "box")]
    pub release: Option<BoxUpdateInfo>,
}

impl Setting for CachedUpdate {
    const NAME: &'static str = "box_update";
}

/// The version the server last started with.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StartedVersion(String);

impl Setting for StartedVersion {
    const NAME: &'static str = "started_version";
}

/// At start-up: when the version differs from the last start's, the update finished; record
/// `cloudron.update.finish` and tell the admins.
pub async fn note_started_version(db: &sqlx::SqlitePool) -> anyhow::Result<()> {
    let current = env!("CARGO_PKG_VERSION");
    let StartedVersion(last) = settings::get(db).await?;
    if last == current {
        return Ok(());
    }
    let mut tx = store::begin_write(db).await?;
    if !last.is_empty() {
        let data = json!({ "oldVersion": last, "newVersion": current });
        let event = eventlog::record(
            &mut *tx,
            Action::CloudronUpdateFinish,
            &Source::system("boot"),
            data,
        )
        .await?;
        let title = format!("boxd updated to v{current}");
        notifications::notify(
            &mut *tx,
            Some(&event),
            &title,
            &format!("boxd was updated from v{last} to v{current}."),
        )
        .await?;
    }
    settings::set(&mut *tx, &StartedVersion(current.to_owned())).await?;
    tx.commit().await?;
    Ok(())
}

/// The running version.
pub fn current_version() -> Version {
    Version::parse(env!("CARGO_PKG_VERSION")).unwrap_or_else(|_| Version::new(0, 0, 0))
}

/// The HTTP clients for the feed and for release downloads: the feed's host is the operator's
/// and may be internal; every other host a feed names must be public and on https.
#[derive(Debug, Clone)]
pub struct Updater {
    feed: Guarded,
    pub(crate) downloads: Guarded,
}

impl Updater {
    pub fn new(feed_url: Option<&str>) -> anyhow::Result<Self> {
        let guard = Guard::trusting(&feed_url.into_iter().collect::<Vec<_>>());
        let feed = reqwest::Client::builder().connect_timeout(Duration::from_secs(5));
        let downloads = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60));
        Ok(Self {
            feed: Guarded::new(feed, guard.clone()).context("cannot build the feed client")?,
            downloads: Guarded::new(downloads, guard)
                .context("cannot build the download client")?,
        })
    }
}

/// Fetches the feed, caches what it offers (a release newer than this one; unstable ones only
/// when allowed), raises or clears the `boxUpdate` alert. A failing feed changes nothing.
pub async fn check(state: &AppState) -> Result<Option<BoxUpdateInfo>, UpdateError> {
    let url = state.config.update.feed_url.as_deref().ok_or_else(|| {
        UpdateError::Unavailable(
            "No release feed is configured: start boxd with --update-feed-url (BOXD_UPDATE_FEED_URL)".into(),
        )
    })?;
    let shown = outbound::redact(url);
    let release = tokio::time::timeout(FEED_TIMEOUT, fetch_feed(&state.updater.feed, url))
        .await
        .map_err(|_| {
            UpdateError::Feed(format!(
                "The release feed at {shown} did not answer within {FEED_TIMEOUT:?}"
            ))
        })??;
    let version = Version::parse(&release.version).map_err(|_| {
        UpdateError::Feed(format!(
            "The release feed at {shown} names a version that is not SemVer"
        ))
    })?;
    for download in [&release.source_tarball_url, &release.source_tarball_sig_url] {
        let guard = state.updater.downloads.guard();
        let allowed = match reqwest::Url::parse(download) {
            Ok(download) => guard.check_resolving(&download).await.is_ok(),
            Err(_) => false,
        };
        if !allowed {
            return Err(UpdateError::Feed(format!(
                "The release feed at {shown} names a download that is neither on its own host \
                 nor an https URL of a public host: {}",
                outbound::redact(download)
            )));
        }
    }
    let offered =
        version > current_version() && (!release.unstable || state.config.update.allow_unstable);
    let release = offered.then_some(release);

    let mut tx = store::begin_write(&state.db).await?;
    settings::set(
        &mut *tx,
        &CachedUpdate {
            release: release.clone(),
        },
    )
    .await?;
    match &release {
        Some(release) => {
            let title = format!("boxd v{} is available", release.version);
            let message = match release.changelog.as_slice() {
                [] => format!(
                    "Version {} can be installed from the updater.",
                    release.version
                ),
                lines => lines
                    .iter()
                    .map(|line| format!("* {line}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            notifications::alert(&mut *tx, BOX_UPDATE, &title, &message).await?;
        }
        None => notifications::alert(&mut *tx, BOX_UPDATE, "", "").await?,
    }
    tx.commit().await?;
    state.settings.changed::<CachedUpdate>();
    Ok(release)
}

async fn fetch_feed(http: &Guarded, url: &str) -> Result<BoxUpdateInfo, UpdateError> {
    let shown = outbound::redact(url);
    let fail = |why: String| {
        UpdateError::Feed(format!("The release feed at {shown} cannot be used: {why}"))
    };
    let body = outbound::get_capped(http, url, FEED_MAX_BYTES)
        .await
        .map_err(fail)?;
    serde_json::from_slice(&body)
        .map_err(|err| fail(format!("it is not a release description ({err})")))
}

/// Starts the `update` task for the cached release; `source` is who asked (a user, or cron).
pub async fn start_update(
    state: &AppState,
    skip_backup: bool,
    source: &Source,
) -> Result<i64, UpdateError> {
    let CachedUpdate { release } = state.settings.get().await?;
    let release = release
        .filter(|release| Version::parse(&release.version).is_ok_and(|v| v > current_version()))
        .ok_or_else(|| UpdateError::Unavailable("No update available".into()))?;
    let public_key = state.config.update.public_key.clone().ok_or_else(|| {
        UpdateError::Unavailable(
            "No release signing key is configured: start boxd with --update-public-key (BOXD_UPDATE_PUBLIC_KEY)".into(),
        )
    })?;
    let job = UpdateJob {
        db: state.db.clone(),
        http: state.updater.downloads.clone(),
        release: release.clone(),
        skip_backup,
        public_key,
        data_dir: state.config.data_dir.clone(),
        command: state.config.update.command.clone(),
        max_bytes: state.config.update.max_bytes,
    };
    let task_id = state.tasks.start(job).await?;
    let data = json!({ "taskId": task_id.to_string(), "boxUpdateInfo": release });
    eventlog::record(&state.db, Action::CloudronUpdate, source, data).await?;
    Ok(task_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_pool;

    #[tokio::test]
    async fn a_new_version_at_start_records_the_finished_update() {
        let (db, _dir) = test_pool().await;
        note_started_version(&db).await.unwrap();
        assert!(
            store::eventlog::list(
                &db,
                None,
                &["cloudron.update.finish"],
                crate::store::Page::default()
            )
            .await
            .unwrap()
            .is_empty(),
            "a first start is no update"
        );
        settings::set(&db, &StartedVersion("0.0.1".into()))
            .await
            .unwrap();
        note_started_version(&db).await.unwrap();
        note_started_version(&db).await.unwrap();
        let events = store::eventlog::list(
            &db,
            None,
            &["cloudron.update.finish"],
            crate::store::Page::default(),
        )
        .await
        .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data.0["oldVersion"], "0.0.1");
    }
}
