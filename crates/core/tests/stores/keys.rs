//! Rotating the token key: `keys status` counts every sealed value by its key, and after
//! `keys reseal` the old key can be dropped with every record still readable, while the web
//! and worker processes go on writing beside it.

use std::{sync::Arc, time::Duration};

use aws_sdk_s3::primitives::ByteStream;
use jiff::civil::date;
use oh_fitbit_core::{
    config::{S3Config, StagingConfig},
    crypto::{SealedWith, TokenCipher},
    keys::{self, KeyStatus, Kind, ResealReport, Resealing, SkipReason, Skipped},
    local::LocalS3,
    members::{Erasure, MemberStore, OwnClient},
    queue::Outcome,
    staging::{Staging, StagingKey, member_prefix},
};
use open_humans::ProjectMemberId;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use tokio::time::Instant;

use crate::{
    JobRow, Stores,
    fixtures::{
        LEASE, MAX_ATTEMPTS, PlainTokens, account, google_tokens, id, in_hours, oh_tokens,
        plain_client, recent_days, secret,
    },
};

/// A cipher sealing with key `primary`, which also opens what the keys `old` sealed: each key
/// is a byte repeated.
fn cipher(primary: u8, old: &[u8]) -> Arc<TokenCipher> {
    let key = |byte: u8| SecretString::from(hex::encode([byte; 32]));
    let old: Vec<SecretString> = old.iter().map(|&byte| key(byte)).collect();
    Arc::new(TokenCipher::from_keys("TOKEN_ENCRYPTION_KEY", &key(primary), &old).unwrap())
}

/// The stores and a staging store of their own; each process (or configuration) reads and
/// writes them with a cipher of its own.
struct Deployment {
    stores: Stores,
    staging: StagingConfig,
    _staging_dir: tempfile::TempDir,
    /// The S3 server of an S3 staging store.
    _s3: Option<LocalS3>,
}

