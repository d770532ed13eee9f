//! The member store, in PostgreSQL: one row per member, keyed by their Open Humans project member
//! id, with their tokens, Fitbit account, own OAuth client, cursors and pending periods in
//! tables of their own.
//!
//! Writers touch only the rows and columns they own (the web process links accounts while a
//! worker refreshes tokens or saves cursors), so no writer overwrites another's with a stale
//! copy. Tokens and secrets are sealed with the [`TokenCipher`] before they are stored, with the
//! member id as associated data. What a run of the worker writes is fenced ([`Fence`]).

mod erasure;
mod import_state;
mod load;
mod published;
mod sessions;
mod type_failures;

use std::{collections::BTreeSet, sync::Arc};

use google_health::Scope;
use jiff::{Timestamp, civil::Date};
use jiff_sqlx::ToSqlx;
use open_humans::ProjectMemberId;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub(crate) use self::import_state::insert_cursor;
pub use self::{
    erasure::{Erasure, ErasureRequest},
    published::{PublishedFile, RecordCounts},
    sessions::SessionStamp,
    type_failures::{FailureReason, TypeFailure},
};
use crate::{
    Error,
    crypto::{Purpose, TokenCipher},
    db::{self, Database},
    recent::RecentDays,
    tier::{CursorKey, Period},
};

#[derive(Clone, Debug)]
pub struct OpenHumansTokens {
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct GoogleTokens {
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    pub expires_at: Timestamp,
    /// Set for clients in Google's "Testing" status, whose refresh tokens die after 7 days.
    pub refresh_expires_at: Option<Timestamp>,
}

/// The member's Fitbit account as the Google Health API describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FitbitAccount {
    pub health_user_id: String,
    /// The old Fitbit user id, kept so history from earlier Fitbit integrations can be matched.
    pub legacy_user_id: Option<String>,
    /// IANA time zone from the member's Google Health settings.
    pub time_zone: Option<String>,
    /// When the member's Fitbit membership began, from their profile: where history starts.
    pub membership_start: Option<Date>,
    /// Full scope strings Google granted (the member may untick some on the consent screen).
    pub granted_scopes: Vec<String>,
    pub connected_at: Timestamp,
    /// The grant was made to the member's own OAuth client ([`Member::own_client`]), which
    /// must then refresh its tokens too.
    pub via_own_client: bool,
}

/// How long before a time-limited Google grant ends (a client in Testing status) the member
/// is warned, on the dashboard and by an Open Humans message: daily syncs see it at least once.
pub const EXPIRY_WARNING: jiff::SignedDuration = jiff::SignedDuration::from_hours(48);

/// The member's own Google Cloud OAuth client, for intraday data with its own quota.
#[derive(Clone, Debug)]
pub struct OwnClient {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// What the last successful sync produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncRecord {
    pub last_success_at: Option<Timestamp>,
    pub first_day: Option<Date>,
    pub last_day: Option<Date>,
    pub requests: u32,
}

/// What a member chose to import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportPreferences {
    /// Intraday (high-frequency) data, and at which resolution; `None`: daily data only.
    pub intraday: Option<IntradayResolution>,
    /// Nothing before this day is imported.
    pub earliest_date: Option<Date>,
    /// Data categories (by their scope) the member chose not to import; everything else the
    /// member granted is read.
    pub left_out: BTreeSet<Scope>,
}

impl ImportPreferences {
    pub fn includes(&self, category: Scope) -> bool {
        !self.left_out.contains(&category)
    }
}

/// How finely intraday data is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntradayResolution {
    /// Every point as Google stores it.
    Raw,
    /// `rollUp` windows of 1, 5 or 15 minutes, for the types that support them.
    OneMinute,
    FiveMinutes,
    FifteenMinutes,
}

impl IntradayResolution {
    const ALL: [IntradayResolution; 4] = [
        Self::Raw,
        Self::OneMinute,
        Self::FiveMinutes,
        Self::FifteenMinutes,
    ];

    /// The rollUp window in seconds; `None` for raw points.
    pub fn window_seconds(self) -> Option<u32> {
        match self {
            Self::Raw => None,
            Self::OneMinute => Some(60),
            Self::FiveMinutes => Some(300),
            Self::FifteenMinutes => Some(900),
        }
    }

