//! Clock skew between dynos: leases, and what is due, go by Redis's clock, so a worker whose own
//! clock is hours off neither loses its live run to a reaper nor reaps others' live runs, and
//! runs nothing early or late.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use oh_fitbit_core::queue::{Completed, JobQueue, Lease, Outcome};
use open_humans::ProjectMemberId;

use crate::{
    Stores, TestRedis,
    fixtures::{LEASE, MAX_ATTEMPTS, id, in_hours},
};

const SKEW: SignedDuration = SignedDuration::from_hours(3);

/// How far a time read from Redis may be from one the test computes around it.
const MARGIN: SignedDuration = SignedDuration::from_secs(5);

/// Redis's clock.
async fn redis_now(redis: &TestRedis) -> Timestamp {
    let redis::Value::Array(time) = redis.raw(&["TIME"]).await else {
        panic!("TIME answers an array")
    };
    let [
        redis::Value::BulkString(seconds),
        redis::Value::BulkString(micros),
    ] = &time[..]
    else {
        panic!("TIME answers seconds and microseconds: {time:?}")
    };
    let number = |bytes: &[u8]| -> i64 { std::str::from_utf8(bytes).unwrap().parse().unwrap() };
    Timestamp::new(number(seconds), number(micros) as i32 * 1000).unwrap()
}

/// Each lease's expiry as the leases set holds it.
async fn lease_expiries(redis: &TestRedis) -> Vec<(String, Timestamp)> {
    let redis::Value::Array(entries) = redis
        .raw(&["ZRANGE", "test:queue:leases", "0", "-1", "WITHSCORES"])
        .await
    else {
        panic!("ZRANGE answers an array")
    };
    entries
        .chunks(2)
        .map(|pair| {
            let [
                redis::Value::BulkString(member),
                redis::Value::BulkString(score),
            ] = pair
            else {
                panic!("a member and its score: {pair:?}")
            };
            let ms: i64 = std::str::from_utf8(score).unwrap().parse().unwrap();
            (
                String::from_utf8(member.clone()).unwrap(),
                Timestamp::from_millisecond(ms).unwrap(),
            )
        })
        .collect()
}

fn assert_near(what: &str, actual: Timestamp, expected: Timestamp) {
    let off = actual.duration_since(expected).abs();
    assert!(
        off <= MARGIN,
        "{what} is {actual}, {off:#} off {expected} (by Redis's clock)"
    );
}

/// A lease on the member's job, taken through `queue`, that expires at once.
async fn lease_expiring_at_once(queue: &JobQueue, member: &ProjectMemberId) -> Lease {
    queue.enqueue(member, Timestamp::now()).await.unwrap();
    let lease = queue
        .fetch(Duration::ZERO)
        .await
        .unwrap()
        .expect("a ready job");
    assert_eq!(&lease.member, member);
    lease
}

/// Every lease expires `LEASE` after `since` by Redis's clock, whoever gave or extended it.
async fn assert_leases_from(redis: &TestRedis, since: Timestamp, count: usize) {
    let expiries = lease_expiries(redis).await;
    assert_eq!(expiries.len(), count, "{expiries:?}");
    let lease = SignedDuration::try_from(LEASE).unwrap();
    for (member, expiry) in expiries {
        assert_near(&format!("the lease of {member}"), expiry, since + lease);
    }
}

#[tokio::test]
async fn workers_whose_clocks_are_off_keep_their_leases_and_reap_only_expired_ones() {
    let stores = Stores::start().await;
    let (queue, redis) = (&stores.queue, &stores.redis);
    let behind: JobQueue = queue.clone().with_clock_offset(-SKEW);
    let ahead: JobQueue = queue.clone().with_clock_offset(SKEW);
    let (slow, fast) = (id("11111111"), id("22222222"));
    for member in [&slow, &fast] {
        queue.enqueue(member, Timestamp::now()).await.unwrap();
    }

    let slow_lease = behind.fetch(LEASE).await.unwrap().expect("a ready job");
    let fast_lease = ahead.fetch(LEASE).await.unwrap().expect("a ready job");
    assert_eq!((&slow_lease.member, &fast_lease.member), (&slow, &fast));
    for reaper in [&ahead, &behind, queue] {
        assert_eq!(
            reaper.reap(MAX_ATTEMPTS).await.unwrap(),
            0,
            "no live lease is reaped, whatever the reaper's clock"
        );
    }
    assert_leases_from(redis, redis_now(redis).await, 2).await;
    let started_at = queue.status(&slow).await.unwrap().started_at.unwrap();
    assert_near("the run's start", started_at, redis_now(redis).await);
    assert_eq!(ahead.stats().await.unwrap().expired_leases, 0);
    assert!(behind.heartbeat(&slow_lease, LEASE).await.unwrap());
    assert!(ahead.heartbeat(&fast_lease, LEASE).await.unwrap());
    assert_leases_from(redis, redis_now(redis).await, 2).await;
    for lease in [&slow_lease, &fast_lease] {
        lease.fence().ensure_held().await.unwrap();
        let done = Outcome::Done {
            next_run: in_hours(24),
        };
        assert_eq!(
            queue.complete(lease, done, MAX_ATTEMPTS).await.unwrap(),
            Completed::Scheduled
        );
    }

    // A lease that did expire is reaped even by a reaper whose clock is behind.
    let crashed = lease_expiring_at_once(&ahead, &slow).await;
    assert_eq!(behind.stats().await.unwrap().expired_leases, 1);
    assert_eq!(behind.reap(MAX_ATTEMPTS).await.unwrap(), 1);
    assert!(!ahead.heartbeat(&crashed, LEASE).await.unwrap());
}

#[tokio::test]
async fn a_worker_whose_clock_is_off_runs_scheduled_jobs_when_they_are_due() {
    let stores = Stores::start().await;
    let queue = &stores.queue;
    let behind = queue.clone().with_clock_offset(-SKEW);
    let ahead = queue.clone().with_clock_offset(SKEW);
    let (soon, later) = (id("11111111"), id("22222222"));
    queue.enqueue(&later, in_hours(1)).await.unwrap();
    assert!(
        ahead.fetch(LEASE).await.unwrap().is_none(),
        "a run due in an hour is not due three hours early"
    );
    assert_eq!(ahead.stats().await.unwrap().due, 0);

    // Scheduled due now, as a retry without backoff is.
    let lease = stores.lease(&soon, LEASE).await;
    let retry = Outcome::Retry {
        run_at: Timestamp::now(),
        error: "boom".into(),
    };
    queue.complete(&lease, retry, MAX_ATTEMPTS).await.unwrap();
    assert_eq!(behind.stats().await.unwrap().due, 1);
    let due = behind
        .fetch(LEASE)
        .await
        .unwrap()
        .expect("the retry is due");
    assert_eq!((&due.member, due.attempts), (&soon, 1));
    assert!(behind.fetch(LEASE).await.unwrap().is_none());
}
