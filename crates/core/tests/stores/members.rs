//! The member store in PostgreSQL: records round-trip, secrets are sealed in every row that
//! holds one, and a refresh never overwrites what a reconnect stored.

use std::collections::BTreeSet;

use google_health::{ClientCredentials, GoogleOAuth, OAuthEndpoints, Scope};
use jiff::civil::date;
use oh_fitbit_core::{
    Error, clients,
    members::{Cursor, ImportPreferences, IntradayResolution, MemberStore, OwnClient, SyncRecord},
    tier::{CursorKey, Tier},
    tokens::TokenKeeper,
};
use secrecy::ExposeSecret;
use url::Url;

use crate::{
    Stores,
    fixtures::{LEASE, Plain, account, at, google_tokens, id, oh_tokens, recent_days, secret},
    free_port,
};

/// Fails if any of `secrets` is readable in a row of a table that holds secrets.
async fn assert_sealed(stores: &Stores, secrets: &[&str]) {
    for table in ["members", "tokens", "own_clients", "erasure_requests"] {
        let dump = stores.database.dump(table).await;
        for secret in secrets {
            assert!(
                !dump.contains(secret),
                "{secret:?} is readable in {table}: {dump}"
            );
        }
    }
}

#[tokio::test]
async fn a_member_round_trips_and_no_row_holds_a_token_in_the_clear() {
    let stores = Stores::start().await;
    let store = &stores.members;
    let member = id("12345678");
    stores.sign_in(&member, "oh-access-SECRET").await;
    stores.connect_fitbit(&member, "ya29.google-SECRET").await;

    assert!(store.has_fitbit(&member).await.unwrap());
    assert!(!store.has_fitbit(&id("87654321")).await.unwrap());
    let loaded = Plain::from(&store.load(&member).await.unwrap().expect("member exists"));
    assert_eq!(loaded.open_humans, (&oh_tokens("oh-access-SECRET")).into());
    assert_eq!(
        loaded.google,
        Some((&google_tokens("ya29.google-SECRET")).into())
    );
    assert_eq!(loaded.fitbit, Some(account()));

    let sealed = stores.database.texts("SELECT sealed FROM tokens").await;
    assert_eq!(sealed.len(), 2, "one row per provider");
    for row in &sealed {
        assert!(row.starts_with("v1."), "not sealed: {row}");
        assert!(!row.contains("SECRET") && !row.contains("refresh"), "{row}");
    }
    assert_sealed(&stores, &["SECRET"]).await;
    assert!(
        stores
            .database
            .dump("fitbit_accounts")
            .await
            .contains("A1B2C3"),
        "the account's fields are stored as they are"
    );
}

#[tokio::test]
async fn a_second_sign_in_keeps_the_creation_time_and_replaces_tokens() {
    let stores = Stores::start().await;
    let store = &stores.members;
    let member = id("12345678");
    stores.sign_in(&member, "first").await;
    let created = store.load(&member).await.unwrap().unwrap().created_at;
    stores.sign_in(&member, "second").await;
    let loaded = store.load(&member).await.unwrap().unwrap();
    assert_eq!(loaded.created_at, created);
    assert_eq!(loaded.open_humans.access_token.expose_secret(), "second");
    assert_eq!(store.member_ids().await.unwrap(), vec![member]);
    assert_eq!(
        stores
            .database
            .texts("SELECT revision::text FROM tokens")
            .await,
        ["2"],
        "each write of the tokens is a new revision"
    );
}

#[tokio::test]
async fn writes_to_a_missing_member_do_not_create_it() {
    let stores = Stores::start().await;
    let store = &stores.members;
    let ghost = id("87654321");
    // A job outlives its member (it runs once more to erase), so its run holds a fence.
    let lease = stores.lease(&ghost, LEASE).await;
    let fence = lease.fence();
    let missing = |result: Result<(), Error>, what: &str| {
        assert!(
            matches!(result, Err(Error::MemberNotFound(_))),
            "{what}: {result:?}"
        );
    };
    missing(
        store.save_sync(fence, &SyncRecord::default()).await,
        "save_sync",
    );
    missing(
        store
            .save_cursor(
                fence,
                &CursorKey::new(Tier::Standard, "steps"),
                &Cursor::default(),
            )
            .await,
        "save_cursor",
    );
    missing(
        store
            .connect_fitbit(&ghost, &account(), &google_tokens("x"), None)
            .await,
        "connect_fitbit",
    );
    missing(
        store
            .save_preferences(&ghost, &ImportPreferences::default())
            .await,
        "save_preferences",
    );
    let client = OwnClient {
        client_id: "id".into(),
        client_secret: secret("s"),
    };
    missing(
        store.save_own_client(&ghost, &client).await,
        "save_own_client",
    );
    assert!(store.load(&ghost).await.unwrap().is_none());
    assert!(store.member_ids().await.unwrap().is_empty());
}

#[tokio::test]
async fn tokens_sealed_for_one_member_do_not_open_for_another() {
    let stores = Stores::start().await;
    stores.sign_in(&id("11111111"), "a").await;
    stores.sign_in(&id("22222222"), "b").await;
    let copied = stores
        .database
        .execute(
            "UPDATE tokens SET sealed = (SELECT sealed FROM tokens WHERE member_id = $1) \
             WHERE member_id = '22222222'",
            &id("11111111"),
        )
        .await;
    assert_eq!(copied, 1);
    assert!(matches!(
        stores.members.load(&id("22222222")).await,
        Err(Error::Crypto(_))
    ));
}

