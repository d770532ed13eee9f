//! The worker process: takes members' sync jobs from the queue and brings each member's files on
//! Open Humans up to date with their Fitbit history from the Google Health API.
//!
//! [`Worker::try_execute_one`] runs one job and is the test seam; [`Worker::run`] loops over it
//! with several jobs at once, a reaper for crashed workers' leases, and graceful shutdown.

mod archive;
mod chunks;
mod context;
mod erase;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod google;
mod heal;
mod import;
mod notices;
mod outcome;
mod points;
mod publish;
mod recent;
pub mod series;
mod sync;

use std::{sync::Arc, time::Duration};

use oh_fitbit_core::{
    Provider, error_chain,
    queue::{Completed, Lease, Outcome},
};
use open_humans::ProjectMemberId;
use tokio_util::sync::CancellationToken;

pub use archive::{
    DAILY_FILE_NAME, DAILY_SCHEMA, DAILY_SCHEMA_VERSION, INTRADAY_SCHEMA, INTRADAY_SCHEMA_VERSION,
    intraday_file_name,
};
pub use context::{Dependencies, WorkerContext};
pub use error::SyncError;

/// How often a worker hands back crashed workers' leases and checks that Redis still holds the
/// queue (rebuilding it from the database if not).
const MAINTAIN_EVERY: Duration = Duration::from_secs(30);
/// Longest idle wait before checking the queue again (scheduled runs become due silently).
const IDLE_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, PartialEq, Eq)]
pub enum Execution {
    Ran {
        member: ProjectMemberId,
        completed: Completed,
    },
    Empty,
}

#[derive(Clone)]
pub struct Worker {
    ctx: Arc<WorkerContext>,
}

impl Worker {
    pub fn new(ctx: Arc<WorkerContext>) -> Self {
        Self { ctx }
    }

    pub fn context(&self) -> &WorkerContext {
        &self.ctx
    }

    /// Runs the next due job, if any, to completion.
    pub async fn try_execute_one(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<Execution, oh_fitbit_core::Error> {
        let Some(lease) = self.ctx.queue.fetch(self.ctx.config.lease).await? else {
            return Ok(Execution::Empty);
        };
        let span =
            tracing::info_span!("sync", member = %lease.member, attempt = lease.attempts + 1);
        let outcome =
            tracing::Instrument::instrument(self.run_leased(&lease, shutdown), span).await;
        let completed = self
            .ctx
            .queue
            .complete(&lease, outcome, self.ctx.config.max_attempts)
            .await?;
        tracing::info!(member = %lease.member, ?completed, "job finished");
        Ok(Execution::Ran {
            member: lease.member,
            completed,
        })
    }

    async fn run_leased(&self, lease: &Lease, shutdown: &CancellationToken) -> Outcome {
        let sync = sync::sync_member(&self.ctx, lease);
        let grace_over = async {
            shutdown.cancelled().await;
            tokio::time::sleep(self.ctx.config.shutdown_grace).await;
        };
        let result = tokio::select! {
            result = sync => result,
            () = self.keep_lease(lease) => Err(SyncError::LeaseLost),
            () = grace_over => {
                tracing::info!("shutting down: handing the job back");
                return Outcome::Later {
                    run_at: jiff::Timestamp::now(),
                    reason: "The import was paused by a restart and continues by itself.".into(),
                };
            }
        };
        match &result {
            Ok(summary) => tracing::info!(
                requests = summary.requests,
                files = ?summary.files,
                "sync succeeded"
            ),
            Err(error) => tracing::warn!(error = %error_chain(error), "sync failed"),
        }
        match &result {
            Err(SyncError::Core(oh_fitbit_core::Error::GrantRevoked(Provider::Google))) => {
                notices::ask_to_reconnect(&self.ctx, &lease.member).await;
            }
            Ok(_) => notices::announce_expiry(&self.ctx, &lease.member).await,
            Err(_) => {}
        }
        outcome::outcome(&result, lease.attempts, &self.ctx.config)
    }

    /// Hands back the leases of workers that stopped, then makes sure Redis holds every job
    /// the database records (rebuilding the queue if Redis lost it). Safe from every worker at
    /// once.
    pub async fn maintain(&self) -> Result<(), oh_fitbit_core::Error> {
        let reaped = self.ctx.queue.reap(self.ctx.config.max_attempts).await?;
        if reaped > 0 {
            tracing::warn!(reaped, "handed back leases of stopped workers");
        }
        let erasures = self.ctx.members.erasures_pending().await?;
        self.ctx.queue.repair(&erasures).await?;
        Ok(())
    }

    /// Heartbeats the lease; returns when it is lost.
    async fn keep_lease(&self, lease: &Lease) {
        let every = self.ctx.config.lease / 3;
        loop {
            tokio::time::sleep(every).await;
            match self.ctx.queue.heartbeat(lease, self.ctx.config.lease).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => tracing::warn!(error = %error_chain(&error), "heartbeat failed"),
            }
        }
    }

