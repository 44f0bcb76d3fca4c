//! `TestServer`: a real boxd in this process, on an ephemeral port over a temp data dir, and a
//! real HTTP client for it.

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

// The one place the tests name the server's state type.
use boxd::config::Config;
use boxd::state::AppState;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::SqlitePool;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const OWNER: &str = "alice";
pub const OWNER_PASSWORD: &str = "correct horse battery";
pub const USER_PASSWORD: &str = "user password 1";

pub struct TestServer {
    pub base: String,
    /// The server's state, for what only the server side can do (start a test job).
    pub state: AppState,
    pub http: reqwest::Client,
    dir: Option<TempDir>,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<anyhow::Result<()>>>,
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        boxd::install_crypto_provider();
        if std::env::var_os("BOXD_TEST_LOG").is_some() {
            // The writer runs as long as the test binary does.
            std::mem::forget(boxd::telemetry::init(boxd::config::LogFormat::Text, None).unwrap());
        }
    });
}

pub fn client() -> reqwest::Client {
    init_logs();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server whose config `adjust` may change first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), adjust).await
    }

    /// Starts a server over an existing data dir (e.g. one a stopped server left).
    pub async fn start_in(dir: TempDir, adjust: impl FnOnce(&mut Config)) -> Self {
        let http = client();
        let mut config = Config::for_tests(dir.path());
        adjust(&mut config);
        let state = AppState::start(config, None).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(boxd::app::run(state.clone(), listener, async {
            let _ = stopped.await;
        }));
        let server = Self {
            base,
            state,
            http,
            dir: Some(dir),
            stop: Some(stop),
            serving: Some(serving),
        };
        server.wait_until_ready().await;
        server
    }

    async fn wait_until_ready(&self) {
        for _ in 0..100 {
            if let Ok(response) = self
                .http
                .get(self.url("/api/v1/cloudron/status"))
                .send()
                .await
                && response.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("boxd did not become ready within 5 s");
    }

    /// Stops the server, waits until it has shut down cleanly, and hands back its data dir.
    pub async fn shutdown(mut self) -> TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            serving.await.unwrap().unwrap();
        }
        self.dir.take().unwrap()
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir().join("boxd.sqlite")
    }

    /// A second connection to the server's database, for arranging what the API cannot.
    pub async fn db(&self) -> SqlitePool {
        boxd::store::connect(&format!("sqlite://{}", self.db_path().display()))
            .await
            .unwrap()
    }

    /// Sends a request; `token` "" sends none. Answers the status and the JSON body (or Null).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::DELETE, path, token, None).await
    }

    /// A request from 127.0.0.1 carrying `X-Forwarded-For: xff`, as a reverse proxy sends it.
    pub async fn via_proxy(
        &self,
        method: Method,
        path: &str,
        token: &str,
        xff: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("X-Forwarded-For", xff);
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Posts a multipart form (see `fixtures::form`): (content type, body).
    pub async fn upload(
        &self,
        path: &str,
        token: &str,
        form: (String, Vec<u8>),
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header(CONTENT_TYPE, form.0)
            .body(form.1)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A task's whole log, as stored (`format=short`).
    pub async fn task_log(&self, token: &str, task_id: &str) -> String {
        let path = format!("/api/v1/tasks/{task_id}/logs?lines=-1&format=short");
        let response = self
            .http
            .get(self.url(&path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    /// Activates the owner `alice`; returns the owner's full read-write token.
    pub async fn owner_token(&self) -> String {
        let body =
            json!({"username": OWNER, "password": OWNER_PASSWORD, "email": "alice@example.com"});
        let (status, body) = self.post("/api/v1/provision/activate", "", body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Logs in and returns the session token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let body = json!({"username": username, "password": password});
        let (status, body) = self.post("/api/v1/auth/login", "", body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["accessToken"].as_str().unwrap().to_owned()
    }

    /// Creates a token with `token`; returns the new secret.
    pub async fn create_token(&self, token: &str, body: Value) -> String {
        let (status, body) = self.post("/api/v1/tokens", token, body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["accessToken"].as_str().unwrap().to_owned()
    }

    /// A read-only token (`{"*": "r"}`) made by `token`.
    pub async fn read_only_token(&self, token: &str) -> String {
        self.create_token(token, json!({"name": "ro", "scope": {"*": "r"}}))
            .await
    }

    /// Creates a user through the API with the token `by`, logs them in; returns (id, token).
    pub async fn add_user(&self, by: &str, username: &str, role: &str) -> (String, String) {
        let body = json!({
            "username": username,
            "email": format!("{username}@example.com"),
            "password": USER_PASSWORD,
            "role": role,
        });
        let (status, created) = self.post("/api/v1/users", by, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        (id, self.login(username, USER_PASSWORD).await)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
