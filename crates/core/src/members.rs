//! The member store: one Redis hash per member, keyed by their Open Humans project member id.
//!
//! Fields are written independently (the web process links accounts while a worker refreshes
//! tokens), so no writer ever overwrites another's field with a stale copy. Tokens are sealed
//! with the [`TokenCipher`] before they reach Redis, with the member id as associated data.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
};

use google_health::Scope;
use jiff::{Timestamp, civil::Date};
use open_humans::ProjectMemberId;
use redis::{AsyncCommands, Script, aio::ConnectionManager};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{
    Error,
    crypto::{Purpose, TokenCipher},
    recent::RecentDays,
};

const FIELD_CREATED_AT: &str = "created_at";
const FIELD_OPEN_HUMANS_TOKENS: &str = "open_humans_tokens";
const FIELD_FITBIT: &str = "fitbit";
const FIELD_GOOGLE_TOKENS: &str = "google_tokens";
const FIELD_SYNC: &str = "sync";
const FIELD_PREFERENCES: &str = "preferences";
const FIELD_PENDING: &str = "pending_periods";
const FIELD_OWN_CLIENT: &str = "own_client";
const FIELD_EXPIRY_ANNOUNCED: &str = "expiry_announced";
const FIELD_RECENT_DAYS: &str = "recent_days";
/// One field per tier and data type (`cursor:standard:steps`), so progress is saved type by
/// type as an import goes.
const CURSOR_FIELD_PREFIX: &str = "cursor:";
/// Each token field has a revision that changes with every write, so a refresh can store its
/// result only if nobody replaced the tokens meanwhile.
const FIELD_OPEN_HUMANS_REVISION: &str = "open_humans_tokens_rev";
const FIELD_GOOGLE_REVISION: &str = "google_tokens_rev";

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(default)]
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

#[derive(Serialize, Deserialize)]
struct SealedClient {
    client_id: String,
    client_secret: String,
}

/// What the last successful sync produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRecord {
    pub last_success_at: Option<Timestamp>,
    pub first_day: Option<Date>,
    pub last_day: Option<Date>,
    pub requests: u32,
}

/// What a member chose to import.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreferences {
    /// Intraday (high-frequency) data, and at which resolution; `None`: daily data only.
    #[serde(default)]
    pub intraday: Option<IntradayResolution>,
    /// Nothing before this day is imported.
    #[serde(default)]
    pub earliest_date: Option<Date>,
    /// Data categories (by their scope) the member chose not to import; everything else the
    /// member granted is read.
    #[serde(default)]
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
    /// The rollUp window in seconds; `None` for raw points.
    pub fn window_seconds(self) -> Option<u32> {
        match self {
            Self::Raw => None,
            Self::OneMinute => Some(60),
            Self::FiveMinutes => Some(300),
            Self::FifteenMinutes => Some(900),
        }
    }
}

/// How far one data type of one tier has been imported: every civil day from `oldest` to
/// `newest` is in staging.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub newest: Option<Date>,
    pub oldest: Option<Date>,
    /// The walk back in time reached the start of the member's history.
    #[serde(default)]
    pub complete: bool,
    /// The resolution an intraday cursor's days were read at: a member who changes it starts
    /// the intraday import again (a cursor of another resolution counts as none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// Staged periods (`standard:2016`, `intraday:2016-03`) whose files have not been
    /// published since they changed: marked before staging, cleared after publishing, so a
    /// crash in between is caught up by the next run.
    pub pending_periods: std::collections::BTreeSet<String>,
    /// The last 30 days as of the last sync, for the dashboard's charts.
    pub recent_days: Option<RecentDays>,
    /// Keyed by `{tier}:{data type}`.
    pub cursors: BTreeMap<String, Cursor>,
    pub(crate) open_humans_revision: String,
    pub(crate) google_revision: String,
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

/// What of a member's data is to be erased.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Erasure {
    /// Our staged copies and the import's progress.
    Staging,
    /// The same, and the files this service uploaded to the member's Open Humans account.
    AlsoOpenHumansFiles,
}

impl Erasure {
    fn as_str(self) -> &'static str {
        match self {
            Self::Staging => "staging",
            Self::AlsoOpenHumansFiles => "staging+open_humans",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Staging, Self::AlsoOpenHumansFiles]
            .into_iter()
            .find(|erasure| erasure.as_str() == text)
    }
}

