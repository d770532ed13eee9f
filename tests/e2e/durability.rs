//! Nothing is lost when a dyno, Redis or the database goes away (issue 15). Each test plays one
//! of the platform's ordinary events against real servers — staging emptied (what every dyno
//! restart does to a local directory), a bucket emptied, Redis flushed or killed and restarted
//! empty, PostgreSQL shut down or killed mid-import, a store failing in the middle of a token
//! refresh, a damaged chunk — and checks that every member's data, grant and files survive.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use jiff::Timestamp;
use oh_fitbit_core::{
    crypto::Purpose,
    members::{Erasure, ImportPreferences, IntradayResolution},
    queue::Completed,
};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    MEMBER, NumberedMember, TestStack, admin, browser, clear_faults, connected_with, csrf_of,
    database, file_checksums, get_page, job_status, leave_on_open_humans, link_both_accounts,
    link_on, linked_with, member_id, raw_redis, recent, run_again_now, run_one_job, spawn_process,
};

const PATIENCE: Duration = Duration::from_secs(150);

/// The Health API requests the next sync makes (run now, by the test), in order.
async fn requests_of_a_sync(stack: &TestStack) -> Vec<String> {
    let journal = &stack.google.instruments().journal;
    let after = journal.entries().last().map_or(0, |entry| entry.seq);
    assert_eq!(run_again_now(stack).await, Completed::Scheduled);
    journal
        .entries()
        .into_iter()
        .filter(|entry| entry.seq > after && entry.path.starts_with("/v4/"))
        .map(|entry| format!("{} {}?{}", entry.method, entry.path, entry.query))
        .collect()
}

/// The ten-year persona's last 200 days, daily data and intraday data (15-minute windows): two
/// standard years and seven intraday months, which a test imports in seconds.
fn with_intraday() -> ImportPreferences {
    ImportPreferences {
        intraday: Some(IntradayResolution::FifteenMinutes),
        ..recent(200)
    }
}

/// Imports the persona with `preferences`, then checks that a sync after `lose` (which empties
/// staging) makes the same Google requests as a sync without it and leaves every file
/// byte-identical.
async fn staging_lost_between_two_syncs(
    stack: TestStack,
    preferences: ImportPreferences,
    lose: impl AsyncFnOnce(&TestStack),
) {
    let stack = link_on(stack, json!({}), preferences.clone()).await;
    assert_eq!(
        run_one_job(&stack, &CancellationToken::new()).await,
        Completed::Scheduled
    );
    // The month of the first sync's recent phase was published before the backfill and says
    // so in its coverage; the next sync brings it up to date. After that, a sync changes
    // nothing.
    requests_of_a_sync(&stack).await;
    let imported = file_checksums(&stack, MEMBER);
    assert_eq!(
        imported
            .keys()
            .any(|name| name.starts_with("fitbit-intraday-")),
        preferences.intraday.is_some(),
        "{imported:?}"
    );
    let undisturbed = requests_of_a_sync(&stack).await;
    assert_eq!(file_checksums(&stack, MEMBER), imported);

    lose(&stack).await;
    let after_loss = requests_of_a_sync(&stack).await;
    assert_eq!(
        after_loss, undisturbed,
        "no Google request for what the files on Open Humans hold"
    );
    assert_eq!(
        file_checksums(&stack, MEMBER),
        imported,
        "every file byte-identical"
    );
    // The restored copy is trusted from now on: the sync after makes the same requests again.
    assert_eq!(requests_of_a_sync(&stack).await, undisturbed);
    assert_eq!(file_checksums(&stack, MEMBER), imported);
    stack.stack.stop().await;
}

async fn empty_the_staging_directory(stack: &TestStack) {
    std::fs::remove_dir_all(stack.staging_dir()).unwrap();
    std::fs::create_dir(stack.staging_dir()).unwrap();
}

#[tokio::test]
async fn an_emptied_staging_directory_is_restored_from_the_members_files() {
    let stack = TestStack::setup().start().await;
    staging_lost_between_two_syncs(stack, with_intraday(), empty_the_staging_directory).await;
}

/// The whole ten years of daily data (3,900 days, thousands of sleep sessions and exercises),
/// as in the member's report that staging lost made the next file hold four days.
#[tokio::test]
async fn a_ten_year_history_is_restored_whole_after_the_staging_directory_was_emptied() {
    let stack = TestStack::setup().start().await;
    staging_lost_between_two_syncs(
        stack,
        ImportPreferences::default(),
        empty_the_staging_directory,
    )
    .await;
}

