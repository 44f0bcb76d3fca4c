//! The `checkCerts` task: keep the certificate of `--domain` valid. It obtains one when none is
//! installed, when the installed one expires within 30 days, or when asked to rebuild; every
//! attempt records `certificate.new` and raises or clears the renewal alert.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::TimeDelta;
use serde_json::{Value, json};
use sqlx::SqlitePool;

use super::acme::{AcmeHttp, Issuance};
use super::challenges::Challenges;
use super::files::{self, CertInfo};
use super::unsuitable_domain;
use crate::clock::{Clock, iso};
use crate::eventlog::{self, Action, Source};
use crate::notifications::{self, CERTIFICATE_RENEWAL};
use crate::store;
use crate::tasks::{Job, TaskContext};

/// A certificate closer than this to its expiry is renewed (Let's Encrypt's are valid 90 days).
const RENEW_BEFORE: TimeDelta = TimeDelta::days(30);

pub struct CheckCerts {
    pub(super) db: SqlitePool,
    pub(super) http: AcmeHttp,
    pub(super) challenges: Arc<Challenges>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) domain: String,
    pub(super) data_dir: PathBuf,
    /// `--acme-email`; without it the owner's email is the account's contact.
    pub(super) email: Option<String>,
    pub(super) reload_command: Option<String>,
    pub(super) rebuild: bool,
    pub(super) source: Source,
}

impl Job for CheckCerts {
    fn task_type(&self) -> &'static str {
        "checkCerts"
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn args(&self) -> Value {
        json!({ "domain": self.domain, "rebuild": self.rebuild })
    }

    async fn run(self, ctx: TaskContext) -> anyhow::Result<Value> {
        let domain = &self.domain;
        if let Some(names) = unsuitable_domain(domain) {
            bail!(
                "Cannot get a certificate for {domain}: {names} cannot have a publicly trusted \
                 certificate. Start boxd with --domain set to a public name such as my.example.com"
            );
        }
        ctx.progress(5, &format!("Checking the certificate of {domain}"))
            .await?;
        let dir = files::cert_dir(&self.data_dir, domain);
        if let Some(valid) = self.still_valid(&ctx, &dir) {
            ctx.log(&format!(
                "The certificate of {domain} is valid until {}; nothing to do",
                iso(valid.not_after)
            ));
            return Ok(result(domain, &valid, false));
        }
        let outcome = self.obtain(&ctx, &dir).await;
        let error = outcome
            .as_ref()
            .err()
            .map(|err| format!("{err:#}"))
            .unwrap_or_default();
        self.record(&error).await?;
        let info = outcome?;
        Ok(result(domain, &info, true))
    }
}

fn result(domain: &str, info: &CertInfo, renewed: bool) -> Value {
    json!({
        "domain": domain,
        "renewed": renewed,
        "serial": info.serial,
        "notAfter": iso(info.not_after),
    })
}

impl CheckCerts {
    /// The installed certificate, when it is to be kept.
    fn still_valid(&self, ctx: &TaskContext, dir: &Path) -> Option<CertInfo> {
        if self.rebuild {
            ctx.log("A rebuild was asked for: obtaining a new certificate");
            return None;
        }
        match files::read_installed(dir) {
            Ok(Some(info)) if info.not_after - self.clock.now() > RENEW_BEFORE => Some(info),
            Ok(Some(info)) => {
                ctx.log(&format!(
                    "The certificate expires on {}, within {} days: renewing it",
                    iso(info.not_after),
                    RENEW_BEFORE.num_days()
                ));
                None
            }
            Ok(None) => {
                ctx.log("No certificate is installed: obtaining one");
                None
            }
            Err(err) => {
                ctx.log(&format!(
                    "The installed certificate cannot be used ({err:#}): obtaining a new one"
                ));
                None
            }
        }
    }

    /// Obtains, installs and announces a new certificate.
    async fn obtain(&self, ctx: &TaskContext, dir: &Path) -> anyhow::Result<CertInfo> {
        let email = match &self.email {
            Some(email) => Some(email.clone()),
            None => store::users::owner_email(&self.db).await?,
        };
        let issued = Issuance {
            ctx,
            db: &self.db,
            http: &self.http,
            challenges: &self.challenges,
            domain: &self.domain,
            email,
        }
        .run()
        .await?;
        ctx.progress(
            90,
            &format!("Installing the certificate in {}", dir.display()),
        )
        .await?;
        let (target, chain, key) = (dir.to_owned(), issued.chain_pem, issued.key_pem);
        tokio::task::spawn_blocking(move || files::install(&target, &chain, &key))
            .await?
            .context("cannot install the certificate")?;
        match &self.reload_command {
            Some(command) => {
                ctx.progress(95, "Running the reload command").await?;
                let dir = dir.display().to_string();
                let env = [
                    ("BOXD_CERT_DOMAIN", self.domain.as_str()),
                    ("BOXD_CERT_DIR", dir.as_str()),
                ];
                ctx.run_command(command, &env)
                    .await
                    .context("the certificate is installed, but the reload command failed")?;
            }
            None => ctx.log(
                "No reload command is set (--cert-reload-command): reload the web server to \
                 serve the new certificate",
            ),
        }
        Ok(issued.info)
    }

    /// `certificate.new` with the attempt's error (empty on success), and the alert raised
    /// with that error or cleared, together.
    async fn record(&self, error: &str) -> anyhow::Result<()> {
        let data = json!({ "domain": self.domain, "errorMessage": error });
        let title = format!("Certificate renewal of {} failed", self.domain);
        let mut tx = store::begin_write(&self.db).await?;
        eventlog::record(&mut *tx, Action::CertificateNew, &self.source, data).await?;
        notifications::alert(&mut *tx, CERTIFICATE_RENEWAL, &title, error).await?;
        tx.commit().await?;
        Ok(())
    }
}
