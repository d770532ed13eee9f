//! A small W3C WebDriver client over HTTP, enough to drive headless Chromium through
//! chromedriver: open pages, find and click elements, read text, take screenshots. Each
//! [`Browser`] runs its own chromedriver on a free port and its own Chromium profile.

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const STARTUP: Duration = Duration::from_secs(30);

fn executable(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

pub(super) struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: Child,
    screenshots: PathBuf,
    shots: usize,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium window of `width`×`height`; screenshots go
    /// to `target/tmp/screenshots/<name>/`.
    pub(super) async fn start(name: &str, width: u32, height: u32) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let chromedriver = executable("CHROMEDRIVER", "chromedriver");
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("{chromedriver} does not start ({error}): ./scripts/test installs it")
            });
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + STARTUP;
        loop {
            let ready = match http.get(format!("{base}/status")).send().await {
                Ok(response) => response.json::<Value>().await.ok(),
                Err(_) => None,
            };
            if ready.is_some_and(|status| status["value"]["ready"] == true) {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver is not ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": executable("CHROMIUM", "/usr/bin/chromium"),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"),
                ],
            },
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {answer}"))
            .to_owned();
        let screenshots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("screenshots")
            .join(name);
        let _ = std::fs::remove_dir_all(&screenshots);
        std::fs::create_dir_all(&screenshots).unwrap();
        Self {
            http,
            session: format!("{base}/session/{session}"),
            _driver: driver,
            screenshots,
            shots: 0,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if let Some(error) = answer["value"]["error"].as_str() {
            panic!("WebDriver {path}: {error}: {}", answer["value"]["message"]);
        }
        answer["value"].clone()
    }

    pub(super) async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The path of the page shown.
    pub(super) async fn path(&self) -> String {
        let url = self.call(reqwest::Method::GET, "/url", None).await;
        url::Url::parse(url.as_str().unwrap())
            .unwrap()
            .path()
            .to_owned()
    }

    /// The element `css` selects; panics when there is none.
    pub(super) async fn find(&self, css: &str) -> Element<'_> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        Element {
            browser: self,
            id: found[ELEMENT_KEY].as_str().unwrap().to_owned(),
        }
    }

    /// How many elements `css` selects.
    pub(super) async fn count(&self, css: &str) -> usize {
        let found = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found.as_array().map_or(0, Vec::len)
    }

    /// The visible text of the whole page.
    pub(super) async fn text(&self) -> String {
        self.find("body").await.text().await
    }

    /// Saves a PNG of the window as `NN-<step>.png` and returns its path.
    pub(super) async fn screenshot(&mut self, step: &str) -> PathBuf {
        let encoded = self.call(reqwest::Method::GET, "/screenshot", None).await;
        self.shots += 1;
        let path = self
            .screenshots
            .join(format!("{:02}-{step}.png", self.shots));
        std::fs::write(&path, STANDARD.decode(encoded.as_str().unwrap()).unwrap()).unwrap();
        path
    }

    /// Resizes the window, as a phone's screen would be.
    pub(super) async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Runs `script` in the page (for what WebDriver cannot type, such as a date field's
    /// value, whose keyboard format depends on the locale).
    pub(super) async fn execute(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Clicks `css` (a submit button or a link) and waits until the page it leads to has
    /// loaded, through any redirects: a click returns as soon as it is dispatched.
    pub(super) async fn click_through(&self, css: &str) {
        self.execute("window.__leaving = true;").await;
        self.find(css).await.click().await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let arrived = self
                .execute(
                    "return window.__leaving === undefined && document.readyState === 'complete';",
                )
                .await;
            if arrived == Value::Bool(true) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{css} led nowhere");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub(super) async fn close(self) {
        self.call(reqwest::Method::DELETE, "", None).await;
    }
}

pub(super) struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Element<'_> {
    pub(super) async fn click(&self) {
        self.browser
            .call(
                reqwest::Method::POST,
                &format!("/element/{}/click", self.id),
                Some(json!({})),
            )
            .await;
    }

    /// Replaces the field's content with `text`, typed.
    pub(super) async fn fill(&self, text: &str) {
        let path = format!("/element/{}", self.id);
        self.browser
            .call(
                reqwest::Method::POST,
                &format!("{path}/clear"),
                Some(json!({})),
            )
            .await;
        self.browser
            .call(
                reqwest::Method::POST,
                &format!("{path}/value"),
                Some(json!({ "text": text })),
            )
            .await;
    }

    pub(super) async fn text(&self) -> String {
        let text = self
            .browser
            .call(
                reqwest::Method::GET,
                &format!("/element/{}/text", self.id),
                None,
            )
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    pub(super) async fn attribute(&self, name: &str) -> Option<String> {
        let value = self
            .browser
            .call(
                reqwest::Method::GET,
                &format!("/element/{}/attribute/{name}", self.id),
                None,
            )
            .await;
        value.as_str().map(str::to_owned)
    }
}
