//! The LDAPS certificate: read from its PEM files, and read again when they change (a renewed
//! certificate is used from the next connection on, without a restart).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::Context;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// When the files were last changed, and how long they were: a change of either reloads them.
type Stamp = [(SystemTime, u64); 2];

pub struct Certificate {
    cert: PathBuf,
    key: PathBuf,
    loaded: Mutex<Option<(Stamp, TlsAcceptor)>>,
}

impl Certificate {
    pub fn new(cert: PathBuf, key: PathBuf) -> Self {
        Self {
            cert,
            key,
            loaded: Mutex::new(None),
        }
    }

    /// The acceptor for the files as they are now.
    pub fn acceptor(&self) -> anyhow::Result<TlsAcceptor> {
        let stamp = [stamp(&self.cert)?, stamp(&self.key)?];
        let mut loaded = self
            .loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((seen, acceptor)) = loaded.as_ref()
            && *seen == stamp
        {
            return Ok(acceptor.clone());
        }
        let acceptor = load(&self.cert, &self.key)?;
        tracing::info!(tls.cert = %self.cert.display(), "LDAPS certificate loaded from {}", self.cert.display());
        *loaded = Some((stamp, acceptor.clone()));
        Ok(acceptor)
    }
}

fn stamp(path: &Path) -> anyhow::Result<(SystemTime, u64)> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((meta.modified()?, meta.len()))
}

fn load(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("{} holds no PEM certificate", cert.display()))?;
    anyhow::ensure!(!chain.is_empty(), "{} holds no certificate", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("{} holds no PEM private key", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("no TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the LDAPS certificate and key do not fit together")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
