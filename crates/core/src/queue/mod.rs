//! The sync job queue: a member-keyed state machine in Redis (`reference/rust-ecosystem.md` §2.4).
//!
//! A job *is* a member: "bring this member up to date". A member is in at most one of the ready
//! list, the scheduled set and the lease set, so duplicate requests coalesce and no member is
//! ever synced by two workers at once. Every transition is one Lua script (in `lua/`, each headed
//! by its KEYS/ARGV contract), so the invariant holds whatever crashes in between.
//!
//! A script touches only the keys it is given in KEYS, as Redis Cluster and proxies require. A
//! transition that writes job hashes the client cannot name beforehand (fetch promotes the
//! scheduled runs that are due and leases the head of the ready list, reap hands back the
//! expired leases) first reads them with a read-only script, then passes their hashes to the
//! script that acts, which re-checks that what was read still holds.
//!
//! Leases, and what is due, go by Redis's clock (`TIME` in the scripts), never a worker's: a
//! worker whose clock is off neither loses its live lease to a reaper nor reaps others' early.
//!
//! Redis holds only what can be rebuilt: every enqueue and every run's end is also recorded in
//! the database (`record`), and a Redis that comes back empty is rebuilt from it (`rebuild`). A
//! lease carries a random fencing token, which the run records in the database when it starts:
//! a run whose lease was handed on can no longer complete or extend it, and every write it
//! makes is refused ([`Fence`]).

mod keys;
mod rebuild;
mod record;

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use open_humans::ProjectMemberId;
use redis::{AsyncCommands, Script};

use crate::{Error, db::Database, fence::Fence, redis_conn::Redis};
use keys::QueueKeys;
pub use rebuild::Repaired;
use record::{JobRecord, RecordedState};

struct Scripts {
    enqueue: Script,
    fetch_peek: Script,
    fetch: Script,
    heartbeat: Script,
    complete: Script,
    reap_peek: Script,
    reap: Script,
    forget: Script,
    progress: Script,
    restore: Script,
    stats: Script,
}

impl Scripts {
    fn load() -> Self {
        Self {
            enqueue: Script::new(include_str!("lua/enqueue.lua")),
            fetch_peek: Script::new(include_str!("lua/fetch_peek.lua")),
            fetch: Script::new(include_str!("lua/fetch.lua")),
            heartbeat: Script::new(include_str!("lua/heartbeat.lua")),
            complete: Script::new(include_str!("lua/complete.lua")),
            reap_peek: Script::new(include_str!("lua/reap_peek.lua")),
            reap: Script::new(include_str!("lua/reap.lua")),
            forget: Script::new(include_str!("lua/forget.lua")),
            progress: Script::new(include_str!("lua/progress.lua")),
            restore: Script::new(include_str!("lua/restore.lua")),
            stats: Script::new(include_str!("lua/stats.lua")),
        }
    }
}

/// Most scheduled runs one fetch promotes, and most leases one reap hands back: each is a key
/// of the script that does it.
const BATCH: usize = 100;

/// How many times a fetch tries again when the head of the ready list changed under it. Each
/// change is another worker's lease, so a fetch that keeps losing leaves the work to them.
const FETCH_TRIES: usize = 16;

#[derive(Clone)]
pub struct JobQueue {
    redis: Redis,
    db: Database,
    keys: QueueKeys,
    scripts: std::sync::Arc<Scripts>,
    /// How far this process's clock is off the true time (see [`JobQueue::with_clock_offset`]).
    clock_offset: SignedDuration,
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
    fence: Fence,
}

impl Lease {
    /// What every write of this run checks.
    pub fn fence(&self) -> &Fence {
        &self.fence
    }
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

/// A member's job as the dashboard and the operator commands show it.
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
    pub fn new(redis: Redis, db: Database) -> Self {
        Self {
            keys: QueueKeys::new(redis.prefix()),
            redis,
            db,
            scripts: std::sync::Arc::new(Scripts::load()),
            clock_offset: SignedDuration::ZERO,
        }
    }

    /// The queue as a process whose clock is `offset` off the true time uses it, for tests of
    /// clock skew between dynos. Only the application's own times follow that clock (what
    /// "now" means to `enqueue`, whose `run_at` the caller chose by it); leases, and what is
    /// due, follow Redis's.
    pub fn with_clock_offset(mut self, offset: SignedDuration) -> Self {
        self.clock_offset = offset;
        self
    }

    /// This process's idea of the time.
    fn now(&self) -> Timestamp {
        Timestamp::now() + self.clock_offset
    }