/// What a conditional token write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replaced {
    Written,
    /// The tokens had been replaced since they were read (a refresh elsewhere, a reconnect).
    Changed,
}

/// Which of a member's token sets a write is about.
#[derive(Clone, Copy, Debug)]
enum TokenField {
    OpenHumans,
    Google,
}

impl TokenField {
    fn names(self) -> (&'static str, &'static str, Purpose) {
        match self {
            Self::OpenHumans => (
                FIELD_OPEN_HUMANS_TOKENS,
                FIELD_OPEN_HUMANS_REVISION,
                Purpose::OpenHumansTokens,
            ),
            Self::Google => (
                FIELD_GOOGLE_TOKENS,
                FIELD_GOOGLE_REVISION,
                Purpose::GoogleTokens,
            ),
        }
    }
}

/// The sealed form of a token pair: only ever exists in memory between `seal` and `open`.
#[derive(Serialize, Deserialize)]
struct SealedTokens {
    access_token: String,
    refresh_token: String,
    expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_expires_at: Option<Timestamp>,
}

#[derive(Clone)]
pub struct MemberStore {
    redis: ConnectionManager,
    cipher: Arc<TokenCipher>,
    prefix: String,
    set_existing: Arc<Script>,
    replace_tokens: Arc<Script>,
    erase_import: Arc<Script>,
}

impl MemberStore {
    pub fn new(redis: ConnectionManager, cipher: Arc<TokenCipher>, key_prefix: &str) -> Self {
        Self {
            redis,
            cipher,
            prefix: key_prefix.to_owned(),
            set_existing: Arc::new(Script::new(include_str!("lua/hset_existing.lua"))),
            replace_tokens: Arc::new(Script::new(include_str!("lua/replace_tokens.lua"))),
            erase_import: Arc::new(Script::new(include_str!("lua/erase_import.lua"))),
        }
    }