#[tokio::test]
async fn an_emptied_staging_bucket_is_restored_from_the_members_files() {
    let stack = TestStack::setup().s3_staging().start().await;
    staging_lost_between_two_syncs(stack, with_intraday(), async |stack: &TestStack| {
        let s3 = stack.s3.as_ref().unwrap();
        s3.reset().await.unwrap();
        let staging = &stack.worker.context().staging;
        staging.bucket().unwrap().create().await.unwrap();
    })
    .await;
}

/// Every file of the staging directory is sealed and only its owner may read it.
#[tokio::test]
async fn staged_health_data_is_sealed_and_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let stack = connected_with(json!({}), recent(3)).await;
    let mut files = 0;
    let mut pending = vec![stack.staging_dir().to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let mode = path.metadata().unwrap().permissions().mode() & 0o777;
            if path.is_dir() {
                assert_eq!(mode, 0o700, "{}", path.display());
                pending.push(path);
            } else {
                assert_eq!(mode, 0o600, "{}", path.display());
                let bytes = std::fs::read(&path).unwrap();
                for plain in [&b"\"shape\""[..], b"countSum", b"beatsPerMinute", b"sleep"] {
                    assert!(
                        !bytes.windows(plain.len()).any(|window| window == plain),
                        "{} holds plain data",
                        path.display()
                    );
                }
                files += 1;
            }
        }
    }
    assert!(files > 10, "the import staged {files} files");
    stack.stack.stop().await;
}

/// Where the chunk of `data_type` for the standard year `year` is staged, and its key.
fn chunk_path(stack: &TestStack, data_type: &str, year: i16) -> (std::path::PathBuf, String) {
    let key = format!("members/{MEMBER}/standard/{data_type}/{year}.json");
    (stack.staging_dir().join(&key), key)
}

/// The chunk, opened.
fn staged_chunk(stack: &TestStack, data_type: &str, year: i16) -> Value {
    let (path, key) = chunk_path(stack, data_type, year);
    let sealed = std::fs::read(path).unwrap();
    let plain = stack
        .members
        .cipher()
        .open_bytes(&key, Purpose::StagedChunk, sealed)
        .unwrap();
    serde_json::from_slice(&plain).unwrap()
}

/// Replaces the chunk, sealed as the worker would have: a chunk whose content is wrong, not
/// unreadable.
fn stage_chunk(stack: &TestStack, data_type: &str, year: i16, chunk: &Value) {
    let (path, key) = chunk_path(stack, data_type, year);
    let plain = serde_json::to_vec(chunk).unwrap();
    let sealed = stack
        .members
        .cipher()
        .seal_bytes(&key, Purpose::StagedChunk, plain);
    std::fs::write(path, sealed).unwrap();
}

/// Last year's sleep sessions, which a sync of this year's days does not read again.
fn last_year(stack: &TestStack) -> i16 {
    crate::helpers::sim_today(stack).year() - 1
}

/// A member whose staging was damaged after their file was published: the next sync must not
/// publish from it; the one after restores staging from the file, which stays as it was.
async fn damaged_staging_is_repaired(damage: impl Fn(&TestStack)) {
    let stack = connected_with(json!({}), recent(400)).await;
    let before = file_checksums(&stack, MEMBER);
    let sessions = sleep_sessions_staged(&stack);
    assert!(sessions > 30, "last year has {sessions} sleep sessions");
    damage(&stack);
    assert_eq!(run_again_now(&stack).await, Completed::Scheduled);
    let status = job_status(&stack).await;
    assert_eq!(status.last_outcome.as_deref(), Some("later"), "{status:?}");
    assert!(
        status
            .message
            .as_deref()
            .is_some_and(|message| message.contains("restored from your files")),
        "{status:?}"
    );
    assert_eq!(
        file_checksums(&stack, MEMBER),
        before,
        "the file on Open Humans stays"
    );
    assert!(
        stack
            .members
            .load(&member_id())
            .await
            .unwrap()
            .unwrap()
            .repair_requested
    );

    assert_eq!(
        run_one_job(&stack, &CancellationToken::new()).await,
        Completed::Scheduled
    );
    let status = job_status(&stack).await;
    assert_eq!(
        (status.last_outcome.as_deref(), status.attempts),
        (Some("ok"), 0)
    );
    assert_eq!(file_checksums(&stack, MEMBER), before, "restored exactly");
    let record = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert!(!record.repair_requested);
    assert_eq!(
        sleep_sessions_staged(&stack),
        sessions,
        "the chunk is restored"
    );
    stack.stack.stop().await;
}

