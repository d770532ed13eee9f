//! The sync job queue: a member-keyed state machine in Redis (`reference/rust-ecosystem.md` §2.4).
//!
//! A job *is* a member: "bring this member up to date". A member is in at most one of the ready
//! list, the scheduled set and the lease set, so duplicate requests coalesce and no member is
//! ever synced by two workers at once. Every transition is one Lua script (in `lua/`, each headed
//! by its KEYS/ARGV contract), so the invariant holds whatever crashes in between. A lease
//! carries a random fencing token: a worker whose lease was reaped can no longer complete or
//! extend it, and checks it before any irreversible step.

mod keys;

use std::time::Duration;

use jiff::Timestamp;
use open_humans::ProjectMemberId;
use redis::{AsyncCommands, Script, aio::ConnectionManager};

use crate::{Error, redis_conn::BlockingConnection};
use keys::QueueKeys;

struct Scripts {
    enqueue: Script,
    fetch: Script,
    heartbeat: Script,
    complete: Script,
    reap: Script,
    forget: Script,
    progress: Script,
}

impl Scripts {
    fn load() -> Self {
        Self {
            enqueue: Script::new(include_str!("lua/enqueue.lua")),
            fetch: Script::new(include_str!("lua/fetch.lua")),
            heartbeat: Script::new(include_str!("lua/heartbeat.lua")),
            complete: Script::new(include_str!("lua/complete.lua")),
            reap: Script::new(include_str!("lua/reap.lua")),
            forget: Script::new(include_str!("lua/forget.lua")),
            progress: Script::new(include_str!("lua/progress.lua")),
        }
    }
}

#[derive(Clone)]
pub struct JobQueue {
    redis: ConnectionManager,
    keys: QueueKeys,
    scripts: std::sync::Arc<Scripts>,
}

/// What `enqueue` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Ready to run now.
    Queued,
    /// Will run at the requested time.
    Scheduled,
    /// Already waiting (at the same time or earlier).
    AlreadyWaiting,
    /// Running now; it will run once more when this run ends.
    Coalesced,
}

/// A worker's hold on one member's sync.
#[derive(Clone, Debug)]
pub struct Lease {
    pub member: ProjectMemberId,
    /// Failed attempts before this one, for the caller's backoff.
    pub attempts: u32,
    token: String,
}

/// How a run ended, as the queue needs to know it.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Success; the next periodic sync runs at `next_run`.
    Done { next_run: Timestamp },
    /// Not a failure: wait until `run_at` (a quota window resets), without using an attempt.
    Later { run_at: Timestamp, reason: String },
    /// A failure worth retrying at `run_at` (the caller's backoff); uses an attempt.
    Retry { run_at: Timestamp, error: String },
    /// The member must act first (reconnect an account); nothing is scheduled.
    Parked { reason: String },
    /// The member left: their job is deleted.
    Gone,
}

/// What `complete` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completed {
    Scheduled,
    /// A run was asked for during this one; it is ready again.
    Requeued,
    /// Too many failed attempts: in the dead set for an operator.
    Dead,
    Parked,
    /// The member left and the job was deleted.
    Forgotten,
    /// The lease had been reaped and handed on: this run's result was discarded.
    Stale,
}

/// A member's job as the dashboard and the operator commands show it.
/// Jobs per state, for operators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueStats {
    pub ready: u64,
    pub scheduled: u64,
    /// Scheduled jobs whose time has come (a worker will move them to ready).
    pub due: u64,
    pub running: u64,
    /// Running jobs whose worker stopped heart-beating (the reaper will hand them back).
    pub expired_leases: u64,
    pub dead: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobStatus {
    /// `ready`, `scheduled`, `running`, `idle` or `dead`; None when never queued.
    pub state: Option<String>,
    pub run_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub attempts: u32,
    pub last_outcome: Option<String>,
    pub message: Option<String>,
}

impl JobQueue {
    pub fn new(redis: ConnectionManager, key_prefix: &str) -> Self {
        Self {
            redis,
            keys: QueueKeys::new(key_prefix),
            scripts: std::sync::Arc::new(Scripts::load()),
        }
    }

