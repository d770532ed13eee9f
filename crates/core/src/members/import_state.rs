//! What a run of the worker records as it goes — cursors, pending periods, the sync record, the
//! dashboard's summary, the staging generation — every write fenced by the run's lease.

use std::collections::{BTreeMap, BTreeSet};

use jiff_sqlx::ToSqlx;
use sqlx::{Postgres, postgres::PgArguments, query::Query};

use super::{Cursor, IntradayResolution, MemberStore, SyncRecord, member_error};
use crate::{
    Error,
    crypto::Purpose,
    fence::{Fence, fenced},
    recent::RecentDays,
    tier::{ChunkId, CursorKey, Period, Tier},
};
use open_humans::ProjectMemberId;

impl MemberStore {
    /// Saves the progress of one tier and type.
    pub async fn save_cursor(
        &self,
        fence: &Fence,
        key: &CursorKey,
        cursor: &Cursor,
    ) -> Result<(), Error> {
        let written = fenced_query(
            fence,
            fenced!(
                "INSERT INTO cursors (member_id, tier, data_type, oldest, newest, complete, \
                 resolution) SELECT $1, $3, $4, $5, $6, $7, $8 FROM fence \
                 ON CONFLICT (member_id, tier, data_type) DO UPDATE SET oldest = excluded.oldest, \
                 newest = excluded.newest, complete = excluded.complete, \
                 resolution = excluded.resolution"
            ),
        )
        .bind_cursor(key, cursor)
        .execute(self.db.pool())
        .await
        .map_err(member_error(fence.member()))?;
        held(written.rows_affected())
    }

    /// Records, in one transaction, that staging was restored from the member's files: the
    /// cursors become what the files hold, `chunks` what staging holds, no period waits to be
    /// published, and the staged copy is `generation` (whose marker is in staging already). A
    /// crash before leaves the old record, which sends the next run to restore again.
    pub async fn save_restored(
        &self,
        fence: &Fence,
        cursors: &BTreeMap<CursorKey, Cursor>,
        chunks: &BTreeSet<ChunkId>,
        generation: &str,
    ) -> Result<(), Error> {
        let member = fence.member().as_str();
        let mut tx = fence.begin().await?;
        for statement in [
            "DELETE FROM cursors WHERE member_id = $1",
            "DELETE FROM pending_periods WHERE member_id = $1",
            "DELETE FROM staged_chunks WHERE member_id = $1",
        ] {
            sqlx::query(statement)
                .bind(member)
                .execute(&mut *tx)
                .await
                .map_err(Error::Database)?;
        }
        for (key, cursor) in cursors {
            insert_cursor(&mut tx, fence.member(), key, cursor, "").await?;
        }
        let (tiers, types, starts) = chunk_columns(chunks);
        sqlx::query(
            "INSERT INTO staged_chunks (member_id, tier, data_type, period_start) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::date[])",
        )
        .bind(member)
        .bind(tiers)
        .bind(types)
        .bind(starts)
        .execute(&mut *tx)
        .await
        .map_err(Error::Database)?;
        let updated = sqlx::query(
            "UPDATE members SET staging_generation = $2, repair_requested = false WHERE id = $1",
        )
        .bind(member)
        .bind(generation)
        .execute(&mut *tx)
        .await
        .map_err(Error::Database)?;
        if updated.rows_affected() == 0 {
            return Err(Error::MemberNotFound(member.to_owned()));
        }
        tx.commit().await.map_err(Error::Database)
    }

    /// Marks periods as staged but not yet published.
    pub async fn add_pending_periods(
        &self,
        fence: &Fence,
        periods: &[Period],
    ) -> Result<(), Error> {
        let (tiers, starts) = columns(periods);
        let insert = fenced_query(
            fence,
            fenced!(
                "INSERT INTO pending_periods (member_id, tier, period_start) \
                 SELECT $1, tier, start FROM fence, \
                 unnest($3::text[], $4::date[]) AS p(tier, start) ON CONFLICT DO NOTHING"
            ),
        )
        .bind(tiers)
        .bind(starts);
        self.write_fenced(fence, insert).await.map(drop)
    }

