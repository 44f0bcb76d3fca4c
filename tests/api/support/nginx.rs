//! `Nginx`: Debian's nginx in front of a boxd, with the shipped site config
//! (`deploy/nginx/boxd.conf`) read from the repository and only its ports and paths substituted,
//! and a certificate from a test CA where the config expects boxd's.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The site config as shipped.
pub const SITE_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx/boxd.conf");
/// The domain the shipped config serves.
pub const DOMAIN: &str = "my.example.com";

pub struct Nginx {
    child: Child,
    dir: TempDir,
    pub http_port: u16,
    pub https_port: u16,
    /// The PEM of the CA the site's certificate comes from.
    pub ca_pem: String,
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Replaces `from` (which must be there, so a changed config fails loudly) with `to`.
fn substitute(config: &str, from: &str, to: &str) -> String {
    assert!(
        config.contains(from),
        "{SITE_CONFIG} no longer contains {from:?}"
    );
    config.replace(from, to)
}

/// Writes `<data_dir>/certs/<DOMAIN>/{fullchain,privkey}.pem` as boxd does; answers the CA's PEM.
fn write_certificate(data_dir: &Path) -> String {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec![DOMAIN.to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let dir = data_dir.join("certs").join(DOMAIN);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("fullchain.pem"), leaf.pem() + &ca.pem()).unwrap();
    std::fs::write(dir.join("privkey.pem"), key.serialize_pem()).unwrap();
    ca.pem()
}

fn nginx_binary() -> &'static str {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .unwrap_or_else(|| {
            panic!("nginx is not installed: apt-get install nginx (this test runs Debian's nginx)")
        })
}

impl Nginx {
    /// nginx on loopback in front of the boxd at `upstream`, whose data dir is `data_dir`.
    pub fn start(upstream: SocketAddr, data_dir: &Path) -> Self {
        let binary = nginx_binary();
        let dir = tempfile::tempdir().unwrap();
        let ca_pem = write_certificate(data_dir);
        let (http_port, https_port) = (free_port(), free_port());
        let shipped = std::fs::read_to_string(SITE_CONFIG).unwrap();
        let mut site = substitute(
            &shipped,
            "server 127.0.0.1:3000;",
            &format!("server {upstream};"),
        );
        for (from, to) in [
            ("listen 80;", format!("listen 127.0.0.1:{http_port};")),
            ("listen [::]:80;", format!("listen [::1]:{http_port};")),
            (
                "listen 443 ssl http2;",
                format!("listen 127.0.0.1:{https_port} ssl http2;"),
            ),
            (
                "listen [::]:443 ssl http2;",
                format!("listen [::1]:{https_port} ssl http2;"),
            ),
            ("/var/lib/boxd/", format!("{}/", data_dir.display())),
        ] {
            site = substitute(&site, from, &to);
        }
        let prefix = dir.path().display();
        std::fs::write(dir.path().join("boxd.conf"), site).unwrap();
        // One process as the calling user (no master, no user switch): tests run unprivileged
        // too, and every path is in the temp dir.
        let main = format!(
            "daemon off;\nmaster_process off;\npid {prefix}/nginx.pid;\n\
             error_log {prefix}/error.log info;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log {prefix}/access.log;\n\
             client_body_temp_path {prefix}/client_body;\n  proxy_temp_path {prefix}/proxy;\n\
             fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n\
             scgi_temp_path {prefix}/scgi;\n  include {prefix}/boxd.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut nginx = Self {
            child,
            dir,
            http_port,
            https_port,
            ca_pem,
        };
        nginx.wait_until_listening();
        nginx
    }

    fn wait_until_listening(&mut self) {
        let started = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.https_port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("nginx exited ({status}):\n{}", self.error_log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not listen within 10 s:\n{}",
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// `https://my.example.com:<port>`, which [`Nginx::client_from`] resolves to nginx.
    pub fn https_base(&self) -> String {
        format!("https://{DOMAIN}:{}", self.https_port)
    }

    pub fn http_base(&self) -> String {
        format!("http://{DOMAIN}:{}", self.http_port)
    }

    /// A client connecting from the loopback address `from` that trusts the site's CA and finds
    /// the domain on loopback; it does not follow redirects.
    pub fn client_from(&self, from: [u8; 4]) -> reqwest::Client {
        boxd::install_crypto_provider();
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap();
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .local_address(std::net::IpAddr::from(from))
            .resolve(DOMAIN, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