    pub async fn enqueue(
        &self,
        member: &ProjectMemberId,
        run_at: Timestamp,
    ) -> Result<Enqueued, Error> {
        let reply: String = self
            .scripts
            .enqueue
            .key(&self.keys.ready)
            .key(&self.keys.scheduled)
            .key(&self.keys.leases)
            .key(&self.keys.dead)
            .key(self.keys.job(member.as_ref()))
            .key(&self.keys.wake)
            .arg(member.as_ref())
            .arg(millis(Timestamp::now()))
            .arg(millis(run_at))
            .invoke_async(&mut self.redis.clone())
            .await?;
        match reply.as_str() {
            "queued" => Ok(Enqueued::Queued),
            "scheduled" => Ok(Enqueued::Scheduled),
            "exists" => Ok(Enqueued::AlreadyWaiting),
            "coalesced" => Ok(Enqueued::Coalesced),
            other => Err(Error::UnexpectedReply(format!("enqueue: {other}"))),
        }
    }

    /// Leases the next member whose sync may run now, for `lease` unless extended.
    pub async fn fetch(&self, lease: Duration) -> Result<Option<Lease>, Error> {
        let token = crate::random_token();
        let leased: Option<(String, u32)> = self
            .scripts
            .fetch
            .key(&self.keys.ready)
            .key(&self.keys.scheduled)
            .key(&self.keys.leases)
            .arg(millis(Timestamp::now()))
            .arg(lease.as_millis() as u64)
            .arg(&token)
            .arg(&self.keys.job_prefix)
            .invoke_async(&mut self.redis.clone())
            .await?;
        leased
            .map(|(member, attempts)| {
                let member = member
                    .parse()
                    .map_err(|_| Error::Corrupt(format!("queued member id {member:?}")))?;
                Ok(Lease {
                    member,
                    attempts,
                    token,
                })
            })
            .transpose()
    }

    /// Extends the lease; false when it was lost and the run must stop without side effects.
    pub async fn heartbeat(&self, lease: &Lease, extend_by: Duration) -> Result<bool, Error> {
        let expiry = millis(Timestamp::now()) + extend_by.as_millis() as i64;
        let extended: i64 = self
            .scripts
            .heartbeat
            .key(&self.keys.leases)
            .key(self.keys.job(lease.member.as_ref()))
            .arg(lease.member.as_ref())
            .arg(&lease.token)
            .arg(expiry)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(extended == 1)
    }

    /// Whether this lease is still the member's current one: checked right before an
    /// irreversible step (deleting the member's previous file on Open Humans).
    pub async fn still_holds(&self, lease: &Lease) -> Result<bool, Error> {
        let token: Option<String> = self
            .redis
            .clone()
            .hget(self.keys.job(lease.member.as_ref()), "token")
            .await?;
        Ok(token.as_deref() == Some(lease.token.as_str()))
    }

    /// Records that this run saved progress, so its interruption would not count as a failed
    /// attempt; false when the lease was lost.
    pub async fn record_progress(&self, lease: &Lease) -> Result<bool, Error> {
        let marked: i64 = self
            .scripts
            .progress
            .key(self.keys.job(lease.member.as_ref()))
            .arg(&lease.token)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(marked == 1)
    }

    pub async fn complete(
        &self,
        lease: &Lease,
        outcome: Outcome,
        max_attempts: u32,
    ) -> Result<Completed, Error> {
        let (kind, run_at, message) = match &outcome {
            Outcome::Done { next_run } => ("ok", millis(*next_run).to_string(), ""),
            Outcome::Later { run_at, reason } => {
                ("later", millis(*run_at).to_string(), reason.as_str())
            }
            Outcome::Retry { run_at, error } => {
                ("retry", millis(*run_at).to_string(), error.as_str())
            }
            Outcome::Parked { reason } => ("park", String::new(), reason.as_str()),
            Outcome::Gone => ("gone", String::new(), ""),
        };
        let reply: String = self
            .scripts
            .complete
            .key(&self.keys.ready)
            .key(&self.keys.scheduled)
            .key(&self.keys.leases)
            .key(&self.keys.dead)
            .key(self.keys.job(lease.member.as_ref()))
            .key(&self.keys.wake)
            .arg(lease.member.as_ref())
            .arg(&lease.token)
            .arg(kind)
            .arg(run_at)
            .arg(millis(Timestamp::now()))
            .arg(max_attempts)
            .arg(message)
            .invoke_async(&mut self.redis.clone())
            .await?;
        match reply.as_str() {
            "scheduled" => Ok(Completed::Scheduled),
            "requeued" => Ok(Completed::Requeued),
            "dead" => Ok(Completed::Dead),
            "parked" => Ok(Completed::Parked),
            "forgotten" => Ok(Completed::Forgotten),
            "stale" => Ok(Completed::Stale),
            other => Err(Error::UnexpectedReply(format!("complete: {other}"))),
        }
    }

