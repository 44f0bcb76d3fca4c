//! Certificates for `--domain` over ACME (RFC 8555, HTTP-01): the `checkCerts` task that obtains
//! and renews them, the challenge answers served while an order is pending, and the files nginx
//! reads.

mod acme;
mod challenges;
mod files;
mod job;

use std::net::IpAddr;
use std::sync::Arc;

pub use acme::AcmeHttp;
pub use challenges::Challenges;
pub use files::{CertInfo, FULLCHAIN, PRIVKEY, cert_dir, inspect, read_installed};
pub use job::CheckCerts;

use crate::config::CertConfig;
use crate::eventlog::Source;
use crate::state::AppState;
use crate::tasks::TaskError;

/// Why a certificate check could not be started.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error(transparent)]
    Task(#[from] TaskError),
}

/// What the certificate jobs share with the server: the ACME transport and the challenge
/// answers the public route serves.
#[derive(Clone)]
pub struct Certs {
    pub challenges: Arc<Challenges>,
    http: AcmeHttp,
}

impl Certs {
    /// Reads `--acme-ca-file`; a file without a certificate stops the server at start.
    pub fn new(config: &CertConfig) -> anyhow::Result<Self> {
        Ok(Self {
            challenges: Arc::default(),
            http: AcmeHttp::new(config)?,
        })
    }
}

/// Why `domain` cannot get a certificate from a public CA, or `None` when it may. Names under
/// reserved TLDs (`.test`, `.internal`) are tried: a private ACME CA may issue for them.
pub fn unsuitable_domain(domain: &str) -> Option<&'static str> {
    let name = domain.trim_end_matches('.');
    if name == "localhost" || name.ends_with(".localhost") {
        Some("localhost names")
    } else if name.parse::<IpAddr>().is_ok() {
        Some("IP addresses")
    } else if !name.contains('.') {
        Some("single-label names")
    } else {
        None
    }
}

fn job(state: &AppState, rebuild: bool, source: Source) -> CheckCerts {
    let config = &state.config;
    CheckCerts {
        db: state.db.clone(),
        http: state.certs.http.clone(),
        challenges: state.certs.challenges.clone(),
        clock: config.clock.clone(),
        domain: config.domain.clone(),
        data_dir: config.data_dir.clone(),
        email: config.certs.acme_email.clone(),
        reload_command: config.certs.reload_command.clone(),
        rebuild,
        source,
    }
}

/// Starts a `checkCerts` task for `--domain`, asked by `source`; `rebuild` forces a new
/// certificate.
pub async fn renew(state: &AppState, rebuild: bool, source: Source) -> Result<i64, CertError> {
    Ok(state.tasks.start(job(state, rebuild, source)).await?)
}

/// The daily check: the same task, started by `cron`; names that cannot get a certificate are
/// skipped quietly.
pub async fn check(state: AppState) {
    if unsuitable_domain(&state.config.domain).is_some() {
        tracing::debug!("certificate check skipped: the domain cannot get a public certificate");
        return;
    }
    match state
        .tasks
        .start(job(&state, false, Source::system("cron")))
        .await
    {
        Ok(id) => tracing::info!(task.id = id, "certificate check started as task {id}"),
        Err(TaskError::AlreadyRunning(_)) => {
            tracing::debug!("certificate check skipped: one is already running");
        }
        Err(err) => tracing::warn!(error = %err, "cannot start the certificate check: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_a_ca_could_issue_for_are_tried() {
        for (domain, why) in [
            ("localhost", "localhost names"),
            ("box.localhost", "localhost names"),
            ("127.0.0.1", "IP addresses"),
            ("intranet", "single-label names"),
            ("intranet.", "single-label names"),
        ] {
            assert_eq!(unsuitable_domain(domain), Some(why), "{domain}");
        }
        for domain in ["my.example.com", "box.example.test", "a.internal"] {
            assert_eq!(unsuitable_domain(domain), None, "{domain}");
        }
    }
}