    /// As the member store and the settings form spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::OneMinute => "one_minute",
            Self::FiveMinutes => "five_minutes",
            Self::FifteenMinutes => "fifteen_minutes",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|resolution| resolution.name() == name)
    }
}

/// How far one data type of one tier has been imported: every civil day from `oldest` to
/// `newest` is in staging.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub newest: Option<Date>,
    pub oldest: Option<Date>,
    /// The walk back in time reached the start of the member's history.
    pub complete: bool,
    /// The resolution an intraday cursor's days were read at: a member who changes it starts
    /// the intraday import again (a cursor of another resolution counts as none).
    pub resolution: Option<IntradayResolution>,
}

#[derive(Clone, Debug)]
pub struct Member {
    pub id: ProjectMemberId,
    pub created_at: Timestamp,
    pub open_humans: OpenHumansTokens,
    pub fitbit: Option<FitbitAccount>,
    pub google_tokens: Option<GoogleTokens>,
    pub own_client: Option<OwnClient>,
    /// The end of a time-limited grant the member was already told about.
    pub expiry_announced: Option<Timestamp>,
    pub sync: SyncRecord,
    pub preferences: ImportPreferences,
    /// Staged periods whose files have not been published since they changed: marked before
    /// staging, cleared after publishing, so a crash in between is caught up by the next run.
    pub pending_periods: BTreeSet<Period>,
    /// The last 30 days as of the last sync, for the dashboard's charts.
    pub recent_days: Option<RecentDays>,
    pub cursors: std::collections::BTreeMap<CursorKey, Cursor>,
    /// Names the member's staged copy (see the `members` table); `None` before the first run.
    pub staging_generation: Option<String>,
    /// The next run restores staging from the member's files first.
    pub repair_requested: bool,
    /// Types whose reading failed on their own, while the others went on.
    pub type_failures: std::collections::BTreeMap<CursorKey, TypeFailure>,
}

impl Member {
    /// Whether the member's Google grant is to their own OAuth client.
    pub fn connected_via_own_client(&self) -> bool {
        self.fitbit
            .as_ref()
            .is_some_and(|account| account.via_own_client)
    }

    /// The resolution intraday data is read at: `None` when the member has not turned it on,
    /// or when the deployment requires their own OAuth client and the grant is not to it.
    pub fn intraday_resolution(&self, requires_own_client: bool) -> Option<IntradayResolution> {
        let allowed = self.connected_via_own_client() || !requires_own_client;
        self.preferences.intraday.filter(|_| allowed)
    }
}

/// What a conditional token write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replaced {
    Written,
    /// The tokens had been replaced since they were read (a refresh elsewhere, a reconnect).
    Changed,
}

/// Which of a member's token sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    OpenHumans,
    Google,
}

impl TokenKind {
    pub(crate) fn provider(self) -> &'static str {
        match self {
            Self::OpenHumans => "open_humans",
            Self::Google => "google",
        }
    }

    pub(crate) fn purpose(self) -> Purpose {
        match self {
            Self::OpenHumans => Purpose::OpenHumansTokens,
            Self::Google => Purpose::GoogleTokens,
        }
    }
}

/// The sealed form of a token pair: only ever exists in memory between `seal` and `open`.
#[derive(Serialize, Deserialize)]
pub(crate) struct SealedTokens {
    access_token: String,
    refresh_token: String,
    expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_expires_at: Option<Timestamp>,
}

#[derive(Serialize, Deserialize)]
struct SealedClient {
    client_id: String,
    client_secret: String,
}

#[derive(Clone, Debug)]
pub struct MemberStore {
    db: Database,
    cipher: Arc<TokenCipher>,
}