impl Deployment {
    /// Staging in a local directory.
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            stores: Stores::start().await,
            staging: StagingConfig::LocalDirectory(dir.path().to_owned()),
            _staging_dir: dir,
            _s3: None,
        }
    }

    /// Staging in a bucket of a private moto_server.
    async fn start_on_s3() -> Self {
        let s3 = LocalS3::start().await.expect("moto_server starts");
        let staging = StagingConfig::S3(S3Config {
            bucket: format!("ohfb-test-{}", oh_fitbit_core::random_token()),
            endpoint: Some(s3.endpoint()),
            region: "us-east-1".to_owned(),
            path_style: true,
            key_prefix: "staging/".to_owned(),
            access_key_id: secret("test"),
            secret_access_key: secret("test"),
        });
        let deployment = Self {
            stores: Stores::start().await,
            staging,
            _staging_dir: tempfile::tempdir().unwrap(),
            _s3: Some(s3),
        };
        let staging = deployment.staging(&cipher(0, &[]));
        staging.bucket().unwrap().create().await.unwrap();
        deployment
    }

    fn members(&self, cipher: &Arc<TokenCipher>) -> MemberStore {
        MemberStore::new(self.stores.database.db.clone(), cipher.clone())
    }

    fn staging(&self, cipher: &Arc<TokenCipher>) -> Staging {
        Staging::from_config(&self.staging, cipher.clone())
    }

    async fn status(&self, cipher: &Arc<TokenCipher>) -> KeyStatus {
        keys::status(&self.members(cipher), &self.staging(cipher))
            .await
            .unwrap()
    }

    async fn reseal(&self, cipher: &Arc<TokenCipher>) -> ResealReport {
        keys::reseal(&self.members(cipher), &self.staging(cipher))
            .await
            .unwrap()
    }

    /// The member signs in (Open Humans tokens sealed with `cipher`).
    async fn sign_in(&self, cipher: &Arc<TokenCipher>, member: &ProjectMemberId) {
        self.members(cipher)
            .save_open_humans_link(member, &oh_tokens(&format!("oh-{member}")))
            .await
            .unwrap();
    }

    /// The member signs in, and connects Fitbit through their own OAuth client, all sealed
    /// with `cipher`.
    async fn link(&self, cipher: &Arc<TokenCipher>, member: &ProjectMemberId) {
        self.sign_in(cipher, member).await;
        self.members(cipher)
            .connect_fitbit(
                member,
                &account(),
                &google_tokens(&format!("google-{member}")),
                Some(&own_client(member)),
            )
            .await
            .unwrap();
    }

    /// A run of the member's job with `cipher` stages their chunks and marker and saves the
    /// dashboard's summary, then ends with `outcome`.
    async fn run(&self, cipher: &Arc<TokenCipher>, member: &ProjectMemberId, outcome: Outcome) {
        let lease = self.stores.lease(member, LEASE).await;
        let staging = self.staging(cipher);
        for key in staged_keys(member) {
            staging.put(lease.fence(), &key, chunk(&key)).await.unwrap();
        }
        self.members(cipher)
            .save_recent_days(lease.fence(), &recent_days(date(2026, 1, 31), 8000))
            .await
            .unwrap();
        self.stores
            .queue
            .complete(&lease, outcome, MAX_ATTEMPTS)
            .await
            .unwrap();
    }

    async fn job(&self, member: &ProjectMemberId) -> Option<JobRow> {
        self.stores.database.job(member).await
    }

    /// Every token revision, by member and provider.
    async fn revisions(&self) -> Vec<(String, String, i64)> {
        sqlx::query_as("SELECT member_id, provider, revision FROM tokens ORDER BY 1, 2")
            .fetch_all(&self.stores.database.sql)
            .await
            .unwrap()
    }

    /// Every record of a member who signed in, connected and synced, read with `cipher`.
    async fn assert_linked_member_opens(
        &self,
        cipher: &Arc<TokenCipher>,
        member: &ProjectMemberId,
    ) {
        let record = self.members(cipher).load(member).await.unwrap().unwrap();
        assert_eq!(
            PlainTokens::from(&record.open_humans),
            PlainTokens::from(&oh_tokens(&format!("oh-{member}")))
        );
        assert_eq!(
            record.google_tokens.as_ref().map(PlainTokens::from),
            Some(PlainTokens::from(&google_tokens(&format!(
                "google-{member}"
            ))))
        );
        assert_eq!(
            record.own_client.as_ref().map(plain_client),
            Some(plain_client(&own_client(member)))
        );
        assert_eq!(
            record.recent_days,
            Some(recent_days(date(2026, 1, 31), 8000))
        );
        self.assert_staged_opens(cipher, member).await;
    }

    /// Every staged object of the member opens with `cipher` and holds what was staged.
    async fn assert_staged_opens(&self, cipher: &Arc<TokenCipher>, member: &ProjectMemberId) {
        let staging = self.staging(cipher);
        let mut expected = staged_keys(member);
        expected.sort_unstable();
        assert_eq!(
            staging.list_under(&member_prefix(member)).await.unwrap(),
            expected
        );
        for key in &expected {
            assert_eq!(
                staging.get(key).await.unwrap(),
                Some(chunk(key)),
                "{}",
                key.as_str()
            );
        }
    }
}

fn own_client(member: &ProjectMemberId) -> OwnClient {
    OwnClient {
        client_id: format!("client-{member}.apps.googleusercontent.com"),
        client_secret: secret(&format!("client-secret-{member}")),
    }
}

/// What a run stages for a member: a daily and an intraday chunk, and the staging marker.
fn staged_keys(member: &ProjectMemberId) -> Vec<StagingKey> {
    [
        "standard/steps/2016.json",
        "intraday/heart-rate/2016-03.json",
        "generation",
    ]
    .into_iter()
    .map(|name| StagingKey::parse(&format!("members/{member}/{name}")).unwrap())
    .collect()
}

fn chunk(key: &StagingKey) -> Vec<u8> {
    format!("the staged content of {}", key.as_str()).into_bytes()
}

fn done() -> Outcome {
    Outcome::Done {
        next_run: in_hours(24),
    }
}

fn parked() -> Outcome {
    Outcome::Parked {
        reason: "Reconnect Fitbit".into(),
    }
}

/// The count of each key for `kind`: current, each old key in order, then unreadable.
fn counts(status: &KeyStatus, kind: Kind, old_keys: usize) -> Vec<u64> {
    std::iter::once(SealedWith::Current)
        .chain((0..old_keys).map(SealedWith::Old))
        .chain([SealedWith::Unknown])
        .map(|with| status.count(kind, with))
        .collect()
}

fn resealing(resealed: u64, current: u64) -> Resealing {
    Resealing {
        resealed,
        current,
        gone: 0,
    }
}

