//! Reading a member's whole record back: their row with the one-to-one tables joined, then
//! their cursors and pending periods.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff_sqlx::{Date as SqlDate, Timestamp as SqlTimestamp};
use open_humans::ProjectMemberId;
use sqlx::{Row, postgres::PgRow};

use super::{
    Cursor, FitbitAccount, ImportPreferences, IntradayResolution, Member, MemberStore, SyncRecord,
    TokenKind,
};
use crate::{
    Error,
    crypto::Purpose,
    recent::RecentDays,
    tier::{CursorKey, Period, Tier},
};

impl MemberStore {
    pub async fn load(&self, id: &ProjectMemberId) -> Result<Option<Member>, Error> {
        let row = sqlx::query(
            "SELECT m.created_at, m.intraday_resolution, m.earliest_date, m.left_out, \
             m.last_success_at, m.synced_first_day, m.synced_last_day, m.sync_requests, \
             m.sealed_recent_days, m.staging_generation, m.repair_requested, \
             f.health_user_id, f.legacy_user_id, f.time_zone, f.membership_start, \
             f.granted_scopes, f.connected_at, f.via_own_client, f.expiry_announced, \
             o.client_id, o.sealed_secret, \
             oh.sealed AS open_humans_tokens, g.sealed AS google_tokens \
             FROM members m \
             LEFT JOIN fitbit_accounts f ON f.member_id = m.id \
             LEFT JOIN own_clients o ON o.member_id = m.id \
             LEFT JOIN tokens oh ON oh.member_id = m.id AND oh.provider = 'open_humans' \
             LEFT JOIN tokens g ON g.member_id = m.id AND g.provider = 'google' \
             WHERE m.id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(self.db.pool())
        .await
        .map_err(Error::Database)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let sealed_open_humans: Option<String> = column(&row, "open_humans_tokens")?;
        let sealed_open_humans = sealed_open_humans
            .ok_or_else(|| Error::Corrupt(format!("member {id} has no Open Humans tokens")))?;
        let open_humans = self
            .open_tokens(id, TokenKind::OpenHumans, &sealed_open_humans)?
            .into();
        let google_tokens = column::<Option<String>>(&row, "google_tokens")?
            .map(|sealed| self.open_tokens(id, TokenKind::Google, &sealed))
            .transpose()?
            .map(Into::into);
        let own_client = column::<Option<String>>(&row, "sealed_secret")?
            .map(|sealed| self.open_client(id, &sealed))
            .transpose()?;
        let recent_days = column::<Option<String>>(&row, "sealed_recent_days")?
            .map(|sealed| self.open_recent_days(id, &sealed))
            .transpose()?;
        let fitbit = match column::<Option<String>>(&row, "health_user_id")? {
            Some(health_user_id) => Some(FitbitAccount {
                health_user_id,
                legacy_user_id: column(&row, "legacy_user_id")?,
                time_zone: column(&row, "time_zone")?,
                membership_start: date(&row, "membership_start")?,
                granted_scopes: column(&row, "granted_scopes")?,
                connected_at: timestamp(&row, "connected_at")?.unwrap_or_default(),
                via_own_client: column(&row, "via_own_client")?,
            }),
            None => None,
        };
        let left_out = column::<Vec<String>>(&row, "left_out")?
            .iter()
            .map(|scope| {
                scope
                    .parse()
                    .map_err(|_| Error::Corrupt(format!("member {id} left out {scope:?}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(Member {
            id: id.clone(),
            created_at: timestamp(&row, "created_at")?.unwrap_or_default(),
            open_humans,
            fitbit,
            google_tokens,
            own_client,
            expiry_announced: timestamp(&row, "expiry_announced")?,
            sync: SyncRecord {
                last_success_at: timestamp(&row, "last_success_at")?,
                first_day: date(&row, "synced_first_day")?,
                last_day: date(&row, "synced_last_day")?,
                requests: column::<i32>(&row, "sync_requests")?.max(0) as u32,
            },
            preferences: ImportPreferences {
                intraday: resolution(id, column(&row, "intraday_resolution")?)?,
                earliest_date: date(&row, "earliest_date")?,
                left_out,
            },
            pending_periods: self.pending_periods(id).await?,
            recent_days,
            cursors: self.cursors(id).await?,
            staging_generation: column(&row, "staging_generation")?,
            repair_requested: column(&row, "repair_requested")?,
            type_failures: self.type_failures(id).await?,
        }))
    }

    async fn cursors(&self, id: &ProjectMemberId) -> Result<BTreeMap<CursorKey, Cursor>, Error> {
        let rows = sqlx::query(
            "SELECT tier, data_type, oldest, newest, complete, resolution FROM cursors \
             WHERE member_id = $1",
        )
        .bind(id.as_str())
        .fetch_all(self.db.pool())
        .await
        .map_err(Error::Database)?;
        rows.iter()
            .map(|row| {
                let key = CursorKey {
                    tier: tier(id, &column::<String>(row, "tier")?)?,
                    data_type: column(row, "data_type")?,
                };
                let cursor = Cursor {
                    newest: date(row, "newest")?,
                    oldest: date(row, "oldest")?,
                    complete: column(row, "complete")?,
                    resolution: resolution(id, column(row, "resolution")?)?,
                };
                Ok((key, cursor))
            })
            .collect()
    }

    async fn pending_periods(&self, id: &ProjectMemberId) -> Result<BTreeSet<Period>, Error> {
        let rows: Vec<(String, SqlDate)> =
            sqlx::query_as("SELECT tier, period_start FROM pending_periods WHERE member_id = $1")
                .bind(id.as_str())
                .fetch_all(self.db.pool())
                .await
                .map_err(Error::Database)?;
        rows.into_iter()
            .map(|(name, start)| {
                Ok(Period {
                    tier: tier(id, &name)?,
                    start: start.to_jiff(),
                })
            })
            .collect()
    }

    fn open_recent_days(&self, id: &ProjectMemberId, sealed: &str) -> Result<RecentDays, Error> {
        let plain = self.cipher.open(id.as_ref(), Purpose::RecentDays, sealed)?;
        serde_json::from_slice(secrecy::ExposeSecret::expose_secret(&plain))
            .map_err(|error| Error::Corrupt(format!("member {id} recent days: {error}")))
    }
}

pub(super) fn column<'r, T>(row: &'r PgRow, name: &str) -> Result<T, Error>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(name).map_err(Error::Database)
}

fn timestamp(row: &PgRow, name: &str) -> Result<Option<Timestamp>, Error> {
    Ok(column::<Option<SqlTimestamp>>(row, name)?.map(SqlTimestamp::to_jiff))
}

fn date(row: &PgRow, name: &str) -> Result<Option<jiff::civil::Date>, Error> {
    Ok(column::<Option<SqlDate>>(row, name)?.map(SqlDate::to_jiff))
}

fn tier(id: &ProjectMemberId, name: &str) -> Result<Tier, Error> {
    Tier::parse(name).ok_or_else(|| Error::Corrupt(format!("member {id} has a tier {name:?}")))
}

fn resolution(
    id: &ProjectMemberId,
    name: Option<String>,
) -> Result<Option<IntradayResolution>, Error> {
    name.map(|name| {
        IntradayResolution::parse(&name)
            .ok_or_else(|| Error::Corrupt(format!("member {id} has a resolution {name:?}")))
    })
    .transpose()
}