    /// Creates the member on first sign-in, or stores their new Open Humans tokens.
    pub async fn save_open_humans_link(
        &self,
        id: &ProjectMemberId,
        tokens: &OpenHumansTokens,
    ) -> Result<(), Error> {
        let sealed = self.seal_tokens(id, Purpose::OpenHumansTokens, tokens.into());
        let key = self.member_key(id);
        let _: () = redis::pipe()
            .atomic()
            .hset_nx(&key, FIELD_CREATED_AT, Timestamp::now().as_millisecond())
            .hset(&key, FIELD_OPEN_HUMANS_TOKENS, sealed)
            .hset(&key, FIELD_OPEN_HUMANS_REVISION, crate::random_token())
            .sadd(self.index_key(), id.as_ref())
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    /// Stores refreshed Open Humans tokens if the stored ones are still those of `member`.
    pub async fn replace_open_humans_tokens(
        &self,
        member: &Member,
        tokens: &OpenHumansTokens,
    ) -> Result<Replaced, Error> {
        self.replace_tokens(member, TokenField::OpenHumans, tokens.into())
            .await
    }

    pub async fn connect_fitbit(
        &self,
        id: &ProjectMemberId,
        account: &FitbitAccount,
        tokens: &GoogleTokens,
    ) -> Result<(), Error> {
        let sealed = self.seal_tokens(id, Purpose::GoogleTokens, tokens.into());
        let account = serde_json::to_string(account).map_err(Error::Encode)?;
        self.set_fields(
            id,
            &[
                (FIELD_FITBIT, account),
                (FIELD_GOOGLE_TOKENS, sealed),
                (FIELD_GOOGLE_REVISION, crate::random_token()),
            ],
        )
        .await
    }

    /// Stores refreshed Google tokens if the stored ones are still those of `member`.
    pub async fn replace_google_tokens(
        &self,
        member: &Member,
        tokens: &GoogleTokens,
    ) -> Result<Replaced, Error> {
        self.replace_tokens(member, TokenField::Google, tokens.into())
            .await
    }

    pub async fn save_sync(&self, id: &ProjectMemberId, record: &SyncRecord) -> Result<(), Error> {
        let record = serde_json::to_string(record).map_err(Error::Encode)?;
        self.set_fields(id, &[(FIELD_SYNC, record)]).await
    }

    /// The deployment-wide record of Google's behaviour, on the same Redis and key prefix.
    pub fn dialect(&self) -> crate::dialect::DialectStore {
        crate::dialect::DialectStore::new(self.redis.clone(), &self.prefix)
    }

    pub async fn save_preferences(
        &self,
        id: &ProjectMemberId,
        preferences: &ImportPreferences,
    ) -> Result<(), Error> {
        let json = serde_json::to_string(preferences).map_err(Error::Encode)?;
        self.set_fields(id, &[(FIELD_PREFERENCES, json)]).await
    }

    /// Stores the member's own OAuth client, its secret sealed like their tokens.
    pub async fn save_own_client(
        &self,
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
        self.set_fields(id, &[(FIELD_OWN_CLIENT, sealed)]).await
    }

    pub async fn save_expiry_announced(
        &self,
        id: &ProjectMemberId,
        ends: Timestamp,
    ) -> Result<(), Error> {
        let json = serde_json::to_string(&ends).map_err(Error::Encode)?;
        self.set_fields(id, &[(FIELD_EXPIRY_ANNOUNCED, json)]).await
    }

    /// Stores the dashboard's summary of the last 30 days, sealed: it is health data.
    pub async fn save_recent_days(
        &self,
        id: &ProjectMemberId,
        recent: &RecentDays,
    ) -> Result<(), Error> {
        let json = serde_json::to_vec(recent).map_err(Error::Encode)?;
        let sealed = self.cipher.seal(id.as_ref(), Purpose::RecentDays, &json);
        self.set_fields(id, &[(FIELD_RECENT_DAYS, sealed)]).await
    }

    pub async fn save_pending_periods(
        &self,
        id: &ProjectMemberId,
        periods: &std::collections::BTreeSet<String>,
    ) -> Result<(), Error> {
        let json = serde_json::to_string(periods).map_err(Error::Encode)?;
        self.set_fields(id, &[(FIELD_PENDING, json)]).await
    }

    /// Saves the progress of one tier and type (`key` is `{tier}:{data type}`).
    pub async fn save_cursor(
        &self,
        id: &ProjectMemberId,
        key: &str,
        cursor: &Cursor,
    ) -> Result<(), Error> {
        let json = serde_json::to_string(cursor).map_err(Error::Encode)?;
        let field = format!("{CURSOR_FIELD_PREFIX}{key}");
        self.set_fields(id, &[(field.as_str(), json)]).await
    }

    pub async fn load(&self, id: &ProjectMemberId) -> Result<Option<Member>, Error> {
        let fields: HashMap<String, String> =
            self.redis.clone().hgetall(self.member_key(id)).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        let field = |name: &str| {
            fields
                .get(name)
                .ok_or_else(|| Error::Corrupt(format!("member {id} has no {name}")))
        };
        let created_at = field(FIELD_CREATED_AT)?
            .parse()
            .ok()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .ok_or_else(|| Error::Corrupt(format!("member {id} has a bad {FIELD_CREATED_AT}")))?;
        let open_humans = self.open_tokens(
            id,
            Purpose::OpenHumansTokens,
            field(FIELD_OPEN_HUMANS_TOKENS)?,
        )?;
        let google_tokens = fields
            .get(FIELD_GOOGLE_TOKENS)
            .map(|sealed| self.open_tokens(id, Purpose::GoogleTokens, sealed))
            .transpose()?;
        let own_client = fields
            .get(FIELD_OWN_CLIENT)
            .map(|sealed| self.open_client(id, sealed))
            .transpose()?;
        let recent_days = fields
            .get(FIELD_RECENT_DAYS)
            .map(|sealed| self.open_recent_days(id, sealed))
            .transpose()?;
        Ok(Some(Member {
            id: id.clone(),
            created_at,
            open_humans: OpenHumansTokens {
                access_token: open_humans.access_token.into(),
                refresh_token: open_humans.refresh_token.into(),
                expires_at: open_humans.expires_at,
            },
            fitbit: decode_json(id, FIELD_FITBIT, fields.get(FIELD_FITBIT))?,
            google_tokens: google_tokens.map(|tokens| GoogleTokens {
                access_token: tokens.access_token.into(),
                refresh_token: tokens.refresh_token.into(),
                expires_at: tokens.expires_at,
                refresh_expires_at: tokens.refresh_expires_at,
            }),
            own_client,
            expiry_announced: decode_json(
                id,
                FIELD_EXPIRY_ANNOUNCED,
                fields.get(FIELD_EXPIRY_ANNOUNCED),
            )?,
            sync: decode_json(id, FIELD_SYNC, fields.get(FIELD_SYNC))?.unwrap_or_default(),
            pending_periods: decode_json(id, FIELD_PENDING, fields.get(FIELD_PENDING))?
                .unwrap_or_default(),
            recent_days,
            preferences: decode_json(id, FIELD_PREFERENCES, fields.get(FIELD_PREFERENCES))?
                .unwrap_or_default(),
            cursors: fields
                .iter()
                .filter_map(|(field, json)| {
                    let key = field.strip_prefix(CURSOR_FIELD_PREFIX)?;
                    Some(
                        serde_json::from_str(json)
                            .map(|cursor| (key.to_owned(), cursor))
                            .map_err(|error| {
                                Error::Corrupt(format!("member {id} {field}: {error}"))
                            }),
                    )
                })
                .collect::<Result<_, Error>>()?,
            open_humans_revision: fields
                .get(FIELD_OPEN_HUMANS_REVISION)
                .cloned()
                .unwrap_or_default(),
            google_revision: fields
                .get(FIELD_GOOGLE_REVISION)
                .cloned()
                .unwrap_or_default(),
        }))
    }

    /// Drops the member's Fitbit link, Google tokens (their grant is gone), own OAuth client
    /// and the dashboard's summary of their data; their cursors stay, so reconnecting
    /// continues the import where it stopped.
    pub async fn disconnect_fitbit(&self, id: &ProjectMemberId) -> Result<(), Error> {
        let _: () = self
            .redis
            .clone()
            .hdel(
                self.member_key(id),
                &[
                    FIELD_FITBIT,
                    FIELD_GOOGLE_TOKENS,
                    FIELD_GOOGLE_REVISION,
                    FIELD_OWN_CLIENT,
                    FIELD_RECENT_DAYS,
                ],
            )
            .await?;
        Ok(())
    }

    /// Deletes the member's record (tokens included) and takes them out of the index. Their
    /// staged files live where only a worker reaches them: they are erased by the member's
    /// next job (see [`Self::erasure_requested`]), which the caller queues.
    pub async fn forget(&self, id: &ProjectMemberId) -> Result<(), Error> {
        let _: () = redis::pipe()
            .atomic()
            .del(self.member_key(id))
            .srem(self.index_key(), id.as_ref())
            .hset(self.erasures_key(), id.as_ref(), Erasure::Staging.as_str())
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    /// Asks for the member's staged files and import progress (and, with
    /// [`Erasure::AlsoOpenHumansFiles`], our files on Open Humans) to be erased by their next
    /// job, which runs under the member's lease: no import of theirs can be writing meanwhile.
    pub async fn request_erasure(
        &self,
        id: &ProjectMemberId,
        erasure: Erasure,
    ) -> Result<(), Error> {
        let _: () = self
            .redis
            .clone()
            .hset(self.erasures_key(), id.as_ref(), erasure.as_str())
            .await?;
        Ok(())
    }

    pub async fn erasure_requested(&self, id: &ProjectMemberId) -> Result<Option<Erasure>, Error> {
        let requested: Option<String> = self
            .redis
            .clone()
            .hget(self.erasures_key(), id.as_ref())
            .await?;
        requested
            .map(|text| {
                Erasure::parse(&text)
                    .ok_or_else(|| Error::Corrupt(format!("erasure request {text:?} of {id}")))
            })
            .transpose()
    }

    /// Called once the member's staged files are gone: the import starts again from nothing.
    pub async fn finish_erasure(&self, id: &ProjectMemberId) -> Result<(), Error> {
        let _: i64 = self
            .erase_import
            .key(self.member_key(id))
            .key(self.erasures_key())
            .arg(id.as_ref())
            .arg(CURSOR_FIELD_PREFIX)
            .arg(FIELD_PENDING)
            .arg(FIELD_SYNC)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    /// Whether the member has connected Fitbit, without reading (or decrypting) their record.
    pub async fn has_fitbit(&self, id: &ProjectMemberId) -> Result<bool, Error> {
        Ok(self
            .redis
            .clone()
            .hexists(self.member_key(id), FIELD_FITBIT)
            .await?)
    }

    pub async fn member_ids(&self) -> Result<Vec<ProjectMemberId>, Error> {
        let ids: Vec<String> = self.redis.clone().smembers(self.index_key()).await?;
        ids.into_iter()
            .map(|id| {
                id.parse()
                    .map_err(|_| Error::Corrupt(format!("member index holds {id:?}")))
            })
            .collect()
    }

    async fn set_fields(
        &self,
        id: &ProjectMemberId,
        fields: &[(&str, String)],
    ) -> Result<(), Error> {
        let mut invocation = self.set_existing.key(self.member_key(id));
        for (field, value) in fields {
            invocation.arg(*field).arg(value);
        }
        let written: i64 = invocation.invoke_async(&mut self.redis.clone()).await?;
        if written == 1 {
            Ok(())
        } else {
            Err(Error::MemberNotFound(id.to_string()))
        }
    }

    async fn replace_tokens(
        &self,
        member: &Member,
        field: TokenField,
        tokens: SealedTokens,
    ) -> Result<Replaced, Error> {
        let (tokens_field, revision_field, purpose) = field.names();
        let expected = match field {
            TokenField::OpenHumans => &member.open_humans_revision,
            TokenField::Google => &member.google_revision,
        };
        let sealed = self.seal_tokens(&member.id, purpose, tokens);
        let written: i64 = self
            .replace_tokens
            .key(self.member_key(&member.id))
            .arg(revision_field)
            .arg(expected)
            .arg(crate::random_token())
            .arg(tokens_field)
            .arg(sealed)
            .invoke_async(&mut self.redis.clone())
            .await?;
        match written {
            1 => Ok(Replaced::Written),
            0 => Ok(Replaced::Changed),
            _ => Err(Error::MemberNotFound(member.id.to_string())),
        }
    }

    fn member_key(&self, id: &ProjectMemberId) -> String {
        format!("{}member:{id}", self.prefix)
    }

    fn index_key(&self) -> String {
        format!("{}members", self.prefix)
    }

    fn erasures_key(&self) -> String {
        format!("{}staging_erasures", self.prefix)
    }

    fn seal_tokens(&self, id: &ProjectMemberId, purpose: Purpose, tokens: SealedTokens) -> String {
        let json = serde_json::to_vec(&tokens).expect("token JSON always serialises");
        self.cipher.seal(id.as_ref(), purpose, &json)
    }

    fn open_tokens(
        &self,
        id: &ProjectMemberId,
        purpose: Purpose,
        sealed: &str,
    ) -> Result<SealedTokens, Error> {
        let plain = self.cipher.open(id.as_ref(), purpose, sealed)?;
        serde_json::from_slice(plain.expose_secret())
            .map_err(|error| Error::Corrupt(format!("member {id} tokens: {error}")))
    }

    fn open_recent_days(&self, id: &ProjectMemberId, sealed: &str) -> Result<RecentDays, Error> {
        let plain = self.cipher.open(id.as_ref(), Purpose::RecentDays, sealed)?;
        serde_json::from_slice(plain.expose_secret())
            .map_err(|error| Error::Corrupt(format!("member {id} {FIELD_RECENT_DAYS}: {error}")))
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

impl From<&OpenHumansTokens> for SealedTokens {
    fn from(tokens: &OpenHumansTokens) -> Self {
        Self {
            access_token: tokens.access_token.expose_secret().to_owned(),
            refresh_token: tokens.refresh_token.expose_secret().to_owned(),
            expires_at: tokens.expires_at,
            refresh_expires_at: None,
        }
    }
}

impl From<&GoogleTokens> for SealedTokens {
    fn from(tokens: &GoogleTokens) -> Self {
        Self {
            access_token: tokens.access_token.expose_secret().to_owned(),
            refresh_token: tokens.refresh_token.expose_secret().to_owned(),
            expires_at: tokens.expires_at,
            refresh_expires_at: tokens.refresh_expires_at,
        }
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(
    id: &ProjectMemberId,
    field: &str,
    value: Option<&String>,
) -> Result<Option<T>, Error> {
    value
        .map(|json| {
            serde_json::from_str(json)
                .map_err(|error| Error::Corrupt(format!("member {id} {field}: {error}")))
        })
        .transpose()
}