    /// Runs the configured number of job loops and the maintenance loop until `shutdown` is
    /// cancelled and in-flight jobs have finished or been handed back.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), oh_fitbit_core::Error> {
        let maintenance = tokio::spawn(self.clone().maintain_until(shutdown.clone()));
        let mut loops = tokio::task::JoinSet::new();
        for _ in 0..self.ctx.config.concurrency.max(1) {
            loops.spawn(self.clone().job_loop(shutdown.clone()));
        }
        while let Some(finished) = loops.join_next().await {
            if let Err(error) = finished {
                // The member whose run it was gets it back when its lease is reaped; the
                // others must not lose a loop for the life of the process.
                tracing::error!(error = %oh_fitbit_core::log_safe(&error.to_string()), "a job loop panicked; starting another");
                if !shutdown.is_cancelled() {
                    loops.spawn(self.clone().job_loop(shutdown.clone()));
                }
            }
        }
        maintenance.abort();
        Ok(())
    }

    async fn job_loop(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            match self.try_execute_one(&shutdown).await {
                Ok(Execution::Ran { .. }) => {}
                Ok(Execution::Empty) => {
                    let wait = self.idle_wait().await;
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        woke = self.ctx.queue.wait_for_work(wait) => {
                            if let Err(error) = woke {
                                tracing::warn!(error = %error_chain(&error), "waiting for work failed");
                                pause(&shutdown).await;
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(error = %error_chain(&error), "worker iteration failed");
                    pause(&shutdown).await;
                }
            }
        }
    }

    /// Until the next scheduled run is due, at most [`IDLE_WAIT`].
    async fn idle_wait(&self) -> Duration {
        match self.ctx.queue.next_due().await {
            Ok(Some(due)) => {
                let until = jiff::Timestamp::now().duration_until(due);
                Duration::try_from(until)
                    .unwrap_or(Duration::ZERO)
                    .clamp(Duration::from_millis(50), IDLE_WAIT)
            }
            _ => IDLE_WAIT,
        }
    }

    /// Maintains at once (a worker starting after a crash hands back the crashed runs' expired
    /// leases, and a Redis that restarted empty is rebuilt, without waiting), then every
    /// [`MAINTAIN_EVERY`].
    async fn maintain_until(self, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.maintain().await {
                tracing::warn!(error = %error_chain(&error), "queue maintenance failed");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(MAINTAIN_EVERY) => {}
            }
        }
    }
}

/// A second's pause after a failure (Redis or the database away), unless shutting down.
async fn pause(shutdown: &CancellationToken) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
}

/// `duration` ± 20 %, so members scheduled together do not all run at the same moment.
pub(crate) fn jitter(duration: Duration) -> Duration {
    duration.mul_f64(0.8 + 0.4 * random_fraction())
}

/// A random number in [0, 1); 0 if the system has no randomness to give (only spreading
/// suffers).
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.0,
    }
}
