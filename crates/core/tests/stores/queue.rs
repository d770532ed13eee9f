//! The job queue: its state machine in Redis, and the record of every job in the database.

use std::time::Duration;

use jiff::Timestamp;
use oh_fitbit_core::{
    Error,
    queue::{Completed, Enqueued, Outcome},
};

use crate::{
    JobRow, Stores, TestRedis,
    fixtures::{LEASE, MAX_ATTEMPTS, id, in_hours},
};

const MEMBER: &str = "12345678";

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

/// The database's record of the member's job.
async fn recorded(stores: &Stores) -> JobRow {
    stores
        .database
        .job(&id(MEMBER))
        .await
        .expect("the job is recorded in the database")
}

#[tokio::test]
async fn duplicates_coalesce_and_a_run_asked_for_during_a_run_happens_once_more() {
    let stores = Stores::start().await;
    let (queue, redis) = (&stores.queue, &stores.redis);
    let m = id(MEMBER);
    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::Queued
    );
    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::AlreadyWaiting
    );
    assert_eq!(places(redis, MEMBER).await, 1);

    let lease = stores.fetch(&m, LEASE).await;
    assert!(
        queue.fetch(LEASE).await.unwrap().is_none(),
        "no second lease on one member"
    );
    assert_eq!(
        queue.status(&m).await.unwrap().state.as_deref(),
        Some("running")
    );
    assert!(
        recorded(&stores).await.leased,
        "the run's fence is recorded"
    );
    for _ in 0..2 {
        assert_eq!(
            queue.enqueue(&m, Timestamp::now()).await.unwrap(),
            Enqueued::Coalesced
        );
    }
    assert_eq!(places(redis, MEMBER).await, 1);

    let next_run = in_hours(24);
    let done = Outcome::Done { next_run };
    assert_eq!(
        queue
            .complete(&lease, done.clone(), MAX_ATTEMPTS)
            .await
            .unwrap(),
        Completed::Requeued
    );
    let again = stores.fetch(&m, LEASE).await;
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
    assert_eq!(status.run_at, Some(next_run));
    assert_eq!(places(redis, MEMBER).await, 1);
    assert_eq!(
        recorded(&stores).await,
        JobRow {
            state: "waiting".into(),
            run_at: Some(next_run),
            attempts: 0,
            message: None,
            leased: false,
        },
        "the end of the run is recorded, its fence released"
    );
}

#[tokio::test]
async fn an_earlier_request_moves_a_scheduled_run_forward() {
    let stores = Stores::start().await;
    let queue = &stores.queue;
    let m = id(MEMBER);
    let tomorrow = in_hours(24);
    assert_eq!(
        queue.enqueue(&m, tomorrow).await.unwrap(),
        Enqueued::Scheduled
    );
    assert_eq!(
        queue.enqueue(&m, in_hours(48)).await.unwrap(),
        Enqueued::AlreadyWaiting
    );
    assert_eq!(queue.next_due().await.unwrap(), Some(tomorrow));
    assert_eq!(recorded(&stores).await.run_at, Some(tomorrow));
    assert!(queue.fetch(LEASE).await.unwrap().is_none());
    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::Queued
    );
    assert!(recorded(&stores).await.run_at.unwrap() <= Timestamp::now());
    assert_eq!(places(&stores.redis, MEMBER).await, 1);
    stores.fetch(&m, LEASE).await;
}

#[tokio::test]
async fn a_reaped_lease_is_fenced_off() {
    let stores = Stores::start().await;
    let queue = &stores.queue;
    let m = id(MEMBER);
    let crashed = stores.lease(&m, Duration::ZERO).await;
    assert_eq!(queue.reap(MAX_ATTEMPTS).await.unwrap(), 1);
    assert!(!queue.heartbeat(&crashed, LEASE).await.unwrap());

    let successor = stores.fetch(&m, LEASE).await;
    assert!(matches!(
        crashed.fence().ensure_held().await,
        Err(Error::LeaseLost)
    ));
    successor.fence().ensure_held().await.unwrap();
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
    successor
        .fence()
        .ensure_held()
        .await
        .expect("the late worker changed nothing");
    assert!(queue.heartbeat(&successor, LEASE).await.unwrap());
    let status = queue.status(&m).await.unwrap();
    assert_eq!(status.attempts, 1, "an interruption counts as an attempt");
    assert_eq!(status.state.as_deref(), Some("running"));
    assert!(recorded(&stores).await.leased);
}

