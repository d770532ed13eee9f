//! `copy_from_redis` (`oh-fitbit migrate-from-redis`): members in the Redis format of the
//! versions before the database, written here field by field as those versions wrote them,
//! come out of the member store exactly as they went in, their jobs with them; a second run
//! changes nothing, and what the database learned meanwhile wins.

use std::collections::{BTreeMap, BTreeSet};

use google_health::Scope;
use jiff::{Timestamp, civil::date};
use oh_fitbit_core::{
    crypto::Purpose,
    dialect::DialectStore,
    legacy::{Copied, copy_from_redis},
    members::{
        Cursor, Erasure, FitbitAccount, GoogleTokens, ImportPreferences, IntradayResolution,
        OpenHumansTokens, OwnClient, SyncRecord,
    },
    queue::JobStatus,
    recent::RecentDays,
    tier::{CursorKey, Period, Tier},
};
use open_humans::ProjectMemberId;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::{
    JobRow, Loss, Stores,
    fixtures::{
        Plain, account, at, google_tokens, id, in_hours, oh_tokens, plain_client, recent_days,
        secret,
    },
};

/// A member as the Redis member store kept them.
struct LegacyMember {
    id: ProjectMemberId,
    created_at: Timestamp,
    open_humans: OpenHumansTokens,
    google: Option<GoogleTokens>,
    fitbit: Option<FitbitAccount>,
    own_client: Option<OwnClient>,
    expiry_announced: Option<Timestamp>,
    sync: Option<SyncRecord>,
    preferences: Option<ImportPreferences>,
    pending: BTreeSet<Period>,
    recent_days: Option<RecentDays>,
    cursors: BTreeMap<CursorKey, Cursor>,
    job: LegacyJob,
}

/// The member's job hash, and where the queue held it.
enum LegacyJob {
    Scheduled {
        run_at: Timestamp,
    },
    Dead {
        attempts: u32,
        message: &'static str,
    },
}

fn tokens_json(
    access: &secrecy::SecretString,
    refresh: &secrecy::SecretString,
    expires_at: Timestamp,
    refresh_expires_at: Option<Timestamp>,
) -> Vec<u8> {
    let mut tokens = json!({
        "access_token": access.expose_secret(),
        "refresh_token": refresh.expose_secret(),
        "expires_at": expires_at,
    });
    if let Some(at) = refresh_expires_at {
        tokens["refresh_expires_at"] = json!(at);
    }
    tokens.to_string().into_bytes()
}

fn cursor_json(cursor: &Cursor) -> Value {
    let mut json = json!({
        "newest": cursor.newest,
        "oldest": cursor.oldest,
        "complete": cursor.complete,
    });
    if let Some(resolution) = cursor.resolution {
        json["resolution"] = json!(resolution);
    }
    json
}