#[tokio::test]
async fn after_a_reseal_the_old_key_can_go_and_every_record_still_opens() {
    let deployment = Deployment::start().await;
    let (old, rotated, new) = (cipher(1, &[]), cipher(2, &[1]), cipher(2, &[]));
    let (synced, parked_member, departed, signed_in) = (
        id("10000001"),
        id("10000002"),
        id("10000003"),
        id("10000004"),
    );
    deployment.link(&old, &synced).await;
    deployment.run(&old, &synced, done()).await;
    // Parked: no run comes to rewrite anything of theirs until they act.
    deployment.link(&old, &parked_member).await;
    deployment.run(&old, &parked_member, parked()).await;
    // Left before the erasure of their files on Open Humans ran: their tokens wait with it,
    // and so do their staged objects.
    deployment.sign_in(&old, &departed).await;
    deployment.run(&old, &departed, done()).await;
    let members = deployment.members(&old);
    members
        .request_erasure(&departed, Erasure::AlsoOpenHumansFiles)
        .await
        .unwrap();
    members.forget(&departed).await.unwrap();
    // Their job was just deleted (a queue's `forget`) and is not recorded again yet.
    deployment
        .stores
        .database
        .execute("DELETE FROM sync_jobs WHERE member_id = $1", &departed)
        .await;
    // Signed in, nothing more yet.
    deployment.sign_in(&old, &signed_in).await;

    let without_old = deployment.members(&new);
    assert!(
        without_old.load(&parked_member).await.is_err(),
        "dropping the old key before re-sealing makes the record unreadable"
    );
    let jobs_before = [
        deployment.job(&synced).await,
        deployment.job(&parked_member).await,
        deployment.job(&departed).await,
    ];
    assert_eq!(jobs_before[1].as_ref().unwrap().state, "idle");
    let revisions = deployment.revisions().await;

    // Both processes were deployed with the new key and the old one beside it.
    let report = deployment.reseal(&rotated).await;
    assert_eq!(report.skipped, []);
    assert!(report.finished());
    let expected = [
        (Kind::OpenHumansTokens, resealing(3, 0)),
        (Kind::GoogleTokens, resealing(2, 0)),
        (Kind::OwnClientSecrets, resealing(2, 0)),
        (Kind::Summaries, resealing(2, 0)),
        (Kind::DepartedTokens, resealing(1, 0)),
        (Kind::StagedChunks, resealing(9, 0)),
    ];
    assert_eq!(report.done, expected.clone().into_iter().collect());
    assert_eq!(
        deployment.revisions().await,
        revisions,
        "a token pair re-sealed is the same pair"
    );
    assert_eq!(
        [
            deployment.job(&synced).await,
            deployment.job(&parked_member).await,
            deployment.job(&departed).await,
        ],
        jobs_before,
        "holding a member changes nothing of their job"
    );
    assert_eq!(deployment.job(&signed_in).await, None);

    let again = deployment.reseal(&rotated).await;
    assert!(again.finished());
    assert_eq!(
        again.done,
        expected
            .map(|(kind, done)| (kind, resealing(0, done.resealed)))
            .into_iter()
            .collect(),
        "a second run finds nothing left to do"
    );

    // The old key is dropped.
    for member in [&synced, &parked_member] {
        deployment.assert_linked_member_opens(&new, member).await;
    }
    let signed_in_record = without_old.load(&signed_in).await.unwrap().unwrap();
    assert_eq!(
        PlainTokens::from(&signed_in_record.open_humans),
        PlainTokens::from(&oh_tokens(&format!("oh-{signed_in}")))
    );
    let erasure = without_old
        .erasure_requested(&departed)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        erasure.departed_tokens.as_ref().map(PlainTokens::from),
        Some(PlainTokens::from(&oh_tokens(&format!("oh-{departed}"))))
    );
    deployment.assert_staged_opens(&new, &departed).await;
    let status = deployment.status(&new).await;
    assert_eq!((status.old(), status.unreadable()), (0, 0), "{status:?}");
    assert_eq!(status.count(Kind::StagedChunks, SealedWith::Current), 9);
}

