//! A real ACME server for certificate tests: Debian's `pebble`, with `pebble-challtestsrv` as its
//! DNS (every name is 127.0.0.1), on loopback, validating HTTP-01 on boxd's own port. pebble's
//! TLS certificate comes from a test CA given to boxd with `--acme-ca-file`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::TestServer;

/// The dashboard domain of the certificate tests.
pub const DOMAIN: &str = "box.example.test";

/// Where a Debian package's binary is, or a failure that says which package to install.
pub fn binary(name: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is missing: these tests need `apt-get install -y pebble`")
        })
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A pebble ACME server and its DNS, killed on drop. The ports and the TLS material are chosen
/// before boxd starts (boxd needs the directory URL); the servers start once boxd's port is
/// known (pebble validates on it).
pub struct Pebble {
    dir: TempDir,
    acme_port: u16,
    management_port: u16,
    dns_port: u16,
    processes: Vec<Child>,
}

impl Pebble {
    pub fn prepare() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "boxd test CA");
        ca.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let server = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("cert.pem"), server.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        Self {
            dir,
            acme_port: free_port(),
            management_port: free_port(),
            dns_port: free_port(),
            processes: Vec::new(),
        }
    }

    /// The test CA's certificate, for `--acme-ca-file`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn directory_url(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.acme_port)
    }

    /// Starts the DNS and pebble, which validates HTTP-01 on `http_port`; waits until pebble
    /// answers.
    pub async fn start(&mut self, http_port: u16) {
        let config = json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{}", self.acme_port),
            "managementListenAddress": format!("127.0.0.1:{}", self.management_port),
            "certificate": self.dir.path().join("cert.pem"),
            "privateKey": self.dir.path().join("key.pem"),
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        let config_path = self.dir.path().join("pebble-config.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let log = |name: &str| std::fs::File::create(self.dir.path().join(name)).unwrap();
        let dns = Command::new(binary("pebble-challtestsrv"))
            .args(["-dns01", &format!("127.0.0.1:{}", self.dns_port)])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{}", free_port())])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(log("challtestsrv.log"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.processes.push(dns);
        let pebble = Command::new(binary("pebble"))
            .arg("-config")
            .arg(&config_path)
            .args(["-dnsserver", &format!("127.0.0.1:{}", self.dns_port)])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            // Every order validates its challenge afresh.
            .env("PEBBLE_AUTHZREUSE", "0")
            .env_remove("PEBBLE_VA_ALWAYS_VALID")
            .stdout(log("pebble.log"))
            .stderr(log("pebble.err"))
            .spawn()
            .unwrap();
        self.processes.push(pebble);
        let http = self.client();
        let started = Instant::now();
        while http.get(self.directory_url()).send().await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "pebble did not start: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn stop(&mut self) {
        for mut process in self.processes.drain(..) {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    pub fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name));
        format!(
            "{}{}",
            read("pebble.log").unwrap_or_default(),
            read("pebble.err").unwrap_or_default()
        )
    }

    /// A client trusting the test CA (pebble's TLS certificate).
    fn client(&self) -> reqwest::Client {
        boxd::install_crypto_provider();
        let ca = reqwest::Certificate::from_pem(&std::fs::read(self.ca_file()).unwrap()).unwrap();
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    /// The root pebble issues under (made anew at each start), from its management interface.
    pub async fn issuing_root(&self) -> rustls::pki_types::CertificateDer<'static> {
        let url = format!("https://127.0.0.1:{}/roots/0", self.management_port);
        let pem = self
            .client()
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

/// A boxd for `DOMAIN` using `pebble`, with a reload command that appends a line to
/// `reloads.log` in the data dir.
pub async fn boxd_for(
    pebble: &Pebble,
    adjust: impl FnOnce(&mut boxd::config::Config),
) -> TestServer {
    TestServer::start_with(|config| {
        config.domain = DOMAIN.into();
        config.certs.acme_directory_url = pebble.directory_url();
        config.certs.acme_ca_file = Some(pebble.ca_file());
        let reloads = config.data_dir.join("reloads.log");
        config.certs.reload_command = Some(format!(
            "printf '%s|%s\\n' \"$BOXD_CERT_DOMAIN\" \"$BOXD_CERT_DIR\" >> {}; echo reloaded",
            reloads.display()
        ));
        adjust(config);
    })
    .await
}

pub fn reloads(server: &TestServer) -> Vec<String> {
    std::fs::read_to_string(server.data_dir().join("reloads.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

pub fn cert_dir(server: &TestServer) -> PathBuf {
    server.data_dir().join("certs").join(DOMAIN)
}

/// Waits (up to 60 s) until the task has ended; returns it.
pub async fn finished(server: &TestServer, token: &str, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let (code, task) = server.get(&format!("/api/v1/tasks/{id}"), token).await;
        assert_eq!(code, StatusCode::OK, "{task}");
        if task["active"] == false && task["pending"] == false {
            return task;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "task {id} did not end: {task}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `POST /reverseproxy/renew_certs` (`None`: without a body) and the ended task.
pub async fn renew(server: &TestServer, token: &str, body: Option<Value>) -> Value {
    let path = "/api/v1/reverseproxy/renew_certs";
    let (code, started) = server.request(Method::POST, path, token, body).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{started}");
    let id = started["taskId"].as_str().unwrap().to_owned();
    finished(server, token, &id).await
}

/// The installed leaf's serial and expiry, read with x509-parser.
pub fn installed_leaf(dir: &Path) -> (String, DateTime<Utc>) {
    let pem = std::fs::read(dir.join("fullchain.pem")).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    let expiry = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0).unwrap();
    (cert.raw_serial_as_string(), expiry)
}

pub async fn certificate_events(server: &TestServer, token: &str) -> Vec<Value> {
    let (_, events) = server
        .get("/api/v1/eventlog?actions=certificate.new", token)
        .await;
    events["eventlogs"].as_array().unwrap().clone()
}

pub async fn renewal_alert(server: &TestServer, token: &str) -> Option<Value> {
    let (_, list) = server.get("/api/v1/notifications", token).await;
    list["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["title"] == format!("Certificate renewal of {DOMAIN} failed"))
        .cloned()
}

/// Waits for the `count`th checkCerts task to end; returns it.
pub async fn scheduled_check(server: &TestServer, token: &str, count: usize) -> Value {
    let started = Instant::now();
    loop {
        let (_, list) = server.get("/api/v1/tasks?type=checkCerts", token).await;
        let tasks = list["tasks"].as_array().unwrap();
        if tasks.len() >= count {
            assert_eq!(tasks.len(), count, "one check per run: {list}");
            let id = tasks[0]["id"].as_str().unwrap().to_owned();
            return finished(server, token, &id).await;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no scheduled check number {count}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
