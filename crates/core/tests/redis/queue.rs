use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use oh_fitbit_core::queue::{Completed, Enqueued, JobQueue, Outcome};
use open_humans::ProjectMemberId;

use crate::TestRedis;

const MAX_ATTEMPTS: u32 = 3;
const LEASE: Duration = Duration::from_secs(60);

fn member(text: &str) -> ProjectMemberId {
    text.parse().unwrap()
}

fn queue(redis: &TestRedis) -> JobQueue {
    JobQueue::new(redis.connection.clone(), "test:")
}

fn in_hours(hours: i64) -> Timestamp {
    Timestamp::now() + SignedDuration::from_hours(hours)
}

/// The invariant every script keeps: a member is in at most one of ready / scheduled / leases.
async fn places(redis: &TestRedis, member: &str) -> usize {
    let redis::Value::Array(ready) = redis.raw(&["LRANGE", "test:queue:ready", "0", "-1"]).await
    else {
        panic!("LRANGE answers an array")
    };
    let in_ready = ready
        .iter()
        .filter(|v| matches!(v, redis::Value::BulkString(b) if b == member.as_bytes()))
        .count();
    let in_set = |set: &'static str| async move {
        !matches!(redis.raw(&["ZSCORE", set, member]).await, redis::Value::Nil) as usize
    };
    in_ready + in_set("test:queue:scheduled").await + in_set("test:queue:leases").await
}

#[tokio::test]
async fn duplicates_coalesce_and_a_run_asked_for_during_a_run_happens_once_more() {
    let redis = TestRedis::start().await;
    let queue = queue(&redis);
    let m = member("12345678");
    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::Queued
    );
    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::AlreadyWaiting
    );
    assert_eq!(places(&redis, "12345678").await, 1);

    let lease = queue
        .fetch(LEASE)
        .await
        .unwrap()
        .expect("the member is ready");
    assert_eq!(lease.member, m);
    assert!(
        queue.fetch(LEASE).await.unwrap().is_none(),
        "no second lease on one member"
    );
    assert_eq!(
        queue.status(&m).await.unwrap().state.as_deref(),
        Some("running")
    );
    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::Coalesced
    );
    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::Coalesced
    );
    assert_eq!(places(&redis, "12345678").await, 1);

    let done = Outcome::Done {
        next_run: in_hours(24),
    };
    assert_eq!(
        queue
            .complete(&lease, done.clone(), MAX_ATTEMPTS)
            .await
            .unwrap(),
        Completed::Requeued
    );
    let again = queue
        .fetch(LEASE)
        .await
        .unwrap()
        .expect("the re-run is ready");
    assert_eq!(
        queue.complete(&again, done, MAX_ATTEMPTS).await.unwrap(),
        Completed::Scheduled
    );
    assert!(
        queue.fetch(LEASE).await.unwrap().is_none(),
        "the next run is tomorrow"
    );
    let status = queue.status(&m).await.unwrap();
    assert_eq!(status.state.as_deref(), Some("scheduled"));
    assert!(status.run_at.unwrap() > in_hours(23));
    assert_eq!(places(&redis, "12345678").await, 1);
}

#[tokio::test]
async fn an_earlier_request_moves_a_scheduled_run_forward() {
    let redis = TestRedis::start().await;
    let queue = queue(&redis);
    let m = member("12345678");
    assert_eq!(
        queue.enqueue(&m, in_hours(24)).await.unwrap(),
        Enqueued::Scheduled
    );
    assert_eq!(
        queue.enqueue(&m, in_hours(48)).await.unwrap(),
        Enqueued::AlreadyWaiting
    );
    assert!(queue.next_due().await.unwrap().unwrap() < in_hours(25));
    assert!(queue.fetch(LEASE).await.unwrap().is_none());
    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::Queued
    );
    assert_eq!(places(&redis, "12345678").await, 1);
    assert!(queue.fetch(LEASE).await.unwrap().is_some());
}

#[tokio::test]
async fn a_reaped_lease_is_fenced_off() {
    let redis = TestRedis::start().await;
    let queue = queue(&redis);
    let m = member("12345678");
    queue.enqueue(&m, Timestamp::now()).await.unwrap();
    let crashed = queue.fetch(Duration::ZERO).await.unwrap().unwrap();
    assert_eq!(queue.reap(MAX_ATTEMPTS).await.unwrap(), 1);
    assert!(!queue.still_holds(&crashed).await.unwrap());
    assert!(!queue.heartbeat(&crashed, LEASE).await.unwrap());

    let successor = queue
        .fetch(LEASE)
        .await
        .unwrap()
        .expect("the reaped member is ready again");
    assert!(queue.still_holds(&successor).await.unwrap());
    let late = queue
        .complete(
            &crashed,
            Outcome::Done {
                next_run: in_hours(1),
            },
            MAX_ATTEMPTS,
        )
        .await
        .unwrap();
    assert_eq!(late, Completed::Stale);
    assert!(
        queue.still_holds(&successor).await.unwrap(),
        "the late worker changed nothing"
    );
    assert!(queue.heartbeat(&successor, LEASE).await.unwrap());
    let status = queue.status(&m).await.unwrap();
    assert_eq!(status.attempts, 1, "an interruption counts as an attempt");
    assert_eq!(status.state.as_deref(), Some("running"));
}