#[tokio::test]
async fn keys_status_counts_each_kind_by_the_key_that_sealed_it() {
    let deployment = Deployment::start().await;
    let (first, second, current, lost) = (
        cipher(1, &[]),
        cipher(2, &[]),
        cipher(3, &[]),
        cipher(4, &[]),
    );
    let rotated = cipher(3, &[1, 2]);
    let members = [
        id("20000001"),
        id("20000002"),
        id("20000003"),
        id("20000004"),
        id("20000005"),
    ];
    // Sealed with the first old key, everything.
    deployment.link(&first, &members[0]).await;
    deployment.run(&first, &members[0], done()).await;
    // With the second old key: tokens, the summary, staged objects.
    deployment.sign_in(&second, &members[1]).await;
    deployment.run(&second, &members[1], done()).await;
    // With the current key.
    deployment.sign_in(&current, &members[2]).await;
    // With a key no longer configured.
    deployment.sign_in(&lost, &members[3]).await;
    deployment.run(&lost, &members[3], done()).await;
    // With the current key, then damaged (in its nonce).
    deployment.sign_in(&current, &members[4]).await;
    let sql = &deployment.stores.database.sql;
    let mut damaged = open_humans_sealed(sql, &members[4]).await.into_bytes();
    damaged[20] = if damaged[20] == b'A' { b'B' } else { b'A' };
    sqlx::query("UPDATE tokens SET sealed = $2 WHERE member_id = $1")
        .bind(members[4].as_str())
        .bind(String::from_utf8(damaged).unwrap())
        .execute(sql)
        .await
        .unwrap();

    let before = deployment.status(&rotated).await;
    assert_eq!(counts(&before, Kind::OpenHumansTokens, 2), [1, 1, 1, 2]);
    assert_eq!(counts(&before, Kind::GoogleTokens, 2), [0, 1, 0, 0]);
    assert_eq!(counts(&before, Kind::OwnClientSecrets, 2), [0, 1, 0, 0]);
    assert_eq!(counts(&before, Kind::Summaries, 2), [0, 1, 1, 1]);
    assert_eq!(counts(&before, Kind::DepartedTokens, 2), [0, 0, 0, 0]);
    assert_eq!(counts(&before, Kind::StagedChunks, 2), [0, 3, 3, 3]);
    assert_eq!((before.old(), before.unreadable()), (12, 6));

    let report = deployment.reseal(&rotated).await;
    assert!(!report.finished());
    let unreadable = |kind, member: &ProjectMemberId, object: Option<&StagingKey>| Skipped {
        kind,
        member: member.to_string(),
        object: object.map(|key| key.as_str().to_owned()),
        reason: SkipReason::Unreadable,
    };
    let mut lost_objects = staged_keys(&members[3]);
    lost_objects.sort_unstable();
    let mut expected_skips = vec![
        unreadable(Kind::OpenHumansTokens, &members[3], None),
        unreadable(Kind::OpenHumansTokens, &members[4], None),
        unreadable(Kind::Summaries, &members[3], None),
    ];
    expected_skips.extend(
        lost_objects
            .iter()
            .map(|key| unreadable(Kind::StagedChunks, &members[3], Some(key))),
    );
    assert_eq!(report.skipped, expected_skips);
    assert_eq!(report.done[&Kind::OpenHumansTokens], resealing(2, 1));
    assert_eq!(report.done[&Kind::Summaries], resealing(2, 0));
    assert_eq!(report.done[&Kind::StagedChunks], resealing(6, 0));

    let after = deployment.status(&rotated).await;
    assert_eq!(counts(&after, Kind::OpenHumansTokens, 2), [3, 0, 0, 2]);
    assert_eq!(counts(&after, Kind::GoogleTokens, 2), [1, 0, 0, 0]);
    assert_eq!(counts(&after, Kind::OwnClientSecrets, 2), [1, 0, 0, 0]);
    assert_eq!(counts(&after, Kind::Summaries, 2), [2, 0, 0, 1]);
    assert_eq!(counts(&after, Kind::StagedChunks, 2), [6, 0, 0, 3]);
    assert_eq!((after.old(), after.unreadable()), (0, 6));
}

#[tokio::test]
async fn the_staged_chunks_of_a_member_a_run_holds_wait_for_the_next_reseal() {
    let deployment = Deployment::start().await;
    let (old, rotated) = (cipher(1, &[]), cipher(2, &[1]));
    let member = id("30000001");
    deployment.link(&old, &member).await;
    deployment.run(&old, &member, done()).await;
    let running = deployment.stores.lease(&member, LEASE).await;

    let report = deployment.reseal(&rotated).await;
    assert_eq!(
        report.skipped,
        [Skipped {
            kind: Kind::StagedChunks,
            member: member.to_string(),
            object: None,
            reason: SkipReason::RunHoldsMember,
        }]
    );
    assert_eq!(report.done[&Kind::OpenHumansTokens], resealing(1, 0));
    assert_eq!(report.done[&Kind::StagedChunks], resealing(0, 0));
    let status = deployment.status(&rotated).await;
    assert_eq!(counts(&status, Kind::StagedChunks, 1), [0, 3, 0]);
    assert_eq!(counts(&status, Kind::Summaries, 1), [1, 0, 0]);

    deployment
        .stores
        .queue
        .complete(&running, done(), MAX_ATTEMPTS)
        .await
        .unwrap();
    let report = deployment.reseal(&rotated).await;
    assert!(report.finished(), "{report:?}");
    assert_eq!(report.done[&Kind::StagedChunks], resealing(3, 0));
    deployment
        .assert_linked_member_opens(&cipher(2, &[]), &member)
        .await;
}