impl MemberStore {
    pub fn new(db: Database, cipher: Arc<TokenCipher>) -> Self {
        Self { db, cipher }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn cipher(&self) -> &Arc<TokenCipher> {
        &self.cipher
    }

    /// Creates the member on first sign-in, or stores their new Open Humans tokens.
    pub async fn save_open_humans_link(
        &self,
        id: &ProjectMemberId,
        tokens: &OpenHumansTokens,
    ) -> Result<(), Error> {
        let sealed = self.seal_tokens(id, TokenKind::OpenHumans, &tokens.into());
        let mut tx = self.db.pool().begin().await.map_err(Error::Database)?;
        sqlx::query("INSERT INTO members (id) VALUES ($1) ON CONFLICT (id) DO NOTHING")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(Error::Database)?;
        upsert_tokens(&mut tx, id, TokenKind::OpenHumans, &sealed).await?;
        tx.commit().await.map_err(Error::Database)
    }

    /// Stores the Fitbit account and its grant; with `own_client`, the member's own OAuth client
    /// the grant was made with, in the same transaction (so a grant never meets the wrong
    /// client's secret).
    pub async fn connect_fitbit(
        &self,
        id: &ProjectMemberId,
        account: &FitbitAccount,
        tokens: &GoogleTokens,
        own_client: Option<&OwnClient>,
    ) -> Result<(), Error> {
        let sealed = self.seal_tokens(id, TokenKind::Google, &tokens.into());
        let mut tx = self.db.pool().begin().await.map_err(Error::Database)?;
        if let Some(client) = own_client {
            self.upsert_own_client(&mut *tx, id, client).await?;
        }
        // A reconnect replaces the account but keeps what the member was told of its expiry.
        insert_fitbit_account(
            &mut tx,
            id,
            account,
            None,
            "ON CONFLICT (member_id) DO UPDATE SET health_user_id = excluded.health_user_id, \
             legacy_user_id = excluded.legacy_user_id, time_zone = excluded.time_zone, \
             membership_start = excluded.membership_start, \
             granted_scopes = excluded.granted_scopes, connected_at = excluded.connected_at, \
             via_own_client = excluded.via_own_client",
        )
        .await?;
        upsert_tokens(&mut tx, id, TokenKind::Google, &sealed).await?;
        tx.commit().await.map_err(Error::Database)
    }

    pub async fn save_preferences(
        &self,
        id: &ProjectMemberId,
        preferences: &ImportPreferences,
    ) -> Result<(), Error> {
        let left_out: Vec<&str> = preferences.left_out.iter().map(|s| s.url()).collect();
        let updated = sqlx::query(
            "UPDATE members SET intraday_resolution = $2, earliest_date = $3, left_out = $4 \
             WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(preferences.intraday.map(IntradayResolution::name))
        .bind(preferences.earliest_date.map(|date| date.to_sqlx()))
        .bind(&left_out)
        .execute(self.db.pool())
        .await
        .map_err(Error::Database)?;
        exactly_one(updated.rows_affected(), id)
    }

    /// Stores the member's own OAuth client, its secret sealed like their tokens.
    pub async fn save_own_client(
        &self,
        id: &ProjectMemberId,
        client: &OwnClient,
    ) -> Result<(), Error> {
        self.upsert_own_client(self.db.pool(), id, client).await
    }

    async fn upsert_own_client<'e>(
        &self,
        executor: impl sqlx::PgExecutor<'e>,
        id: &ProjectMemberId,
        client: &OwnClient,
    ) -> Result<(), Error> {
        let sealed = SealedClient {
            client_id: client.client_id.clone(),
            client_secret: client.client_secret.expose_secret().to_owned(),
        };
        let json = serde_json::to_vec(&sealed).expect("client JSON always serialises");
        let sealed = self
            .cipher
            .seal(id.as_ref(), Purpose::GoogleClientSecret, &json);
        sqlx::query(
            "INSERT INTO own_clients (member_id, client_id, sealed_secret) VALUES ($1, $2, $3) \
             ON CONFLICT (member_id) DO UPDATE SET client_id = excluded.client_id, \
             sealed_secret = excluded.sealed_secret",
        )
        .bind(id.as_str())
        .bind(&client.client_id)
        .bind(sealed)
        .execute(executor)
        .await
        .map_err(member_error(id))?;
        Ok(())
    }

    /// Records that the member was told their grant ends at `ends`; nothing when they have
    /// disconnected Fitbit meanwhile.
    pub async fn save_expiry_announced(
        &self,
        id: &ProjectMemberId,
        ends: Timestamp,
    ) -> Result<(), Error> {
        sqlx::query("UPDATE fitbit_accounts SET expiry_announced = $2 WHERE member_id = $1")
            .bind(id.as_str())
            .bind(ends.to_sqlx())
            .execute(self.db.pool())
            .await
            .map_err(Error::Database)?;
        Ok(())
    }

    /// Stores sealed tokens if the stored ones are still at `revision`: a refresh that raced a
    /// reconnect cannot overwrite the newer grant.
    pub(crate) async fn replace_sealed_tokens(
        &self,
        id: &ProjectMemberId,
        kind: TokenKind,
        sealed: &str,
        revision: i64,
    ) -> Result<Replaced, Error> {
        let updated = sqlx::query(
            "UPDATE tokens SET sealed = $3, revision = revision + 1 \
             WHERE member_id = $1 AND provider = $2 AND revision = $4",
        )
        .bind(id.as_str())
        .bind(kind.provider())
        .bind(sealed)
        .bind(revision)
        .execute(self.db.pool())
        .await
        .map_err(Error::Database)?;
        Ok(match updated.rows_affected() {
            0 => Replaced::Changed,
            _ => Replaced::Written,
        })
    }

    /// Drops the member's Fitbit link, Google tokens (their grant is gone), own OAuth client
    /// and the dashboard's summary of their data; their cursors stay, so reconnecting
    /// continues the import where it stopped. With `erasure`, asks for it in the same
    /// transaction, so a disconnect never loses the member's request to delete their files.
    pub async fn disconnect_fitbit(
        &self,
        id: &ProjectMemberId,
        erasure: Option<Erasure>,
    ) -> Result<(), Error> {
        let mut tx = self.db.pool().begin().await.map_err(Error::Database)?;
        if let Some(erasure) = erasure {
            erasure::request(&mut tx, id, erasure).await?;
        }
        for statement in [
            "DELETE FROM fitbit_accounts WHERE member_id = $1",
            "DELETE FROM tokens WHERE member_id = $1 AND provider = 'google'",
            "DELETE FROM own_clients WHERE member_id = $1",
            "UPDATE members SET sealed_recent_days = NULL WHERE id = $1",
        ] {
            sqlx::query(statement)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(Error::Database)?;
        }
        tx.commit().await.map_err(Error::Database)
    }

    /// Whether the member has connected Fitbit, without reading (or decrypting) their record.
    pub async fn has_fitbit(&self, id: &ProjectMemberId) -> Result<bool, Error> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM fitbit_accounts WHERE member_id = $1)")
            .bind(id.as_str())
            .fetch_one(self.db.pool())
            .await
            .map_err(Error::Database)
    }

    /// The bytes of the member's rows in every table (what their record takes, without the
    /// tables' and indexes' own overhead), for the benchmark.
    pub async fn stored_bytes(&self, id: &ProjectMemberId) -> Result<i64, Error> {
        sqlx::query_scalar(
            "SELECT (SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM members t WHERE id = $1) \
             + (SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM tokens t WHERE member_id = $1) \
             + (SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM fitbit_accounts t \
                WHERE member_id = $1) \
             + (SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM own_clients t \
                WHERE member_id = $1) \
             + (SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM cursors t WHERE member_id = $1) \
             + (SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM pending_periods t \
                WHERE member_id = $1) \
             + (SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM staged_chunks t \
                WHERE member_id = $1) \
             + (SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM published_files t \
                WHERE member_id = $1) \
             + (SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM published_counts t \
                WHERE member_id = $1) \
             + (SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM sync_jobs t \
                WHERE member_id = $1)",
        )
        .bind(id.as_str())
        .fetch_one(self.db.pool())
        .await
        .map_err(Error::Database)
    }

    pub async fn member_ids(&self) -> Result<Vec<ProjectMemberId>, Error> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM members ORDER BY id")
            .fetch_all(self.db.pool())
            .await
            .map_err(Error::Database)?;
        ids.into_iter().map(|id| parse_member_id(&id)).collect()
    }

    pub(crate) fn seal_tokens(
        &self,
        id: &ProjectMemberId,
        kind: TokenKind,
        tokens: &SealedTokens,
    ) -> String {
        let json = serde_json::to_vec(tokens).expect("token JSON always serialises");
        self.cipher.seal(id.as_ref(), kind.purpose(), &json)
    }

    pub(crate) fn open_tokens(
        &self,
        id: &ProjectMemberId,
        kind: TokenKind,
        sealed: &str,
    ) -> Result<SealedTokens, Error> {
        let plain = self.cipher.open(id.as_ref(), kind.purpose(), sealed)?;
        serde_json::from_slice(plain.expose_secret())
            .map_err(|error| Error::Corrupt(format!("member {id} tokens: {error}")))
    }

    fn open_client(&self, id: &ProjectMemberId, sealed: &str) -> Result<OwnClient, Error> {
        let plain = self
            .cipher
            .open(id.as_ref(), Purpose::GoogleClientSecret, sealed)?;
        let client: SealedClient = serde_json::from_slice(plain.expose_secret())
            .map_err(|error| Error::Corrupt(format!("member {id} own client: {error}")))?;
        Ok(OwnClient {
            client_id: client.client_id,
            client_secret: client.client_secret.into(),
        })
    }
}