/// How many sleep sessions of last year are staged.
fn sleep_sessions_staged(stack: &TestStack) -> usize {
    staged_chunk(stack, "sleep", last_year(stack))
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn a_chunk_that_lost_records_is_not_published_and_is_restored_from_the_file() {
    damaged_staging_is_repaired(|stack| {
        let year = last_year(stack);
        let chunk = staged_chunk(stack, "sleep", year);
        let sessions = chunk.as_array().unwrap();
        let half = Value::Array(sessions[..sessions.len() / 2].to_vec());
        stage_chunk(stack, "sleep", year, &half);
    })
    .await;
}

#[tokio::test]
async fn an_unreadable_chunk_is_restored_from_the_file() {
    damaged_staging_is_repaired(|stack| {
        let (path, _) = chunk_path(stack, "sleep", last_year(stack));
        std::fs::write(path, b"v1 not a sealed chunk").unwrap();
    })
    .await;
}

/// Polls `check` until it holds, for at most [`PATIENCE`].
async fn wait_until<F: AsyncFn() -> bool>(what: &str, check: F) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < PATIENCE, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// Whether every member's job has run successfully since `since` and waits for its next sync.
async fn all_synced(stack: &TestStack, members: &[NumberedMember], since: Timestamp) -> bool {
    for member in members {
        let status = stack.worker.context().queue.status(&member.id()).await;
        let synced = status.is_ok_and(|status| {
            status.state.as_deref() == Some("scheduled")
                && status.last_outcome.as_deref() == Some("ok")
                && status.finished_at.is_some_and(|at| at > since)
        });
        if !synced {
            return false;
        }
    }
    true
}

/// Each member's files by name.
type MembersFiles = BTreeMap<String, BTreeMap<String, String>>;

/// Twenty members imported by two worker processes, with the simulators' clock standing at
/// `at` (or now); returns each member's files and the clock.
async fn twenty_imports(
    at: Option<Timestamp>,
    disturb: impl AsyncFnOnce(&mut TestStack),
) -> (MembersFiles, Timestamp) {
    let members: Vec<NumberedMember> = (1..=20).map(NumberedMember::new).collect();
    let mut stack = TestStack::setup().members(&members).start().await;
    let clock = &stack.google.instruments().clock;
    clock.freeze(true);
    if let Some(at) = at {
        clock.set(at);
    }
    let now = clock.now();
    for member in &members {
        member.link(&stack).await;
        stack
            .members
            .save_preferences(&member.id(), &recent(60))
            .await
            .unwrap();
    }
    let started = Timestamp::now();
    let workers: Vec<_> = (0..2)
        .map(|_| spawn_process(&stack, stack.staging_dir(), &["worker"]))
        .collect();
    disturb(&mut stack).await;
    wait_until("every import finishes", || {
        all_synced(&stack, &members, started)
    })
    .await;
    drop(workers);
    let files = members
        .iter()
        .map(|member| {
            let id = member.open_humans.project_member_id.clone();
            (id.clone(), file_checksums(&stack, &id))
        })
        .collect();
    stack.stack.stop().await;
    (files, now)
}

/// Waits until some members are done and others under way, then `lose`s Redis; every member's
/// job must be back in Redis within two minutes, without anyone acting.
async fn lose_redis_mid_import(stack: &mut TestStack, lose: impl AsyncFnOnce(&mut TestStack)) {
    let finished = async || {
        let keys = raw_redis(stack, &["KEYS", "ohfb:job:*"]).await;
        let jobs: Vec<String> = redis::from_redis_value(keys).unwrap();
        let mut done = 0;
        for job in &jobs {
            let outcome = raw_redis(stack, &["HGET", job, "last_outcome"]).await;
            done += usize::from(
                redis::from_redis_value::<Option<String>>(outcome)
                    .unwrap()
                    .as_deref()
                    == Some("ok"),
            );
        }
        done >= 3
    };
    wait_until("some imports finish", finished).await;
    lose(stack).await;
    let requeued = wait_until("every member is requeued", async || {
        let keys = raw_redis(stack, &["KEYS", "ohfb:job:*"]).await;
        redis::from_redis_value::<Vec<String>>(keys).unwrap().len() == 20
    })
    .await;
    assert!(
        requeued < Duration::from_secs(120),
        "requeued after {requeued:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_flushed_during_twenty_imports_loses_no_member_and_no_file() {
    let (undisturbed, at) = twenty_imports(None, async |_| {}).await;
    let (flushed, _) = twenty_imports(Some(at), async |stack| {
        lose_redis_mid_import(stack, async |stack| {
            raw_redis(stack, &["FLUSHALL"]).await;
        })
        .await;
    })
    .await;
    assert_eq!(flushed, undisturbed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_killed_and_restarted_empty_during_twenty_imports_loses_no_member_and_no_file() {
    let (undisturbed, at) = twenty_imports(None, async |_| {}).await;
    let (restarted, _) = twenty_imports(Some(at), async |stack| {
        lose_redis_mid_import(stack, async |stack| {
            stack.redis_server().restart().await.unwrap();
        })
        .await;
    })
    .await;
    assert_eq!(restarted, undisturbed);
}

/// An import by a worker process of its own, during which the database goes away and comes
/// back: the worker waits, nothing is counted as a failure, the web process answers with a
/// plain 503 meanwhile, and the files are those of an import never disturbed.
async fn database_lost_mid_import(stop: impl AsyncFnOnce(&mut TestStack)) {
    let preferences = recent(365);
    let uninterrupted = connected_with(json!({}), preferences.clone()).await;
    let expected = file_checksums(&uninterrupted, MEMBER);
    let now = uninterrupted.google.instruments().clock.now();
    uninterrupted.stack.stop().await;

    let mut stack = TestStack::setup().private_database().start().await;
    stack.google.instruments().clock.freeze(true);
    stack.google.instruments().clock.set(now);
    let member = browser();
    link_both_accounts(&stack, &member).await;
    stack
        .members
        .save_preferences(&member_id(), &preferences)
        .await
        .unwrap();
    let mut worker = spawn_process(&stack, stack.staging_dir(), &["worker"]);
    wait_until("the import has saved progress", async || {
        stack
            .members
            .load(&member_id())
            .await
            .unwrap()
            .is_some_and(|record| record.cursors.len() > 5)
    })
    .await;
    stop(&mut stack).await;
    let (status, _, page) = get_page(&member, stack.url("dashboard")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    assert!(page.contains("cannot reach its database"), "{page}");
    assert!(page.contains("Nothing of yours is lost"), "{page}");
    stack.postgres_server().start_again().await.unwrap();
    wait_until("the import finishes", async || {
        job_status(&stack).await.last_outcome.as_deref() == Some("ok")
    })
    .await;
    worker.start_kill().unwrap();
    let status = job_status(&stack).await;
    assert_eq!(status.attempts, 0, "no attempt counted: {status:?}");
    assert_eq!(file_checksums(&stack, MEMBER), expected);
    let (status, _, _) = get_page(&member, stack.url("dashboard")).await;
    assert_eq!(status, StatusCode::OK, "the member is still signed in");
    stack.stack.stop().await;
}

#[tokio::test]
async fn a_database_shut_down_mid_import_is_waited_out() {
    database_lost_mid_import(async |stack| {
        stack.postgres_server().stop_fast().await;
    })
    .await;
}

#[tokio::test]
async fn a_database_killed_mid_import_is_waited_out() {
    database_lost_mid_import(async |stack| {
        stack.postgres_server().kill().await;
    })
    .await;
}

/// Whether the refresh of the member's Open Humans token holds the row lock (its request to
/// Open Humans is under way).
async fn refresh_under_way(stack: &TestStack) -> bool {
    use sqlx::Connection;
    let Ok(mut connection) = sqlx::PgConnection::connect(stack.database.url.expose_secret()).await
    else {
        return false;
    };
    let locked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
         WHERE c.relname = 'tokens' AND l.mode = 'RowShareLock'",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    locked > 0
}

/// Open Humans rotates the refresh token while `fail` takes a store away; once it is back, the
/// new tokens are stored and work.
async fn refresh_outlives_a_store(
    fail: impl AsyncFnOnce(&mut TestStack),
    back: impl AsyncFnOnce(&mut TestStack),
) {
    let mut stack = TestStack::setup().private_database().start().await;
    link_both_accounts(&stack, &browser()).await;
    let mut record = stack.members.load(&member_id()).await.unwrap().unwrap();
    admin(
        stack.open_humans.base_url(),
        "__admin/faults",
        json!({"method": "POST", "path": "^/oauth2/token/$", "delay_ms": 1500}),
    )
    .await;
    let tokens = stack.worker.context().tokens.clone();
    let refresh = tokio::spawn(async move {
        tokens
            .open_humans_access_token(&mut record, true)
            .await
            .map(|token| token.expose_secret().to_owned())
    });
    wait_until("the refresh is under way", || refresh_under_way(&stack)).await;
    fail(&mut stack).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    back(&mut stack).await;
    let refreshed = tokio::time::timeout(PATIENCE, refresh)
        .await
        .expect("the refresh ends once the store is back")
        .unwrap()
        .expect("the refresh succeeds");
    clear_faults(stack.open_humans.base_url()).await;
    let mut stored = stack.members.load(&member_id()).await.unwrap().unwrap();
    assert_eq!(stored.open_humans.access_token.expose_secret(), &refreshed);
    // The stored refresh token is the rotated one: Open Humans accepts it.
    let again = stack
        .worker
        .context()
        .tokens
        .open_humans_access_token(&mut stored, true)
        .await
        .expect("the grant survived");
    assert_ne!(again.expose_secret(), &refreshed);
    stack.stack.stop().await;
}

#[tokio::test]
async fn a_rotated_open_humans_token_survives_the_database_going_away_before_its_store() {
    refresh_outlives_a_store(
        async |stack| stack.postgres_server().stop_fast().await,
        async |stack| stack.postgres_server().start_again().await.unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_rotated_open_humans_token_survives_redis_going_away_during_the_refresh() {
    refresh_outlives_a_store(
        async |stack| stack.redis_server().kill().await,
        async |stack| stack.redis_server().restart().await.unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_departure_whose_erasure_could_not_be_queued_is_erased_all_the_same() {
    let mut stack = connected_with(json!({}), recent(3)).await;
    assert!(stack.staged_member_dir().is_dir());
    stack.redis_server().kill().await;
    let left = leave_on_open_humans(&stack).await;
    assert_eq!(left["webhook"][0]["status"], 200, "{left}");
    assert!(stack.members.load(&member_id()).await.unwrap().is_none());
    stack.redis_server().restart().await.unwrap();
    stack.worker.maintain().await.unwrap();
    assert_eq!(
        run_one_job(&stack, &CancellationToken::new()).await,
        Completed::Forgotten
    );
    assert!(!stack.staged_member_dir().exists(), "staged files erased");
    assert!(stack.members.erasures_pending().await.unwrap().is_empty());
    stack.stack.stop().await;
}

#[tokio::test]
async fn a_leave_does_not_weaken_an_earlier_request_to_delete_the_files() {
    let stack = linked_with(json!({}), recent(3)).await;
    run_one_job(&stack, &CancellationToken::new()).await;
    let member = browser();
    get_page(&member, stack.url("openhumans/login")).await;
    let (_, _, page) = get_page(&member, stack.url("fitbit/disconnect")).await;
    let disconnected = member
        .post(stack.url("fitbit/disconnect"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("delete_files", "yes")])
        .send()
        .await
        .unwrap();
    assert!(disconnected.status().is_success());
    leave_on_open_humans(&stack).await;
    let request = stack
        .members
        .erasure_requested(&member_id())
        .await
        .unwrap()
        .expect("the erasure is still asked for");
    assert_eq!(request.erasure, Erasure::AlsoOpenHumansFiles);
    assert!(request.departed_tokens.is_some(), "kept to reach the files");
    let journal = &stack.open_humans.instruments().journal;
    let listed_before = journal
        .matching("GET", "/api/direct-sharing/project/exchange-member/")
        .len();
    assert_eq!(
        run_one_job(&stack, &CancellationToken::new()).await,
        Completed::Forgotten
    );
    assert_eq!(
        journal
            .matching("GET", "/api/direct-sharing/project/exchange-member/")
            .len(),
        listed_before + 1,
        "the deletion of the files was tried"
    );
    assert!(!stack.staged_member_dir().exists());
    assert!(stack.members.erasures_pending().await.unwrap().is_empty());
    database(&stack, "SELECT 1").await;
    stack.stack.stop().await;
}
