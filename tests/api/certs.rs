//! Certificates over ACME against a real ACME server: Debian's `pebble`, with
//! `pebble-challtestsrv` as its DNS (every name is 127.0.0.1), on loopback, validating HTTP-01
//! on boxd's own port. pebble's TLS certificate comes from a test CA given to boxd with
//! `--acme-ca-file`.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boxd::clock::{Clock, ManualClock};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::{BOXD, Served, TestServer, client, error_message};

const DOMAIN: &str = "box.example.test";

/// Where a Debian package's binary is, or a failure that says which package to install.
fn binary(name: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is missing: these tests need `apt-get install -y pebble`")
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A pebble ACME server and its DNS, killed on drop. The ports and the TLS material are chosen
/// before boxd starts (boxd needs the directory URL); the servers start once boxd's port is
/// known (pebble validates on it).
struct Pebble {
    dir: TempDir,
    acme_port: u16,
    management_port: u16,
    dns_port: u16,
    processes: Vec<Child>,
}

impl Pebble {
    fn prepare() -> Self {
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
    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn directory_url(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.acme_port)
    }

    /// Starts the DNS and pebble, which validates HTTP-01 on `http_port`; waits until pebble
    /// answers.
    async fn start(&mut self, http_port: u16) {
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

    fn stop(&mut self) {
        for mut process in self.processes.drain(..) {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    fn log(&self) -> String {
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
    async fn issuing_root(&self) -> CertificateDer<'static> {
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
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
    }
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

/// A boxd for `DOMAIN` using `pebble`, with a reload command that appends a line to
/// `reloads.log` in the data dir.
async fn boxd_for(pebble: &Pebble, adjust: impl FnOnce(&mut boxd::config::Config)) -> TestServer {
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

fn reloads(server: &TestServer) -> Vec<String> {
    std::fs::read_to_string(server.data_dir().join("reloads.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn cert_dir(server: &TestServer) -> PathBuf {
    server.data_dir().join("certs").join(DOMAIN)
}

/// Waits (up to 60 s) until the task has ended; returns it.
async fn finished(server: &TestServer, token: &str, id: &str) -> Value {
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
async fn renew(server: &TestServer, token: &str, body: Option<Value>) -> Value {
    let path = "/api/v1/reverseproxy/renew_certs";
    let (code, started) = server.request(Method::POST, path, token, body).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{started}");
    let id = started["taskId"].as_str().unwrap().to_owned();
    finished(server, token, &id).await
}

/// The installed leaf's serial and expiry, read with x509-parser.
fn installed_leaf(dir: &Path) -> (String, DateTime<Utc>) {
    let pem = std::fs::read(dir.join("fullchain.pem")).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    let expiry = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0).unwrap();
    (cert.raw_serial_as_string(), expiry)
}

async fn certificate_events(server: &TestServer, token: &str) -> Vec<Value> {
    let (_, events) = server
        .get("/api/v1/eventlog?actions=certificate.new", token)
        .await;
    events["eventlogs"].as_array().unwrap().clone()
}

async fn renewal_alert(server: &TestServer, token: &str) -> Option<Value> {
    let (_, list) = server.get("/api/v1/notifications", token).await;
    list["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["title"] == format!("Certificate renewal of {DOMAIN} failed"))
        .cloned()
}

#[tokio::test]
async fn a_certificate_from_a_real_acme_server_verifies_matches_its_key_and_is_reloaded() {
    let mut pebble = Pebble::prepare();
    let server = boxd_for(&pebble, |_| {}).await;
    pebble.start(port_of(&server.base)).await;
    let owner = server.owner_token().await;

    let task = renew(&server, &owner, Some(json!({}))).await;

    assert_eq!(task["success"], true, "{task}\n{}", pebble.log());
    assert_eq!(task["type"], "checkCerts");
    assert_eq!(task["result"]["renewed"], true);
    let dir = cert_dir(&server);
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("fullchain.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let (leaf, intermediates) = chain.split_first().unwrap();
    let leaf = ParsedCertificate::try_from(leaf).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pebble.issuing_root().await).unwrap();
    let provider = rustls::crypto::ring::default_provider();
    rustls::client::verify_server_cert_signed_by_trust_anchor(
        &leaf,
        &roots,
        intermediates,
        UnixTime::now(),
        provider.signature_verification_algorithms.all,
    )
    .expect("the chain verifies against pebble's root");
    rustls::client::verify_server_name(&leaf, &ServerName::try_from(DOMAIN).unwrap())
        .expect("the certificate is for the domain");
    let pem = std::fs::read(dir.join("fullchain.pem")).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    let key = rcgen::KeyPair::from_pem(&std::fs::read_to_string(dir.join("privkey.pem")).unwrap())
        .unwrap();
    assert_eq!(
        cert.public_key().raw,
        rcgen::PublicKeyData::subject_public_key_info(&key).as_slice(),
        "privkey.pem is the certificate's key"
    );
    assert_eq!(key.algorithm(), &rcgen::PKCS_ECDSA_P256_SHA256);
    assert_eq!(task["result"]["serial"], cert.raw_serial_as_string());
    let mode = |name: &str| {
        std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("privkey.pem"), 0o600);
    assert_eq!(
        reloads(&server),
        [format!("{DOMAIN}|{}", dir.display())],
        "the reload command ran once, with the domain and the directory"
    );
    let log = server.task_log(&owner, task["id"].as_str().unwrap()).await;
    for step in [
        "Registering an ACME account (contact: alice@example.com)",
        "Ordering a certificate",
        "Serving http://box.example.test/.well-known/acme-challenge/",
        "validated the challenge",
        "Finalizing the order",
        "Downloading the certificate",
        "reloaded",
    ] {
        assert!(log.contains(step), "the log lacks {step:?}:\n{log}");
    }
    let events = certificate_events(&server, &owner).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["data"],
        json!({"domain": DOMAIN, "errorMessage": ""})
    );
    assert_eq!(events[0]["source"]["username"], "alice");
    assert!(renewal_alert(&server, &owner).await.is_none());
}

#[tokio::test]
async fn a_valid_certificate_is_kept_and_a_rebuild_replaces_it() {
    let mut pebble = Pebble::prepare();
    let server = boxd_for(&pebble, |_| {}).await;
    pebble.start(port_of(&server.base)).await;
    let owner = server.owner_token().await;
    let first = renew(&server, &owner, Some(json!({}))).await;
    assert_eq!(first["success"], true, "{first}");
    let (serial, expiry) = installed_leaf(&cert_dir(&server));

    let kept = renew(&server, &owner, None).await;

    assert_eq!(kept["success"], true, "{kept}");
    assert_eq!(kept["result"]["renewed"], false);
    assert_eq!(installed_leaf(&cert_dir(&server)).0, serial, "same serial");
    let log = server.task_log(&owner, kept["id"].as_str().unwrap()).await;
    let until = boxd::clock::iso(expiry);
    assert!(
        log.contains(&format!(
            "The certificate of {DOMAIN} is valid until {until}"
        )),
        "{log}"
    );
    assert_eq!(
        reloads(&server).len(),
        1,
        "no reload without a new certificate"
    );
    assert_eq!(certificate_events(&server, &owner).await.len(), 1);

    let rebuilt = renew(&server, &owner, Some(json!({"rebuild": true}))).await;

    assert_eq!(rebuilt["success"], true, "{rebuilt}");
    assert_eq!(rebuilt["result"]["renewed"], true);
    let (new_serial, _) = installed_leaf(&cert_dir(&server));
    assert_ne!(new_serial, serial, "a new certificate");
    assert_eq!(rebuilt["result"]["serial"], new_serial);
    assert_eq!(reloads(&server).len(), 2, "the reload command ran again");
    let log = server
        .task_log(&owner, rebuilt["id"].as_str().unwrap())
        .await;
    assert!(
        log.contains("Using the ACME account"),
        "the account is kept: {log}"
    );
}

#[tokio::test]
async fn an_acme_server_that_is_down_fails_the_task_with_an_alert_and_a_later_success_clears_it() {
    let mut pebble = Pebble::prepare();
    let server = boxd_for(&pebble, |_| {}).await;
    let owner = server.owner_token().await;

    let failed = renew(&server, &owner, Some(json!({}))).await;

    assert_eq!(failed["success"], false);
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("cannot reach the ACME server at https://127.0.0.1:")
            && message.contains("onnection refused"),
        "{message}"
    );
    let raised = renewal_alert(&server, &owner)
        .await
        .expect("the alert is raised");
    assert_eq!(raised["acknowledged"], false);
    assert!(
        raised["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach the ACME server")
    );
    let events = certificate_events(&server, &owner).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["domain"], DOMAIN);
    assert_eq!(events[0]["data"]["errorMessage"], message);
    assert!(!cert_dir(&server).join("fullchain.pem").exists());
    assert!(reloads(&server).is_empty());

    pebble.start(port_of(&server.base)).await;
    let task = renew(&server, &owner, Some(json!({"rebuild": true}))).await;

    assert_eq!(task["success"], true, "{task}\n{}", pebble.log());
    let alert = renewal_alert(&server, &owner).await.unwrap();
    assert_eq!(alert["id"], raised["id"], "cleared in place");
    assert_eq!(alert["acknowledged"], true, "the success cleared the alert");
    let events = certificate_events(&server, &owner).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["data"]["errorMessage"], "", "newest first");

    // A fresh ACME server no longer knows the stored account: boxd registers a new one.
    pebble.stop();
    pebble.start(port_of(&server.base)).await;
    let task = renew(&server, &owner, Some(json!({"rebuild": true}))).await;

    assert_eq!(task["success"], true, "{task}\n{}", pebble.log());
    let log = server.task_log(&owner, task["id"].as_str().unwrap()).await;
    assert!(
        log.contains("The ACME server no longer knows the account; registering a new one"),
        "{log}"
    );
}

#[tokio::test]
async fn a_challenge_the_acme_server_cannot_fetch_fails_the_validation() {
    let mut pebble = Pebble::prepare();
    let server = boxd_for(&pebble, |_| {}).await;
    // pebble validates on a port where nothing answers, not on boxd's.
    pebble.start(free_port()).await;
    let owner = server.owner_token().await;

    let task = renew(&server, &owner, Some(json!({}))).await;

    assert_eq!(task["success"], false, "{task}");
    let message = task["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("the validation of {DOMAIN} failed: "))
            && message.contains("connection refused"),
        "{message}"
    );
    let alert = renewal_alert(&server, &owner).await.unwrap();
    assert_eq!(alert["message"], message);
    assert!(!cert_dir(&server).join("fullchain.pem").exists());
    assert!(reloads(&server).is_empty());
}

#[tokio::test]
async fn the_daily_check_keeps_a_valid_certificate_and_renews_one_within_30_days_of_expiry() {
    let mut pebble = Pebble::prepare();
    let clock = Arc::new(ManualClock::default());
    let server = boxd_for(&pebble, |config| config.clock = clock.clone()).await;
    pebble.start(port_of(&server.base)).await;
    let owner = server.owner_token().await;
    let first = renew(&server, &owner, Some(json!({}))).await;
    assert_eq!(first["success"], true, "{first}");
    let (serial, expiry) = installed_leaf(&cert_dir(&server));

    clock.advance(TimeDelta::hours(2));
    let kept = scheduled_check(&server, &owner, 2).await;
    assert_eq!(kept["success"], true, "{kept}");
    assert_eq!(kept["result"]["renewed"], false);
    assert_eq!(installed_leaf(&cert_dir(&server)).0, serial);

    clock.advance(expiry - TimeDelta::days(10) - clock.now());
    let renewed = scheduled_check(&server, &owner, 3).await;

    assert_eq!(renewed["success"], true, "{renewed}");
    assert_eq!(renewed["result"]["renewed"], true);
    assert_ne!(installed_leaf(&cert_dir(&server)).0, serial);
    let log = server
        .task_log(&owner, renewed["id"].as_str().unwrap())
        .await;
    assert!(log.contains("within 30 days: renewing it"), "{log}");
    let events = certificate_events(&server, &owner).await;
    assert_eq!(events[0]["source"]["username"], "cron");
}

/// Waits for the `count`th checkCerts task to end; returns it.
async fn scheduled_check(server: &TestServer, token: &str, count: usize) -> Value {
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

#[tokio::test]
async fn localhost_fails_at_once_and_is_skipped_by_the_daily_check() {
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| {
        config.domain = "localhost".into();
        config.clock = clock.clone();
    })
    .await;
    let owner = server.owner_token().await;
    let started = Instant::now();

    let task = renew(&server, &owner, Some(json!({"rebuild": true}))).await;

    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(task["success"], false);
    let message = task["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Cannot get a certificate for localhost: localhost names cannot have a publicly trusted certificate"),
        "{message}"
    );
    assert!(
        certificate_events(&server, &owner).await.is_empty(),
        "no attempt was made"
    );

    clock.advance(TimeDelta::days(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, list) = server.get("/api/v1/tasks?type=checkCerts", &owner).await;
    assert_eq!(
        list["tasks"].as_array().unwrap().len(),
        1,
        "only the one asked for"
    );
}

#[tokio::test]
async fn bad_bodies_missing_rights_and_a_second_check_are_refused() {
    // An ACME "server" that accepts connections and never answers keeps the task running.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/dir", silent.local_addr().unwrap());
    let server = TestServer::start_with(|config| config.certs.acme_directory_url = url).await;
    let owner = server.owner_token().await;
    let path = "/api/v1/reverseproxy/renew_certs";

    let (code, body) = server.post(path, &owner, json!({"rebuild": "yes"})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(error_message(code, &body), "rebuild must be a boolean");
    let (code, body) = server.post(path, &owner, json!([true])).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let (code, _) = server.post(path, "", json!({})).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (_, user) = server.add_user(&owner, "bob", "user").await;
    let (code, body) = server.post(path, &user, json!({})).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    let read_only = server
        .create_token(&owner, json!({"name": "ro", "scope": {"*": "r"}}))
        .await;
    let (code, _) = server.post(path, &read_only, json!({})).await;
    assert_eq!(code, StatusCode::FORBIDDEN);

    let (code, started) = server.post(path, &owner, json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{started}");
    let (code, body) = server.post(path, &owner, json!({"rebuild": true})).await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert_eq!(
        error_message(code, &body),
        "A checkCerts task is already running"
    );
    let id = started["taskId"].as_str().unwrap();
    let (code, _) = server
        .post(&format!("/api/v1/tasks/{id}/stop"), &owner, json!({}))
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    drop(silent);
}

#[tokio::test]
async fn the_challenge_route_is_public_404s_unknown_tokens_and_obeys_the_blocklist() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let path = "/.well-known/acme-challenge/unknown-token";

    let response = server.http.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        error_message(StatusCode::NOT_FOUND, &body),
        "No such challenge"
    );

    for (path, body) in [
        (
            "/api/v1/reverseproxy/trusted_ips",
            json!({"trustedIps": "127.0.0.1"}),
        ),
        (
            "/api/v1/network/blocklist",
            json!({"blocklist": "203.0.113.7"}),
        ),
    ] {
        let (code, _) = server.post(path, &owner, body).await;
        assert_eq!(code, StatusCode::OK);
    }
    let blocked = server
        .http
        .get(server.url(path))
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_acme_settings_stop_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let missing = dir.path().join("missing.pem");
    for (args, expected) in [
        (
            vec!["--acme-directory-url", "http://acme.example.com/dir"],
            "--acme-directory-url must be an https URL".to_owned(),
        ),
        (
            vec!["--acme-email", "not an email"],
            "--acme-email must be an email address".to_owned(),
        ),
        (
            vec!["--acme-ca-file", not_pem.to_str().unwrap()],
            format!(
                "--acme-ca-file {} holds no PEM certificate",
                not_pem.display()
            ),
        ),
        (
            vec!["--acme-ca-file", missing.to_str().unwrap()],
            format!("cannot read --acme-ca-file {}", missing.display()),
        ),
    ] {
        let output = Command::new(BOXD)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
    }
}

/// The account key and the certificate key never come back from the API or reach a log.
#[tokio::test]
async fn no_key_is_ever_shown_or_logged() {
    let mut pebble = Pebble::prepare();
    let data = tempfile::tempdir().unwrap();
    let served = Served::start_with_args(
        data.path(),
        &[
            "--domain",
            DOMAIN,
            "--acme-directory-url",
            &pebble.directory_url(),
            "--acme-ca-file",
            pebble.ca_file().to_str().unwrap(),
        ],
    );
    pebble.start(port_of(&served.base)).await;
    let token = served.activate("alice", "Canary-Owner-Password-1").await;
    let http = client();
    let call = async |method: Method, path: &str, body: Option<Value>| {
        let mut request = http.request(method, served.url(path)).bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    };
    let (code, started) = call(
        Method::POST,
        "/api/v1/reverseproxy/renew_certs",
        Some(json!({"rebuild": true})),
    )
    .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{started}");
    let id = serde_json::from_str::<Value>(&started).unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let started_at = Instant::now();
    loop {
        let (_, task) = call(Method::GET, &format!("/api/v1/tasks/{id}"), None).await;
        let task: Value = serde_json::from_str(&task).unwrap();
        if task["active"] == false && task["pending"] == false {
            assert_eq!(task["success"], true, "{task}");
            break;
        }
        assert!(started_at.elapsed() < Duration::from_secs(60), "{task}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut seen = String::new();
    for path in [
        format!("/api/v1/tasks/{id}"),
        format!("/api/v1/tasks/{id}/logs?lines=-1"),
        "/api/v1/tasks".to_owned(),
        "/api/v1/eventlog?per_page=1000".to_owned(),
        "/api/v1/notifications".to_owned(),
        "/api/v1/reverseproxy/trusted_ips".to_owned(),
        "/api/v1/cloudron/status".to_owned(),
        "/api/v1/profile".to_owned(),
    ] {
        let (code, body) = call(Method::GET, &path, None).await;
        assert_eq!(code, StatusCode::OK, "{path}");
        seen.push_str(&body);
    }
    let task_log =
        std::fs::read_to_string(data.path().join(format!("logs/tasks/{id}.log"))).unwrap();
    let stored = {
        let db = boxd::store::connect(&format!(
            "sqlite://{}",
            data.path().join("boxd.sqlite").display()
        ))
        .await
        .unwrap();
        let value: String =
            sqlx::query_scalar("SELECT value FROM settings WHERE name = 'acme_account'")
                .fetch_one(&db)
                .await
                .unwrap();
        db.close().await;
        serde_json::from_str::<Value>(&value).unwrap()
    };
    let (_, _, log) = served.terminate();

    let account_key = stored["credentials"]["key_pkcs8"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(account_key.len() > 100, "the stored account key: {stored}");
    let account_der = base64_url_decode(&account_key);
    let privkey =
        std::fs::read_to_string(data.path().join("certs").join(DOMAIN).join("privkey.pem"))
            .unwrap();
    let privkey_body: String = privkey
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    assert!(seen.contains("certificate.new") && task_log.contains("Downloaded certificate"));
    for (what, secret) in [
        ("the account key", account_key.clone()),
        ("the account key (base64)", base64_std(&account_der)),
        ("the account key (hex)", hex::encode(&account_der)),
        ("the certificate key", privkey_body[..64].to_owned()),
        (
            "the certificate key",
            privkey_body[privkey_body.len() - 64..].to_owned(),
        ),
    ] {
        assert!(!seen.contains(&secret), "a GET response contains {what}");
        assert!(!task_log.contains(&secret), "the task log contains {what}");
        assert!(!log.contains(&secret), "the server log contains {what}");
    }
}

fn base64_url_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