    /// Asks for a run of the member's sync at `run_at` (or earlier, if one is asked for
    /// earlier). Recorded in the database first, so the request survives a Redis that loses it.
    pub async fn enqueue(
        &self,
        member: &ProjectMemberId,
        run_at: Timestamp,
    ) -> Result<Enqueued, Error> {
        record::enqueued(&self.db, member, run_at).await?;
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
            .arg(millis(self.now()))
            .arg(millis(run_at))
            .invoke_async(&mut self.redis.get().await?)
            .await?;
        match reply.as_str() {
            "queued" => Ok(Enqueued::Queued),
            "scheduled" => Ok(Enqueued::Scheduled),
            "exists" => Ok(Enqueued::AlreadyWaiting),
            "coalesced" => Ok(Enqueued::Coalesced),
            other => Err(Error::UnexpectedReply(format!("enqueue: {other}"))),
        }
    }

    /// Leases the next member whose sync may run now, for `lease` unless extended, and records
    /// the lease's token in the database as the run's fence. A lease whose fence cannot be
    /// recorded (the database is away) is handed back at once, without using an attempt.
    pub async fn fetch(&self, lease: Duration) -> Result<Option<Lease>, Error> {
        let mut connection = self.redis.get().await?;
        let peeked: Vec<String> = self
            .scripts
            .fetch_peek
            .key(&self.keys.ready)
            .key(&self.keys.scheduled)
            .arg(BATCH)
            .invoke_async(&mut connection)
            .await?;
        let mut peeked = peeked.into_iter();
        let head = peeked.next().filter(|head| !head.is_empty());
        let mut due: Vec<String> = peeked.collect();
        // An empty ready list gets the due runs, in order: the first of them becomes its head.
        let Some(mut expected) = head.or_else(|| due.first().cloned()) else {
            return Ok(None);
        };
        let token = crate::random_token();
        for _ in 0..FETCH_TRIES {
            let mut fetch = self.scripts.fetch.prepare_invoke();
            fetch
                .key(&self.keys.ready)
                .key(&self.keys.scheduled)
                .key(&self.keys.leases)
                .key(self.keys.job(&expected));
            for member in &due {
                fetch.key(self.keys.job(member));
            }
            fetch
                .arg(lease.as_millis() as u64)
                .arg(&token)
                .arg(&expected)
                .arg(&due);
            let reply: Option<Vec<String>> = fetch.invoke_async(&mut connection).await?;
            // Whatever the reply, the due runs were promoted (or no longer due).
            due.clear();
            match reply.as_deref() {
                None => return Ok(None),
                Some([tag, head]) if tag == "moved" => expected = head.clone(),
                Some([tag, attempts, started_at]) if tag == "leased" => {
                    let attempts = attempts
                        .parse()
                        .map_err(|_| Error::UnexpectedReply(format!("fetch: {attempts:?}")))?;
                    let started_at = started_at
                        .parse()
                        .map_err(|_| Error::UnexpectedReply(format!("fetch: {started_at:?}")))?;
                    let started_at = redis_time(started_at, "fetch")?;
                    drop(connection);
                    return self
                        .claim(expected, attempts, token, started_at)
                        .await
                        .map(Some);
                }
                _ => return Err(Error::UnexpectedReply(format!("fetch: {reply:?}"))),
            }
        }
        Ok(None)
    }

    /// Records the new lease's fence in the database, or hands the lease back.
    async fn claim(
        &self,
        member: String,
        attempts: u32,
        token: String,
        started_at: Timestamp,
    ) -> Result<Lease, Error> {
        let member: ProjectMemberId = member
            .parse()
            .map_err(|_| Error::Corrupt(format!("queued member id {member:?}")))?;
        let fence = Fence::new(member.clone(), token.clone(), self.db.clone());
        let lease = Lease {
            member,
            attempts,
            token,
            fence,
        };
        if let Err(error) = record::claim(&self.db, &lease.member, &lease.token, started_at).await {
            let back = Outcome::Later {
                run_at: started_at + SignedDuration::from_secs(30),
                reason: UNAVAILABLE_MESSAGE.to_owned(),
            };
            self.complete_in_redis(&lease, &back, u32::MAX).await?;
            return Err(error);
        }
        Ok(lease)
    }