async fn open_humans_sealed(sql: &PgPool, member: &ProjectMemberId) -> String {
    sqlx::query_scalar(
        "SELECT sealed FROM tokens WHERE member_id = $1 AND provider = 'open_humans'",
    )
    .bind(member.as_str())
    .fetch_one(sql)
    .await
    .unwrap()
}

#[tokio::test]
async fn staged_chunks_in_a_bucket_are_counted_by_their_first_bytes_and_resealed() {
    let deployment = Deployment::start_on_s3().await;
    let (old, rotated, new) = (cipher(1, &[]), cipher(2, &[1]), cipher(2, &[]));
    let member = id("50000001");
    deployment.link(&old, &member).await;
    deployment.run(&old, &member, done()).await;
    let StagingConfig::S3(config) = &deployment.staging else {
        unreachable!("staging in a bucket")
    };
    let staging = deployment.staging(&old);
    let client = staging.bucket().unwrap().client();
    let empty = format!("members/{member}/empty");
    // Not a key: nothing the store wrote.
    let foreign = format!("members/{member}/not a key");
    for name in [&empty, &foreign] {
        client
            .put_object()
            .bucket(&config.bucket)
            .key(format!("{}{name}", config.key_prefix))
            .body(ByteStream::from_static(b""))
            .send()
            .await
            .unwrap();
    }

    let before = deployment.status(&rotated).await;
    assert_eq!(counts(&before, Kind::StagedChunks, 1), [0, 3, 1]);
    let report = deployment.reseal(&rotated).await;
    assert_eq!(
        report.skipped,
        [Skipped {
            kind: Kind::StagedChunks,
            member: member.to_string(),
            object: Some(empty.clone()),
            reason: SkipReason::Unreadable,
        }]
    );
    assert_eq!(report.done[&Kind::StagedChunks], resealing(3, 0));
    let after = deployment.status(&new).await;
    assert_eq!(counts(&after, Kind::StagedChunks, 0), [3, 1]);

    client
        .delete_object()
        .bucket(&config.bucket)
        .key(format!("{}{empty}", config.key_prefix))
        .send()
        .await
        .unwrap();
    deployment.assert_linked_member_opens(&new, &member).await;
}

/// Waits until a statement of another connection waits for a row lock.
async fn wait_for_a_lock_wait(sql: &PgPool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(sql)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "nothing waits for the lock");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_token_refreshed_while_it_is_resealed_is_kept() {
    let deployment = Deployment::start().await;
    let (old, rotated) = (cipher(1, &[]), cipher(2, &[1]));
    let member = id("40000001");
    // What a refresh by a process on the new key stores.
    deployment
        .members(&rotated)
        .save_open_humans_link(&member, &oh_tokens("refreshed"))
        .await
        .unwrap();
    let sql = &deployment.stores.database.sql;
    let refreshed = open_humans_sealed(sql, &member).await;
    deployment.sign_in(&old, &member).await;

    // The refresh holds the member's token row while it stores its result.
    let mut refresh = sql.begin().await.unwrap();
    sqlx::query(
        "UPDATE tokens SET sealed = $2, revision = revision + 1 \
         WHERE member_id = $1 AND provider = 'open_humans'",
    )
    .bind(member.as_str())
    .bind(&refreshed)
    .execute(&mut *refresh)
    .await
    .unwrap();
    let task = tokio::spawn({
        let (members, staging) = (deployment.members(&rotated), deployment.staging(&rotated));
        async move { keys::reseal(&members, &staging).await.unwrap() }
    });
    wait_for_a_lock_wait(sql).await;
    refresh.commit().await.unwrap();

    let report = task.await.unwrap();
    assert!(report.finished());
    assert_eq!(report.done[&Kind::OpenHumansTokens], resealing(0, 1));
    assert_eq!(
        open_humans_sealed(sql, &member).await,
        refreshed,
        "the refresh's tokens stay"
    );
    let record = deployment
        .members(&cipher(2, &[]))
        .load(&member)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.open_humans.access_token.expose_secret(), "refreshed");
}
