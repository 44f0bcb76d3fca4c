//! The `update` task: back up the database, download the release and its signature, verify it
//! with the configured key, stage it, and run the operator's update command.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use semver::Version;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use tokio::io::AsyncWriteExt;

use super::{BoxUpdateInfo, current_version};
use crate::clock::iso;
use crate::outbound::{self, Guarded, describe};
use crate::store;
use crate::tasks::{Job, TaskContext};

const SIGNATURE_MAX_BYTES: usize = 16 * 1024;

pub struct UpdateJob {
    pub(super) db: SqlitePool,
    pub(super) http: Guarded,
    pub(super) release: BoxUpdateInfo,
    pub(super) skip_backup: bool,
    pub(super) public_key: Arc<minisign_verify::PublicKey>,
    pub(super) data_dir: PathBuf,
    pub(super) command: Option<String>,
    pub(super) max_bytes: u64,
}

/// Removes a directory when dropped, unless kept: a failed or stopped update leaves nothing.
struct Cleanup(Option<PathBuf>);

impl Cleanup {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Job for UpdateJob {
    fn task_type(&self) -> &'static str {
        "update"
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(3600)
    }

    fn args(&self) -> Value {
        json!({ "version": self.release.version, "skipBackup": self.skip_backup })
    }

    async fn run(self, ctx: TaskContext) -> anyhow::Result<Value> {
        let version =
            Version::parse(&self.release.version).context("the release version is not SemVer")?;
        ensure!(
            version > current_version(),
            "refusing {version}: it is not newer than the running {}",
            current_version()
        );
        let updates = self.data_dir.join("updates");
        tokio::fs::create_dir_all(&updates).await?;
        let work = updates.join(format!(".download-{version}-{}", ctx.id()));
        tokio::fs::create_dir_all(&work).await?;
        let work_cleanup = Cleanup(Some(work.clone()));

        if !self.skip_backup {
            ctx.progress(2, "Backing up the database").await?;
            let backup = backup_path(&self.data_dir);
            store::backup(&self.db, &backup).await?;
            ctx.log(&format!("Database backed up to {}", backup.display()));
        }

        ctx.progress(5, "Downloading the signature").await?;
        let signature_text = self.fetch_signature().await?;
        let signature = minisign_verify::Signature::decode(&signature_text)
            .map_err(|err| anyhow::anyhow!("the release signature is malformed: {err}"))?;
        // The feed is not signed; the trusted comment is. Requiring the version there stops a
        // feed from passing an old signed release off as a new one.
        ensure!(
            signature
                .trusted_comment()
                .split_whitespace()
                .any(|word| word == version.to_string() || word == format!("v{version}")),
            "the signature's trusted comment does not name version {version}: refusing it"
        );
        let mut verifier = self.public_key.verify_stream(&signature).map_err(|err| {
            anyhow::anyhow!("the release is not signed by the configured key: {err}")
        })?;

        let tarball_name = format!("boxd-{version}.tar.gz");
        let tarball = work.join(&tarball_name);
        self.download(&ctx, &tarball, |chunk| verifier.update(chunk))
            .await?;
        verifier.finalize().map_err(|_| {
            anyhow::anyhow!("the release is not signed by the configured key: refusing it")
        })?;
        ctx.log("The signature is valid");
        tokio::fs::write(
            work.join(format!("{tarball_name}.minisig")),
            &signature_text,
        )
        .await?;

        ctx.progress(90, "Staging the release").await?;
        let staged = updates.join(version.to_string());
        if tokio::fs::try_exists(&staged).await? {
            tokio::fs::remove_dir_all(&staged).await?;
        }
        tokio::fs::rename(&work, &staged).await?;
        work_cleanup.keep();
        let staged_cleanup = Cleanup(Some(staged.clone()));
        let staged_tarball = staged.join(&tarball_name);

        match &self.command {
            Some(command) => {
                ctx.progress(95, "Running the update command").await?;
                let env = [
                    ("BOXD_UPDATE_VERSION", version.to_string()),
                    ("BOXD_UPDATE_TARBALL", staged_tarball.display().to_string()),
                    ("BOXD_UPDATE_DIR", staged.display().to_string()),
                ];
                let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                ctx.run_command(command, &env).await?;
            }
            None => ctx.log(&format!(
                "No update command is set (--update-command): version {version} is staged at {}. \
                 Apply it by installing that release (e.g. build it and replace the boxd binary, \
                 or pull the new image), then restart boxd.",
                staged_tarball.display()
            )),
        }
        staged_cleanup.keep();
        Ok(
            json!({ "version": version.to_string(), "staged": staged_tarball.display().to_string() }),
        )
    }
}

impl UpdateJob {
    async fn fetch_signature(&self) -> anyhow::Result<String> {
        let url = &self.release.source_tarball_sig_url;
        let body = outbound::get_capped(&self.http, url, SIGNATURE_MAX_BYTES)
            .await
            .map_err(|why| anyhow::anyhow!("cannot download the signature: {why}"))?;
        String::from_utf8(body).context("the signature is not text")
    }

    /// Streams the tarball into `path`, feeding every chunk to `inspect`, with progress by bytes.
    async fn download(
        &self,
        ctx: &TaskContext,
        path: &Path,
        mut inspect: impl FnMut(&[u8]),
    ) -> anyhow::Result<()> {
        let max = self.max_bytes;
        ctx.progress(10, "Downloading the release").await?;
        let mut response = self
            .http
            .get(&self.release.source_tarball_url)
            .map_err(|why| anyhow::anyhow!("cannot download the release: {why}"))?
            .send()
            .await
            .map_err(|err| anyhow::anyhow!("cannot download the release: {}", describe(err)))?;
        ensure!(
            response.status().is_success(),
            "cannot download the release: HTTP {}",
            response.status()
        );
        let total = response.content_length();
        if total.is_some_and(|total| total > max) {
            bail!(
                "the release is larger than the {} MiB cap",
                max / 1024 / 1024
            );
        }
        let mut file = tokio::fs::File::create(path).await?;
        let (mut received, mut reported) = (0u64, 10u8);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| anyhow::anyhow!("the download failed: {}", describe(err)))?
        {
            received += u64::try_from(chunk.len()).unwrap_or(u64::MAX);
            if received > max {
                bail!(
                    "the release is larger than the {} MiB cap",
                    max / 1024 / 1024
                );
            }
            inspect(&chunk);
            file.write_all(&chunk).await?;
            if let Some(total) = total.filter(|total| *total > 0) {
                // Downloading is 10% to 85% of the task.
                let percent = 10 + u8::try_from(received.min(total) * 75 / total).unwrap_or(75);
                if percent > reported {
                    reported = percent;
                    ctx.progress(
                        percent,
                        &format!("Downloaded {} of {} KiB", received / 1024, total / 1024),
                    )
                    .await?;
                }
            }
        }
        file.sync_all().await?;
        ctx.log(&format!("Downloaded {received} bytes"));
        Ok(())
    }
}

fn backup_path(data_dir: &Path) -> PathBuf {
    let stamp = iso(chrono::Utc::now()).replace([':', '.'], "-");
    data_dir
        .join("backups")
        .join(format!("boxd-{stamp}.sqlite"))
}