    /// Extends the lease; false when it was lost and the run must stop without side effects.
    pub async fn heartbeat(&self, lease: &Lease, extend_by: Duration) -> Result<bool, Error> {
        let extended: i64 = self
            .scripts
            .heartbeat
            .key(&self.keys.leases)
            .key(self.keys.job(lease.member.as_ref()))
            .arg(lease.member.as_ref())
            .arg(&lease.token)
            .arg(extend_by.as_millis() as u64)
            .invoke_async(&mut self.redis.get().await?)
            .await?;
        Ok(extended == 1)
    }

    /// Records that this run saved progress, so its interruption would not count as a failed
    /// attempt; false when the lease was lost.
    pub async fn record_progress(&self, lease: &Lease) -> Result<bool, Error> {
        let marked: i64 = self
            .scripts
            .progress
            .key(self.keys.job(lease.member.as_ref()))
            .arg(&lease.token)
            .invoke_async(&mut self.redis.get().await?)
            .await?;
        Ok(marked == 1)
    }

    /// Ends the run with its outcome, in Redis and then in the database's record. The record
    /// may lag behind if the database is away; Redis is then ahead of it, which a rebuild
    /// respects, and at worst one extra run follows.
    pub async fn complete(
        &self,
        lease: &Lease,
        outcome: Outcome,
        max_attempts: u32,
    ) -> Result<Completed, Error> {
        let (completed, now) = self
            .complete_in_redis(lease, &outcome, max_attempts)
            .await?;
        let recorded = match completed {
            Completed::Stale => Ok(()),
            Completed::Forgotten => {
                record::deleted(&self.db, &lease.member, Some(&lease.token)).await
            }
            _ => {
                let (state, attempts, message) = recorded_end(lease, &outcome, completed, now);
                let record = JobRecord {
                    member: lease.member.clone(),
                    state,
                    attempts,
                    message,
                    last_run: None,
                };
                record::finished(&self.db, &lease.token, &record, outcome.kind(), now).await
            }
        };
        if let Err(error) = recorded {
            tracing::warn!(
                member = %lease.member,
                error = %crate::error_chain(&error),
                "the database did not record the end of a run; Redis has it"
            );
        }
        Ok(completed)
    }

    /// Ends the run in Redis; returns what was done, and when by Redis's clock.
    async fn complete_in_redis(
        &self,
        lease: &Lease,
        outcome: &Outcome,
        max_attempts: u32,
    ) -> Result<(Completed, Timestamp), Error> {
        let (run_at, message) = match outcome {
            Outcome::Done { next_run } => (millis(*next_run).to_string(), ""),
            Outcome::Later { run_at, reason } => (millis(*run_at).to_string(), reason.as_str()),
            Outcome::Retry { run_at, error } => (millis(*run_at).to_string(), error.as_str()),
            Outcome::Parked { reason } => (String::new(), reason.as_str()),
            Outcome::Gone => (String::new(), ""),
        };
        let (reply, ended_at): (String, i64) = self
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
            .arg(outcome.kind())
            .arg(run_at)
            .arg(max_attempts)
            .arg(message)
            .invoke_async(&mut self.redis.get().await?)
            .await?;
        let completed = match reply.as_str() {
            "scheduled" => Completed::Scheduled,
            "requeued" => Completed::Requeued,
            "dead" => Completed::Dead,
            "parked" => Completed::Parked,
            "forgotten" => Completed::Forgotten,
            "stale" => Completed::Stale,
            other => return Err(Error::UnexpectedReply(format!("complete: {other}"))),
        };
        Ok((completed, redis_time(ended_at, "complete")?))
    }

    /// Returns expired leases to the ready list (or the dead set), and records each in the
    /// database, which withdraws the reaped run's fence: a worker that lost its lease stops at
    /// its next write. Safe to run from any number of workers at once.
    pub async fn reap(&self, max_attempts: u32) -> Result<usize, Error> {
        let mut connection = self.redis.get().await?;
        let expired: Vec<String> = self
            .scripts
            .reap_peek
            .key(&self.keys.leases)
            .arg(BATCH)
            .invoke_async(&mut connection)
            .await?;
        if expired.is_empty() {
            return Ok(0);
        }
        let mut reap = self.scripts.reap.prepare_invoke();
        reap.key(&self.keys.ready)
            .key(&self.keys.leases)
            .key(&self.keys.dead)
            .key(&self.keys.wake);
        for member in &expired {
            reap.key(self.keys.job(member));
        }
        reap.arg(max_attempts).arg(&expired);
        let reaped: Vec<(String, String, String, u32, i64)> =
            reap.invoke_async(&mut connection).await?;
        drop(connection);
        for (member, token, state, attempts, reaped_at) in &reaped {
            let now = redis_time(*reaped_at, "reap")?;
            let record = JobRecord {
                member: member
                    .parse()
                    .map_err(|_| Error::Corrupt(format!("reaped member id {member:?}")))?,
                state: match state.as_str() {
                    "dead" => RecordedState::Dead,
                    _ => RecordedState::Waiting(now),
                },
                attempts: *attempts,
                message: Some(INTERRUPTED_MESSAGE.to_owned()),
                last_run: None,
            };
            record::finished(&self.db, token, &record, "interrupted", now).await?;
        }
        Ok(reaped.len())
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
            .invoke_async(&mut self.redis.get().await?)
            .await?;
        match reply.as_str() {
            "forgotten" => record::deleted(&self.db, member, None).await,
            "running" => Ok(()),
            other => Err(Error::UnexpectedReply(format!("forget: {other}"))),
        }
    }

