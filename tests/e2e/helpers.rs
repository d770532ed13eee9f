use std::{
    collections::BTreeMap,
    io::Write,
    sync::{Arc, Mutex},
};

use oh_fitbit::stack::{LocalStack, StackOptions};
use oh_fitbit_core::config::WorkerConfig;
use reqwest::{Client, StatusCode, redirect::Policy};

pub const MEMBER: &str = "12345678";

pub struct TestStack {
    pub stack: LocalStack,
    _staging: tempfile::TempDir,
}

impl std::ops::Deref for TestStack {
    type Target = LocalStack;

    fn deref(&self) -> &LocalStack {
        &self.stack
    }
}

pub async fn start(run_worker: bool) -> TestStack {
    start_with(run_worker, WorkerConfig::default()).await
}

pub const UNLIMITED_QUOTA: u32 = 1_000_000;

pub async fn start_with(run_worker: bool, worker: WorkerConfig) -> TestStack {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let staging = tempfile::tempdir().unwrap();
    let stack = LocalStack::start(StackOptions {
        port: 0,
        redis_url: None,
        staging_dir: staging.path().to_owned(),
        run_worker,
        worker,
    })
    .await
    .expect("the local stack starts (redis-server must be installed)");
    // A whole ten-year import takes well over a minute of Google's per-user quota; the tests
    // that are about the quota set it themselves.
    admin(
        stack.google.base_url(),
        "__admin/knobs",
        serde_json::json!({"quota_per_user_per_min": UNLIMITED_QUOTA}),
    )
    .await;
    TestStack {
        stack,
        _staging: staging,
    }
}

/// A browser: keeps cookies and follows redirects.
pub fn browser() -> Client {
    Client::builder().cookie_store(true).build().unwrap()
}

pub async fn get_page(client: &Client, url: impl reqwest::IntoUrl) -> (StatusCode, String, String) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    let final_url = response.url().path().to_owned();
    (status, final_url, response.text().await.unwrap())
}

/// Signs in with Open Humans and connects Fitbit, as a member clicking through both consents.
pub async fn link_both_accounts(stack: &LocalStack, browser: &Client) {
    let (status, path, page) = get_page(browser, stack.url("openhumans/login")).await;
    assert_eq!(
        (status, path.as_str()),
        (StatusCode::OK, "/dashboard"),
        "{page}"
    );
    assert!(
        page.contains(MEMBER),
        "the dashboard names the member: {page}"
    );
    let (status, path, page) = get_page(browser, stack.url("fitbit/connect")).await;
    assert_eq!(
        (status, path.as_str()),
        (StatusCode::OK, "/dashboard"),
        "{page}"
    );
    assert!(page.contains("Connected (time zone:"), "{page}");
}

/// Everything in Redis, as text, to show that a request changed nothing or that a secret is
/// absent.
pub async fn redis_snapshot(stack: &LocalStack) -> BTreeMap<String, String> {
    use secrecy::ExposeSecret;
    let client = redis::Client::open(stack.redis.url.expose_secret()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut snapshot = BTreeMap::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .unwrap();
        let command = match kind.as_str() {
            "string" => redis::cmd("GET").arg(&key).clone(),
            "hash" => redis::cmd("HGETALL").arg(&key).clone(),
            "set" => redis::cmd("SMEMBERS").arg(&key).clone(),
            "zset" => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .clone(),
            "list" => redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).clone(),
            other => panic!("unexpected Redis type {other}"),
        };
        let value: redis::Value = command.query_async(&mut connection).await.unwrap();
        snapshot.insert(key, format!("{value:?}"));
    }
    snapshot
}

/// Captures what this service logs (its own crates, at every level) while the guard lives.
/// Use with a current-thread runtime so spawned tasks log through the same subscriber.
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl LogCapture {
    pub fn start() -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = SharedBuffer(buffer.clone());
        let filter = tracing_subscriber::EnvFilter::new(
            "oh_fitbit=trace,oh_fitbit_web=trace,oh_fitbit_worker=trace,oh_fitbit_core=trace,\
             open_humans=trace,google_health=trace,tower_http=trace",
        );
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        Self {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }
}

#[derive(Clone)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A browser that follows nothing by itself and whose cookies can be copied, so a test can
/// replay a request exactly as it was first sent.
#[derive(Clone, Default)]
pub struct ManualBrowser {
    pub cookies: BTreeMap<String, String>,
}

pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl ManualBrowser {
    pub async fn get(&mut self, url: &str) -> Answer {
        let client = Client::builder().redirect(Policy::none()).build().unwrap();
        let mut request = client.get(url);
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(reqwest::header::COOKIE, header);
        }
        let response = request.send().await.unwrap();
        for set_cookie in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let text = set_cookie.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = value.is_empty() || text.to_ascii_lowercase().contains("max-age=0");
            if removed {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Answer {
            status: response.status(),
            location: response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|l| l.to_str().unwrap().to_owned()),
            body: response.text().await.unwrap(),
        }
    }

    /// Starts an OAuth flow at `start` and follows it through the provider's automatic consent,
    /// stopping at our callback: returns the callback URL the provider redirected to.
    pub async fn begin_flow(&mut self, start: &str) -> String {
        let started = self.get(start).await;
        assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
        let consent = self.get(&started.location.unwrap()).await;
        assert!(
            consent.status.is_redirection(),
            "consent: {} {}",
            consent.status,
            consent.body
        );
        consent.location.unwrap()
    }
}

pub fn without_param(url: &str, name: &str) -> String {
    with_param(url, name, None)
}

pub fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut url = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        for (key, value) in &pairs {
            query.append_pair(key, value);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    url.to_string()
}

/// A call to one of a simulator's control endpoints.
pub async fn admin(base: &url::Url, path: &str, body: serde_json::Value) {
    let response = Client::new()
        .post(base.join(path).unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "{path}: {}",
        response.text().await.unwrap()
    );
}

pub fn member_id() -> open_humans::ProjectMemberId {
    MEMBER.parse().unwrap()
}

/// Runs the next job, which the test expects to exist, and says how it ended.
pub async fn run_one_job(
    stack: &LocalStack,
    shutdown: &tokio_util::sync::CancellationToken,
) -> oh_fitbit_core::queue::Completed {
    match stack.worker.try_execute_one(shutdown).await.unwrap() {
        oh_fitbit_worker::Execution::Ran { completed, .. } => completed,
        oh_fitbit_worker::Execution::Empty => panic!("a job was expected"),
    }
}

pub async fn job_status(stack: &LocalStack) -> oh_fitbit_core::queue::JobStatus {
    stack
        .worker
        .context()
        .queue
        .status(&member_id())
        .await
        .unwrap()
}
