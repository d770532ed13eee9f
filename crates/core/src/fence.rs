//! Fencing a member's run. When a worker takes a member's lease it records the lease's token in
//! the member's job row; every write the run makes — to the member store and to staging —
//! checks that the token is still there. A run whose lease expired and was handed on (a worker
//! paused, partitioned, or a Redis that restarted empty) finds another token and stops at once,
//! so it can never overwrite what the newer run wrote or resurrect what an erasure removed.

use open_humans::ProjectMemberId;
use sqlx::{Postgres, Transaction};

use crate::{Error, db::Database};

#[derive(Clone, Debug)]
pub struct Fence {
    member: ProjectMemberId,
    token: String,
    db: Database,
}

impl Fence {
    pub(crate) fn new(member: ProjectMemberId, token: String, db: Database) -> Self {
        Self { member, token, db }
    }

    pub fn member(&self) -> &ProjectMemberId {
        &self.member
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// `Err(LeaseLost)` unless this run still holds the member.
    pub async fn ensure_held(&self) -> Result<(), Error> {
        let held: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sync_jobs WHERE member_id = $1 AND lease_token = $2)",
        )
        .bind(self.member.as_str())
        .bind(&self.token)
        .fetch_one(self.db.pool())
        .await
        .map_err(Error::Database)?;
        if held { Ok(()) } else { Err(Error::LeaseLost) }
    }

    /// Holds the fence while `write` runs: no other run can take the member over before it has
    /// finished (a claim waits for the lock), so a run that lost the member writes nothing.
    pub(crate) async fn around<T>(
        &self,
        write: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let held = self.begin().await?;
        let written = write.await?;
        held.commit().await.map_err(Error::Database)?;
        Ok(written)
    }

    /// A transaction that holds the fence until it commits: the job row is share-locked, so no
    /// other run can take the member over in between.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Postgres>, Error> {
        let mut tx = self.db.pool().begin().await.map_err(Error::Database)?;
        let held = sqlx::query(
            "SELECT 1 FROM sync_jobs WHERE member_id = $1 AND lease_token = $2 FOR SHARE",
        )
        .bind(self.member.as_str())
        .bind(&self.token)
        .fetch_optional(&mut *tx)
        .await
        .map_err(Error::Database)?;
        match held {
            Some(_) => Ok(tx),
            None => Err(Error::LeaseLost),
        }
    }
}

/// A single-statement fenced write: the SQL literal is prefixed with a `fence` CTE that yields
/// one row while the run (`$1` member, `$2` token) holds the member and none otherwise, for the
/// statement to select from or join.
macro_rules! fenced {
    ($sql:literal) => {
        concat!(
            "WITH fence AS (SELECT 1 FROM sync_jobs WHERE member_id = $1 AND lease_token = $2 \
             FOR SHARE) ",
            $sql
        )
    };
}
pub(crate) use fenced;
