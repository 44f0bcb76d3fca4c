//! The updater against a release server started here, with releases signed here.

use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::get;
use boxd::clock::{Clock, ManualClock};
use boxd::config::{Config, parse_public_key};
use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::support::{TestServer, expect_error, expect_error_exact, wait_for_task};

/// What the release server serves; tests change it between calls.
#[derive(Clone, Default)]
struct Releases {
    feed: Arc<Mutex<Value>>,
    tarball: Arc<Mutex<Vec<u8>>>,
    signature: Arc<Mutex<String>>,
    /// When set, the tarball is sent in two halves with this gate between them.
    gate: Arc<Mutex<Option<Arc<Notify>>>>,
    feed_requests: Arc<AtomicUsize>,
}

struct Signer {
    keys: minisign::KeyPair,
}

impl Signer {
    fn new() -> Self {
        Self {
            keys: minisign::KeyPair::generate_unencrypted_keypair().unwrap(),
        }
    }

    fn public_key(&self) -> String {
        self.keys.pk.to_base64()
    }

    fn sign(&self, data: &[u8], trusted_comment: &str) -> String {
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
    async fn start(&self) -> String {
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
    fn publish(&self, base: &str, version: &str, signer: &Signer, tarball: Vec<u8>) {
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

fn tarball(size: usize) -> Vec<u8> {
    (0..size)
        .map(|n| u8::try_from(n * 31 % 251).unwrap())
        .collect()
}

struct Setup {
    server: TestServer,
    owner: String,
    releases: Releases,
    base: String,
    signer: Signer,
    applied: tempfile::NamedTempFile,
}

async fn setup(adjust: impl FnOnce(&mut Config)) -> Setup {
    let releases = Releases::default();
    let base = releases.start().await;
    let signer = Signer::new();
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
    Setup {
        server,
        owner,
        releases,
        base,
        signer,
        applied,
    }
}

async fn check(s: &Setup) -> (StatusCode, Value) {
    s.server
        .post("/api/v1/updater/check_for_updates", &s.owner, json!({}))
        .await
}

/// Whatever the updates dir holds: staged versions and leftovers.
fn staged(server: &TestServer) -> Vec<String> {
    match std::fs::read_dir(server.data_dir().join("updates")) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn a_check_lists_a_newer_release_and_raises_the_alert_then_clears_it() {
    let s = setup(|_| {}).await;
    s.releases
        .publish(&s.base, "0.2.0", &s.signer, tarball(100));

    let (code, body) = check(&s).await;

    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["updates"]["box"]["version"], "0.2.0");
    assert_eq!(
        body["updates"]["box"]["changelog"],
        json!(["Faster", "Safer"])
    );
    let (_, cached) = s.server.get("/api/v1/updater/updates", &s.owner).await;
    assert_eq!(cached, body, "cached");
    let (_, notes) = s.server.get("/api/v1/notifications", &s.owner).await;
    assert_eq!(
        notes["notifications"][0]["title"],
        "boxd v0.2.0 is available"
    );
    assert_eq!(notes["notifications"][0]["acknowledged"], false);

    for version in [env!("CARGO_PKG_VERSION"), "0.0.9"] {
        s.releases
            .publish(&s.base, version, &s.signer, tarball(100));
        let (code, body) = check(&s).await;
        assert_eq!(
            (code, body),
            (StatusCode::OK, json!({"updates": {}})),
            "{version}"
        );
    }
    let (_, cached) = s.server.get("/api/v1/updater/updates", &s.owner).await;
    assert_eq!(cached, json!({"updates": {}}));
    let (_, notes) = s.server.get("/api/v1/notifications", &s.owner).await;
    assert_eq!(notes["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(
        notes["notifications"][0]["acknowledged"], true,
        "the alert is cleared"
    );
}

#[tokio::test]
async fn unstable_releases_are_offered_only_when_allowed() {
    for allowed in [false, true] {
        let s = setup(|config| config.update.allow_unstable = allowed).await;
        s.releases
            .publish(&s.base, "0.3.0-beta.1", &s.signer, tarball(10));
        s.releases.feed.lock().unwrap()["unstable"] = json!(true);

        let (code, body) = check(&s).await;

        assert_eq!(code, StatusCode::OK);
        assert_eq!(body["updates"]["box"].is_object(), allowed, "{body}");
    }
}

#[tokio::test]
async fn a_bad_feed_is_a_clear_error_and_caches_nothing() {
    let s = setup(|_| {}).await;
    s.releases.publish(&s.base, "0.2.0", &s.signer, tarball(10));
    check(&s).await;
    let port = s.base.rsplit(':').next().unwrap().parse::<u64>().unwrap();
    s.releases.feed.lock().unwrap()["port"] = json!(port);

    for (path, expected) in [
        ("/garbage", "it is not a release description"),
        ("/huge", "the answer is larger than 1048576 bytes"),
        ("/elsewhere", "the feed redirects to another host"),
        ("/missing", "it answered HTTP 404 Not Found"),
    ] {
        let url = format!("{}{path}", s.base);
        let server = TestServer::start_in(tempfile::tempdir().unwrap(), |config| {
            config.update.feed_url = Some(url)
        })
        .await;
        let owner = server.owner_token().await;
        let answer = server
            .post("/api/v1/updater/check_for_updates", &owner, json!({}))
            .await;
        expect_error(answer, StatusCode::FAILED_DEPENDENCY, expected);
        let (_, cached) = server.get("/api/v1/updater/updates", &owner).await;
        assert_eq!(cached, json!({"updates": {}}), "{path}: nothing cached");
    }
    *s.releases.feed.lock().unwrap() = json!({"version": "0.2.0", "sourceTarballUrl": "http://10.0.0.1/boxd.tar.gz", "sourceTarballSigUrl": format!("{}/release.tar.gz.minisig", s.base)});
    // A private host the feed is not on.
    let answer = check(&s).await;
    expect_error(
        answer,
        StatusCode::FAILED_DEPENDENCY,
        "neither on its own host",
    );

    let unreachable = TestServer::start_with(|config| {
        config.update.feed_url = Some("http://127.0.0.1:9/feed.json".into())
    })
    .await;
    let owner = unreachable.owner_token().await;
    let (code, _) = unreachable
        .post("/api/v1/updater/check_for_updates", &owner, json!({}))
        .await;
    assert_eq!(code, StatusCode::FAILED_DEPENDENCY);

    *s.releases.feed.lock().unwrap() =
        json!({"version": "one point two", "sourceTarballUrl": "x", "sourceTarballSigUrl": "y"});
    let answer = check(&s).await;
    expect_error(answer, StatusCode::FAILED_DEPENDENCY, "not SemVer");
    let (_, cached) = s.server.get("/api/v1/updater/updates", &s.owner).await;
    assert_eq!(
        cached["updates"]["box"]["version"], "0.2.0",
        "a failed check keeps the last good result"
    );
}

#[tokio::test]
async fn without_a_feed_checking_and_updating_are_refused() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let answer = server
        .post("/api/v1/updater/check_for_updates", &owner, json!({}))
        .await;
    expect_error(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "--update-feed-url",
    );
    let answer = server
        .post("/api/v1/updater/update", &owner, json!({}))
        .await;
    expect_error_exact(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "No update available",
    );
    let answer = server
        .post(
            "/api/v1/updater/update",
            &owner,
            json!({"skipBackup": "yes"}),
        )
        .await;
    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "skipBackup must be a boolean",
    );
}

#[tokio::test]
async fn a_good_release_is_downloaded_verified_staged_and_applied() {
    let s = setup(|_| {}).await;
    let release = tarball(1024 * 1024 + 7);
    s.releases
        .publish(&s.base, "0.2.0", &s.signer, release.clone());
    check(&s).await;

    let (code, body) = s
        .server
        .post("/api/v1/updater/update", &s.owner, json!({}))
        .await;

    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let task_id = body["taskId"]
        .as_str()
        .expect("taskId is a string")
        .to_owned();
    let task = wait_for_task(&s.server, &s.owner, &task_id, |t| {
        t["active"] == false && t["pending"] == false
    })
    .await;
    assert_eq!(task["success"], true, "{task}");
    assert_eq!(task["type"], "update");
    let staged_dir = s.server.data_dir().join("updates").join("0.2.0");
    let staged_tarball = staged_dir.join("boxd-0.2.0.tar.gz");
    assert_eq!(
        task["result"]["staged"],
        staged_tarball.display().to_string()
    );
    assert_eq!(std::fs::read(&staged_tarball).unwrap(), release);
    assert!(staged_dir.join("boxd-0.2.0.tar.gz.minisig").exists());
    assert_eq!(
        staged(&s.server),
        ["0.2.0"],
        "no leftovers beside the staged release"
    );
    assert_eq!(
        std::fs::read_to_string(s.applied.path()).unwrap(),
        format!("0.2.0 {}\n", staged_tarball.display())
    );

    let log = s.server.task_log(&s.owner, &task_id).await;
    assert!(log.contains("Database backed up to"), "{log}");
    let progress: Vec<u64> = log
        .lines()
        .filter_map(|line| line.split_once("Downloaded ")?.1.split_once(" of 1024 KiB"))
        .map(|(done, _)| done.parse().unwrap())
        .collect();
    assert!(
        progress.len() >= 5 && progress.windows(2).all(|w| w[0] < w[1]),
        "progress by bytes: {progress:?}"
    );
    assert_eq!(progress.last(), Some(&1024));
    assert!(
        log.contains("The signature is valid") && log.contains("applied"),
        "{log}"
    );
    let backups: Vec<_> = std::fs::read_dir(s.server.data_dir().join("backups"))
        .unwrap()
        .collect();
    assert_eq!(backups.len(), 1);
    let backup = backups[0].as_ref().unwrap().path();
    let copy = boxd::store::connect(&format!("sqlite://{}", backup.display()))
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(check, "ok");

    let (_, events) = s
        .server
        .get("/api/v1/eventlog?actions=cloudron.update", &s.owner)
        .await;
    let event = &events["eventlogs"][0];
    assert_eq!(event["data"]["taskId"], task_id);
    assert_eq!(event["data"]["boxUpdateInfo"]["version"], "0.2.0");
    assert_eq!(event["source"]["username"], "alice");
}

#[tokio::test]
async fn without_a_command_the_release_is_staged_and_the_log_says_how_to_apply_it() {
    let s = setup(|config| config.update.command = None).await;
    s.releases
        .publish(&s.base, "0.2.0", &s.signer, tarball(2000));
    check(&s).await;

    let (_, body) = s
        .server
        .post(
            "/api/v1/updater/update",
            &s.owner,
            json!({"skipBackup": true}),
        )
        .await;
    let task_id = body["taskId"].as_str().unwrap();
    let task = wait_for_task(&s.server, &s.owner, task_id, |t| {
        t["active"] == false && t["pending"] == false
    })
    .await;

    assert_eq!(task["success"], true);
    let log = s.server.task_log(&s.owner, task_id).await;
    assert!(
        log.contains("No update command is set") && log.contains("is staged at"),
        "{log}"
    );
    assert!(
        !s.server.data_dir().join("backups").exists(),
        "skipBackup skips the backup"
    );
}

async fn failing_update(s: &Setup) -> Value {
    check(s).await;
    let (code, body) = s
        .server
        .post(
            "/api/v1/updater/update",
            &s.owner,
            json!({"skipBackup": true}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let task_id = body["taskId"].as_str().unwrap();
    let task = wait_for_task(&s.server, &s.owner, task_id, |t| {
        t["active"] == false && t["pending"] == false
    })
    .await;
    assert_eq!(task["success"], false, "{task}");
    assert!(
        staged(&s.server).is_empty(),
        "nothing staged, nothing left: {:?}",
        staged(&s.server)
    );
    assert_eq!(
        std::fs::read_to_string(s.applied.path()).unwrap(),
        "",
        "the command never ran"
    );
    task
}

#[tokio::test]
async fn a_tampered_tarball_is_refused() {
    let s = setup(|_| {}).await;
    s.releases
        .publish(&s.base, "0.2.0", &s.signer, tarball(5000));
    s.releases.tarball.lock().unwrap()[100] ^= 1;
    let task = failing_update(&s).await;
    assert!(
        task["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not signed by the configured key"),
        "{task}"
    );
}

#[tokio::test]
async fn a_release_signed_with_another_key_is_refused() {
    let s = setup(|_| {}).await;
    s.releases
        .publish(&s.base, "0.2.0", &Signer::new(), tarball(5000));
    let task = failing_update(&s).await;
    assert!(
        task["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not signed by the configured key"),
        "{task}"
    );
}

#[tokio::test]
async fn an_old_signed_release_offered_as_new_is_refused() {
    let s = setup(|_| {}).await;
    let old = tarball(5000);
    s.releases.publish(&s.base, "0.2.0", &s.signer, old.clone());
    *s.releases.signature.lock().unwrap() = s.signer.sign(&old, "boxd 0.0.9");
    let task = failing_update(&s).await;
    assert!(
        task["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not name version 0.2.0"),
        "{task}"
    );
}

#[tokio::test]
async fn an_oversized_release_is_refused() {
    let s = setup(|config| config.update.max_bytes = 64 * 1024).await;
    s.releases
        .publish(&s.base, "0.2.0", &s.signer, tarball(200 * 1024));
    let task = failing_update(&s).await;
    assert!(
        task["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than"),
        "{task}"
    );
}

#[tokio::test]
async fn stopping_during_the_download_leaves_nothing_and_one_update_runs_at_a_time() {
    let s = setup(|_| {}).await;
    let gate = Arc::new(Notify::new());
    *s.releases.gate.lock().unwrap() = Some(gate.clone());
    s.releases
        .publish(&s.base, "0.2.0", &s.signer, tarball(512 * 1024));
    check(&s).await;
    let (_, body) = s
        .server
        .post(
            "/api/v1/updater/update",
            &s.owner,
            json!({"skipBackup": true}),
        )
        .await;
    let task_id = body["taskId"].as_str().unwrap().to_owned();
    wait_for_task(&s.server, &s.owner, &task_id, |t| {
        t["percent"].as_i64().unwrap() >= 40
    })
    .await;
    assert_eq!(staged(&s.server).len(), 1, "a download in progress");

    let (code, body) = s
        .server
        .post("/api/v1/updater/update", &s.owner, json!({}))
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    let (code, _) = s
        .server
        .post(
            &format!("/api/v1/tasks/{task_id}/stop"),
            &s.owner,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let task = wait_for_task(&s.server, &s.owner, &task_id, |t| t["active"] == false).await;

    assert_eq!(task["error"]["code"], "stopped");
    assert!(
        staged(&s.server).is_empty(),
        "the partial download is gone: {:?}",
        staged(&s.server)
    );
    gate.notify_waiters();
}

#[tokio::test]
async fn the_autoupdate_pattern_is_validated() {
    let s = setup(|_| {}).await;
    let (code, body) = s
        .server
        .get("/api/v1/updater/autoupdate_pattern", &s.owner)
        .await;
    assert_eq!(
        (code, body),
        (StatusCode::OK, json!({"pattern": "00 00 1,3,5,23 * * *"}))
    );
    for pattern in ["never", "0 30 4 * * 1", "30 4 * * *"] {
        let (code, _) = s
            .server
            .post(
                "/api/v1/updater/autoupdate_pattern",
                &s.owner,
                json!({"pattern": pattern}),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{pattern}");
        let (_, body) = s
            .server
            .get("/api/v1/updater/autoupdate_pattern", &s.owner)
            .await;
        assert_eq!(body["pattern"], pattern);
    }
    for (pattern, expected) in [
        (
            json!("* * * * * *"),
            "Invalid pattern: it fires more than once a minute",
        ),
        (
            json!("*/15 * * * * *"),
            "Invalid pattern: it fires more than once a minute",
        ),
        (json!("0 0 0 31 2 *"), "Invalid pattern: it never fires"),
        (
            json!("sometimes"),
            "Invalid pattern: use 6 fields (seconds first) or 5, or \"never\"",
        ),
        (
            json!("0 0 25 * * *"),
            "Invalid pattern: it is not a cron pattern",
        ),
        (json!(5), "pattern must be a string"),
    ] {
        let answer = s
            .server
            .post(
                "/api/v1/updater/autoupdate_pattern",
                &s.owner,
                json!({"pattern": pattern}),
            )
            .await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
    let answer = s
        .server
        .post("/api/v1/updater/autoupdate_pattern", &s.owner, json!({}))
        .await;
    expect_error_exact(answer, StatusCode::BAD_REQUEST, "pattern is required");
    let (_, user) = s.server.add_user(&s.owner, "bob", "user").await;
    for path in [
        "/api/v1/updater/autoupdate_pattern",
        "/api/v1/updater/updates",
    ] {
        let (code, _) = s.server.get(path, &user).await;
        assert_eq!(code, StatusCode::FORBIDDEN);
    }
    let read_only = s.server.read_only_token(&s.owner).await;
    let (code, _) = s
        .server
        .post("/api/v1/updater/check_for_updates", &read_only, json!({}))
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "a check is a POST");
}

async fn wait_for_feed_requests(releases: &Releases, count: usize) {
    for _ in 0..250 {
        if releases.feed_requests.load(Ordering::SeqCst) >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the feed was not asked {count} times");
}

#[tokio::test]
async fn the_schedule_fires_in_the_time_zone_and_starts_exactly_one_update() {
    let clock = Arc::new(ManualClock::default());
    let s = setup(|config| config.clock = clock.clone()).await;
    s.releases
        .publish(&s.base, "0.2.0", &s.signer, tarball(3000));
    s.server
        .post(
            "/api/v1/cloudron/time_zone",
            &s.owner,
            json!({"timeZone": "Europe/Zurich"}),
        )
        .await;
    let (code, _) = s
        .server
        .post(
            "/api/v1/updater/autoupdate_pattern",
            &s.owner,
            json!({"pattern": "00 00 1 * * *"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let zurich = chrono_tz::Europe::Zurich;
    let next = boxd::updater::schedule::next_run("00 00 1 * * *", zurich, clock.now()).unwrap();
    assert_eq!(
        next.with_timezone(&zurich).format("%H:%M:%S").to_string(),
        "01:00:00"
    );

    clock.advance(next - clock.now() - TimeDelta::seconds(30));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        s.releases.feed_requests.load(Ordering::SeqCst),
        0,
        "not before 01:00 in Zurich"
    );
    clock.advance(TimeDelta::seconds(31));
    wait_for_feed_requests(&s.releases, 1).await;

    let mut tasks = Value::Null;
    for _ in 0..250 {
        let (_, list) = s.server.get("/api/v1/tasks?type=update", &s.owner).await;
        if list["tasks"][0]["success"] == true {
            tasks = list["tasks"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        tasks.as_array().map(Vec::len),
        Some(1),
        "exactly one update task: {tasks}"
    );
    let (_, events) = s
        .server
        .get("/api/v1/eventlog?actions=cloudron.update", &s.owner)
        .await;
    assert_eq!(events["eventlogs"].as_array().unwrap().len(), 1);
    assert_eq!(events["eventlogs"][0]["source"]["username"], "cron");

    // A new zone re-plans at once: the next run is 01:00 in Tokyo, not in Zurich.
    s.releases
        .publish(&s.base, env!("CARGO_PKG_VERSION"), &s.signer, tarball(10));
    s.server
        .post(
            "/api/v1/cloudron/time_zone",
            &s.owner,
            json!({"timeZone": "Asia/Tokyo"}),
        )
        .await;
    let tokyo =
        boxd::updater::schedule::next_run("00 00 1 * * *", chrono_tz::Asia::Tokyo, clock.now())
            .unwrap();
    assert_ne!(tokyo, next + TimeDelta::days(1));
    clock.advance(tokyo - clock.now() + TimeDelta::seconds(1));
    wait_for_feed_requests(&s.releases, 2).await;
    assert!(
        Utc::now() < tokyo,
        "the run came from the moved clock, not from waiting"
    );
}

#[tokio::test]
async fn a_backup_is_consistent_while_the_server_keeps_writing() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let writing = {
        let (http, url, owner) = (
            server.http.clone(),
            server.url("/api/v1/tokens"),
            owner.clone(),
        );
        tokio::spawn(async move {
            for n in 0..150 {
                let body = json!({"name": format!("t{n}")});
                let response = http
                    .post(&url)
                    .bearer_auth(&owner)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("copy.sqlite");

    let backup = tokio::process::Command::new(env!("CARGO_BIN_EXE_boxd"))
        .args(["backup", "--data-dir"])
        .arg(server.data_dir())
        .arg("--out")
        .arg(&file)
        .output()
        .await
        .unwrap();

    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    writing.await.unwrap();
    let copy = boxd::store::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(users, 1);
    let again = tokio::process::Command::new(env!("CARGO_BIN_EXE_boxd"))
        .args(["backup", "--data-dir"])
        .arg(server.data_dir())
        .arg("--out")
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let missing = tokio::process::Command::new(env!("CARGO_BIN_EXE_boxd"))
        .args(["backup", "--data-dir", "/nonexistent/boxd", "--out"])
        .arg(out.path().join("none.sqlite"))
        .output()
        .await
        .unwrap();
    assert!(
        !missing.status.success(),
        "a mistyped data dir is not backed up as an empty database"
    );
    assert!(!out.path().join("none.sqlite").exists());
}
