//! What a run of the worker records as it goes — cursors, pending periods, the sync record, the
//! dashboard's summary, the staging generation — every write fenced by the run's lease.

use std::collections::BTreeMap;

use jiff_sqlx::ToSqlx;

use super::{Cursor, IntradayResolution, MemberStore, SyncRecord, member_error};
use crate::{
    Error,
    crypto::Purpose,
    fence::{Fence, fenced},
    recent::RecentDays,
    tier::{CursorKey, Period},
};

impl MemberStore {
    /// Saves the progress of one tier and type.
    pub async fn save_cursor(
        &self,
        fence: &Fence,
        key: &CursorKey,
        cursor: &Cursor,
    ) -> Result<(), Error> {
        let written = sqlx::query(fenced!(
            "INSERT INTO cursors (member_id, tier, data_type, oldest, newest, complete, resolution) \
             SELECT $1, $3, $4, $5, $6, $7, $8 FROM fence \
             ON CONFLICT (member_id, tier, data_type) DO UPDATE SET oldest = excluded.oldest, \
             newest = excluded.newest, complete = excluded.complete, \
             resolution = excluded.resolution"
        ))
        .bind(fence.member().as_str())
        .bind(fence.token())
        .bind(key.tier.name())
        .bind(&key.data_type)
        .bind(cursor.oldest.map(|date| date.to_sqlx()))
        .bind(cursor.newest.map(|date| date.to_sqlx()))
        .bind(cursor.complete)
        .bind(cursor.resolution.map(IntradayResolution::name))
        .execute(self.db.pool())
        .await
        .map_err(member_error(fence.member()))?;
        held(written.rows_affected())
    }

    /// Replaces every cursor of the member at once (staging was restored from their files).
    pub async fn replace_cursors(
        &self,
        fence: &Fence,
        cursors: &BTreeMap<CursorKey, Cursor>,
    ) -> Result<(), Error> {
        let mut tx = fence.begin().await?;
        sqlx::query("DELETE FROM cursors WHERE member_id = $1")
            .bind(fence.member().as_str())
            .execute(&mut *tx)
            .await
            .map_err(Error::Database)?;
        for (key, cursor) in cursors {
            sqlx::query(
                "INSERT INTO cursors (member_id, tier, data_type, oldest, newest, complete, \
                 resolution) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(fence.member().as_str())
            .bind(key.tier.name())
            .bind(&key.data_type)
            .bind(cursor.oldest.map(|date| date.to_sqlx()))
            .bind(cursor.newest.map(|date| date.to_sqlx()))
            .bind(cursor.complete)
            .bind(cursor.resolution.map(IntradayResolution::name))
            .execute(&mut *tx)
            .await
            .map_err(member_error(fence.member()))?;
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
        let written = sqlx::query(fenced!(
            "INSERT INTO pending_periods (member_id, tier, period_start) \
             SELECT $1, tier, start FROM fence, unnest($3::text[], $4::date[]) AS p(tier, start) \
             ON CONFLICT DO NOTHING"
        ))
        .bind(fence.member().as_str())
        .bind(fence.token())
        .bind(tiers)
        .bind(starts)
        .execute(self.db.pool())
        .await
        .map_err(member_error(fence.member()))?;
        if written.rows_affected() == 0 {
            fence.ensure_held().await?;
        }
        Ok(())
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
        let written = sqlx::query(fenced!(
            "UPDATE members SET last_success_at = $3, synced_first_day = $4, \
             synced_last_day = $5, sync_requests = $6 FROM fence WHERE id = $1"
        ))
        .bind(fence.member().as_str())
        .bind(fence.token())
        .bind(record.last_success_at.map(|at| at.to_sqlx()))
        .bind(record.first_day.map(|date| date.to_sqlx()))
        .bind(record.last_day.map(|date| date.to_sqlx()))
        .bind(i32::try_from(record.requests).unwrap_or(i32::MAX))
        .execute(self.db.pool())
        .await
        .map_err(Error::Database)?;
        self.written_or_why_not(fence, written.rows_affected())
            .await
    }

    /// Stores the dashboard's summary of the last 30 days, sealed: it is health data.
    pub async fn save_recent_days(&self, fence: &Fence, recent: &RecentDays) -> Result<(), Error> {
        let json = serde_json::to_vec(recent).map_err(Error::Encode)?;
        let sealed = self
            .cipher
            .seal(fence.member().as_ref(), Purpose::RecentDays, &json);
        let written = sqlx::query(fenced!(
            "UPDATE members SET sealed_recent_days = $3 FROM fence WHERE id = $1"
        ))
        .bind(fence.member().as_str())
        .bind(fence.token())
        .bind(sealed)
        .execute(self.db.pool())
        .await
        .map_err(Error::Database)?;
        self.written_or_why_not(fence, written.rows_affected())
            .await
    }

    /// Records the name of the member's staged copy, and that no repair is owed any more.
    pub async fn save_staging_generation(
        &self,
        fence: &Fence,
        generation: &str,
    ) -> Result<(), Error> {
        let written = sqlx::query(fenced!(
            "UPDATE members SET staging_generation = $3, repair_requested = false \
             FROM fence WHERE id = $1"
        ))
        .bind(fence.member().as_str())
        .bind(fence.token())
        .bind(generation)
        .execute(self.db.pool())
        .await
        .map_err(Error::Database)?;
        self.written_or_why_not(fence, written.rows_affected())
            .await
    }

    /// Asks the member's next run to restore staging from their files before anything else.
    pub async fn request_repair(&self, fence: &Fence) -> Result<(), Error> {
        let written = sqlx::query(fenced!(
            "UPDATE members SET repair_requested = true FROM fence WHERE id = $1"
        ))
        .bind(fence.member().as_str())
        .bind(fence.token())
        .execute(self.db.pool())
        .await
        .map_err(Error::Database)?;
        self.written_or_why_not(fence, written.rows_affected())
            .await
    }

    /// Nothing was written: either the run lost its lease or the member is gone.
    async fn written_or_why_not(&self, fence: &Fence, rows: u64) -> Result<(), Error> {
        if rows > 0 {
            return Ok(());
        }
        fence.ensure_held().await?;
        Err(Error::MemberNotFound(fence.member().to_string()))
    }
}

fn held(rows: u64) -> Result<(), Error> {
    if rows > 0 {
        Ok(())
    } else {
        Err(Error::LeaseLost)
    }
}

fn columns(periods: &[Period]) -> (Vec<&'static str>, Vec<jiff_sqlx::Date>) {
    periods
        .iter()
        .map(|period| (period.tier.name(), period.start.to_sqlx()))
        .unzip()
}
