//! The whole system on one machine: web, worker, a private `redis-server`, a private
//! PostgreSQL server, local-directory staging, and the Google and Open Humans simulators with
//! automatic consent. `oh-fitbit dev` runs it; the end-to-end tests start it in-process.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use oh_fitbit_core::{
    clients::{DEAUTH_WEBHOOK, GOOGLE_CALLBACK, OPEN_HUMANS_CALLBACK},
    config::{
        DatabaseConfig, GoogleConfig, OpenHumansConfig, PublicUrl, RedisConfig, StagingConfig,
        WebLimits, WorkerConfig,
    },
    crypto::TokenCipher,
    db::Database,
    local::{LocalPostgres, LocalRedis},
    members::MemberStore,
    queue::JobQueue,
    redis_conn::Redis,
    staging::Staging,
};
use oh_fitbit_sim::{
    SimClock,
    google::{GoogleSim, GoogleSimConfig},
    openhumans::{OpenHumansSim, OpenHumansSimConfig, SimUser},
};
use oh_fitbit_web::AppState;
use oh_fitbit_worker::{Worker, WorkerContext};
use secrecy::SecretString;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

pub struct StackOptions {
    /// Port of the web process; 0 picks a free one.
    pub port: u16,
    /// An existing Redis to use instead of starting a private one.
    pub redis_url: Option<String>,
    /// An existing database to use instead of starting a private PostgreSQL server.
    pub database_url: Option<String>,
    /// A local directory, or an S3 bucket (created at start if missing).
    pub staging: StagingConfig,
    /// Whether the worker loop runs by itself; tests may drive the worker step by step instead.
    pub run_worker: bool,
    pub worker: WorkerConfig,
    /// Whether the Open Humans project signs its deauthorisation webhooks (a real project may
    /// have no webhook secret).
    pub sign_webhooks: bool,
    /// Open Humans accounts besides the simulator's default member, who can sign in by naming
    /// themselves (`sim_user`) on the authorize page.
    pub more_open_humans_users: Vec<SimUser>,
    /// `INTRADAY_REQUIRES_OWN_CLIENT`: true in production and in `dev`; tests of the import
    /// itself turn it off to read intraday data through the simulator's one client.
    pub intraday_requires_own_client: bool,
    /// The web process' limits (`OAUTH_RATE_LIMIT_PER_MINUTE`, `TRUSTED_PROXY_HOPS`, …).
    pub web_limits: WebLimits,
}