async fn upsert_tokens(
    tx: &mut sqlx::PgConnection,
    id: &ProjectMemberId,
    kind: TokenKind,
    sealed: &str,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO tokens (member_id, provider, sealed, revision) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (member_id, provider) \
         DO UPDATE SET sealed = excluded.sealed, revision = tokens.revision + 1",
    )
    .bind(id.as_str())
    .bind(kind.provider())
    .bind(sealed)
    .execute(tx)
    .await
    .map_err(member_error(id))?;
    Ok(())
}

/// Inserts the member's Fitbit account; `on_conflict` is appended to the statement.
pub(crate) async fn insert_fitbit_account(
    connection: &mut sqlx::PgConnection,
    id: &ProjectMemberId,
    account: &FitbitAccount,
    expiry_announced: Option<Timestamp>,
    on_conflict: &'static str,
) -> Result<(), Error> {
    let statement = format!(
        "INSERT INTO fitbit_accounts (member_id, health_user_id, legacy_user_id, time_zone, \
         membership_start, granted_scopes, connected_at, via_own_client, expiry_announced) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) {on_conflict}"
    );
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .bind(id.as_str())
        .bind(&account.health_user_id)
        .bind(&account.legacy_user_id)
        .bind(&account.time_zone)
        .bind(account.membership_start.map(|date| date.to_sqlx()))
        .bind(&account.granted_scopes)
        .bind(account.connected_at.to_sqlx())
        .bind(account.via_own_client)
        .bind(expiry_announced.map(|at| at.to_sqlx()))
        .execute(connection)
        .await
        .map_err(member_error(id))?;
    Ok(())
}