    /// The chunks staging holds for the member, as recorded.
    pub async fn staged_chunks(&self, id: &ProjectMemberId) -> Result<BTreeSet<ChunkId>, Error> {
        let rows: Vec<(String, String, jiff_sqlx::Date)> = sqlx::query_as(
            "SELECT tier, data_type, period_start FROM staged_chunks WHERE member_id = $1",
        )
        .bind(id.as_str())
        .fetch_all(self.db.pool())
        .await
        .map_err(Error::Database)?;
        rows.into_iter()
            .map(|(tier, data_type, start)| {
                let tier = Tier::parse(&tier)
                    .ok_or_else(|| Error::Corrupt(format!("member {id} has a tier {tier:?}")))?;
                Ok(ChunkId {
                    period: Period {
                        tier,
                        start: start.to_jiff(),
                    },
                    data_type,
                })
            })
            .collect()
    }

    /// Records that staging holds `chunk` (written for the first time).
    pub async fn record_staged(&self, fence: &Fence, chunk: &ChunkId) -> Result<(), Error> {
        let insert = fenced_query(
            fence,
            fenced!(
                "INSERT INTO staged_chunks (member_id, tier, data_type, period_start) \
                 SELECT $1, $3, $4, $5 FROM fence ON CONFLICT DO NOTHING"
            ),
        )
        .bind(chunk.period.tier.name())
        .bind(&chunk.data_type)
        .bind(chunk.period.start.to_sqlx());
        self.write_fenced(fence, insert).await.map(drop)
    }

    /// Clears periods whose files were published.
    pub async fn clear_pending_periods(
        &self,
        fence: &Fence,
        periods: &[Period],
    ) -> Result<(), Error> {
        let (tiers, starts) = columns(periods);
        let mut tx = fence.begin().await?;
        sqlx::query(
            "DELETE FROM pending_periods WHERE member_id = $1 AND (tier, period_start) IN \
             (SELECT * FROM unnest($2::text[], $3::date[]))",
        )
        .bind(fence.member().as_str())
        .bind(tiers)
        .bind(starts)
        .execute(&mut *tx)
        .await
        .map_err(Error::Database)?;
        tx.commit().await.map_err(Error::Database)
    }

    pub async fn save_sync(&self, fence: &Fence, record: &SyncRecord) -> Result<(), Error> {
        let update = fenced_query(
            fence,
            fenced!(
                "UPDATE members SET last_success_at = $3, synced_first_day = $4, \
                 synced_last_day = $5, sync_requests = $6 FROM fence WHERE id = $1"
            ),
        )
        .bind(record.last_success_at.map(|at| at.to_sqlx()))
        .bind(record.first_day.map(|date| date.to_sqlx()))
        .bind(record.last_day.map(|date| date.to_sqlx()))
        .bind(i32::try_from(record.requests).unwrap_or(i32::MAX));
        self.update_member(fence, update).await
    }

    /// Stores the dashboard's summary of the last 30 days, sealed: it is health data.
    pub async fn save_recent_days(&self, fence: &Fence, recent: &RecentDays) -> Result<(), Error> {
        let json = serde_json::to_vec(recent).map_err(Error::Encode)?;
        let sealed = self
            .cipher
            .seal(fence.member().as_ref(), Purpose::RecentDays, &json);
        let update = fenced_query(
            fence,
            fenced!("UPDATE members SET sealed_recent_days = $3 FROM fence WHERE id = $1"),
        )
        .bind(sealed);
        self.update_member(fence, update).await
    }

    /// Asks the member's next run to restore staging from their files before anything else.
    pub async fn request_repair(&self, fence: &Fence) -> Result<(), Error> {
        let update = fenced_query(
            fence,
            fenced!("UPDATE members SET repair_requested = true FROM fence WHERE id = $1"),
        );
        self.update_member(fence, update).await
    }

