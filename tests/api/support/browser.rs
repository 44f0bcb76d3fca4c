//! `Browser`: Debian's Chromium, headless, driven over WebDriver (Debian's chromedriver, started
//! here on a free loopback port) with fantoccini; a fresh profile per browser, a phone-sized
//! window. Screenshots go to `target/screenshots/` (a CI artifact).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tempfile::TempDir;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

fn require(binary: &str) {
    assert!(
        Path::new(binary).exists(),
        "{binary} is missing: the browser tests need Debian's Chromium and ChromeDriver \
         (apt-get install -y chromium chromium-driver)"
    );
}

impl Browser {
    pub async fn start() -> Self {
        require(CHROMIUM);
        require(CHROMEDRIVER);
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let port = started_port(&mut driver);
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=390,844".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"goog:chromeOptions": {"binary": CHROMIUM, "args": args}});
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap();
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Types into the field `css` (keys, as a person does).
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Presses Enter in the field `css`: the form is submitted from the keyboard.
    pub async fn press_enter(&self, css: &str) {
        self.type_into(css, "\u{e007}").await;
    }

    /// The text of the first element matching `css` once one is displayed (5 s at most).
    pub async fn visible_text(&self, css: &str) -> String {
        for _ in 0..100 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && element.is_displayed().await.unwrap_or(false)
            {
                let text = element.text().await.unwrap();
                if !text.is_empty() {
                    return text;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nothing shown at {css}");
    }

    /// The current value of the input `css`.
    pub async fn value(&self, css: &str) -> String {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.prop("value").await.unwrap().unwrap_or_default()
    }

    /// Saves a screenshot as `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn close(mut self) {
        self.client.clone().close().await.unwrap();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The port chromedriver says it started on.
fn started_port(driver: &mut Child) -> u16 {
    let stdout = driver.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("ChromeDriver was started successfully on port ")
                .and_then(|rest| rest.trim_end_matches('.').parse().ok())
        })
        .expect("chromedriver did not start");
    // Keep reading, so chromedriver never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    port
}