#[tokio::test]
async fn interrupted_runs_that_saved_progress_do_not_count_as_failures() {
    let stores = Stores::start().await;
    let queue = &stores.queue;
    let m = id(MEMBER);
    queue.enqueue(&m, Timestamp::now()).await.unwrap();
    for _ in 0..MAX_ATTEMPTS * 2 {
        let crashed = stores.fetch(&m, Duration::ZERO).await;
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
        stores.fetch(&m, Duration::ZERO).await;
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
    let stores = Stores::start().await;
    let (queue, redis) = (&stores.queue, &stores.redis);
    let m = id(MEMBER);
    queue.enqueue(&m, Timestamp::now()).await.unwrap();
    for attempt in 1..=MAX_ATTEMPTS {
        // Each retry is scheduled in the past so the next fetch sees it at once.
        let lease = stores.fetch(&m, LEASE).await;
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
    assert_eq!(places(redis, MEMBER).await, 0);
    assert_eq!(
        recorded(&stores).await,
        JobRow {
            state: "dead".into(),
            run_at: None,
            attempts: 3,
            message: Some("boom 3".into()),
            leased: false,
        }
    );
    assert_eq!(queue.dead().await.unwrap().len(), 1);

    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::Queued
    );
    assert_eq!(queue.status(&m).await.unwrap().attempts, 0);
    assert!(matches!(
        redis.raw(&["ZSCORE", "test:queue:dead", MEMBER]).await,
        redis::Value::Nil
    ));
    let revived = recorded(&stores).await;
    assert_eq!(
        (revived.state.as_str(), revived.attempts),
        ("waiting", 0),
        "a dead job starts afresh in the record too"
    );
}

#[tokio::test]
async fn waiting_for_quota_is_not_a_failure_and_parked_members_wait_for_a_request() {
    let stores = Stores::start().await;
    let queue = &stores.queue;
    let m = id(MEMBER);
    queue.enqueue(&m, Timestamp::now()).await.unwrap();
    for _ in 0..MAX_ATTEMPTS + 1 {
        let lease = stores.fetch(&m, LEASE).await;
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

    let lease = stores.fetch(&m, LEASE).await;
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
        recorded(&stores).await,
        JobRow {
            state: "idle".into(),
            run_at: None,
            attempts: 0,
            message: Some("reconnect Fitbit".into()),
            leased: false,
        }
    );
    assert_eq!(
        queue.enqueue(&m, Timestamp::now()).await.unwrap(),
        Enqueued::Queued
    );
}

#[tokio::test]
async fn a_member_who_left_has_their_job_deleted_everywhere() {
    let stores = Stores::start().await;
    let queue = &stores.queue;
    let m = id(MEMBER);
    let lease = stores.lease(&m, LEASE).await;
    assert_eq!(
        queue
            .complete(&lease, Outcome::Gone, MAX_ATTEMPTS)
            .await
            .unwrap(),
        Completed::Forgotten
    );
    assert_eq!(queue.status(&m).await.unwrap().state, None);
    assert_eq!(stores.database.job(&m).await, None);

    queue.enqueue(&m, in_hours(1)).await.unwrap();
    queue.forget(&m).await.unwrap();
    assert_eq!(places(&stores.redis, MEMBER).await, 0);
    assert_eq!(stores.database.job(&m).await, None);
}

#[tokio::test]
async fn an_idle_worker_wakes_when_work_arrives() {
    let stores = Stores::start().await;
    let waiter = {
        let queue = stores.queue.clone();
        tokio::spawn(async move { queue.wait_for_work(Duration::from_secs(60)).await })
    };
    stores
        .queue
        .enqueue(&id(MEMBER), Timestamp::now())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .expect("the waiter wakes on enqueue, long before its 60 s timeout")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_run_asked_for_during_a_failing_run_is_not_held_back_by_the_backoff() {
    let stores = Stores::start().await;
    let queue = &stores.queue;
    let m = id(MEMBER);
    let lease = stores.lease(&m, LEASE).await;
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
    let again = stores.fetch(&m, LEASE).await;
    assert_eq!(again.attempts, 1, "the failure still counts");
}

#[tokio::test]
async fn racing_workers_lease_each_member_once_and_reap_each_lease_once() {
    let stores = Stores::start().await;
    let queue = &stores.queue;
    let mut members: Vec<String> = (0..30).map(|i| (20_000_000 + i).to_string()).collect();
    for member in &members {
        queue.enqueue(&id(member), Timestamp::now()).await.unwrap();
    }
    let fetchers: Vec<_> = (0..6)
        .map(|_| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut leased = Vec::new();
                while let Some(lease) = queue.fetch(Duration::ZERO).await.unwrap() {
                    leased.push(lease.member.to_string());
                }
                leased
            })
        })
        .collect();
    let mut leased = Vec::new();
    for fetcher in fetchers {
        leased.extend(fetcher.await.unwrap());
    }
    // A fetch that kept losing the race for the head leaves the rest to the others.
    while let Some(lease) = queue.fetch(Duration::ZERO).await.unwrap() {
        leased.push(lease.member.to_string());
    }
    leased.sort();
    members.sort();
    assert_eq!(leased, members, "every member leased, none twice");

    // Every lease expired at once.
    let reapers: Vec<_> = (0..4)
        .map(|_| {
            let queue = queue.clone();
            tokio::spawn(async move { queue.reap(MAX_ATTEMPTS).await.unwrap() })
        })
        .collect();
    let mut reaped = 0;
    for reaper in reapers {
        reaped += reaper.await.unwrap();
    }
    assert_eq!(reaped, members.len(), "every lease reaped, none twice");
    for member in &members {
        assert_eq!(places(&stores.redis, member).await, 1);
        assert_eq!(queue.status(&id(member)).await.unwrap().attempts, 1);
    }
}
