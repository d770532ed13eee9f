//! What a member's session cookie must match, and the allowance shared by the syncs a member
//! starts themselves. Both live on the member's row, so they go when the member leaves, and
//! both use the database's clock, which every process shares.

use jiff::{SignedDuration, Timestamp};
use jiff_sqlx::Timestamp as SqlTimestamp;
use open_humans::ProjectMemberId;
use serde::{Deserialize, Serialize};

use super::MemberStore;
use crate::Error;

/// What a session cookie must carry to be valid: the record it was issued for (a member who
/// left and joined again has another) and the generation of the member's sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStamp {
    pub member_since: Timestamp,
    pub generation: i32,
}

impl MemberStore {
    /// The stamp a session of the member must carry now; `None` when there is no such member.
    pub async fn session_stamp(&self, id: &ProjectMemberId) -> Result<Option<SessionStamp>, Error> {
        let row: Option<(SqlTimestamp, i32)> =
            sqlx::query_as("SELECT created_at, session_generation FROM members WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(self.db.pool())
                .await
                .map_err(Error::Database)?;
        Ok(row.map(|(created_at, generation)| SessionStamp {
            member_since: created_at.to_jiff(),
            generation,
        }))
    }

    /// Ends every session of the member (sign out everywhere, a disconnect); returns the stamp
    /// of the sessions issued from now on.
    pub async fn end_sessions(&self, id: &ProjectMemberId) -> Result<Option<SessionStamp>, Error> {
        sqlx::query("UPDATE members SET session_generation = session_generation + 1 WHERE id = $1")
            .bind(id.as_str())
            .execute(self.db.pool())
            .await
            .map_err(Error::Database)?;
        self.session_stamp(id).await
    }

    /// Claims the member's allowance of one self-started sync per `interval`: `None` when
    /// claimed now, otherwise when it frees up.
    pub async fn claim_sync(
        &self,
        id: &ProjectMemberId,
        interval: SignedDuration,
    ) -> Result<Option<Timestamp>, Error> {
        let claimed = sqlx::query(
            "UPDATE members SET syncs_allowed_from = now() + make_interval(secs => $2) \
             WHERE id = $1 AND (syncs_allowed_from IS NULL OR syncs_allowed_from <= now())",
        )
        .bind(id.as_str())
        .bind(interval.as_secs_f64())
        .execute(self.db.pool())
        .await
        .map_err(Error::Database)?;
        if claimed.rows_affected() == 1 {
            return Ok(None);
        }
        Ok(Some(
            self.syncs_allowed_from(id)
                .await?
                .unwrap_or_else(Timestamp::now),
        ))
    }

    /// When the member may start a sync again; `None` when they may now.
    pub async fn syncs_allowed_from(
        &self,
        id: &ProjectMemberId,
    ) -> Result<Option<Timestamp>, Error> {
        let from: Option<SqlTimestamp> = sqlx::query_scalar(
            "SELECT syncs_allowed_from FROM members WHERE id = $1 AND syncs_allowed_from > now()",
        )
        .bind(id.as_str())
        .fetch_optional(self.db.pool())
        .await
        .map_err(Error::Database)?;
        Ok(from.map(|from| from.to_jiff()))
    }
}
