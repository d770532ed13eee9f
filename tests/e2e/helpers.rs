use std::{
    collections::BTreeMap,
    io::{Read, Write},
    sync::{Arc, Mutex},
};

use google_health::catalogue::Standard;
use jiff::{Timestamp, ToSpan, civil::Date};
use md5::Digest;
use oh_fitbit::lab::stack::{LocalStack, StackOptions};
use oh_fitbit_core::{
    config::{S3Config, StagingConfig, WebLimits, WorkerConfig},
    local::{LocalPostgres, LocalRedis, LocalS3},
    members::ImportPreferences,
    queue::Completed,
};
use oh_fitbit_sim::openhumans::SimUser;
use reqwest::{Client, StatusCode, redirect::Policy};
use secrecy::SecretString;
use serde_json::Value;
use tokio::process::Child;
use tokio_util::sync::CancellationToken;

pub(crate) const MEMBER: &str = "12345678";

/// One of the members [`start_with_members`] adds: their Open Humans account and the Google
/// account they connect.
pub(crate) struct NumberedMember {
    pub open_humans: SimUser,
    pub google_account: String,
}

impl NumberedMember {
    pub(crate) fn new(number: usize) -> Self {
        Self {
            open_humans: SimUser {
                username: format!("member-{number}"),
                project_member_id: format!("{}", 30_000_000 + number),
            },
            google_account: format!("member-{number}@example.com"),
        }
    }

    pub(crate) fn id(&self) -> open_humans::ProjectMemberId {
        self.open_humans.project_member_id.parse().unwrap()
    }

    /// Signs in with Open Humans and connects Fitbit through our pages, as this member.
    pub(crate) async fn link(&self, stack: &LocalStack) {
        let mut browser = ManualBrowser::default();
        for (start, who) in [
            (
                "openhumans/login",
                ("sim_user", self.open_humans.username.as_str()),
            ),
            (
                "fitbit/connect",
                ("login_hint", self.google_account.as_str()),
            ),
        ] {
            let callback = browser
                .begin_flow_as(stack.url(start).as_str(), Some(who))
                .await;
            let back = browser.get(&callback).await;
            assert_eq!(
                (back.status, back.location.as_deref()),
                (StatusCode::SEE_OTHER, Some("/dashboard")),
                "{start} as {}: {}",
                self.open_humans.username,
                back.body
            );
        }
    }
}

pub(crate) struct TestStack {
    pub stack: LocalStack,
    staging: tempfile::TempDir,
    /// The S3 imitation holding the staging bucket, with [`Setup::s3_staging`].
    pub s3: Option<LocalS3>,
}

impl TestStack {
    /// Where the stack's worker stages members' data.
    pub(crate) fn staging_dir(&self) -> &std::path::Path {
        self.staging.path()
    }

    /// Where the worker stages the test member's data.
    pub(crate) fn staged_member_dir(&self) -> std::path::PathBuf {
        self.staging_dir().join("members").join(MEMBER)
    }

    /// The stack's own redis-server.
    pub(crate) fn redis_server(&mut self) -> &mut LocalRedis {
        self.stack
            .redis_server
            .as_mut()
            .expect("the stack runs its own redis-server")
    }

    /// The stack's own PostgreSQL server (see [`Setup::private_database`]).
    pub(crate) fn postgres_server(&mut self) -> &mut LocalPostgres {
        self.stack
            .postgres_server
            .as_mut()
            .expect("the stack runs its own PostgreSQL")
    }
}

impl std::ops::Deref for TestStack {
    type Target = LocalStack;

    fn deref(&self) -> &LocalStack {
        &self.stack
    }
}

impl std::ops::DerefMut for TestStack {
    fn deref_mut(&mut self) -> &mut LocalStack {
        &mut self.stack
    }
}

pub(crate) async fn start(run_worker: bool) -> TestStack {
    start_with(run_worker, WorkerConfig::default()).await
}

pub(crate) const UNLIMITED_QUOTA: u32 = 1_000_000;
/// The production default of `OAUTH_RATE_LIMIT_PER_MINUTE`.
pub(crate) const OAUTH_REQUESTS_PER_MINUTE: u32 = 30;

pub(crate) async fn start_with(run_worker: bool, worker: WorkerConfig) -> TestStack {
    let mut setup = TestStack::setup().worker(worker);
    if run_worker {
        setup = setup.running_worker();
    }
    setup.start().await
}

