//! The two production processes, each configured from the environment (see SETUP.md).

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use oh_fitbit_core::{
    config::{
        self, DatabaseConfig, Environment, GoogleConfig, HttpConfig, OpenHumansConfig, PublicUrl,
        RedisConfig, StagingConfig, WorkerConfig,
    },
    db::Database,
    members::MemberStore,
    queue::JobQueue,
    redis_conn::Redis,
    staging::Staging,
};
use oh_fitbit_web::AppState;
use oh_fitbit_worker::{Worker, WorkerContext};
use tokio_util::sync::CancellationToken;

use crate::shutdown;

/// How long a web request waits for a database connection: a page should fail (with a plain
/// 503) rather than hang while the database restarts.
const WEB_DATABASE_WAIT: Duration = Duration::from_secs(5);
/// How long a worker waits for one: a restart or failover of Heroku Postgres takes about this.
const WORKER_DATABASE_WAIT: Duration = Duration::from_secs(30);

/// What both processes need: the database with the member store in it, Redis, and the two
/// outside services.
struct Shared {
    redis: Redis,
    members: MemberStore,
    open_humans: OpenHumansConfig,
    google: GoogleConfig,
}

impl Shared {
    async fn from_env(
        env: &Environment,
        database_wait: Duration,
        blocking_waits: usize,
    ) -> anyhow::Result<Self> {
        let redis = RedisConfig::from_env(env)?;
        let database = DatabaseConfig::from_env(env)?;
        let cipher = config::token_cipher_from_env(env)?;
        let open_humans = OpenHumansConfig::from_env(env)?;
        let google = GoogleConfig::from_env(env)?;
        let db = Database::connect(&database, database_wait)
            .await
            .context("connecting to the database (DATABASE_URL)")?;
        Ok(Self {
            redis: Redis::new(&redis, blocking_waits)?,
            members: MemberStore::new(db, Arc::new(cipher)),
            open_humans,
            google,
        })
    }
}

pub async fn web() -> anyhow::Result<()> {
    let env = Environment::process();
    let http = HttpConfig::from_env(&env)?;
    let shared = Shared::from_env(&env, WEB_DATABASE_WAIT, 1).await?;
    if shared.open_humans.webhook_secret.is_none() {
        tracing::warn!(
            "OPEN_HUMANS_WEBHOOK_UNSIGNED: deauthorisation webhooks are accepted unsigned and \
             believed only when Open Humans refuses the member's token; set \
             OPEN_HUMANS_WEBHOOK_SECRET to the project's webhook secret instead"
        );
    }
    let state = AppState::new(oh_fitbit_web::Dependencies {
        public_url: http.public_url.clone(),
        session_key: http.session_key.clone(),
        limits: http.limits,
        redis: shared.redis,
        members: shared.members,
        open_humans: shared.open_humans,
        google: shared.google,
    });
    let listener = tokio::net::TcpListener::bind((http.bind, http.port))
        .await
        .with_context(|| format!("listening on {}:{}", http.bind, http.port))?;
    tracing::info!(address = %listener.local_addr()?, public_url = %http.public_url.as_url(), "web process listening");
    let token = CancellationToken::new();
    tokio::spawn(shutdown::on_signal(token.clone()));
    oh_fitbit_web::serve(listener, state, token.cancelled_owned()).await?;
    Ok(())
}

pub async fn worker() -> anyhow::Result<()> {
    let worker = Worker::new(worker_context_from_env(&Environment::process()).await?);
    let token = CancellationToken::new();
    tokio::spawn(shutdown::on_signal(token.clone()));
    tracing::info!("worker process started");
    worker.run(token).await?;
    Ok(())
}

/// What the worker works with (members, queue, tokens, staging), as the environment configures
/// it; operator commands and the import benchmark use it too.
pub async fn worker_context_from_env(env: &Environment) -> anyhow::Result<Arc<WorkerContext>> {
    let public_url = PublicUrl::from_env(env)?;
    let staging = StagingConfig::from_env(env)?;
    let settings = WorkerConfig::from_env(env)?;
    let shared = Shared::from_env(env, WORKER_DATABASE_WAIT, settings.concurrency).await?;
    Ok(WorkerContext::new(oh_fitbit_worker::Dependencies {
        queue: JobQueue::new(shared.redis, shared.members.database().clone()),
        staging: Staging::from_config(&staging, shared.members.cipher().clone()),
        members: shared.members,
        public_url,
        open_humans: shared.open_humans,
        google: shared.google,
        config: settings,
    }))
}