    /// Returns expired leases to the ready list (or the dead set); safe to run from any number
    /// of workers at once.
    pub async fn reap(&self, max_attempts: u32) -> Result<usize, Error> {
        let reaped: usize = self
            .scripts
            .reap
            .key(&self.keys.ready)
            .key(&self.keys.leases)
            .key(&self.keys.dead)
            .key(&self.keys.wake)
            .arg(millis(Timestamp::now()))
            .arg(&self.keys.job_prefix)
            .arg(max_attempts)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(reaped)
    }

    /// Removes the member's waiting job (ready, scheduled or dead); a running one finishes and
    /// finds the member gone.
    pub async fn forget(&self, member: &ProjectMemberId) -> Result<(), Error> {
        let reply: String = self
            .scripts
            .forget
            .key(&self.keys.ready)
            .key(&self.keys.scheduled)
            .key(&self.keys.leases)
            .key(&self.keys.dead)
            .key(self.keys.job(member.as_ref()))
            .arg(member.as_ref())
            .invoke_async(&mut self.redis.clone())
            .await?;
        match reply.as_str() {
            "forgotten" | "running" => Ok(()),
            other => Err(Error::UnexpectedReply(format!("forget: {other}"))),
        }
    }

    /// How many jobs are in each state, read in one atomic step.
    pub async fn stats(&self) -> Result<QueueStats, Error> {
        let now = millis(Timestamp::now());
        let (ready, scheduled, due, running, expired, dead): (u64, u64, u64, u64, u64, u64) =
            redis::pipe()
                .atomic()
                .llen(&self.keys.ready)
                .zcard(&self.keys.scheduled)
                .zcount(&self.keys.scheduled, "-inf", now)
                .zcard(&self.keys.leases)
                .zcount(&self.keys.leases, "-inf", now)
                .zcard(&self.keys.dead)
                .query_async(&mut self.redis.clone())
                .await?;
        Ok(QueueStats {
            ready,
            scheduled,
            due,
            running,
            expired_leases: expired,
            dead,
        })
    }

    /// The members in the dead set, with when each got there, oldest first.
    pub async fn dead(&self) -> Result<Vec<(ProjectMemberId, Option<Timestamp>)>, Error> {
        let entries: Vec<(String, i64)> = self
            .redis
            .clone()
            .zrange_withscores(&self.keys.dead, 0, -1)
            .await?;
        entries
            .into_iter()
            .map(|(member, since)| {
                let member = member
                    .parse()
                    .map_err(|_| Error::Corrupt(format!("dead member id {member:?}")))?;
                Ok((member, from_millis(since)))
            })
            .collect()
    }

    /// When the earliest scheduled run is due, if any is scheduled.
    pub async fn next_due(&self) -> Result<Option<Timestamp>, Error> {
        let first: Vec<(String, i64)> = self
            .redis
            .clone()
            .zrange_withscores(&self.keys.scheduled, 0, 0)
            .await?;
        Ok(first.first().and_then(|(_, at)| from_millis(*at)))
    }

    /// Blocks until work may have arrived or `timeout` passes. Needs its own connection:
    /// a blocking command stalls every request sharing a multiplexed connection.
    pub async fn wait_for_work(
        &self,
        blocking: &mut BlockingConnection,
        timeout: Duration,
    ) -> Result<(), Error> {
        let _: Option<(String, String)> = blocking
            .connection()
            .blpop(&self.keys.wake, timeout.as_secs_f64().max(0.01))
            .await?;
        Ok(())
    }

    pub async fn status(&self, member: &ProjectMemberId) -> Result<JobStatus, Error> {
        let fields: std::collections::HashMap<String, String> = self
            .redis
            .clone()
            .hgetall(self.keys.job(member.as_ref()))
            .await?;
        let time = |name: &str| {
            fields
                .get(name)
                .and_then(|v| v.parse().ok())
                .and_then(from_millis)
        };
        Ok(JobStatus {
            state: fields.get("state").cloned(),
            run_at: time("run_at"),
            started_at: time("started_at"),
            finished_at: time("finished_at"),
            attempts: fields
                .get("attempts")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            last_outcome: fields.get("last_outcome").cloned(),
            message: fields.get("message").cloned(),
        })
    }
}

fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

fn from_millis(ms: i64) -> Option<Timestamp> {
    Timestamp::from_millisecond(ms).ok()
}
