//! The two production processes, each configured from the environment (see SETUP.md).

use std::sync::Arc;

use anyhow::Context;
use oh_fitbit_core::{
    config::{
        self, Environment, GoogleConfig, HttpConfig, OpenHumansConfig, PublicUrl, RedisConfig,
        StagingConfig, WorkerConfig,
    },
    locks::Locks,
    members::MemberStore,
    queue::JobQueue,
    redis_conn,
    staging::Staging,
};
use oh_fitbit_web::AppState;
use oh_fitbit_worker::{Worker, WorkerContext};
use tokio_util::sync::CancellationToken;

use crate::shutdown;

/// What both processes need: Redis, the member store and the two outside services.
struct Shared {
    redis: RedisConfig,
    connection: redis::aio::ConnectionManager,
    members: MemberStore,
    open_humans: OpenHumansConfig,
    google: GoogleConfig,
}

impl Shared {
    async fn from_env(env: &Environment) -> anyhow::Result<Self> {
        let redis = RedisConfig::from_env(env)?;
        let cipher = config::token_cipher_from_env(env)?;
        let open_humans = OpenHumansConfig::from_env(env)?;
        let google = GoogleConfig::from_env(env)?;
        let connection = redis_conn::connect(&redis)
            .await
            .context("connecting to Redis")?;
        let members = MemberStore::new(connection.clone(), Arc::new(cipher), &redis.key_prefix);
        Ok(Self {
            redis,
            connection,
            members,
            open_humans,
            google,
        })
    }
}

pub async fn web() -> anyhow::Result<()> {
    let env = Environment::process();
    let http = HttpConfig::from_env(&env)?;
    let shared = Shared::from_env(&env).await?;
    let state = AppState::new(oh_fitbit_web::Dependencies {
        public_url: http.public_url.clone(),
        session_key: http.session_key.clone(),
        oauth_requests_per_minute: http.oauth_requests_per_minute,
        redis: shared.connection,
        key_prefix: shared.redis.key_prefix,
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
    let worker = worker_from_env(&Environment::process()).await?;
    let token = CancellationToken::new();
    tokio::spawn(shutdown::on_signal(token.clone()));
    tracing::info!("worker process started");
    worker.run(token).await?;
    Ok(())
}

/// The worker as the environment configures it; the import benchmark runs one job with it.
pub async fn worker_from_env(env: &Environment) -> anyhow::Result<Worker> {
    let (context, redis) = worker_context_from_env(env).await?;
    Ok(Worker::new(context, redis))
}

/// What the worker works with (members, queue, tokens, staging), as the environment configures
/// it; operator commands use it too.
pub async fn worker_context_from_env(
    env: &Environment,
) -> anyhow::Result<(Arc<WorkerContext>, RedisConfig)> {
    let public_url = PublicUrl::from_env(env)?;
    let staging = StagingConfig::from_env(env)?;
    let settings = WorkerConfig::from_env(env)?;
    let shared = Shared::from_env(env).await?;
    let context = WorkerContext::new(oh_fitbit_worker::Dependencies {
        members: shared.members,
        queue: JobQueue::new(shared.connection.clone(), &shared.redis.key_prefix),
        locks: Locks::new(shared.connection, &shared.redis.key_prefix),
        staging: Staging::from_config(&staging),
        public_url,
        open_humans: shared.open_humans,
        google: shared.google,
        config: settings,
    });
    Ok((context, shared.redis))
}
