use std::sync::Arc;

use jiff::{Timestamp, civil::date};
use oh_fitbit_core::{
    Error,
    crypto::TokenCipher,
    members::{FitbitAccount, GoogleTokens, MemberStore, OpenHumansTokens, Replaced, SyncRecord},
    recent::RecentDays,
};
use open_humans::ProjectMemberId;
use secrecy::{ExposeSecret, SecretString};

use crate::TestRedis;

fn store(redis: &TestRedis) -> MemberStore {
    MemberStore::new(
        redis.connection.clone(),
        Arc::new(TokenCipher::random()),
        "test:",
    )
}

fn id(text: &str) -> ProjectMemberId {
    text.parse().unwrap()
}

fn oh_tokens(access: &str) -> OpenHumansTokens {
    OpenHumansTokens {
        access_token: SecretString::from(access.to_owned()),
        refresh_token: SecretString::from(format!("{access}-refresh")),
        expires_at: Timestamp::from_second(2_000_000_000).unwrap(),
    }
}

fn google_tokens(access: &str) -> GoogleTokens {
    GoogleTokens {
        access_token: SecretString::from(access.to_owned()),
        refresh_token: SecretString::from(format!("{access}-refresh")),
        expires_at: Timestamp::from_second(2_000_000_000).unwrap(),
        refresh_expires_at: Some(Timestamp::from_second(2_000_600_000).unwrap()),
    }
}

#[tokio::test]
async fn a_member_round_trips_and_tokens_are_not_readable_in_redis() {
    let redis = TestRedis::start().await;
    let store = store(&redis);
    let member = id("12345678");
    store
        .save_open_humans_link(&member, &oh_tokens("oh-access-SECRET"))
        .await
        .unwrap();
    let account = FitbitAccount {
        health_user_id: "7583570207748835967".into(),
        legacy_user_id: Some("A1B2C3".into()),
        time_zone: Some("America/New_York".into()),
        membership_start: Some(date(2016, 3, 1)),
        granted_scopes: vec![
            "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly".into(),
        ],
        connected_at: Timestamp::from_second(1_800_000_000).unwrap(),
        via_own_client: false,
    };
    store
        .connect_fitbit(&member, &account, &google_tokens("ya29.google-SECRET"))
        .await
        .unwrap();

    assert!(store.has_fitbit(&member).await.unwrap());
    assert!(!store.has_fitbit(&id("87654321")).await.unwrap());
    let loaded = store.load(&member).await.unwrap().expect("member exists");
    assert_eq!(
        loaded.open_humans.access_token.expose_secret(),
        "oh-access-SECRET"
    );
    assert_eq!(
        loaded.open_humans.refresh_token.expose_secret(),
        "oh-access-SECRET-refresh"
    );
    assert_eq!(loaded.fitbit.as_ref(), Some(&account));
    let google = loaded.google_tokens.expect("google tokens");
    assert_eq!(google.access_token.expose_secret(), "ya29.google-SECRET");
    assert_eq!(
        google.refresh_expires_at,
        Some(Timestamp::from_second(2_000_600_000).unwrap())
    );

    let dump = format!(
        "{:?}",
        redis.raw(&["HGETALL", "test:member:12345678"]).await
    );
    assert!(
        !dump.contains("SECRET"),
        "a token is readable in Redis: {dump}"
    );
    assert!(
        dump.contains("A1B2C3"),
        "the dump should hold the account fields"
    );
}

#[tokio::test]
async fn a_second_sign_in_keeps_the_creation_time_and_replaces_tokens() {
    let redis = TestRedis::start().await;
    let store = store(&redis);
    let member = id("12345678");
    store
        .save_open_humans_link(&member, &oh_tokens("first"))
        .await
        .unwrap();
    let created = store.load(&member).await.unwrap().unwrap().created_at;
    store
        .save_open_humans_link(&member, &oh_tokens("second"))
        .await
        .unwrap();
    let loaded = store.load(&member).await.unwrap().unwrap();
    assert_eq!(loaded.created_at, created);
    assert_eq!(loaded.open_humans.access_token.expose_secret(), "second");
    assert_eq!(store.member_ids().await.unwrap(), vec![member]);
}

#[tokio::test]
async fn writes_to_a_missing_member_do_not_create_it() {
    let redis = TestRedis::start().await;
    let store = store(&redis);
    let ghost = id("87654321");
    assert!(matches!(
        store.save_sync(&ghost, &SyncRecord::default()).await,
        Err(Error::MemberNotFound(_))
    ));
    let account = FitbitAccount {
        health_user_id: "1".into(),
        legacy_user_id: None,
        time_zone: None,
        membership_start: None,
        granted_scopes: vec![],
        connected_at: Timestamp::now(),
        via_own_client: false,
    };
    assert!(matches!(
        store
            .connect_fitbit(&ghost, &account, &google_tokens("x"))
            .await,
        Err(Error::MemberNotFound(_))
    ));
    assert!(store.load(&ghost).await.unwrap().is_none());
}

#[tokio::test]
async fn tokens_sealed_for_one_member_do_not_open_for_another() {
    let redis = TestRedis::start().await;
    let store = store(&redis);
    store
        .save_open_humans_link(&id("11111111"), &oh_tokens("a"))
        .await
        .unwrap();
    store
        .save_open_humans_link(&id("22222222"), &oh_tokens("b"))
        .await
        .unwrap();
    let redis::Value::BulkString(sealed) = redis
        .raw(&["HGET", "test:member:11111111", "open_humans_tokens"])
        .await
    else {
        panic!("sealed tokens are a string")
    };
    let sealed = String::from_utf8(sealed).unwrap();
    redis
        .raw(&[
            "HSET",
            "test:member:22222222",
            "open_humans_tokens",
            &sealed,
        ])
        .await;
    assert!(matches!(
        store.load(&id("22222222")).await,
        Err(Error::Crypto(_))
    ));
}

