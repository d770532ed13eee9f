//! The database's record of each member's job (`sync_jobs`): when it is due, or that it waits
//! for the member or an operator, with its attempts and last message, and the fencing token of
//! the run holding it. Redis holds the live queue; this is what it is rebuilt from.

use jiff::Timestamp;
use jiff_sqlx::{Timestamp as SqlTimestamp, ToSqlx};
use open_humans::ProjectMemberId;

use crate::{Error, db::Database};

/// A job as the database records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JobRecord {
    pub member: ProjectMemberId,
    pub state: RecordedState,
    pub attempts: u32,
    pub message: Option<String>,
    /// How and when the last run ended; `None` in what a run records as it ends, which sets
    /// them itself.
    pub last_run: Option<(String, Timestamp)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordedState {
    /// Due at this time (a run in progress is due since it started).
    Waiting(Timestamp),
    /// Waits for the member to act (reconnect an account).
    Idle,
    /// Waits for an operator (too many failed attempts).
    Dead,
}

impl RecordedState {
    fn name(self) -> &'static str {
        match self {
            Self::Waiting(_) => "waiting",
            Self::Idle => "idle",
            Self::Dead => "dead",
        }
    }

    fn run_at(self) -> Option<Timestamp> {
        match self {
            Self::Waiting(at) => Some(at),
            _ => None,
        }
    }
}

/// A run is wanted at `run_at`, or earlier if one was wanted earlier; a dead job starts afresh.
pub(crate) async fn enqueued(
    db: &Database,
    member: &ProjectMemberId,
    run_at: Timestamp,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO sync_jobs (member_id, state, run_at) VALUES ($1, 'waiting', $2) \
         ON CONFLICT (member_id) DO UPDATE SET \
         run_at = CASE WHEN sync_jobs.state = 'waiting' \
                  THEN least(sync_jobs.run_at, excluded.run_at) ELSE excluded.run_at END, \
         attempts = CASE WHEN sync_jobs.state = 'dead' THEN 0 ELSE sync_jobs.attempts END, \
         state = 'waiting'",
    )
    .bind(member.as_str())
    .bind(run_at.to_sqlx())
    .execute(db.pool())
    .await
    .map_err(Error::Database)?;
    Ok(())
}

/// The run holding `token` takes the member: from now on only its writes are accepted.
pub(crate) async fn claim(
    db: &Database,
    member: &ProjectMemberId,
    token: &str,
    now: Timestamp,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO sync_jobs (member_id, state, run_at, lease_token) \
         VALUES ($1, 'waiting', $3, $2) \
         ON CONFLICT (member_id) DO UPDATE SET lease_token = excluded.lease_token",
    )
    .bind(member.as_str())
    .bind(token)
    .bind(now.to_sqlx())
    .execute(db.pool())
    .await
    .map_err(Error::Database)?;
    Ok(())
}

/// How the run holding `token` ended; nothing when another run holds the member by now.
pub(crate) async fn finished(
    db: &Database,
    token: &str,
    record: &JobRecord,
    outcome: &str,
    now: Timestamp,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE sync_jobs SET state = $3, run_at = $4, attempts = $5, last_outcome = $6, \
         message = $7, finished_at = $8, lease_token = NULL \
         WHERE member_id = $1 AND lease_token = $2",
    )
    .bind(record.member.as_str())
    .bind(token)
    .bind(record.state.name())
    .bind(record.state.run_at().map(|at| at.to_sqlx()))
    .bind(i32::try_from(record.attempts).unwrap_or(i32::MAX))
    .bind(outcome)
    .bind(&record.message)
    .bind(now.to_sqlx())
    .execute(db.pool())
    .await
    .map_err(Error::Database)?;
    Ok(())
}

/// The member's job is gone (they left); `token` limits it to the run that found them gone.
pub(crate) async fn deleted(
    db: &Database,
    member: &ProjectMemberId,
    token: Option<&str>,
) -> Result<(), Error> {
    sqlx::query(
        "DELETE FROM sync_jobs WHERE member_id = $1 AND ($2::text IS NULL OR lease_token = $2)",
    )
    .bind(member.as_str())
    .bind(token)
    .execute(db.pool())
    .await
    .map_err(Error::Database)?;
    Ok(())
}

/// Every recorded job, or (with `due_before`) the waiting ones due before then.
pub(crate) async fn jobs(
    db: &Database,
    due_before: Option<Timestamp>,
) -> Result<Vec<JobRecord>, Error> {
    type Row = (
        String,
        String,
        Option<SqlTimestamp>,
        i32,
        Option<String>,
        Option<String>,
        Option<SqlTimestamp>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT member_id, state, run_at, attempts, message, last_outcome, finished_at \
         FROM sync_jobs WHERE $1::timestamptz IS NULL OR (state = 'waiting' AND run_at < $1) \
         ORDER BY run_at NULLS LAST",
    )
    .bind(due_before.map(|at| at.to_sqlx()))
    .fetch_all(db.pool())
    .await
    .map_err(Error::Database)?;
    rows.into_iter()
        .map(
            |(member, state, run_at, attempts, message, outcome, finished)| {
                let state = match (state.as_str(), run_at) {
                    ("waiting", Some(at)) => RecordedState::Waiting(at.to_jiff()),
                    ("idle", _) => RecordedState::Idle,
                    ("dead", _) => RecordedState::Dead,
                    _ => return Err(Error::Corrupt(format!("the job of {member} is {state:?}"))),
                };
                Ok(JobRecord {
                    member: member
                        .parse()
                        .map_err(|_| Error::Corrupt(format!("a job's member id {member:?}")))?,
                    state,
                    attempts: attempts.max(0) as u32,
                    message,
                    last_run: outcome.zip(finished.map(SqlTimestamp::to_jiff)),
                })
            },
        )
        .collect()
}

/// Members who connected Fitbit but have no job at all (the process stopped between the two
/// writes of a connect): their first sync is still owed.
pub(crate) async fn connected_without_job(db: &Database) -> Result<Vec<ProjectMemberId>, Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT f.member_id FROM fitbit_accounts f \
         WHERE NOT EXISTS (SELECT 1 FROM sync_jobs j WHERE j.member_id = f.member_id)",
    )
    .fetch_all(db.pool())
    .await
    .map_err(Error::Database)?;
    ids.into_iter()
        .map(|id| {
            id.parse()
                .map_err(|_| Error::Corrupt(format!("a stored member id {id:?}")))
        })
        .collect()
}
