//! A release server started here, releases signed here, and a boxd that updates from them.

use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::get;
use boxd::config::{Config, parse_public_key};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::server::TestServer;

/// What the release server serves; tests change it between calls.
#[derive(Clone, Default)]
pub struct Releases {
    pub feed: Arc<Mutex<Value>>,
    pub tarball: Arc<Mutex<Vec<u8>>>,
    pub signature: Arc<Mutex<String>>,
    /// When set, the tarball is sent in two halves with this gate between them.
    pub gate: Arc<Mutex<Option<Arc<Notify>>>>,
    /// How often the feed was asked for.
    pub feed_requests: Arc<AtomicUsize>,
    /// Where `/moved` redirects to.
    pub moved_to: Arc<Mutex<String>>,
}

/// A minisign key pair that signs releases here.
pub struct Signer {
    keys: minisign::KeyPair,
}

impl Signer {
    pub fn generate() -> Self {
        Self {
            keys: minisign::KeyPair::generate_unencrypted_keypair().unwrap(),
        }
    }

    pub fn public_key(&self) -> String {
        self.keys.pk.to_base64()
    }

    pub fn sign(&self, data: &[u8], trusted_comment: &str) -> String {
        minisign::sign(
            Some(&self.keys.pk),
            &self.keys.sk,
            Cursor::new(data),
            Some(trusted_comment),
            None,
        )
        .unwrap()
        .to_string()
    }
}

impl Releases {
    /// Starts the server; answers its base URL.
    pub async fn start(&self) -> String {
        let app = axum::Router::new()
            .route(
                "/feed.json",
                get(|State(r): State<Releases>| async move {
                    r.feed_requests.fetch_add(1, Ordering::SeqCst);
                    axum::Json(r.feed.lock().unwrap().clone())
                }),
            )
            .route("/garbage", get(|| async { "this is not json" }))
            .route(
                "/huge",
                get(|| async {
                    format!(
                        "{{\"version\": \"9.9.9\", \"changelog\": [\"{}\"]}}",
                        "x".repeat(2 * 1024 * 1024)
                    )
                }),
            )
            .route(
                "/elsewhere",
                get(|State(r): State<Releases>| async move {
                    let port = r.feed.lock().unwrap()["port"].as_u64().unwrap_or_default();
                    axum::response::Redirect::temporary(&format!(
                        "http://localhost:{port}/feed.json"
                    ))
                }),
            )
            .route(
                "/release.tar.gz",
                get(|State(r): State<Releases>| async move {
                    let tarball = r.tarball.lock().unwrap().clone();
                    let gate = r.gate.lock().unwrap().clone();
                    let length = tarball.len();
                    let half = Bytes::from(tarball[..length / 2].to_vec());
                    let rest = Bytes::from(tarball[length / 2..].to_vec());
                    let stream = futures_util::stream::unfold(0, move |step| {
                        let (half, rest, gate) = (half.clone(), rest.clone(), gate.clone());
                        async move {
                            match step {
                                0 => Some((Ok::<_, std::io::Error>(half), 1)),
                                1 => {
                                    if let Some(gate) = gate {
                                        gate.notified().await;
                                    }
                                    Some((Ok(rest), 2))
                                }
                                _ => None,
                            }
                        }
                    });
                    (
                        [("content-length", length.to_string())],
                        Body::from_stream(stream),
                    )
                }),
            )
            .route(
                "/moved",
                get(|State(r): State<Releases>| async move {
                    axum::response::Redirect::temporary(&r.moved_to.lock().unwrap().clone())
                }),
            )
            .route(
                "/release.tar.gz.minisig",
                get(|State(r): State<Releases>| async move { r.signature.lock().unwrap().clone() }),
            )
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    /// Serves `version` with a tarball signed by `signer` (trusted comment "boxd <version>").
    pub fn publish(&self, base: &str, version: &str, signer: &Signer, tarball: Vec<u8>) {
        *self.signature.lock().unwrap() = signer.sign(&tarball, &format!("boxd {version}"));
        *self.tarball.lock().unwrap() = tarball;
        *self.feed.lock().unwrap() = json!({
            "version": version,
            "changelog": ["Faster", "Safer"],
            "sourceTarballUrl": format!("{base}/release.tar.gz"),
            "sourceTarballSigUrl": format!("{base}/release.tar.gz.minisig"),
            "unstable": false,
        });
    }
}

/// `size` bytes of a made-up release tarball.
pub fn tarball(size: usize) -> Vec<u8> {
    (0..size)
        .map(|n| u8::try_from(n * 31 % 251).unwrap())
        .collect()
}

/// A server whose update feed is a `Releases` server started here, trusting `signer`'s key,
/// whose update command records its arguments in `applied`; and its owner's token.
pub struct UpdateSetup {
    pub server: TestServer,
    pub owner: String,
    pub releases: Releases,
    /// The release server's base URL.
    pub base: String,
    pub signer: Signer,
    pub applied: tempfile::NamedTempFile,
}

impl UpdateSetup {
    /// Starts it all; `adjust` may change the server's config first.
    pub async fn start(adjust: impl FnOnce(&mut Config)) -> Self {
        let releases = Releases::default();
        let base = releases.start().await;
        let signer = Signer::generate();
        let applied = tempfile::NamedTempFile::new().unwrap();
        let command = format!(
            "echo \"$BOXD_UPDATE_VERSION $BOXD_UPDATE_TARBALL\" > {}; echo applied",
            applied.path().display()
        );
        let key = signer.public_key();
        let feed = format!("{base}/feed.json");
        let server = TestServer::start_with(|config| {
            config.update.feed_url = Some(feed);
            config.update.public_key = Some(parse_public_key(&key).unwrap());
            config.update.command = Some(command);
            adjust(config);
        })
        .await;
        let owner = server.owner_token().await;
        Self {
            server,
            owner,
            releases,
            base,
            signer,
            applied,
        }
    }

    /// Publishes `version` with `tarball`, signed by the trusted key.
    pub fn publish(&self, version: &str, tarball: Vec<u8>) {
        self.releases
            .publish(&self.base, version, &self.signer, tarball);
    }

    /// `POST /api/v1/updater/check_for_updates` as the owner.
    pub async fn check(&self) -> (StatusCode, Value) {
        self.server
            .post("/api/v1/updater/check_for_updates", &self.owner, json!({}))
            .await
    }

    /// Whatever the updates dir holds: staged versions and leftovers.
    pub fn staged(&self) -> Vec<String> {
        match std::fs::read_dir(self.server.data_dir().join("updates")) {
            Ok(entries) => entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}