    /// How many jobs are in each state, read in one atomic step.
    pub async fn stats(&self) -> Result<QueueStats, Error> {
        let (ready, scheduled, due, running, expired, dead): (u64, u64, u64, u64, u64, u64) = self
            .scripts
            .stats
            .key(&self.keys.ready)
            .key(&self.keys.scheduled)
            .key(&self.keys.leases)
            .key(&self.keys.dead)
            .invoke_async(&mut self.redis.get().await?)
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
            .get()
            .await?
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
            .get()
            .await?
            .zrange_withscores(&self.keys.scheduled, 0, 0)
            .await?;
        Ok(first.first().and_then(|(_, at)| from_millis(*at)))
    }

    /// Blocks until work may have arrived or `timeout` passes, on a connection of the blocking
    /// pool (a blocking command stalls every request sharing a multiplexed connection).
    pub async fn wait_for_work(&self, timeout: Duration) -> Result<(), Error> {
        let _: Option<(String, String)> = self
            .redis
            .blocking()
            .await?
            .blpop(&self.keys.wake, timeout.as_secs_f64().max(0.01))
            .await?;
        Ok(())
    }

    pub async fn status(&self, member: &ProjectMemberId) -> Result<JobStatus, Error> {
        let fields: std::collections::HashMap<String, String> = self
            .redis
            .get()
            .await?
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

/// What a member reads after their run was interrupted (as `reap.lua` writes it too).
const INTERRUPTED_MESSAGE: &str = "The previous run was interrupted.";

/// What a member reads while their run waits for the database.
const UNAVAILABLE_MESSAGE: &str =
    "The service's database was unavailable for a moment; the import continues by itself.";

impl Outcome {
    /// As the queue's scripts and the database's record name it.
    fn kind(&self) -> &'static str {
        match self {
            Outcome::Done { .. } => "ok",
            Outcome::Later { .. } => "later",
            Outcome::Retry { .. } => "retry",
            Outcome::Parked { .. } => "park",
            Outcome::Gone => "gone",
        }
    }
}

/// The database's record of a job after its run ended as `completed`.
fn recorded_end(
    lease: &Lease,
    outcome: &Outcome,
    completed: Completed,
    now: Timestamp,
) -> (RecordedState, u32, Option<String>) {
    let attempts = match outcome {
        Outcome::Done { .. } => 0,
        Outcome::Retry { .. } => lease.attempts + 1,
        _ => lease.attempts,
    };
    let message = match outcome {
        Outcome::Later { reason, .. } | Outcome::Parked { reason } => Some(reason.clone()),
        Outcome::Retry { error, .. } => Some(error.clone()),
        Outcome::Done { .. } | Outcome::Gone => None,
    };
    let state = match (completed, outcome) {
        (Completed::Dead, _) => RecordedState::Dead,
        (Completed::Parked, _) => RecordedState::Idle,
        (
            Completed::Scheduled,
            Outcome::Done { next_run: at }
            | Outcome::Later { run_at: at, .. }
            | Outcome::Retry { run_at: at, .. },
        ) => RecordedState::Waiting(*at),
        _ => RecordedState::Waiting(now),
    };
    (state, attempts, message)
}

fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

fn from_millis(ms: i64) -> Option<Timestamp> {
    Timestamp::from_millisecond(ms).ok()
}

/// A time a script read from Redis's clock, in milliseconds.
fn redis_time(ms: i64, script: &str) -> Result<Timestamp, Error> {
    from_millis(ms).ok_or_else(|| Error::UnexpectedReply(format!("{script}: the time {ms}")))
}