#[tokio::test]
async fn sync_records_round_trip() {
    let redis = TestRedis::start().await;
    let store = store(&redis);
    let member = id("12345678");
    store
        .save_open_humans_link(&member, &oh_tokens("a"))
        .await
        .unwrap();
    let record = SyncRecord {
        last_success_at: Some(Timestamp::from_second(1_800_000_000).unwrap()),
        first_day: Some(date(2016, 3, 1)),
        last_day: Some(date(2026, 11, 20)),
        requests: 44,
    };
    store.save_sync(&member, &record).await.unwrap();
    assert_eq!(store.load(&member).await.unwrap().unwrap().sync, record);
}

fn account() -> FitbitAccount {
    FitbitAccount {
        health_user_id: "7583570207748835967".into(),
        legacy_user_id: None,
        time_zone: None,
        membership_start: None,
        granted_scopes: vec![],
        connected_at: Timestamp::now(),
        via_own_client: false,
    }
}

#[tokio::test]
async fn a_refresh_result_is_not_stored_over_a_reconnect() {
    let redis = TestRedis::start().await;
    let store = store(&redis);
    let member = id("12345678");
    store
        .save_open_humans_link(&member, &oh_tokens("oh"))
        .await
        .unwrap();
    store
        .connect_fitbit(&member, &account(), &google_tokens("first-grant"))
        .await
        .unwrap();
    let read_before_refresh = store.load(&member).await.unwrap().unwrap();
    // The member reconnects while a worker is refreshing the first grant's token.
    store
        .connect_fitbit(&member, &account(), &google_tokens("second-grant"))
        .await
        .unwrap();
    let outcome = store
        .replace_google_tokens(
            &read_before_refresh,
            &google_tokens("refreshed-first-grant"),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Replaced::Changed);
    let stored = store.load(&member).await.unwrap().unwrap();
    assert_eq!(
        stored
            .google_tokens
            .as_ref()
            .unwrap()
            .access_token
            .expose_secret(),
        "second-grant"
    );

    let outcome = store
        .replace_google_tokens(&stored, &google_tokens("refreshed-second-grant"))
        .await
        .unwrap();
    assert_eq!(outcome, Replaced::Written);
    let stored = store.load(&member).await.unwrap().unwrap();
    assert_eq!(
        stored.google_tokens.unwrap().access_token.expose_secret(),
        "refreshed-second-grant"
    );
    let outcome = store
        .replace_open_humans_tokens(&read_before_refresh, &oh_tokens("refreshed-oh"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Replaced::Written,
        "the Open Humans tokens did not change meanwhile"
    );
}

#[tokio::test]
async fn an_own_client_is_sealed_and_goes_with_a_disconnect() {
    let redis = TestRedis::start().await;
    let store = store(&redis);
    let member = id("33333333");
    store
        .save_open_humans_link(&member, &oh_tokens("a"))
        .await
        .unwrap();
    let secret = "GOCSPX-member-own-secret-0123456789";
    let client = oh_fitbit_core::members::OwnClient {
        client_id: "123456789012-abc.apps.googleusercontent.com".into(),
        client_secret: secret.to_owned().into(),
    };
    store.save_own_client(&member, &client).await.unwrap();
    let sealed = stored_field(&redis, "33333333", "own_client").await;
    assert!(!sealed.contains(secret) && !sealed.contains("apps.googleusercontent"));
    let loaded = store
        .load(&member)
        .await
        .unwrap()
        .unwrap()
        .own_client
        .unwrap();
    assert_eq!(loaded.client_id, client.client_id);
    assert_eq!(loaded.client_secret.expose_secret(), secret);

    store.disconnect_fitbit(&member).await.unwrap();
    assert!(
        store
            .load(&member)
            .await
            .unwrap()
            .unwrap()
            .own_client
            .is_none()
    );
}

/// A member's field as Redis holds it.
async fn stored_field(redis: &TestRedis, member: &str, field: &str) -> String {
    let key = format!("test:member:{member}");
    let redis::Value::BulkString(stored) = redis.raw(&["HGET", &key, field]).await else {
        panic!("{field} is stored");
    };
    String::from_utf8(stored).unwrap()
}

#[tokio::test]
async fn the_recent_days_summary_is_sealed_and_goes_with_a_disconnect() {
    let redis = TestRedis::start().await;
    let store = store(&redis);
    let member = id("44444444");
    store
        .save_open_humans_link(&member, &oh_tokens("a"))
        .await
        .unwrap();
    let mut recent = RecentDays::ending(date(2026, 11, 21));
    recent.days[29].steps = Some(8412);
    recent.days[29].sleep_minutes = Some(392);
    store.save_recent_days(&member, &recent).await.unwrap();
    let sealed = stored_field(&redis, "44444444", "recent_days").await;
    assert!(!sealed.contains("8412") && !sealed.contains("steps"));
    let loaded = store.load(&member).await.unwrap().unwrap();
    assert_eq!(loaded.recent_days.as_ref(), Some(&recent));

    store.disconnect_fitbit(&member).await.unwrap();
    let disconnected = store.load(&member).await.unwrap().unwrap();
    assert!(disconnected.recent_days.is_none());
}