/// A stack with the worker running and the production setting that intraday data needs the
/// member's own OAuth client, as a member meets it.
pub(crate) async fn start_as_deployed() -> TestStack {
    TestStack::setup().running_worker().deployed().start().await
}

/// A stack whose Open Humans project has no webhook secret.
pub(crate) async fn start_without_webhook_secret() -> TestStack {
    TestStack::setup().unsigned_webhooks().start().await
}

/// A stack without a worker running, whose Open Humans simulator also has the accounts of
/// `members` (they still have to link).
pub(crate) async fn start_with_members(members: &[NumberedMember]) -> TestStack {
    TestStack::setup().members(members).start().await
}

/// How a test's stack is set up; [`TestStack::setup`] starts from the defaults.
#[derive(Default)]
pub(crate) struct Setup {
    run_worker: bool,
    worker: WorkerConfig,
    unsigned_webhooks: bool,
    users: Vec<SimUser>,
    intraday_requires_own_client: bool,
    private_database: bool,
    s3_staging: bool,
    web_limits: Option<WebLimits>,
}

impl TestStack {
    pub(crate) fn setup() -> Setup {
        Setup::default()
    }
}

impl Setup {
    /// The web process' limits, instead of the production defaults.
    pub(crate) fn web_limits(self, limits: WebLimits) -> Self {
        Self {
            web_limits: Some(limits),
            ..self
        }
    }

    /// The worker loop runs by itself (otherwise the test runs jobs one at a time).
    pub(crate) fn running_worker(self) -> Self {
        Self {
            run_worker: true,
            ..self
        }
    }

    pub(crate) fn worker(self, worker: WorkerConfig) -> Self {
        Self { worker, ..self }
    }

    pub(crate) fn unsigned_webhooks(self) -> Self {
        Self {
            unsigned_webhooks: true,
            ..self
        }
    }

    pub(crate) fn members(self, members: &[NumberedMember]) -> Self {
        Self {
            users: members
                .iter()
                .map(|member| member.open_humans.clone())
                .collect(),
            ..self
        }
    }

    /// Intraday data needs the member's own OAuth client, as in production.
    pub(crate) fn deployed(self) -> Self {
        Self {
            intraday_requires_own_client: true,
            ..self
        }
    }

    /// A PostgreSQL server of the stack's own even when `DATABASE_URL` names one, for tests
    /// that stop and restart it.
    pub(crate) fn private_database(self) -> Self {
        Self {
            private_database: true,
            ..self
        }
    }

    /// Staging in a bucket of a private S3 imitation instead of a directory.
    pub(crate) fn s3_staging(self) -> Self {
        Self {
            s3_staging: true,
            ..self
        }
    }

    pub(crate) async fn start(self) -> TestStack {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let staging = tempfile::tempdir().unwrap();
        let s3 = match self.s3_staging {
            true => Some(
                LocalS3::start()
                    .await
                    .expect("moto_server starts (scripts/test installs it)"),
            ),
            false => None,
        };
        let staging_config = match &s3 {
            Some(s3) => StagingConfig::S3(S3Config {
                bucket: format!("staging-{}", oh_fitbit_core::random_token()),
                endpoint: Some(s3.endpoint()),
                region: "us-east-1".to_owned(),
                path_style: true,
                key_prefix: "staging/".to_owned(),
                access_key_id: SecretString::from("test".to_owned()),
                secret_access_key: SecretString::from("test".to_owned()),
            }),
            None => StagingConfig::LocalDirectory(staging.path().to_owned()),
        };
        let database_url = match self.private_database {
            true => None,
            false => test_database().await,
        };
        let stack = LocalStack::start(StackOptions {
            port: 0,
            redis_url: None,
            database_url,
            staging: staging_config,
            run_worker: self.run_worker,
            worker: self.worker,
            sign_webhooks: !self.unsigned_webhooks,
            // Many members link from one address in the tests that have many.
            web_limits: self.web_limits.unwrap_or_else(|| WebLimits {
                oauth_requests_per_minute: if self.users.is_empty() {
                    OAUTH_REQUESTS_PER_MINUTE
                } else {
                    u32::MAX
                },
                ..WebLimits::default()
            }),
            more_open_humans_users: self.users,
            intraday_requires_own_client: self.intraday_requires_own_client,
        })
        .await
        .expect("the local stack starts (redis-server and PostgreSQL must be installed)");
        // A whole ten-year import takes well over a minute of Google's per-user quota; the tests
        // that are about the quota set it themselves.
        admin(
            stack.google.base_url(),
            "__admin/knobs",
            serde_json::json!({"quota_per_user_per_min": UNLIMITED_QUOTA}),
        )
        .await;
        TestStack { stack, staging, s3 }
    }
}