impl LegacyMember {
    /// The fields of `{prefix}member:{id}`.
    fn fields(&self, stores: &Stores) -> Vec<(String, String)> {
        let seal =
            |purpose, plaintext: &[u8]| stores.cipher.seal(self.id.as_str(), purpose, plaintext);
        let oh = &self.open_humans;
        let mut fields = vec![
            (
                "created_at".to_owned(),
                self.created_at.as_millisecond().to_string(),
            ),
            (
                "open_humans_tokens".to_owned(),
                seal(
                    Purpose::OpenHumansTokens,
                    &tokens_json(&oh.access_token, &oh.refresh_token, oh.expires_at, None),
                ),
            ),
            (
                "open_humans_tokens_rev".to_owned(),
                oh_fitbit_core::random_token(),
            ),
        ];
        if let Some(google) = &self.google {
            let json = tokens_json(
                &google.access_token,
                &google.refresh_token,
                google.expires_at,
                google.refresh_expires_at,
            );
            fields.push(("google_tokens".into(), seal(Purpose::GoogleTokens, &json)));
            fields.push(("google_tokens_rev".into(), oh_fitbit_core::random_token()));
        }
        if let Some(account) = &self.fitbit {
            let json = json!({
                "health_user_id": account.health_user_id,
                "legacy_user_id": account.legacy_user_id,
                "time_zone": account.time_zone,
                "membership_start": account.membership_start,
                "granted_scopes": account.granted_scopes,
                "connected_at": account.connected_at,
                "via_own_client": account.via_own_client,
            });
            fields.push(("fitbit".into(), json.to_string()));
        }
        if let Some(client) = &self.own_client {
            let json = json!({
                "client_id": client.client_id,
                "client_secret": client.client_secret.expose_secret(),
            });
            let sealed = seal(Purpose::GoogleClientSecret, json.to_string().as_bytes());
            fields.push(("own_client".into(), sealed));
        }
        if let Some(ends) = self.expiry_announced {
            fields.push(("expiry_announced".into(), json!(ends).to_string()));
        }
        if let Some(sync) = &self.sync {
            let json = json!({
                "last_success_at": sync.last_success_at,
                "first_day": sync.first_day,
                "last_day": sync.last_day,
                "requests": sync.requests,
            });
            fields.push(("sync".into(), json.to_string()));
        }
        if let Some(preferences) = &self.preferences {
            let left_out: Vec<&str> = preferences.left_out.iter().map(|s| s.url()).collect();
            let json = json!({
                "intraday": preferences.intraday,
                "earliest_date": preferences.earliest_date,
                "left_out": left_out,
            });
            fields.push(("preferences".into(), json.to_string()));
        }
        if !self.pending.is_empty() {
            let labels: Vec<String> = self
                .pending
                .iter()
                .map(|period| format!("{}:{}", period.tier.name(), period.label()))
                .collect();
            fields.push(("pending_periods".into(), json!(labels).to_string()));
        }
        if let Some(recent) = &self.recent_days {
            let json = serde_json::to_vec(recent).unwrap();
            fields.push(("recent_days".into(), seal(Purpose::RecentDays, &json)));
        }
        for (key, cursor) in &self.cursors {
            let field = format!("cursor:{}:{}", key.tier.name(), key.data_type);
            fields.push((field, cursor_json(cursor).to_string()));
        }
        fields
    }

    /// Writes the member, their index entry and their job as the old version did.
    async fn write(&self, stores: &Stores) {
        let redis = &stores.redis;
        let member = self.id.as_str();
        hset(
            stores,
            &format!("test:member:{member}"),
            &self.fields(stores),
        )
        .await;
        redis.raw(&["SADD", "test:members", member]).await;
        let (job, set, score) = match self.job {
            LegacyJob::Scheduled { run_at } => {
                let ms = run_at.as_millisecond().to_string();
                let job = [
                    ("state", "scheduled".to_owned()),
                    ("run_at", ms.clone()),
                    ("attempts", "0".into()),
                ];
                (job.to_vec(), "test:queue:scheduled", ms)
            }
            LegacyJob::Dead { attempts, message } => {
                let ms = Timestamp::now().as_millisecond().to_string();
                let job = [
                    ("state", "dead".to_owned()),
                    ("attempts", attempts.to_string()),
                    ("last_outcome", "retry".into()),
                    ("message", message.into()),
                    ("finished_at", ms.clone()),
                ];
                (job.to_vec(), "test:queue:dead", ms)
            }
        };
        let job: Vec<(String, String)> = job.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        hset(stores, &format!("test:job:{member}"), &job).await;
        redis.raw(&["ZADD", set, &score, member]).await;
    }

    /// The member as the member store must load them.
    fn expected(&self) -> Plain {
        Plain {
            id: self.id.clone(),
            created_at: self.created_at,
            open_humans: (&self.open_humans).into(),
            google: self.google.as_ref().map(Into::into),
            fitbit: self.fitbit.clone(),
            own_client: self.own_client.as_ref().map(plain_client),
            expiry_announced: self.expiry_announced,
            sync: self.sync.clone().unwrap_or_default(),
            preferences: self.preferences.clone().unwrap_or_default(),
            pending_periods: self.pending.clone(),
            recent_days: self.recent_days.clone(),
            cursors: self.cursors.clone(),
            staging_generation: None,
            repair_requested: false,
        }
    }

    /// The member's row in `sync_jobs` after the copy.
    fn expected_job(&self) -> JobRow {
        match self.job {
            LegacyJob::Scheduled { run_at } => JobRow {
                state: "waiting".into(),
                run_at: Some(run_at),
                attempts: 0,
                message: None,
                leased: false,
            },
            LegacyJob::Dead { attempts, message } => JobRow {
                state: "dead".into(),
                run_at: None,
                attempts: attempts as i32,
                message: Some(message.into()),
                leased: false,
            },
        }
    }
}

