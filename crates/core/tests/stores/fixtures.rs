//! Values the tests share: members, their tokens and accounts, and a readable view of a member's
//! whole record to compare.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use jiff::{SignedDuration, Timestamp, civil::Date};
use oh_fitbit_core::{
    members::{
        Cursor, FitbitAccount, GoogleTokens, ImportPreferences, Member, OpenHumansTokens,
        OwnClient, SyncRecord,
    },
    recent::RecentDays,
    tier::{CursorKey, Period},
};
use open_humans::ProjectMemberId;
use secrecy::{ExposeSecret, SecretString};

pub(crate) const MAX_ATTEMPTS: u32 = 3;
pub(crate) const LEASE: Duration = Duration::from_secs(60);

pub(crate) fn id(text: &str) -> ProjectMemberId {
    text.parse().unwrap()
}

/// A time `seconds` from now, in whole seconds: it survives every store's precision
/// (milliseconds in Redis, microseconds in PostgreSQL) unchanged.
pub(crate) fn in_seconds(seconds: i64) -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second() + seconds).unwrap()
}

pub(crate) fn in_hours(hours: i64) -> Timestamp {
    in_seconds(SignedDuration::from_hours(hours).as_secs())
}

pub(crate) fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap()
}

pub(crate) fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

pub(crate) fn oh_tokens(access: &str) -> OpenHumansTokens {
    OpenHumansTokens {
        access_token: secret(access),
        refresh_token: secret(&format!("{access}-refresh")),
        expires_at: at(2_000_000_000),
    }
}

pub(crate) fn google_tokens(access: &str) -> GoogleTokens {
    GoogleTokens {
        access_token: secret(access),
        refresh_token: secret(&format!("{access}-refresh")),
        expires_at: at(2_000_000_000),
        refresh_expires_at: Some(at(2_000_600_000)),
    }
}

pub(crate) fn account() -> FitbitAccount {
    FitbitAccount {
        health_user_id: "7583570207748835967".into(),
        legacy_user_id: Some("A1B2C3".into()),
        time_zone: Some("America/New_York".into()),
        membership_start: Some(jiff::civil::date(2016, 3, 1)),
        granted_scopes: vec![
            "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly".into(),
        ],
        connected_at: at(1_800_000_000),
        via_own_client: false,
    }
}

/// A member's record with its secrets in the clear, to compare as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plain {
    pub id: ProjectMemberId,
    pub created_at: Timestamp,
    pub open_humans: PlainTokens,
    pub google: Option<PlainTokens>,
    pub fitbit: Option<FitbitAccount>,
    /// Client id and secret.
    pub own_client: Option<(String, String)>,
    pub expiry_announced: Option<Timestamp>,
    pub sync: SyncRecord,
    pub preferences: ImportPreferences,
    pub pending_periods: BTreeSet<Period>,
    pub recent_days: Option<RecentDays>,
    pub cursors: BTreeMap<CursorKey, Cursor>,
    pub staging_generation: Option<String>,
    pub repair_requested: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlainTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: Timestamp,
    pub refresh_expires_at: Option<Timestamp>,
}

impl From<&OpenHumansTokens> for PlainTokens {
    /// Open Humans' pair has no refresh expiry; otherwise it reads as Google's.
    fn from(tokens: &OpenHumansTokens) -> Self {
        Self::from(&GoogleTokens {
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
            expires_at: tokens.expires_at,
            refresh_expires_at: None,
        })
    }
}

impl From<&GoogleTokens> for PlainTokens {
    fn from(tokens: &GoogleTokens) -> Self {
        Self {
            access_token: tokens.access_token.expose_secret().to_owned(),
            refresh_token: tokens.refresh_token.expose_secret().to_owned(),
            expires_at: tokens.expires_at,
            refresh_expires_at: tokens.refresh_expires_at,
        }
    }
}

pub(crate) fn plain_client(client: &OwnClient) -> (String, String) {
    (
        client.client_id.clone(),
        client.client_secret.expose_secret().to_owned(),
    )
}

impl From<&Member> for Plain {
    fn from(member: &Member) -> Self {
        Self {
            id: member.id.clone(),
            created_at: member.created_at,
            open_humans: (&member.open_humans).into(),
            google: member.google_tokens.as_ref().map(Into::into),
            fitbit: member.fitbit.clone(),
            own_client: member.own_client.as_ref().map(plain_client),
            expiry_announced: member.expiry_announced,
            sync: member.sync.clone(),
            preferences: member.preferences.clone(),
            pending_periods: member.pending_periods.clone(),
            recent_days: member.recent_days.clone(),
            cursors: member.cursors.clone(),
            staging_generation: member.staging_generation.clone(),
            repair_requested: member.repair_requested,
        }
    }
}

/// Thirty days of figures ending with `through`, the last day filled in.
pub(crate) fn recent_days(through: Date, steps: u64) -> RecentDays {
    let mut recent = RecentDays::ending(through);
    let last = recent.days.last_mut().unwrap();
    last.steps = Some(steps);
    last.resting_heart_rate = Some(58);
    last.sleep_minutes = Some(392);
    recent
}