impl SealedTokens {
    fn exposed(
        (access_token, refresh_token): (&SecretString, &SecretString),
        expires_at: Timestamp,
        refresh_expires_at: Option<Timestamp>,
    ) -> Self {
        Self {
            access_token: access_token.expose_secret().to_owned(),
            refresh_token: refresh_token.expose_secret().to_owned(),
            expires_at,
            refresh_expires_at,
        }
    }
}

impl From<&OpenHumansTokens> for SealedTokens {
    fn from(t: &OpenHumansTokens) -> Self {
        Self::exposed((&t.access_token, &t.refresh_token), t.expires_at, None)
    }
}

impl From<&GoogleTokens> for SealedTokens {
    fn from(t: &GoogleTokens) -> Self {
        let secrets = (&t.access_token, &t.refresh_token);
        Self::exposed(secrets, t.expires_at, t.refresh_expires_at)
    }
}

impl From<SealedTokens> for OpenHumansTokens {
    fn from(tokens: SealedTokens) -> Self {
        Self {
            access_token: tokens.access_token.into(),
            refresh_token: tokens.refresh_token.into(),
            expires_at: tokens.expires_at,
        }
    }
}

impl From<SealedTokens> for GoogleTokens {
    fn from(tokens: SealedTokens) -> Self {
        Self {
            access_token: tokens.access_token.into(),
            refresh_token: tokens.refresh_token.into(),
            expires_at: tokens.expires_at,
            refresh_expires_at: tokens.refresh_expires_at,
        }
    }
}

/// A database error, or [`Error::MemberNotFound`] when a row referred to a member who no
/// longer exists (they left while the write was on its way).
fn member_error(id: &ProjectMemberId) -> impl Fn(sqlx::Error) -> Error + '_ {
    move |error| {
        if db::is_missing_member(&error) {
            Error::MemberNotFound(id.to_string())
        } else {
            Error::Database(error)
        }
    }
}

fn exactly_one(rows: u64, id: &ProjectMemberId) -> Result<(), Error> {
    match rows {
        0 => Err(Error::MemberNotFound(id.to_string())),
        _ => Ok(()),
    }
}

fn parse_member_id(id: &str) -> Result<ProjectMemberId, Error> {
    id.parse()
        .map_err(|_| Error::Corrupt(format!("a stored member id {id:?}")))
}