    /// Runs a fenced update of the member's row; nothing updated means either the run lost its
    /// lease or the member is gone.
    async fn update_member(
        &self,
        fence: &Fence,
        update: Query<'_, Postgres, PgArguments>,
    ) -> Result<(), Error> {
        if self.write_fenced(fence, update).await? {
            Ok(())
        } else {
            Err(Error::MemberNotFound(fence.member().to_string()))
        }
    }

    /// Runs a fenced statement; true when it wrote rows. When it wrote none, the fence tells a
    /// lost lease (an error) from a statement that had nothing to write (false).
    pub(super) async fn write_fenced(
        &self,
        fence: &Fence,
        statement: Query<'_, Postgres, PgArguments>,
    ) -> Result<bool, Error> {
        let written = statement
            .execute(self.db.pool())
            .await
            .map_err(member_error(fence.member()))?;
        if written.rows_affected() > 0 {
            return Ok(true);
        }
        fence.ensure_held().await?;
        Ok(false)
    }
}

/// A statement of the [`fenced!`] form with its member (`$1`) and token (`$2`) bound.
pub(super) fn fenced_query<'q>(
    fence: &'q Fence,
    sql: &'static str,
) -> Query<'q, Postgres, PgArguments> {
    sqlx::query(sql)
        .bind(fence.member().as_str())
        .bind(fence.token())
}

/// Inserts one cursor; `on_conflict` is appended to the statement (`ON CONFLICT DO NOTHING`
/// for a copy that keeps what is there).
pub(crate) async fn insert_cursor(
    connection: &mut sqlx::PgConnection,
    member: &open_humans::ProjectMemberId,
    key: &CursorKey,
    cursor: &Cursor,
    on_conflict: &'static str,
) -> Result<(), Error> {
    let statement = format!(
        "INSERT INTO cursors (member_id, tier, data_type, oldest, newest, complete, resolution) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) {on_conflict}"
    );
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .bind(member.as_str())
        .bind_cursor(key, cursor)
        .execute(connection)
        .await
        .map_err(member_error(member))?;
    Ok(())
}

/// Binds a cursor's six columns, in the order of the `cursors` table.
trait BindCursor<'q> {
    fn bind_cursor(self, key: &'q CursorKey, cursor: &Cursor) -> Self;
}

impl<'q> BindCursor<'q> for Query<'q, Postgres, PgArguments> {
    fn bind_cursor(self, key: &'q CursorKey, cursor: &Cursor) -> Self {
        self.bind(key.tier.name())
            .bind(&key.data_type)
            .bind(cursor.oldest.map(|date| date.to_sqlx()))
            .bind(cursor.newest.map(|date| date.to_sqlx()))
            .bind(cursor.complete)
            .bind(cursor.resolution.map(IntradayResolution::name))
    }
}

pub(super) fn held(rows: u64) -> Result<(), Error> {
    if rows > 0 {
        Ok(())
    } else {
        Err(Error::LeaseLost)
    }
}

type ChunkColumns<'a> = (Vec<&'static str>, Vec<&'a str>, Vec<jiff_sqlx::Date>);

fn chunk_columns(chunks: &BTreeSet<ChunkId>) -> ChunkColumns<'_> {
    let tiers = chunks
        .iter()
        .map(|chunk| chunk.period.tier.name())
        .collect();
    let types = chunks
        .iter()
        .map(|chunk| chunk.data_type.as_str())
        .collect();
    let starts = chunks
        .iter()
        .map(|chunk| chunk.period.start.to_sqlx())
        .collect();
    (tiers, types, starts)
}

fn columns(periods: &[Period]) -> (Vec<&'static str>, Vec<jiff_sqlx::Date>) {
    periods
        .iter()
        .map(|period| (period.tier.name(), period.start.to_sqlx()))
        .unzip()
}