/// With `DATABASE_URL` set, a fresh database on that server; otherwise the stack starts a
/// private PostgreSQL server of its own.
pub(crate) async fn test_database() -> Option<String> {
    let server = std::env::var("DATABASE_URL").ok()?;
    Some(
        oh_fitbit_core::local::fresh_database(&server)
            .await
            .expect("a fresh database on the server DATABASE_URL names"),
    )
}

/// `oh-fitbit <args>` as a process of its own (as Heroku runs the worker, or an operator a
/// command) joined to `stack`, staging in `staging`; it logs only errors, to stderr.
pub(crate) fn spawn_process(stack: &LocalStack, staging: &std::path::Path, args: &[&str]) -> Child {
    use secrecy::ExposeSecret;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_oh-fitbit"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("STAGING_DIR", staging)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true);
    for (name, value) in stack.worker_environment() {
        command.env(name, value.expose_secret());
    }
    command.spawn().expect("our binary starts")
}

/// A browser: keeps cookies and follows redirects.
pub(crate) fn browser() -> Client {
    Client::builder().cookie_store(true).build().unwrap()
}

pub(crate) async fn get_page(
    client: &Client,
    url: impl reqwest::IntoUrl,
) -> (StatusCode, String, String) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    let final_url = response.url().path().to_owned();
    (status, final_url, response.text().await.unwrap())
}

/// Signs in with Open Humans and connects Fitbit, as a member clicking through both consents.
pub(crate) async fn link_both_accounts(stack: &LocalStack, browser: &Client) {
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

/// Everything the stores hold — every Redis key but rate-limit counters, every row of every
/// table — as text, to show that a request changed nothing or that a secret is absent.
pub(crate) async fn store_snapshot(stack: &LocalStack) -> BTreeMap<String, String> {
    let mut snapshot = redis_snapshot(stack).await;
    snapshot.extend(database_snapshot(stack).await);
    snapshot
}

/// Every row of every table of the database, by table, as JSON text.
pub(crate) async fn database_snapshot(stack: &LocalStack) -> BTreeMap<String, String> {
    use secrecy::ExposeSecret;
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(stack.database.url.expose_secret())
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
         AND tablename NOT LIKE '\\_sqlx%' ORDER BY 1",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    let mut snapshot = BTreeMap::new();
    for table in tables {
        let rows: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT coalesce(json_agg(t ORDER BY t::text), '[]')::text FROM {table} t"
        )))
        .fetch_one(&mut connection)
        .await
        .unwrap();
        snapshot.insert(format!("table {table}"), rows);
    }
    snapshot
}

/// Runs one command on the stack's Redis, as an operator (or a failure) would.
pub(crate) async fn raw_redis(stack: &LocalStack, args: &[&str]) -> redis::Value {
    use secrecy::ExposeSecret;
    let client = redis::Client::open(stack.redis.url.expose_secret()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query_async(&mut connection).await.unwrap()
}

/// Runs one statement on the stack's database, as an operator (or a failure) would.
pub(crate) async fn database(stack: &LocalStack, statement: &str) {
    use secrecy::ExposeSecret;
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(stack.database.url.expose_secret())
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut connection)
        .await
        .unwrap();
}

