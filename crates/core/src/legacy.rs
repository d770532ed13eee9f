//! Copying the member store of earlier versions, which lived in Redis, into the database
//! (`oh-fitbit migrate-from-redis`). Every record of that format is read — members with their
//! sealed tokens, Fitbit account, own client, preferences, cursors, pending periods, sync
//! record and summary, the erasures asked for, the Google dialect and each member's job — and
//! written where the database keeps it. Sealed values are copied as they are: they are bound
//! to the member and their purpose, which have not changed.
//!
//! Idempotent: a row the database already has is left alone (it is newer than the copy in
//! Redis), so the command can be run again, and run while the service runs. A member's Redis
//! record is deleted once they are copied, so a member who leaves afterwards cannot come back
//! with a later run.

use std::collections::HashMap;

use google_health::Scope;
use jiff::{Timestamp, civil::Date};
use jiff_sqlx::ToSqlx;
use open_humans::ProjectMemberId;
use redis::AsyncCommands;
use serde::Deserialize;
use sqlx::PgConnection;

use crate::{
    Error,
    crypto::{Purpose, TokenCipher},
    db::Database,
    members::{Cursor, FitbitAccount, IntradayResolution, insert_cursor, insert_fitbit_account},
    redis_conn::Redis,
    tier::{CursorKey, Period, Tier},
};

/// What the copy found and wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// Members in Redis (each copied, then deleted there).
    pub members: usize,
    /// Of them, members the database did not have yet (the others had signed in since, and
    /// what the database has of them was kept).
    pub new_members: usize,
    pub erasures: usize,
    /// Entries of the old Google dialect, dropped: they were guesses, not evidence.
    pub dialect_entries_dropped: usize,
    /// Members whose record could not be read (it names what is wrong); they stay in Redis,
    /// and the others are copied all the same.
    pub unreadable: Vec<(ProjectMemberId, String)>,
}

#[derive(Deserialize)]
struct LegacyAccount {
    health_user_id: String,
    legacy_user_id: Option<String>,
    time_zone: Option<String>,
    membership_start: Option<Date>,
    granted_scopes: Vec<String>,
    connected_at: Timestamp,
    #[serde(default)]
    via_own_client: bool,
}

#[derive(Deserialize)]
struct LegacySync {
    last_success_at: Option<Timestamp>,
    first_day: Option<Date>,
    last_day: Option<Date>,
    requests: u32,
}

#[derive(Default, Deserialize)]
struct LegacyPreferences {
    #[serde(default)]
    intraday: Option<IntradayResolution>,
    #[serde(default)]
    earliest_date: Option<Date>,
    #[serde(default)]
    left_out: Vec<Scope>,
}

#[derive(Deserialize)]
struct LegacyCursor {
    newest: Option<Date>,
    oldest: Option<Date>,
    #[serde(default)]
    complete: bool,
    #[serde(default)]
    resolution: Option<IntradayResolution>,
}

#[derive(Deserialize)]
struct LegacyClient {
    client_id: String,
}

/// Copies everything under `redis`'s key prefix into `db`. `cipher` checks that each member's
/// sealed tokens open with the configured keys before anything of theirs is copied.
pub async fn copy_from_redis(
    redis: &Redis,
    db: &Database,
    cipher: &TokenCipher,
) -> Result<Copied, Error> {
    let mut connection = redis.get().await?;
    let mut ids: Vec<String> = connection.smembers(redis.key("members")).await?;
    ids.sort();
    let mut copied = Copied::default();
    for id in &ids {
        let member: ProjectMemberId = id
            .parse()
            .map_err(|_| Error::Corrupt(format!("the member index holds {id:?}")))?;
        let fields: HashMap<String, String> = connection
            .hgetall(redis.key(&format!("member:{id}")))
            .await?;
        if fields.is_empty() {
            continue;
        }
        let job: HashMap<String, String> =
            connection.hgetall(redis.key(&format!("job:{id}"))).await?;
        copied.members += 1;
        match copy_member(db, cipher, &member, &fields, &job).await {
            Ok(true) => copied.new_members += 1,
            Ok(false) => {}
            Err(error @ (Error::Corrupt(_) | Error::Crypto(_))) => {
                copied.unreadable.push((member, crate::error_chain(&error)));
                continue;
            }
            Err(error) => return Err(error),
        }
        let _: () = redis::pipe()
            .atomic()
            .del(redis.key(&format!("member:{id}")))
            .srem(redis.key("members"), id)
            .query_async(&mut connection)
            .await?;
    }
    let erasures: HashMap<String, String> =
        connection.hgetall(redis.key("staging_erasures")).await?;
    for (id, erasure) in &erasures {
        let also = match erasure.as_str() {
            "staging" => false,
            "staging+open_humans" => true,
            other => return Err(Error::Corrupt(format!("erasure {other:?} of {id}"))),
        };
        // A request in both stores is the stronger of the two.
        sqlx::query(
            "INSERT INTO erasure_requests (member_id, also_open_humans_files) VALUES ($1, $2) \
             ON CONFLICT (member_id) DO UPDATE SET also_open_humans_files = \
             erasure_requests.also_open_humans_files OR excluded.also_open_humans_files",
        )
        .bind(id)
        .bind(also)
        .execute(db.pool())
        .await
        .map_err(Error::Database)?;
        let _: () = connection.hdel(redis.key("staging_erasures"), id).await?;
        copied.erasures += 1;
    }
    // The old dialect was learned deployment-wide, some of it from a single error: it is not
    // evidence of anything, and is dropped rather than copied.
    let dialect: HashMap<String, String> = connection.hgetall(redis.key("google-dialect")).await?;
    if !dialect.is_empty() {
        let _: () = connection.del(redis.key("google-dialect")).await?;
    }
    copied.dialect_entries_dropped = dialect.len();
    Ok(copied)
}

