//! The laboratory: the local stack, the simulators on their own and the benchmarks. Behind the
//! `lab` feature (on by default, off in `RustConfig`'s build), so the binary Heroku runs links
//! none of it: no simulator, no private servers, nothing that runs `apt-get`.

pub mod bench;
pub mod stack;

use std::path::PathBuf;

use clap::Subcommand;
use oh_fitbit_core::config::{StagingConfig, WebLimits, WorkerConfig};
use oh_fitbit_sim::{
    SimClock,
    google::{GoogleSim, GoogleSimConfig},
    openhumans::{OpenHumansSim, OpenHumansSimConfig},
};
use tokio_util::sync::CancellationToken;

use crate::shutdown;
use stack::{LocalStack, StackOptions};

#[derive(Subcommand)]
pub enum Command {
    /// The whole system locally: web, worker, private redis-server and PostgreSQL servers, and
    /// the simulators.
    Dev {
        #[arg(long, env = "PORT", default_value_t = 8080)]
        port: u16,
        /// Use this Redis instead of starting a private redis-server.
        #[arg(long, env = "REDIS_URL")]
        redis_url: Option<String>,
        /// Use this database instead of starting a private PostgreSQL server.
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long, env = "STAGING_DIR", default_value = ".dev/staging")]
        staging_dir: PathBuf,
    },
    /// Only the Google and Open Humans simulators, for trying the API by hand.
    Sim {
        /// The redirect URI to register for both OAuth clients.
        #[arg(long, default_value = "http://127.0.0.1:8080/")]
        redirect_base: url::Url,
        #[arg(long, default_value_t = 8081)]
        google_port: u16,
        #[arg(long, default_value_t = 8082)]
        open_humans_port: u16,
    },
    /// Benchmarks (see the README).
    #[command(subcommand)]
    Bench(Bench),
    /// The benchmark's worker process: runs the one queued job and reports what it used.
    #[command(hide = true)]
    BenchImporter,
}

#[derive(Subcommand)]
pub enum Bench {
    /// Imports the simulator's ten-year persona and prints requests, CPU, memory and bytes.
    Import(bench::ImportBenchOptions),
    /// Cycles sync jobs through the Redis queue (enqueue, fetch, complete) and prints the rate.
    Queue(bench::QueueBenchOptions),
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Dev {
            port,
            redis_url,
            database_url,
            staging_dir,
        } => dev(port, redis_url, database_url, staging_dir).await,
        Command::Sim {
            redirect_base,
            google_port,
            open_humans_port,
        } => simulators(redirect_base, google_port, open_humans_port).await,
        Command::Bench(Bench::Import(options)) => bench::import(options).await,
        Command::Bench(Bench::Queue(options)) => bench::queue(options).await,
        Command::BenchImporter => bench::run_one_job().await,
    }
}

async fn dev(
    port: u16,
    redis_url: Option<String>,
    database_url: Option<String>,
    staging_dir: PathBuf,
) -> anyhow::Result<()> {
    let stack = LocalStack::start(StackOptions {
        port,
        redis_url,
        database_url,
        staging: StagingConfig::LocalDirectory(staging_dir),
        run_worker: true,
        worker: WorkerConfig::default(),
        sign_webhooks: true,
        more_open_humans_users: Vec::new(),
        intraday_requires_own_client: true,
        web_limits: WebLimits::default(),
    })
    .await?;
    println!();
    println!("  The local stack is running. Open {}", stack.url(""));
    println!("  Google simulator:      {}", stack.google.base_url());
    println!("  Open Humans simulator: {}", stack.open_humans.base_url());
    println!(
        "  Redis:                 {}",
        secrecy::ExposeSecret::expose_secret(&stack.redis.url)
    );
    println!(
        "  PostgreSQL:            {}",
        secrecy::ExposeSecret::expose_secret(&stack.database.url)
    );
    println!("  Stop with Ctrl-C.");
    println!();
    let token = CancellationToken::new();
    shutdown::on_signal(token.clone()).await;
    stack.stop().await;
    Ok(())
}

async fn simulators(
    redirect_base: url::Url,
    google_port: u16,
    open_humans_port: u16,
) -> anyhow::Result<()> {
    let clock = SimClock::real();
    let callback = |path: &str| redirect_base.join(path).map(|url| url.to_string());
    let google_config =
        GoogleSimConfig::local(&callback(oh_fitbit_core::clients::GOOGLE_CALLBACK)?);
    let open_humans_config =
        OpenHumansSimConfig::local(&callback(oh_fitbit_core::clients::OPEN_HUMANS_CALLBACK)?);
    println!(
        "Google OAuth client:      {} / {}",
        google_config.clients[0].client_id, google_config.clients[0].client_secret
    );
    println!(
        "Open Humans OAuth client: {} / {}",
        open_humans_config.project.client_id, open_humans_config.project.client_secret
    );
    let google = GoogleSim::start(
        ([127, 0, 0, 1], google_port).into(),
        google_config,
        clock.clone(),
    )
    .await?;
    let open_humans = OpenHumansSim::start(
        ([127, 0, 0, 1], open_humans_port).into(),
        open_humans_config,
        clock,
    )
    .await?;
    println!("Google simulator:         {}", google.base_url());
    println!("Open Humans simulator:    {}", open_humans.base_url());
    let token = CancellationToken::new();
    shutdown::on_signal(token.clone()).await;
    google.shutdown().await;
    open_humans.shutdown().await;
    Ok(())
}