/// Everything in Redis but rate-limit counters, as text.
async fn redis_connection(stack: &LocalStack) -> redis::aio::MultiplexedConnection {
    use secrecy::ExposeSecret;
    let client = redis::Client::open(stack.redis.url.expose_secret()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Every key in the stack's Redis.
pub(crate) async fn redis_keys(stack: &LocalStack) -> Vec<String> {
    redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut redis_connection(stack).await)
        .await
        .unwrap()
}

async fn redis_snapshot(stack: &LocalStack) -> BTreeMap<String, String> {
    let mut connection = redis_connection(stack).await;
    let keys = redis_keys(stack).await;
    // Rate-limit counters count every request, refused or not; they hold nothing of a member.
    let keys = keys.into_iter().filter(|key| !key.contains(":ratelimit:"));
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
pub(crate) struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl LogCapture {
    pub(crate) fn start() -> Self {
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

    pub(crate) fn text(&self) -> String {
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
pub(crate) struct ManualBrowser {
    pub cookies: BTreeMap<String, String>,
}

pub(crate) struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl ManualBrowser {
    pub(crate) async fn get(&mut self, url: &str) -> Answer {
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
    pub(crate) async fn begin_flow(&mut self, start: &str) -> String {
        self.begin_flow_as(start, None).await
    }

    /// [`Self::begin_flow`], signing in to the provider as the account `who` names: a
    /// parameter added to the provider's authorize URL (`sim_user` for Open Humans,
    /// `login_hint` for Google).
    pub(crate) async fn begin_flow_as(&mut self, start: &str, who: Option<(&str, &str)>) -> String {
        let started = self.get(start).await;
        assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
        let mut authorize = started.location.unwrap();
        if let Some((name, value)) = who {
            authorize = with_param(&authorize, name, Some(value));
        }
        let consent = self.get(&authorize).await;
        assert!(
            consent.status.is_redirection(),
            "consent: {} {}",
            consent.status,
            consent.body
        );
        consent.location.unwrap()
    }
}

pub(crate) fn without_param(url: &str, name: &str) -> String {
    with_param(url, name, None)
}

pub(crate) fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
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
pub(crate) async fn admin(base: &url::Url, path: &str, body: serde_json::Value) {
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

/// Removes a simulator's remaining fault rules.
pub(crate) async fn clear_faults(base: &url::Url) {
    let response = Client::new()
        .delete(base.join("__admin/faults").unwrap())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

pub(crate) fn member_id() -> open_humans::ProjectMemberId {
    MEMBER.parse().unwrap()
}

/// Runs the next job, which the test expects to exist, and says how it ended.
pub(crate) async fn run_one_job(
    stack: &LocalStack,
    shutdown: &tokio_util::sync::CancellationToken,
) -> oh_fitbit_core::queue::Completed {
    match stack.worker.try_execute_one(shutdown).await.unwrap() {
        oh_fitbit_worker::Execution::Ran { completed, .. } => completed,
        oh_fitbit_worker::Execution::Empty => panic!("a job was expected"),
    }
}

pub(crate) async fn job_status(stack: &LocalStack) -> oh_fitbit_core::queue::JobStatus {
    stack
        .worker
        .context()
        .queue
        .status(&member_id())
        .await
        .unwrap()
}

/// Queues the member's job to run now (whatever it was scheduled for) and runs it.
pub(crate) async fn run_again_now(stack: &LocalStack) -> Completed {
    stack
        .worker
        .context()
        .queue
        .enqueue(&member_id(), Timestamp::now())
        .await
        .unwrap();
    run_one_job(stack, &CancellationToken::new()).await
}

/// Requests to Google's token endpoint: code exchanges and refreshes.
pub(crate) fn token_requests(stack: &LocalStack) -> usize {
    stack
        .google
        .instruments()
        .journal
        .matching("POST", "/token")
        .len()
}

/// A member who linked both accounts while the simulators' clock stood still (so the ground
/// truth read after an import is the one the import saw), with `knobs` set and `preferences`
/// saved; no job has run yet.
pub(crate) async fn linked_with(knobs: Value, preferences: ImportPreferences) -> TestStack {
    link_on(start(false).await, knobs, preferences).await
}

/// [`linked_with`] on a stack started as the test needs it.
pub(crate) async fn link_on(
    stack: TestStack,
    knobs: Value,
    preferences: ImportPreferences,
) -> TestStack {
    stack.google.instruments().clock.freeze(true);
    admin(stack.google.base_url(), "__admin/knobs", knobs).await;
    link_both_accounts(&stack, &browser()).await;
    stack
        .members
        .save_preferences(&member_id(), &preferences)
        .await
        .unwrap();
    stack
}

/// [`linked_with`], then the first sync.
pub(crate) async fn connected_with(knobs: Value, preferences: ImportPreferences) -> TestStack {
    let stack = linked_with(knobs, preferences).await;
    run_one_job(&stack, &CancellationToken::new()).await;
    stack
}

/// Daily data of the last `days` days only, which keeps an import to a few seconds.
pub(crate) fn recent(days: i64) -> ImportPreferences {
    ImportPreferences {
        intraday: None,
        earliest_date: Some(
            Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date() - days.days(),
        ),
        left_out: Default::default(),
    }
}

/// The persona's today by the simulators' clock.
pub(crate) fn sim_today(stack: &LocalStack) -> Date {
    stack
        .google
        .persona()
        .today(stack.google.instruments().clock.now())
}

/// Every point the simulator has for `data_type` on the days `[from, to]`.
pub(crate) fn truth_points(
    stack: &LocalStack,
    data_type: &str,
    from: Date,
    to: Date,
) -> Vec<Value> {
    let mut points = Vec::new();
    let mut day = from;
    while day <= to {
        points.extend(stack.google.ground_truth_points(data_type, day));
        day = day.tomorrow().unwrap();
    }
    points
}

fn decompress(bytes: &[u8]) -> Value {
    let mut json = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

/// The completed files on Open Humans, decompressed, by name.
pub(crate) fn files(stack: &LocalStack) -> BTreeMap<String, Value> {
    stack
        .open_humans
        .files(MEMBER)
        .into_iter()
        .filter(|file| file.completed)
        .map(|file| {
            (
                file.basename.clone(),
                decompress(file.bytes.as_ref().unwrap()),
            )
        })
        .collect()
}

/// The member's completed files on Open Humans: name → md5 of the bytes; each name at most
/// once.
pub(crate) fn file_checksums(stack: &LocalStack, member: &str) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for file in stack.open_humans.files(member) {
        if file.completed {
            let bytes = file.bytes.expect("a completed file has its bytes");
            let md5 = format!("{:x}", md5::Md5::digest(&bytes));
            let earlier = files.insert(file.basename.clone(), md5);
            assert!(
                earlier.is_none(),
                "{} is on Open Humans twice",
                file.basename
            );
        }
    }
    files
}

/// Decodes a run-length column.
pub(crate) fn runs(column: &Value) -> Vec<Value> {
    column
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|run| {
            let repeat = run[1].as_u64().unwrap() as usize;
            std::iter::repeat_n(run[0].clone(), repeat)
        })
        .collect()
}

/// A JSON number, or an int64 as proto3 JSON spells it (a string).
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::String(text) => text.parse().ok(),
        other => other.as_f64(),
    }
}

/// The leaves of a JSON object as (dotted path, value), as the files' columns name them.
fn leaves(object: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (key, value) in object.as_object().into_iter().flatten() {
        match value {
            Value::Object(inner) if !inner.is_empty() => out.extend(
                leaves(value)
                    .into_iter()
                    .map(|(path, leaf)| (format!("{key}.{path}"), leaf)),
            ),
            leaf => out.push((key.clone(), leaf.clone())),
        }
    }
    out
}

/// Asserts that the daily file holds exactly the simulator's `dailyRollUp` windows of
/// `data_type` for every day from the type's first imported date to `last`.
pub(crate) fn assert_daily_values_match_truth(
    stack: &LocalStack,
    daily: &Value,
    data_type: &str,
    last: Date,
) {
    let first: Date = daily["coverage"][data_type]["first_date"]
        .as_str()
        .unwrap_or_else(|| panic!("{data_type} was imported"))
        .parse()
        .unwrap();
    let series = &daily["daily"][data_type];
    let dates: Vec<Date> = series["date"]
        .as_array()
        .unwrap()
        .iter()
        .map(|date| date.as_str().unwrap().parse().unwrap())
        .collect();
    let rows: BTreeMap<Date, usize> = dates
        .iter()
        .enumerate()
        .map(|(row, date)| (*date, row))
        .collect();
    let mut expected_dates = Vec::new();
    let mut day = first;
    while day <= last {
        if let Some(truth) = stack.google.ground_truth_daily_roll_up(data_type, day) {
            expected_dates.push(day);
            let row = *rows
                .get(&day)
                .unwrap_or_else(|| panic!("{data_type} has no value on {day}"));
            for (member, value) in leaves(&truth) {
                let stored = &series["values"][&member][row];
                match number(&value) {
                    Some(value) => {
                        assert_eq!(number(stored), Some(value), "{data_type} {member} on {day}")
                    }
                    None => assert_eq!(*stored, value, "{data_type} {member} on {day}"),
                }
            }
        }
        day = day.tomorrow().unwrap();
    }
    let imported: Vec<Date> = dates.into_iter().filter(|date| *date <= last).collect();
    assert_eq!(imported, expected_dates, "{data_type}: the days with data");
}

/// Every type of the standard file equals the simulator's ground truth, from the type's first
/// imported day (at least `min_days` ago) to today: each day's value of every rollup type,
/// and every record of every listed type as Google sent it.
pub(crate) fn assert_standard_file_matches_truth(stack: &LocalStack, min_days: i32) {
    let daily = &files(stack)["fitbit-daily.json.gz"];
    let today = sim_today(stack);
    for data_type in google_health::catalogue::CATALOGUE.iter() {
        let id = data_type.id;
        let first: Date = match data_type.standard {
            Standard::No => continue,
            _ => daily["coverage"][id]["first_date"]
                .as_str()
                .unwrap_or_else(|| panic!("{id} was imported: {}", daily["coverage"][id]))
                .parse()
                .unwrap(),
        };
        assert_eq!(daily["coverage"][id]["status"], "imported", "{id}");
        assert!(
            (today - first).get_days() >= min_days,
            "{id}: the whole history from {first}"
        );
        if data_type.standard == Standard::DailyRollUp {
            assert_daily_values_match_truth(stack, daily, id, today);
            continue;
        }
        let records = daily["records"][id].as_array().unwrap();
        assert_eq!(
            record_texts(records),
            record_texts(&listed_truth(stack, data_type, first, today)),
            "{id}: every record as listed"
        );
    }
}

/// The ground truth of a listed type, placed as the files place it, from `first` to `last`.
pub(crate) fn listed_truth(
    stack: &LocalStack,
    data_type: &google_health::catalogue::DataType,
    first: Date,
    last: Date,
) -> Vec<Value> {
    // The ground truth is by civil start day; sleep is placed by its end.
    let mut truth = truth_points(stack, data_type.id, first.yesterday().unwrap(), last);
    truth.retain(|point| (first..=last).contains(&placing_date(data_type, point)));
    truth
}

/// Records as sorted JSON texts, to compare as sets.
pub(crate) fn record_texts(records: &[Value]) -> Vec<String> {
    let mut texts: Vec<String> = records.iter().map(Value::to_string).collect();
    texts.sort();
    texts
}

/// The member leaves the project on Open Humans, asking for their data to be erased; Open
/// Humans posts the deauthorisation webhook.
pub(crate) async fn leave_on_open_humans(stack: &LocalStack) -> Value {
    reqwest::Client::new()
        .post(
            stack
                .open_humans
                .base_url()
                .join(&format!("__admin/members/{MEMBER}/leave"))
                .unwrap(),
        )
        .json(&serde_json::json!({"erasure_requested": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The CSRF token of the first form on `page`.
pub(crate) fn csrf_of(page: &str) -> String {
    let start = page
        .find(r#"name="csrf" value=""#)
        .expect("the form has a CSRF token")
        + 19;
    page[start..].split('"').next().unwrap().to_owned()
}

/// The civil day that places a point: its start, or a sleep session's end.
pub(crate) fn placing_date(data_type: &google_health::catalogue::DataType, point: &Value) -> Date {
    let value = &point[data_type.union_key];
    let civil = |instant: &Value, offset: &Value| -> Date {
        let instant: Timestamp = instant.as_str().unwrap().parse().unwrap();
        let offset: i64 = offset
            .as_str()
            .map_or(0, |text| text.trim_end_matches('s').parse().unwrap());
        (instant + offset.seconds())
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
    };
    if let Some(date) = value.get("date") {
        let part = |name: &str| date[name].as_i64().unwrap_or(0);
        return jiff::civil::date(part("year") as i16, part("month") as i8, part("day") as i8);
    }
    if let Some(sample) = value.get("sampleTime") {
        return civil(&sample["physicalTime"], &sample["utcOffset"]);
    }
    let interval = &value["interval"];
    // A session in progress has no end yet, and is placed by its start.
    if data_type.id == "sleep" && interval.get("endTime").is_some() {
        civil(&interval["endTime"], &interval["endUtcOffset"])
    } else {
        civil(&interval["startTime"], &interval["startUtcOffset"])
    }
}