/// Copies one member in one transaction, row by row: a row the database has already is kept.
/// False when the database had the member already.
async fn copy_member(
    db: &Database,
    cipher: &TokenCipher,
    id: &ProjectMemberId,
    fields: &HashMap<String, String>,
    job: &HashMap<String, String>,
) -> Result<bool, Error> {
    let field = |name: &str| fields.get(name).map(String::as_str);
    let sealed_open_humans = field("open_humans_tokens")
        .ok_or_else(|| Error::Corrupt(format!("member {id} has no open_humans_tokens")))?;
    cipher.open(id.as_str(), Purpose::OpenHumansTokens, sealed_open_humans)?;
    if let Some(sealed) = field("google_tokens") {
        cipher.open(id.as_str(), Purpose::GoogleTokens, sealed)?;
    }
    let created_at = field("created_at")
        .and_then(|ms| ms.parse().ok())
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .ok_or_else(|| Error::Corrupt(format!("member {id} has a bad created_at")))?;
    let preferences: LegacyPreferences = decode(id, fields, "preferences")?.unwrap_or_default();
    let sync: Option<LegacySync> = decode(id, fields, "sync")?;

    let mut tx = db.pool().begin().await.map_err(Error::Database)?;
    let left_out: Vec<&str> = preferences
        .left_out
        .iter()
        .map(|scope| scope.url())
        .collect();
    // A member who signed in on this version before the copy keeps what the database has, and
    // gains from Redis what it does not have yet: the older creation time, preferences and a sync
    // record (all of the record or none of it) and the dashboard's summary. `xmax = 0` is
    // PostgreSQL's mark of a row this statement inserted rather than updated.
    let (inserted,): (bool,) = sqlx::query_as(
        "INSERT INTO members AS m (id, created_at, intraday_resolution, earliest_date, left_out, \
         last_success_at, synced_first_day, synced_last_day, sync_requests, sealed_recent_days) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO UPDATE SET \
         created_at = least(m.created_at, excluded.created_at), \
         intraday_resolution = coalesce(m.intraday_resolution, excluded.intraday_resolution), \
         earliest_date = coalesce(m.earliest_date, excluded.earliest_date), \
         left_out = CASE WHEN m.left_out = '{}' THEN excluded.left_out ELSE m.left_out END, \
         last_success_at = coalesce(m.last_success_at, excluded.last_success_at), \
         synced_first_day = CASE WHEN m.last_success_at IS NULL \
             THEN excluded.synced_first_day ELSE m.synced_first_day END, \
         synced_last_day = CASE WHEN m.last_success_at IS NULL \
             THEN excluded.synced_last_day ELSE m.synced_last_day END, \
         sync_requests = CASE WHEN m.last_success_at IS NULL \
             THEN excluded.sync_requests ELSE m.sync_requests END, \
         sealed_recent_days = coalesce(m.sealed_recent_days, excluded.sealed_recent_days) \
         RETURNING (xmax = 0)",
    )
    .bind(id.as_str())
    .bind(created_at.to_sqlx())
    .bind(preferences.intraday.map(IntradayResolution::name))
    .bind(preferences.earliest_date.map(|date| date.to_sqlx()))
    .bind(&left_out)
    .bind(
        sync.as_ref()
            .and_then(|s| s.last_success_at)
            .map(|at| at.to_sqlx()),
    )
    .bind(
        sync.as_ref()
            .and_then(|s| s.first_day)
            .map(|date| date.to_sqlx()),
    )
    .bind(
        sync.as_ref()
            .and_then(|s| s.last_day)
            .map(|date| date.to_sqlx()),
    )
    .bind(
        sync.as_ref()
            .map_or(0, |s| i32::try_from(s.requests).unwrap_or(i32::MAX)),
    )
    .bind(field("recent_days"))
    .fetch_one(&mut *tx)
    .await
    .map_err(Error::Database)?;
    copy_tokens(&mut tx, id, "open_humans", Some(sealed_open_humans)).await?;
    copy_tokens(&mut tx, id, "google", field("google_tokens")).await?;
    if let Some(account) = decode::<LegacyAccount>(id, fields, "fitbit")? {
        let announced: Option<Timestamp> = decode(id, fields, "expiry_announced")?;
        let account = FitbitAccount {
            health_user_id: account.health_user_id,
            legacy_user_id: account.legacy_user_id,
            time_zone: account.time_zone,
            membership_start: account.membership_start,
            granted_scopes: account.granted_scopes,
            connected_at: account.connected_at,
            via_own_client: account.via_own_client,
        };
        insert_fitbit_account(
            &mut tx,
            id,
            &account,
            announced,
            "ON CONFLICT (member_id) DO NOTHING",
        )
        .await?;
    }
    if let Some(sealed) = field("own_client") {
        let plain = cipher.open(id.as_str(), Purpose::GoogleClientSecret, sealed)?;
        let client: LegacyClient =
            serde_json::from_slice(secrecy::ExposeSecret::expose_secret(&plain))
                .map_err(|error| Error::Corrupt(format!("member {id} own client: {error}")))?;
        sqlx::query(
            "INSERT INTO own_clients (member_id, client_id, sealed_secret) VALUES ($1, $2, $3) \
             ON CONFLICT (member_id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(&client.client_id)
        .bind(sealed)
        .execute(&mut *tx)
        .await
        .map_err(Error::Database)?;
    }
    for (name, value) in fields {
        let Some(key) = name.strip_prefix("cursor:") else {
            continue;
        };
        let (tier, data_type) = key
            .split_once(':')
            .and_then(|(tier, data_type)| Some((Tier::parse(tier)?, data_type)))
            .ok_or_else(|| Error::Corrupt(format!("member {id} has a cursor {key:?}")))?;
        let cursor: LegacyCursor = serde_json::from_str(value)
            .map_err(|error| Error::Corrupt(format!("member {id} {name}: {error}")))?;
        let cursor = Cursor {
            newest: cursor.newest,
            oldest: cursor.oldest,
            complete: cursor.complete,
            resolution: cursor.resolution,
        };
        insert_cursor(
            &mut tx,
            id,
            &CursorKey::new(tier, data_type),
            &cursor,
            "ON CONFLICT DO NOTHING",
        )
        .await?;
    }
    let pending: Vec<String> = decode(id, fields, "pending_periods")?.unwrap_or_default();
    for label in &pending {
        let period = label
            .split_once(':')
            .and_then(|(tier, period)| Period::parse(Tier::parse(tier)?, period))
            .ok_or_else(|| Error::Corrupt(format!("member {id} has a pending {label:?}")))?;
        sqlx::query(
            "INSERT INTO pending_periods (member_id, tier, period_start) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id.as_str())
        .bind(period.tier.name())
        .bind(period.start.to_sqlx())
        .execute(&mut *tx)
        .await
        .map_err(Error::Database)?;
    }
    copy_job(&mut tx, id, job).await?;
    tx.commit().await.map_err(Error::Database)?;
    Ok(inserted)
}

async fn copy_tokens(
    tx: &mut PgConnection,
    id: &ProjectMemberId,
    provider: &str,
    sealed: Option<&str>,
) -> Result<(), Error> {
    let Some(sealed) = sealed else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO tokens (member_id, provider, sealed, revision) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (member_id, provider) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(provider)
    .bind(sealed)
    .execute(tx)
    .await
    .map_err(Error::Database)?;
    Ok(())
}

/// The member's job as the queue left it: due at its run time, parked, or dead.
async fn copy_job(
    tx: &mut PgConnection,
    id: &ProjectMemberId,
    job: &HashMap<String, String>,
) -> Result<(), Error> {
    let Some(state) = job.get("state") else {
        return Ok(());
    };
    let state = match state.as_str() {
        "idle" => "idle",
        "dead" => "dead",
        _ => "waiting",
    };
    let run_at = job
        .get("run_at")
        .and_then(|ms| ms.parse().ok())
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or_else(Timestamp::now);
    sqlx::query(
        "INSERT INTO sync_jobs (member_id, state, run_at, attempts, last_outcome, message) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (member_id) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(state)
    .bind((state == "waiting").then(|| run_at.to_sqlx()))
    .bind(
        job.get("attempts")
            .and_then(|n| n.parse::<i32>().ok())
            .unwrap_or(0),
    )
    .bind(job.get("last_outcome"))
    .bind(job.get("message"))
    .execute(tx)
    .await
    .map_err(Error::Database)?;
    Ok(())
}

/// A JSON field of the member's hash.
fn decode<T: serde::de::DeserializeOwned>(
    id: &ProjectMemberId,
    fields: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, Error> {
    fields
        .get(name)
        .map(|text| {
            serde_json::from_str(text)
                .map_err(|error| Error::Corrupt(format!("member {id} {name}: {error}")))
        })
        .transpose()
}