#[tokio::test]
async fn sync_records_and_preferences_round_trip() {
    let stores = Stores::start().await;
    let store = &stores.members;
    let member = id("12345678");
    stores.sign_in(&member, "a").await;
    let record = SyncRecord {
        last_success_at: Some(at(1_800_000_000)),
        first_day: Some(date(2016, 3, 1)),
        last_day: Some(date(2026, 11, 20)),
        requests: 44,
    };
    let lease = stores.lease(&member, LEASE).await;
    store.save_sync(lease.fence(), &record).await.unwrap();
    let preferences = ImportPreferences {
        intraday: Some(IntradayResolution::FifteenMinutes),
        earliest_date: Some(date(2020, 1, 1)),
        left_out: BTreeSet::from([Scope::Location, Scope::Nutrition]),
    };
    store.save_preferences(&member, &preferences).await.unwrap();
    let loaded = store.load(&member).await.unwrap().unwrap();
    assert_eq!(loaded.sync, record);
    assert_eq!(loaded.preferences, preferences);
}

/// A token keeper whose Open Humans and Google are nowhere: a refresh it attempted would fail.
fn keeper_without_providers(members: &MemberStore) -> TokenKeeper {
    let nowhere = Url::parse(&format!("http://127.0.0.1:{}/", free_port())).unwrap();
    let open_humans = open_humans::OpenHumans::new(
        open_humans::Config {
            base_url: nowhere.clone(),
            client_id: "project".into(),
            client_secret: secret("project-secret"),
            redirect_uri: nowhere.join("openhumans/callback").unwrap(),
        },
        clients::http_client(),
    );
    let endpoints = OAuthEndpoints {
        authorize: nowhere.join("authorize").unwrap(),
        token: nowhere.join("token").unwrap(),
        revoke: nowhere.join("revoke").unwrap(),
    };
    TokenKeeper::new(
        members.clone(),
        open_humans,
        GoogleOAuth::new(endpoints, clients::http_client()),
        ClientCredentials {
            client_id: "client".into(),
            client_secret: secret("client-secret"),
        },
    )
}

#[tokio::test]
async fn a_refresh_is_not_stored_over_a_reconnect() {
    let stores = Stores::start().await;
    let store = &stores.members;
    let member = id("12345678");
    stores.sign_in(&member, "first-oh").await;
    stores.connect_fitbit(&member, "first-grant").await;
    let read_before_reconnect = store.load(&member).await.unwrap().unwrap();
    // The member reconnects both accounts while a worker holds the old copy, which then asks
    // for a refresh: the refresh finds the new, fresh grant under its lock and keeps it.
    stores.sign_in(&member, "second-oh").await;
    stores.connect_fitbit(&member, "second-grant").await;
    let keeper = keeper_without_providers(store);
    let mut worker_copy = read_before_reconnect.clone();
    let google = keeper
        .google_access_token(&mut worker_copy, true)
        .await
        .expect("no refresh is attempted");
    assert_eq!(google.expose_secret(), "second-grant");
    let mut worker_copy = read_before_reconnect;
    let open_humans = keeper
        .open_humans_access_token(&mut worker_copy, true)
        .await
        .expect("no refresh is attempted");
    assert_eq!(open_humans.expose_secret(), "second-oh");
    assert_eq!(
        worker_copy
            .google_tokens
            .unwrap()
            .access_token
            .expose_secret(),
        "second-grant",
        "the worker's copy is the stored record now"
    );
    let stored = Plain::from(&store.load(&member).await.unwrap().unwrap());
    assert_eq!(stored.open_humans, (&oh_tokens("second-oh")).into());
    assert_eq!(stored.google, Some((&google_tokens("second-grant")).into()));
}

#[tokio::test]
async fn an_own_client_is_sealed_and_goes_with_a_disconnect() {
    let stores = Stores::start().await;
    let store = &stores.members;
    let member = id("33333333");
    stores.sign_in(&member, "a").await;
    let secret_text = "GOCSPX-member-own-secret-0123456789";
    let client = OwnClient {
        client_id: "123456789012-abc.apps.googleusercontent.com".into(),
        client_secret: secret(secret_text),
    };
    store.save_own_client(&member, &client).await.unwrap();
    assert_sealed(&stores, &[secret_text]).await;
    let loaded = store
        .load(&member)
        .await
        .unwrap()
        .unwrap()
        .own_client
        .unwrap();
    assert_eq!(loaded.client_id, client.client_id);
    assert_eq!(loaded.client_secret.expose_secret(), secret_text);

    store.disconnect_fitbit(&member, None).await.unwrap();
    assert!(
        store
            .load(&member)
            .await
            .unwrap()
            .unwrap()
            .own_client
            .is_none()
    );
    assert_eq!(stores.database.dump("own_clients").await, "");
}

#[tokio::test]
async fn the_recent_days_summary_is_sealed_and_goes_with_a_disconnect() {
    let stores = Stores::start().await;
    let store = &stores.members;
    let member = id("44444444");
    stores.sign_in(&member, "a").await;
    stores.connect_fitbit(&member, "g").await;
    // As many steps as no timestamp or row id spells by chance.
    let recent = recent_days(date(2026, 11, 21), 98_765_432);
    let lease = stores.lease(&member, LEASE).await;
    store
        .save_recent_days(lease.fence(), &recent)
        .await
        .unwrap();
    assert_sealed(&stores, &["98765432", "steps"]).await;
    let loaded = store.load(&member).await.unwrap().unwrap();
    assert_eq!(loaded.recent_days.as_ref(), Some(&recent));

    store.disconnect_fitbit(&member, None).await.unwrap();
    let disconnected = store.load(&member).await.unwrap().unwrap();
    assert!(disconnected.recent_days.is_none());
    assert!(disconnected.fitbit.is_none() && disconnected.google_tokens.is_none());
    assert_eq!(
        stores.database.texts("SELECT provider FROM tokens").await,
        ["open_humans"]
    );
}