async fn hset(stores: &Stores, key: &str, fields: &[(String, String)]) {
    let mut args = vec!["HSET", key];
    for (field, value) in fields {
        args.extend([field.as_str(), value.as_str()]);
    }
    stores.redis.raw(&args).await;
}

/// A member who used everything the old store kept.
fn everything(scheduled_at: Timestamp) -> LegacyMember {
    let day = |year, month, day| Some(date(year, month, day));
    LegacyMember {
        id: id("12345678"),
        created_at: Timestamp::from_millisecond(1_700_000_000_123).unwrap(),
        open_humans: oh_tokens("legacy-oh-SECRET"),
        google: Some(google_tokens("legacy-google-SECRET")),
        fitbit: Some(FitbitAccount {
            via_own_client: true,
            ..account()
        }),
        own_client: Some(OwnClient {
            client_id: "123456789012-abc.apps.googleusercontent.com".into(),
            client_secret: secret("GOCSPX-legacy-SECRET"),
        }),
        expiry_announced: Some(at(1_900_000_000)),
        sync: Some(SyncRecord {
            last_success_at: Some(at(1_800_000_000)),
            first_day: day(2016, 3, 1),
            last_day: day(2026, 11, 20),
            requests: 44,
        }),
        preferences: Some(ImportPreferences {
            intraday: Some(IntradayResolution::FiveMinutes),
            earliest_date: day(2018, 1, 1),
            left_out: BTreeSet::from([Scope::Location, Scope::Nutrition]),
        }),
        pending: BTreeSet::from([
            Period::containing(Tier::Standard, date(2016, 7, 9)),
            Period::containing(Tier::Intraday, date(2016, 3, 5)),
        ]),
        recent_days: Some(recent_days(date(2026, 11, 21), 8412)),
        cursors: BTreeMap::from([
            (
                CursorKey::new(Tier::Standard, "steps"),
                Cursor {
                    newest: day(2026, 11, 20),
                    oldest: day(2016, 3, 1),
                    complete: true,
                    resolution: None,
                },
            ),
            (
                CursorKey::new(Tier::Intraday, "heart-rate"),
                Cursor {
                    newest: day(2026, 11, 20),
                    oldest: day(2025, 6, 1),
                    complete: false,
                    resolution: Some(IntradayResolution::FiveMinutes),
                },
            ),
        ]),
        job: LegacyJob::Scheduled {
            run_at: scheduled_at,
        },
    }
}

/// A member who signed in and never connected Fitbit, whose job died.
fn signed_in_only() -> LegacyMember {
    LegacyMember {
        id: id("8765432109876543"),
        created_at: Timestamp::from_millisecond(1_750_000_000_456).unwrap(),
        open_humans: oh_tokens("legacy-lonely-SECRET"),
        google: None,
        fitbit: None,
        own_client: None,
        expiry_announced: None,
        sync: None,
        preferences: None,
        pending: BTreeSet::new(),
        recent_days: None,
        cursors: BTreeMap::new(),
        job: LegacyJob::Dead {
            attempts: 3,
            message: "boom 3",
        },
    }
}

/// Who left asking for their files to be deleted too; what the old dialect store learned.
const ERASURE: (&str, &str) = ("11112222", "staging+open_humans");
const DIALECT: (&str, &str) = ("daily_filter_prefix:daily-vo2-max", "camel");

