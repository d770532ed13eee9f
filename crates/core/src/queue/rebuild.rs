//! Rebuilding the queue from the database. A Redis add-on may restart empty at any time (Heroku's
//! smallest plans persist nothing), so Redis keeps a marker that it holds the queue: a Redis
//! without it has lost everything, and the first worker to notice restores every job from the
//! database's record, each at its next run time. Without anyone having to act, no member is
//! lost, and a signed-in member keeps their session (it lives in their cookie).

use jiff::{SignedDuration, Timestamp};
use open_humans::ProjectMemberId;
use redis::AsyncCommands;

use super::{
    JobQueue, millis,
    record::{self, JobRecord, RecordedState},
};
use crate::Error;

/// A job the database says is due this long ago, yet unknown to Redis, lost its way there
/// (the enqueue's Redis half failed): it is restored by the periodic sweep too.
const OVERDUE: SignedDuration = SignedDuration::from_mins(2);
/// How long one worker may take to rebuild before another may try.
const REBUILD_LOCK_SECONDS: u64 = 120;

/// What a restore may change of a job Redis knows (see `restore.lua`).
#[derive(Clone, Copy)]
enum Mode {
    Record,
    Erasure,
}

/// What [`JobQueue::repair`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Repaired {
    /// Redis had lost the queue and was rebuilt.
    pub rebuilt: bool,
    /// Jobs put back into Redis.
    pub restored: usize,
}

impl JobQueue {
    /// Rebuilds the queue if Redis lost it; otherwise puts back the jobs that are overdue in
    /// the database's record but unknown to Redis. `erasures` are members with an erasure still
    /// to do, whose job must exist whatever the record says, as must the first sync of a member
    /// who connected Fitbit. Safe to run from every worker at once: of a job Redis knows, only
    /// its time may move earlier, to the record's (see `restore.lua`).
    pub async fn repair(&self, erasures: &[ProjectMemberId]) -> Result<Repaired, Error> {
        let mut connection = self.redis.get().await?;
        let intact: bool = connection.exists(&self.keys.intact).await?;
        // Redis's clock, not this process's: the record's times are compared with it, and the
        // jobs restored are due by it (see `restore.lua`).
        let (seconds, micros): (i64, i64) = redis::cmd("TIME").query_async(&mut connection).await?;
        let now = Timestamp::new(seconds, (micros * 1000) as i32)
            .map_err(|_| Error::UnexpectedReply(format!("TIME: {seconds} {micros}")))?;
        let rebuilt = if intact {
            false
        } else {
            let taken: Option<String> = redis::cmd("SET")
                .arg(&self.keys.rebuilding)
                .arg(crate::random_token())
                .arg("NX")
                .arg("EX")
                .arg(REBUILD_LOCK_SECONDS)
                .query_async(&mut connection)
                .await?;
            if taken.is_none() {
                // Another worker is rebuilding right now.
                return Ok(Repaired::default());
            }
            true
        };
        let due_before = (!rebuilt).then(|| now - OVERDUE);
        let mut jobs = record::jobs(&self.db, due_before).await?;
        let owed = record::connected_without_job(&self.db).await?;
        jobs.extend(owed.iter().map(|member| JobRecord {
            member: member.clone(),
            state: RecordedState::Waiting(now),
            attempts: 0,
            message: None,
            last_run: None,
        }));
        let mut restored = 0;
        for job in &jobs {
            if self.restore(job, Mode::Record).await? != "known" {
                restored += 1;
            }
        }
        // An erasure is owed whatever parked the member's job; a job backing off or dead keeps
        // its schedule (a failing erasure is retried with backoff and ends with an operator).
        for member in erasures {
            let owed = JobRecord {
                member: member.clone(),
                state: RecordedState::Waiting(now),
                attempts: 0,
                message: None,
                last_run: None,
            };
            if self.restore(&owed, Mode::Erasure).await? != "known" {
                restored += 1;
            }
        }
        if rebuilt {
            let _: () = connection.set(&self.keys.intact, millis(now)).await?;
            // Another worker may have taken the lock if this rebuild outlived it; two rebuilds
            // at once only restore the same jobs twice, which restoring allows.
            let _: () = connection.del(&self.keys.rebuilding).await?;
            tracing::warn!(
                restored,
                "Redis held no queue (a first start, or Redis restarted empty): rebuilt it from \
                 the database"
            );
        } else if restored > 0 {
            tracing::warn!(restored, "restored jobs Redis did not know");
        }
        Ok(Repaired { rebuilt, restored })
    }

    async fn restore(&self, job: &JobRecord, mode: Mode) -> Result<String, Error> {
        let (state, run_at) = match job.state {
            RecordedState::Waiting(at) => ("waiting", millis(at).to_string()),
            RecordedState::Idle => ("idle", String::new()),
            RecordedState::Dead => ("dead", String::new()),
        };
        Ok(self
            .scripts
            .restore
            .key(&self.keys.ready)
            .key(&self.keys.scheduled)
            .key(&self.keys.dead)
            .key(self.keys.job(job.member.as_ref()))
            .key(&self.keys.wake)
            .arg(job.member.as_ref())
            .arg(state)
            .arg(run_at)
            .arg(job.attempts)
            .arg(job.message.as_deref().unwrap_or(""))
            .arg(
                job.last_run
                    .as_ref()
                    .map_or("", |(outcome, _)| outcome.as_str()),
            )
            .arg(
                job.last_run
                    .as_ref()
                    .map_or(String::new(), |(_, at)| millis(*at).to_string()),
            )
            .arg(match mode {
                Mode::Record => "record",
                Mode::Erasure => "erasure",
            })
            .invoke_async(&mut self.redis.get().await?)
            .await?)
    }
}
