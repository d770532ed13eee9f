//! Members leaving, and erasures: requests live in the database until a worker has done them,
//! and a later request never weakens an earlier, stronger one.

use open_humans::ProjectMemberId;

use super::{MemberStore, OpenHumansTokens, TokenKind};
use crate::{Error, fence::Fence};

/// What of a member's data is to be erased.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Erasure {
    /// Our staged copies and the import's progress.
    Staging,
    /// The same, and the files this service uploaded to the member's Open Humans account.
    AlsoOpenHumansFiles,
}

/// Records `erasure` as asked for, keeping a stronger request already made.
pub(super) async fn request(
    connection: &mut sqlx::PgConnection,
    id: &ProjectMemberId,
    erasure: Erasure,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO erasure_requests (member_id, also_open_humans_files) VALUES ($1, $2) \
         ON CONFLICT (member_id) DO UPDATE SET also_open_humans_files = \
         erasure_requests.also_open_humans_files OR excluded.also_open_humans_files",
    )
    .bind(id.as_str())
    .bind(erasure == Erasure::AlsoOpenHumansFiles)
    .execute(connection)
    .await
    .map_err(Error::Database)?;
    Ok(())
}

/// An erasure a worker has still to do.
#[derive(Clone, Debug)]
pub struct ErasureRequest {
    pub erasure: Erasure,
    /// The Open Humans tokens of a member who left before their files could be deleted: kept
    /// with the request, since their record is gone.
    pub departed_tokens: Option<OpenHumansTokens>,
}

impl MemberStore {
    /// Deletes the member's record (tokens included). Their staged files live where only a
    /// worker reaches them: they are erased by the member's next job (see
    /// [`Self::erasure_requested`]), which the caller queues. An erasure of their Open Humans
    /// files asked for earlier stays asked for, with a copy of the tokens it needs.
    pub async fn forget(&self, id: &ProjectMemberId) -> Result<(), Error> {
        let mut tx = self.db.pool().begin().await.map_err(Error::Database)?;
        sqlx::query(
            "INSERT INTO erasure_requests (member_id, also_open_humans_files) VALUES ($1, false) \
             ON CONFLICT (member_id) DO UPDATE SET sealed_open_humans_tokens = CASE \
             WHEN erasure_requests.also_open_humans_files THEN coalesce( \
               erasure_requests.sealed_open_humans_tokens, \
               (SELECT sealed FROM tokens WHERE member_id = $1 AND provider = 'open_humans')) \
             END",
        )
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(Error::Database)?;
        sqlx::query("DELETE FROM members WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(Error::Database)?;
        tx.commit().await.map_err(Error::Database)
    }

    /// Asks for the member's staged files and import progress (and, with
    /// [`Erasure::AlsoOpenHumansFiles`], our files on Open Humans) to be erased by their next
    /// job, which runs under the member's lease: no import of theirs can be writing meanwhile.
    pub async fn request_erasure(
        &self,
        id: &ProjectMemberId,
        erasure: Erasure,
    ) -> Result<(), Error> {
        let mut connection = self.db.pool().acquire().await.map_err(Error::Database)?;
        request(&mut connection, id, erasure).await
    }

    pub async fn erasure_requested(
        &self,
        id: &ProjectMemberId,
    ) -> Result<Option<ErasureRequest>, Error> {
        let row: Option<(bool, Option<String>)> = sqlx::query_as(
            "SELECT also_open_humans_files, sealed_open_humans_tokens FROM erasure_requests \
             WHERE member_id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(self.db.pool())
        .await
        .map_err(Error::Database)?;
        Ok(row.map(|(also, sealed)| ErasureRequest {
            erasure: if also {
                Erasure::AlsoOpenHumansFiles
            } else {
                Erasure::Staging
            },
            // Tokens that no longer open (their key was retired) cannot reach the files: the
            // rest of the erasure must still happen.
            departed_tokens: sealed.and_then(|sealed| {
                match self.open_tokens(id, TokenKind::OpenHumans, &sealed) {
                    Ok(tokens) => Some(tokens.into()),
                    Err(error) => {
                        tracing::warn!(
                            member = %id,
                            error = %crate::error_chain(&error),
                            "a departed member's Open Humans tokens cannot be opened"
                        );
                        None
                    }
                }
            }),
        }))
    }

    /// Every member with an erasure still to do, for the queue's repair sweep.
    pub async fn erasures_pending(&self) -> Result<Vec<ProjectMemberId>, Error> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT member_id FROM erasure_requests")
            .fetch_all(self.db.pool())
            .await
            .map_err(Error::Database)?;
        ids.iter().map(|id| super::parse_member_id(id)).collect()
    }

    /// Called once `done` has been erased: the import starts again from nothing. The request
    /// is cleared unless a stronger one arrived meanwhile.
    pub async fn finish_erasure(&self, fence: &Fence, done: Erasure) -> Result<(), Error> {
        let mut tx = fence.begin().await?;
        let member = fence.member().as_str();
        let mut statements = vec![
            "DELETE FROM cursors WHERE member_id = $1",
            "DELETE FROM pending_periods WHERE member_id = $1",
            "DELETE FROM staged_chunks WHERE member_id = $1",
            "UPDATE members SET last_success_at = NULL, synced_first_day = NULL, \
             synced_last_day = NULL, sync_requests = 0, sealed_recent_days = NULL, \
             staging_generation = NULL, repair_requested = false WHERE id = $1",
        ];
        if done == Erasure::AlsoOpenHumansFiles {
            statements.push("DELETE FROM published_files WHERE member_id = $1");
        }
        for statement in statements {
            sqlx::query(statement)
                .bind(member)
                .execute(&mut *tx)
                .await
                .map_err(Error::Database)?;
        }
        sqlx::query(
            "DELETE FROM erasure_requests WHERE member_id = $1 \
             AND (NOT also_open_humans_files OR $2)",
        )
        .bind(member)
        .bind(done == Erasure::AlsoOpenHumansFiles)
        .execute(&mut *tx)
        .await
        .map_err(Error::Database)?;
        tx.commit().await.map_err(Error::Database)
    }
}
