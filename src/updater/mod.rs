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

use crate::app::AppState;
use crate::error::ApiError;
use crate::eventlog::{self, Action, Source};
use crate::notifications::{self, BOX_UPDATE};
use crate::settings::{self, Setting};
use crate::store;

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

/// The running version.
pub fn current_version() -> Version {
    Version::parse(env!("CARGO_PKG_VERSION")).unwrap_or_else(|_| Version::new(0, 0, 0))
}

/// HTTP clients for the feed (no redirects to another host) and for release downloads.
#[derive(Debug, Clone)]
pub struct Updater {
    feed: reqwest::Client,
    pub(crate) downloads: reqwest::Client,
}

impl Updater {
    pub fn new() -> anyhow::Result<Self> {
        let same_host = reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt
                .previous()
                .first()
                .and_then(|url| url.host_str().map(str::to_owned));
            if attempt.previous().len() > 5 {
                attempt.error("too many redirects")
            } else if attempt.url().host_str().map(str::to_owned) == first {
                attempt.follow()
            } else {
                attempt.error("the feed redirects to another host")
            }
        });
        let agent = concat!("boxd/", env!("CARGO_PKG_VERSION"));
        let feed = reqwest::Client::builder()
            .user_agent(agent)
            .redirect(same_host)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .context("cannot build the feed client")?;
        let downloads = reqwest::Client::builder()
            .user_agent(agent)
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .build()
            .context("cannot build the download client")?;
        Ok(Self { feed, downloads })
    }
}

/// Fetches the feed, caches what it offers (a release newer than this one; unstable ones only
/// when allowed), raises or clears the `boxUpdate` alert. A failing feed changes nothing.
pub async fn check(state: &AppState) -> Result<Option<BoxUpdateInfo>, ApiError> {
    let url = state.config.update.feed_url.as_deref().ok_or_else(|| {
        ApiError::Unprocessable(
            "No release feed is configured: start boxd with --update-feed-url (BOXD_UPDATE_FEED_URL)".into(),
        )
    })?;
    let release = tokio::time::timeout(FEED_TIMEOUT, fetch_feed(&state.updater.feed, url))
        .await
        .map_err(|_| {
            ApiError::FailedDependency(format!(
                "The release feed at {url} did not answer within {FEED_TIMEOUT:?}"
            ))
        })??;
    let version = Version::parse(&release.version).map_err(|_| {
        ApiError::FailedDependency(format!(
            "The release feed at {url} names a version that is not SemVer"
        ))
    })?;
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
    Ok(release)
}

async fn fetch_feed(http: &reqwest::Client, url: &str) -> Result<BoxUpdateInfo, ApiError> {
    let fail = |why: String| {
        ApiError::FailedDependency(format!("The release feed at {url} cannot be used: {why}"))
    };
    let mut response = http
        .get(url)
        .send()
        .await
        .map_err(|err| fail(describe(err)))?;
    if !response.status().is_success() {
        return Err(fail(format!("it answered HTTP {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| fail(describe(err)))? {
        if body.len() + chunk.len() > FEED_MAX_BYTES {
            return Err(fail(format!(
                "it is larger than {} KiB",
                FEED_MAX_BYTES / 1024
            )));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map_err(|err| fail(format!("it is not a release description ({err})")))
}

/// reqwest's message and causes, without the URL it repeats.
pub(crate) fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

/// Starts the `update` task for the cached release; `source` is who asked (a user, or cron).
pub async fn start_update(
    state: &AppState,
    skip_backup: bool,
    source: &Source,
) -> Result<i64, ApiError> {
    let CachedUpdate { release } = settings::get(&state.db).await?;
    let release = release
        .filter(|release| Version::parse(&release.version).is_ok_and(|v| v > current_version()))
        .ok_or_else(|| ApiError::Unprocessable("No update available".into()))?;
    let public_key = state.config.update.public_key.clone().ok_or_else(|| {
        ApiError::Unprocessable(
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