pub struct LocalStack {
    pub public_url: PublicUrl,
    pub google: GoogleSim,
    pub open_humans: OpenHumansSim,
    pub members: MemberStore,
    pub worker: Worker,
    pub redis: RedisConfig,
    pub database: DatabaseConfig,
    /// Signs the Open Humans simulator's deauthorisation webhooks to the web process.
    pub webhook_secret: Option<SecretString>,
    /// The private servers, when the stack started them (the tests stop and restart them).
    pub redis_server: Option<LocalRedis>,
    pub postgres_server: Option<LocalPostgres>,
    /// What a worker process of its own needs to join this stack.
    worker_environment: Vec<(&'static str, SecretString)>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl LocalStack {
    pub async fn start(options: StackOptions) -> anyhow::Result<Self> {
        let (redis_server, redis_url) = match options.redis_url {
            Some(url) => (None, url),
            None => {
                LocalRedis::ensure_installed().await?;
                let server = LocalRedis::start().await?;
                let url = server.url();
                (Some(server), url)
            }
        };
        let redis = RedisConfig {
            url: SecretString::from(redis_url),
            key_prefix: "ohfb:".to_owned(),
        };
        let (postgres_server, database_url) = match options.database_url {
            Some(url) => (None, url),
            None => {
                LocalPostgres::ensure_installed().await?;
                let server = LocalPostgres::start().await?;
                let url = server.create_database("oh_fitbit").await?;
                (Some(server), url)
            }
        };
        let database = DatabaseConfig {
            pool_size: 10,
            ..DatabaseConfig::local(database_url)
        };

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
            .await
            .with_context(|| {
                format!(
                    "port {} is not free (set PORT to use another)",
                    options.port
                )
            })?;
        let address = listener.local_addr()?;
        let public_url = PublicUrl::parse("PORT", &format!("http://{address}/"))?;

        let clock = SimClock::real();
        let loopback: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
        let google_config = GoogleSimConfig::local(public_url.join(GOOGLE_CALLBACK).as_str());
        let google_client = google_config.clients[0].clone();
        let google = GoogleSim::start(loopback, google_config, clock.clone()).await?;
        let webhook_secret = options.sign_webhooks.then(oh_fitbit_core::random_token);
        let mut open_humans_config =
            OpenHumansSimConfig::local(public_url.join(OPEN_HUMANS_CALLBACK).as_str());
        open_humans_config.project.deauth_webhook = Some(public_url.join(DEAUTH_WEBHOOK));
        open_humans_config.project.webhook_secret = webhook_secret.clone();
        open_humans_config
            .users
            .extend(options.more_open_humans_users);
        let project = open_humans_config.project.clone();
        let open_humans = OpenHumansSim::start(loopback, open_humans_config, clock).await?;
        let open_humans_settings = OpenHumansConfig {
            base_url: open_humans.base_url().clone(),
            client_id: project.client_id,
            client_secret: SecretString::from(project.client_secret),
            webhook_secret: webhook_secret.clone().map(SecretString::from),
        };
        let google_settings = GoogleConfig {
            intraday_requires_own_client: options.intraday_requires_own_client,
            ..GoogleConfig::simulated(
                google.base_url(),
                google_client.client_id.clone(),
                SecretString::from(google_client.client_secret.clone()),
            )
        };

        let token_key =
            SecretString::from(oh_fitbit_core::random_token() + &oh_fitbit_core::random_token());
        let cipher = TokenCipher::from_keys("TOKEN_ENCRYPTION_KEY", &token_key, &[])?;
        let worker_environment = worker_environment(
            &redis,
            &database,
            &token_key,
            &public_url,
            &open_humans_settings,
            &google_settings,
        );
        let connection = Redis::new(&redis, options.worker.concurrency)?;
        let db = Database::connect(&database, Duration::from_secs(10))
            .await
            .context("connecting to the database")?;
        let members = MemberStore::new(db.clone(), Arc::new(cipher));
        let staging = Staging::from_config(&options.staging, members.cipher().clone());
        if let Some(bucket) = staging.bucket() {
            bucket
                .create()
                .await
                .context("creating the staging bucket")?;
        }
        let state = AppState::new(oh_fitbit_web::Dependencies {
            public_url: public_url.clone(),
            session_key: SecretString::from(
                oh_fitbit_core::random_token() + &oh_fitbit_core::random_token(),
            ),
            limits: options.web_limits,
            redis: connection.clone(),
            members: members.clone(),
            open_humans: open_humans_settings.clone(),
            google: google_settings.clone(),
        });
        let worker = Worker::new(WorkerContext::new(oh_fitbit_worker::Dependencies {
            members: members.clone(),
            queue: JobQueue::new(connection, db),
            staging,
            public_url: public_url.clone(),
            open_humans: open_humans_settings,
            google: google_settings,
            config: options.worker,
        }));

        let shutdown = CancellationToken::new();
        let mut tasks = vec![tokio::spawn({
            let stop = shutdown.clone().cancelled_owned();
            async move {
                if let Err(error) = oh_fitbit_web::serve(listener, state, stop).await {
                    tracing::error!(%error, "web server failed");
                }
            }
        })];
        if options.run_worker {
            tasks.push(tokio::spawn({
                let worker = worker.clone();
                let shutdown = shutdown.clone();
                async move {
                    if let Err(error) = worker.run(shutdown).await {
                        tracing::error!(error = %oh_fitbit_core::error_chain(&error), "worker failed");
                    }
                }
            }));
        }
        Ok(Self {
            public_url,
            google,
            open_humans,
            members,
            worker,
            redis,
            database,
            webhook_secret: webhook_secret.map(SecretString::from),
            redis_server,
            postgres_server,
            worker_environment,
            shutdown,
            tasks,
        })
    }

    pub fn url(&self, path: &str) -> Url {
        self.public_url.join(path)
    }

    /// The environment of a separate `oh-fitbit worker` process working for this stack (with
    /// `STAGING_DIR` and the `WorkerConfig` variables left to the caller).
    pub fn worker_environment(&self) -> &[(&'static str, SecretString)] {
        &self.worker_environment
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        self.google.shutdown().await;
        self.open_humans.shutdown().await;
        self.members.database().close().await;
    }
}

fn worker_environment(
    redis: &RedisConfig,
    database: &DatabaseConfig,
    token_key: &SecretString,
    public_url: &PublicUrl,
    open_humans: &OpenHumansConfig,
    google: &GoogleConfig,
) -> Vec<(&'static str, SecretString)> {
    let text = |value: &str| SecretString::from(value.to_owned());
    vec![
        ("REDIS_URL", redis.url.clone()),
        ("REDIS_KEY_PREFIX", text(&redis.key_prefix)),
        ("DATABASE_URL", database.url.clone()),
        ("TOKEN_ENCRYPTION_KEY", token_key.clone()),
        ("APP_BASE_URL", text(public_url.as_url().as_str())),
        ("OPEN_HUMANS_URL", text(open_humans.base_url.as_str())),
        ("OPEN_HUMANS_CLIENT_ID", text(&open_humans.client_id)),
        (
            "OPEN_HUMANS_CLIENT_SECRET",
            open_humans.client_secret.clone(),
        ),
        match &open_humans.webhook_secret {
            Some(secret) => ("OPEN_HUMANS_WEBHOOK_SECRET", secret.clone()),
            None => ("OPEN_HUMANS_WEBHOOK_UNSIGNED", text("true")),
        },
        ("GOOGLE_CLIENT_ID", text(&google.client_id)),
        ("GOOGLE_CLIENT_SECRET", google.client_secret.clone()),
        ("GOOGLE_AUTHORIZE_URL", text(google.authorize_url.as_str())),
        ("GOOGLE_TOKEN_URL", text(google.token_url.as_str())),
        ("GOOGLE_REVOKE_URL", text(google.revoke_url.as_str())),
        (
            "GOOGLE_HEALTH_API_URL",
            text(google.health_api_url.as_str()),
        ),
        (
            "GOOGLE_CLOUD_CONSOLE_URL",
            text(google.cloud_console_url.as_str()),
        ),
        (
            "INTRADAY_REQUIRES_OWN_CLIENT",
            text(&google.intraday_requires_own_client.to_string()),
        ),
    ]
}