/// Copies, and checks that the database holds exactly `expected` and the jobs of `legacy`.
async fn copy_and_check(stores: &Stores, legacy: &[LegacyMember], expected: &[Plain]) -> Copied {
    let copied = copy_from_redis(&stores.redis.redis, &stores.database.db, &stores.cipher)
        .await
        .expect("the copy succeeds");
    let members = &stores.members;
    let ids: Vec<ProjectMemberId> = legacy.iter().map(|m| m.id.clone()).collect();
    assert_eq!(members.member_ids().await.unwrap(), ids);
    for (member, expected) in legacy.iter().zip(expected) {
        let loaded = members.load(&member.id).await.unwrap().expect("copied");
        assert_eq!(&Plain::from(&loaded), expected);
        assert_eq!(
            stores.database.job(&member.id).await,
            Some(member.expected_job())
        );
    }
    let departed = members.erasure_requested(&id(ERASURE.0)).await.unwrap();
    assert_eq!(
        departed.map(|r| r.erasure),
        Some(Erasure::AlsoOpenHumansFiles)
    );
    let dialect = DialectStore::new(stores.database.db.clone())
        .load()
        .await
        .unwrap();
    assert!(
        dialect.is_empty(),
        "old guesses are not copied: {dialect:?}"
    );
    let sealed = stores.database.texts("SELECT sealed FROM tokens").await;
    assert_eq!(sealed.len(), 3, "two Open Humans pairs and one Google pair");
    assert!(
        sealed.iter().all(|row| !row.contains("SECRET")),
        "{sealed:?}"
    );
    let secrets = stores.database.dump("own_clients").await;
    assert!(!secrets.contains("SECRET"), "{secrets}");
    copied
}

async fn kept_status(
    stores: &Stores,
    member: &LegacyMember,
) -> (Option<String>, Option<Timestamp>, u32) {
    let JobStatus {
        state,
        run_at,
        attempts,
        ..
    } = stores.queue.status(&member.id).await.unwrap();
    (state, run_at, attempts)
}

#[tokio::test]
async fn members_in_the_redis_format_are_copied_into_the_database_once() {
    let mut stores = Stores::start().await;
    let legacy = [everything(in_hours(5)), signed_in_only()];
    for member in &legacy {
        member.write(&stores).await;
    }
    let redis = &stores.redis;
    redis
        .raw(&["HSET", "test:staging_erasures", ERASURE.0, ERASURE.1])
        .await;
    redis
        .raw(&["HSET", "test:google-dialect", DIALECT.0, DIALECT.1])
        .await;

    // A record the copy cannot read stays in Redis, and the others are copied all the same.
    let unreadable = "55556666";
    let unreadable_key = format!("test:member:{unreadable}");
    redis
        .raw(&["HSET", &unreadable_key, "open_humans_tokens", "not sealed"])
        .await;
    redis.raw(&["SADD", "test:members", unreadable]).await;

    // One member signed in again on the new version before the copy was run: the database's
    // newer tokens are kept, and the rest of the member's record is copied beside them.
    stores.sign_in(&legacy[0].id, "database-newer").await;
    let mut expected: Vec<Plain> = legacy.iter().map(LegacyMember::expected).collect();
    expected[0].open_humans = (&oh_tokens("database-newer")).into();

    let first = copy_and_check(&stores, &legacy, &expected).await;
    let unreadable_ids = |copied: &Copied| -> Vec<String> {
        copied
            .unreadable
            .iter()
            .map(|(member, _)| member.to_string())
            .collect()
    };
    assert_eq!(unreadable_ids(&first), [unreadable]);
    assert_eq!(
        (
            first.members,
            first.new_members,
            first.erasures,
            first.dialect_entries_dropped
        ),
        (3, 1, 1, 1)
    );

    // What was copied is gone from Redis, so a second run copies nothing again.
    let second = copy_and_check(&stores, &legacy, &expected).await;
    assert_eq!(unreadable_ids(&second), [unreadable]);
    assert_eq!(
        (
            second.members,
            second.new_members,
            second.erasures,
            second.dialect_entries_dropped
        ),
        (1, 0, 0, 0)
    );
    assert_eq!(
        redis.raw(&["SMEMBERS", "test:members"]).await,
        redis::Value::Array(vec![redis::Value::BulkString(unreadable.into())])
    );
    assert_eq!(
        redis.raw(&["EXISTS", &unreadable_key]).await,
        redis::Value::Int(1)
    );

    // The jobs copied are what a Redis that lost everything is rebuilt from.
    stores.redis.lose_everything(Loss::Flushed).await;
    let repaired = stores.queue.repair(&[]).await.unwrap();
    assert_eq!((repaired.rebuilt, repaired.restored), (true, 2));
    let LegacyJob::Scheduled { run_at } = legacy[0].job else {
        unreachable!()
    };
    assert_eq!(
        kept_status(&stores, &legacy[0]).await,
        (Some("scheduled".into()), Some(run_at), 0)
    );
    assert_eq!(
        kept_status(&stores, &legacy[1]).await,
        (Some("dead".into()), None, 3)
    );
}
