//! `oh-fitbit bench queue`: how many sync jobs the queue can cycle per second — enqueue, fetch
//! (lease), complete — against a private `redis-server` and a private PostgreSQL server, each
//! step the Lua script production runs and the database record it keeps. Rounds of `--members`
//! members go through each step together, as a fleet of workers would send them; every reply
//! is checked, so a transition that did not happen fails the run.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use jiff::{Timestamp, ToSpan};
use oh_fitbit_core::{
    config::{DatabaseConfig, RedisConfig},
    db::Database,
    local::{LocalPostgres, LocalRedis},
    queue::{Completed, Enqueued, JobQueue, Lease, Outcome},
    redis_conn::Redis,
};
use open_humans::ProjectMemberId;
use tokio::task::JoinSet;

const LEASE: Duration = Duration::from_secs(300);
const MAX_ATTEMPTS: u32 = 8;

#[derive(Clone, Debug, clap::Args)]
pub struct QueueBenchOptions {
    /// Members cycled together in each round (the jobs in flight).
    #[arg(long, default_value_t = 200)]
    pub members: u32,
    /// Rounds to run; each member goes through one cycle per round.
    #[arg(long, default_value_t = 100)]
    pub rounds: u32,
}

pub async fn queue(options: QueueBenchOptions) -> anyhow::Result<()> {
    ensure!(
        options.members > 0 && options.rounds > 0,
        "--members and --rounds must be positive"
    );
    LocalRedis::ensure_installed().await?;
    LocalPostgres::ensure_installed().await?;
    let server = LocalRedis::start().await?;
    let postgres = LocalPostgres::start().await?;
    let config = RedisConfig {
        url: server.url().into(),
        key_prefix: "bench:".to_owned(),
    };
    let database = DatabaseConfig {
        pool_size: 20,
        ..DatabaseConfig::local(postgres.create_database("bench").await?)
    };
    let db = Database::connect(&database, Duration::from_secs(10)).await?;
    let queue = JobQueue::new(Redis::new(&config, 1)?, db);
    let members: Vec<ProjectMemberId> = (0..options.members)
        .map(|index| format!("{:08}", 10_000_000 + index).parse())
        .collect::<Result<_, _>>()
        .context("bench member ids")?;
    println!(
        "Queue benchmark: {} rounds of {} members, enqueue → fetch → complete, private redis-server and PostgreSQL",
        options.rounds, options.members
    );
    let started = Instant::now();
    for _ in 0..options.rounds {
        round(&queue, &members).await?;
    }
    let elapsed = started.elapsed();
    let cycles = u64::from(options.rounds) * u64::from(options.members);
    println!(
        "  {cycles} cycles in {:.2} s: {:.0} cycles per second ({:.0} µs per cycle)",
        elapsed.as_secs_f64(),
        cycles as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / cycles as f64
    );
    Ok(())
}

/// One cycle of every member: all enqueued, all leased, all completed (scheduled a day on,
/// which the next round's enqueue brings forward to now).
async fn round(queue: &JobQueue, members: &[ProjectMemberId]) -> anyhow::Result<()> {
    let enqueued = each(members.iter().cloned(), queue, |queue, member| async move {
        queue.enqueue(&member, Timestamp::now()).await
    })
    .await?;
    ensure!(
        enqueued.iter().all(|reply| *reply == Enqueued::Queued),
        "an enqueue did not queue its member: {enqueued:?}"
    );
    let leases = each(0..members.len(), queue, |queue, _| async move {
        queue.fetch(LEASE).await
    })
    .await?;
    let leases: Vec<Lease> = leases.into_iter().flatten().collect();
    if leases.len() != members.len() {
        bail!(
            "{} leases for {} queued members",
            leases.len(),
            members.len()
        );
    }
    let next_run = Timestamp::now().checked_add(24.hours())?;
    let completed = each(leases.into_iter(), queue, move |queue, lease| async move {
        queue
            .complete(&lease, Outcome::Done { next_run }, MAX_ATTEMPTS)
            .await
    })
    .await?;
    ensure!(
        completed.iter().all(|reply| *reply == Completed::Scheduled),
        "a completion did not schedule its member: {completed:?}"
    );
    Ok(())
}

/// Runs `step` for every item at once and collects the replies.
async fn each<I, T, F, Fut>(items: I, queue: &JobQueue, step: F) -> anyhow::Result<Vec<T>>
where
    I: Iterator,
    I::Item: Send + 'static,
    T: Send + 'static,
    F: Fn(JobQueue, I::Item) -> Fut,
    Fut: Future<Output = Result<T, oh_fitbit_core::Error>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for item in items {
        tasks.spawn(step(queue.clone(), item));
    }
    let mut replies = Vec::new();
    while let Some(reply) = tasks.join_next().await {
        replies.push(reply??);
    }
    Ok(replies)
}
