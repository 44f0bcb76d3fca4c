//! The files of `<data-dir>/certs/<domain>/`: the installed certificate as read back from
//! `fullchain.pem`, and the replacement of both files, each atomically, so a reader never
//! sees half a file.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use x509_parser::extensions::GeneralName;

pub const FULLCHAIN: &str = "fullchain.pem";
pub const PRIVKEY: &str = "privkey.pem";

/// `<data-dir>/certs/<domain>`.
pub fn cert_dir(data_dir: &Path, domain: &str) -> PathBuf {
    data_dir.join("certs").join(domain)
}

/// What boxd knows of a certificate, read from the certificate itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub not_after: DateTime<Utc>,
    /// Hex bytes separated by colons, as `openssl x509 -serial` groups them.
    pub serial: String,
    pub dns_names: Vec<String>,
    /// The DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
}

/// The leaf (the first certificate) of a PEM chain.
pub fn inspect(chain_pem: &[u8]) -> anyhow::Result<CertInfo> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem)
        .map_err(|err| anyhow!("it is not a PEM certificate: {err}"))?;
    let cert = pem
        .parse_x509()
        .map_err(|err| anyhow!("it is not an X.509 certificate: {err}"))?;
    let not_after = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
        .context("its expiry date is out of range")?;
    let dns_names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(name) => Some((*name).to_owned()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(CertInfo {
        not_after,
        serial: cert.raw_serial_as_string(),
        dns_names,
        public_key: cert.public_key().raw.to_vec(),
    })
}

/// The installed certificate; `None` when either file is missing.
pub fn read_installed(dir: &Path) -> anyhow::Result<Option<CertInfo>> {
    if !dir.join(PRIVKEY).exists() {
        return Ok(None);
    }
    match std::fs::read(dir.join(FULLCHAIN)) {
        Ok(pem) => inspect(&pem).map(Some),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).context("cannot read it"),
    }
}

/// Replaces `privkey.pem` (mode 0600) and then `fullchain.pem` (0644) in `dir`.
pub fn install(dir: &Path, chain_pem: &str, key_pem: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    replace(dir, PRIVKEY, key_pem.as_bytes(), 0o600)?;
    replace(dir, FULLCHAIN, chain_pem.as_bytes(), 0o644)?;
    // The renames are durable once the directory is.
    std::fs::File::open(dir)?.sync_all()
}

/// Writes a temp file beside the target, fsyncs it, and renames it over the target. A failure
/// leaves the old file and no temp file behind.
fn replace(dir: &Path, name: &str, contents: &[u8], mode: u32) -> std::io::Result<()> {
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    file.write_all(contents)?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.as_file().sync_all()?;
    file.persist(dir.join(name)).map_err(|err| err.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
    }

    #[test]
    fn a_certificate_is_read_back_from_its_pem() {
        let (cert, _) = self_signed("box.example.test");
        let info = inspect(cert.as_bytes()).unwrap();
        assert_eq!(info.dns_names, ["box.example.test"]);
        assert!(info.not_after > Utc::now());
        assert!(!info.serial.is_empty());
        assert!(inspect(b"not a certificate").is_err());
    }

    #[test]
    fn install_replaces_both_files_with_their_modes_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs").join("box.example.test");
        assert_eq!(read_installed(&certs).unwrap(), None);
        let (first, first_key) = self_signed("box.example.test");
        install(&certs, &first, &first_key).unwrap();
        let (second, second_key) = self_signed("box.example.test");
        install(&certs, &second, &second_key).unwrap();

        let installed = read_installed(&certs).unwrap().unwrap();
        assert_eq!(installed, inspect(second.as_bytes()).unwrap());
        assert_eq!(
            std::fs::read_to_string(certs.join(PRIVKEY)).unwrap(),
            second_key
        );
        let mode = |name| {
            std::fs::metadata(certs.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!((mode(PRIVKEY), mode(FULLCHAIN)), (0o600, 0o644));
        let names: Vec<_> = std::fs::read_dir(&certs)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