#[tokio::test]
async fn interrupted_runs_that_saved_progress_do_not_count_as_failures() {
    let redis = TestRedis::start().await;
    let queue = queue(&redis);
    let m = member("12345678");
    queue.enqueue(&m, Timestamp::now()).await.unwrap();
    for _ in 0..MAX_ATTEMPTS * 2 {
        let crashed = queue.fetch(Duration::ZERO).await.unwrap().unwrap();
        assert!(queue.record_progress(&crashed).await.unwrap());
        assert_eq!(queue.reap(MAX_ATTEMPTS).await.unwrap(), 1);
        assert!(
            !queue.record_progress(&crashed).await.unwrap(),
            "a reaped lease records nothing"
        );
    }
    let status = queue.status(&m).await.unwrap();
    assert_eq!(
        (status.state.as_deref(), status.attempts),
        (Some("ready"), 0)
    );

    // A run that crashes before saving anything counts, whatever the run before it saved.
    for attempt in 1..=MAX_ATTEMPTS {
        queue.fetch(Duration::ZERO).await.unwrap().unwrap();
        assert_eq!(queue.reap(MAX_ATTEMPTS).await.unwrap(), 1);
        assert_eq!(queue.status(&m).await.unwrap().attempts, attempt);
    }
    assert_eq!(
        queue.status(&m).await.unwrap().state.as_deref(),
        Some("dead")
    );
}

#[tokio::test]
async fn failures_back_off_then_go_to_the_dead_set_and_enqueue_revives() {
    let redis = TestRedis::start().await;
    let queue = queue(&redis);
    let m = member("12345678");
    queue.enqueue(&m, Timestamp::now()).await.unwrap();
    for attempt in 1..=MAX_ATTEMPTS {
        // Each retry is scheduled in the past so the next fetch sees it at once.
        let lease = queue
            .fetch(LEASE)
            .await
            .unwrap()
            .expect("ready for another attempt");
        let retry = Outcome::Retry {
            run_at: Timestamp::now(),
            error: format!("boom {attempt}"),
        };
        let completed = queue.complete(&lease, retry, MAX_ATTEMPTS).await.unwrap();
        let expected = if attempt == MAX_ATTEMPTS {
            Completed::Dead
        } else {
            Completed::Scheduled
        };
        assert_eq!(completed, expected);
    }
    assert!(queue.fetch(LEASE).await.unwrap().is_none());
    let status = queue.status(&m).await.unwrap();
    assert_eq!(status.state.as_deref(), Some("dead"));
    assert_eq!(status.message.as_deref(), Some("boom 3"));
    assert_eq!(places(&redis, "12345678").await, 0);

    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::Queued
    );
    assert_eq!(queue.status(&m).await.unwrap().attempts, 0);
    assert!(matches!(
        redis.raw(&["ZSCORE", "test:queue:dead", "12345678"]).await,
        redis::Value::Nil
    ));
}

#[tokio::test]
async fn waiting_for_quota_is_not_a_failure_and_parked_members_wait_for_a_request() {
    let redis = TestRedis::start().await;
    let queue = queue(&redis);
    let m = member("12345678");
    queue.enqueue(&m, Timestamp::now()).await.unwrap();
    for _ in 0..MAX_ATTEMPTS + 1 {
        let lease = queue.fetch(LEASE).await.unwrap().expect("ready");
        let later = Outcome::Later {
            run_at: Timestamp::now(),
            reason: "quota".into(),
        };
        assert_eq!(
            queue.complete(&lease, later, MAX_ATTEMPTS).await.unwrap(),
            Completed::Scheduled
        );
    }
    assert_eq!(queue.status(&m).await.unwrap().attempts, 0);

    let lease = queue.fetch(LEASE).await.unwrap().expect("ready");
    let parked = Outcome::Parked {
        reason: "reconnect Fitbit".into(),
    };
    assert_eq!(
        queue.complete(&lease, parked, MAX_ATTEMPTS).await.unwrap(),
        Completed::Parked
    );
    assert!(queue.fetch(LEASE).await.unwrap().is_none());
    assert_eq!(
        queue.status(&m).await.unwrap().state.as_deref(),
        Some("idle")
    );
    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::Queued
    );
}

#[tokio::test]
async fn an_idle_worker_wakes_when_work_arrives() {
    let redis = TestRedis::start().await;
    let queue = queue(&redis);
    let mut blocking = redis.blocking().await;
    let waiter = {
        let queue = queue.clone();
        tokio::spawn(async move {
            queue
                .wait_for_work(&mut blocking, Duration::from_secs(60))
                .await
                .unwrap();
        })
    };
    queue
        .enqueue(&member("12345678"), Timestamp::now())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .expect("the waiter wakes on enqueue, long before its 60 s timeout")
        .unwrap();
}

#[tokio::test]
async fn a_run_asked_for_during_a_failing_run_is_not_held_back_by_the_backoff() {
    let redis = TestRedis::start().await;
    let queue = queue(&redis);
    let m = member("12345678");
    queue.enqueue(&m, Timestamp::now()).await.unwrap();
    let lease = queue.fetch(LEASE).await.unwrap().unwrap();
    // The member reconnects while the run is failing.
    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::Coalesced
    );
    let retry = Outcome::Retry {
        run_at: in_hours(6),
        error: "boom".into(),
    };
    assert_eq!(
        queue.complete(&lease, retry, MAX_ATTEMPTS).await.unwrap(),
        Completed::Requeued
    );
    let again = queue
        .fetch(LEASE)
        .await
        .unwrap()
        .expect("runs again at once");
    assert_eq!(again.attempts, 1, "the failure still counts");
}
