//! Repairing the queue from the database's record: a Redis that lost everything is rebuilt with
//! every job in its state and at its time, an enqueue that reached only the database is put
//! back, and what Redis still knows is never touched.

use jiff::Timestamp;
use oh_fitbit_core::queue::{JobQueue, Outcome, QueueStats, Repaired};
use open_humans::ProjectMemberId;

use crate::{
    Loss, Stores,
    fixtures::{LEASE, MAX_ATTEMPTS, id, in_hours},
};

/// What of a job's status survives a rebuild: its state, when a scheduled run is due (a ready
/// job's time is when it became ready), its failed attempts and its message.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Kept {
    state: Option<String>,
    scheduled_at: Option<Timestamp>,
    attempts: u32,
    message: Option<String>,
}

async fn kept(queue: &JobQueue, member: &ProjectMemberId) -> Kept {
    let status = queue.status(member).await.unwrap();
    Kept {
        scheduled_at: status
            .run_at
            .filter(|_| status.state.as_deref() == Some("scheduled")),
        state: status.state,
        attempts: status.attempts,
        message: status.message,
    }
}

async fn kept_all(queue: &JobQueue, members: &[ProjectMemberId]) -> Vec<Kept> {
    let mut all = Vec::new();
    for member in members {
        all.push(kept(queue, member).await);
    }
    all
}

/// Jobs in every state a member's can be in while nobody runs it: due now, scheduled in an
/// hour (returned with the members), parked until the member acts, and dead after too many
/// failures.
async fn jobs_in_every_state(stores: &Stores) -> (Vec<ProjectMemberId>, Timestamp) {
    let queue = &stores.queue;
    let dead = id("44444444");
    queue.enqueue(&dead, Timestamp::now()).await.unwrap();
    for attempt in 1..=MAX_ATTEMPTS {
        let lease = stores.fetch(&dead, LEASE).await;
        let retry = Outcome::Retry {
            run_at: Timestamp::now(),
            error: format!("boom {attempt}"),
        };
        queue.complete(&lease, retry, MAX_ATTEMPTS).await.unwrap();
    }
    let parked = id("33333333");
    let lease = stores.lease(&parked, LEASE).await;
    let reason = Outcome::Parked {
        reason: "reconnect Fitbit".into(),
    };
    queue.complete(&lease, reason, MAX_ATTEMPTS).await.unwrap();
    let due = id("11111111");
    queue.enqueue(&due, Timestamp::now()).await.unwrap();
    let later = id("22222222");
    let later_at = in_hours(1);
    queue.enqueue(&later, later_at).await.unwrap();

    let members = vec![due, later, parked, dead];
    let states: Vec<Option<String>> = kept_all(queue, &members)
        .await
        .into_iter()
        .map(|kept| kept.state)
        .collect();
    let expected = ["ready", "scheduled", "idle", "dead"].map(|s| Some(s.to_owned()));
    assert_eq!(states, expected);
    (members, later_at)
}

const EVERY_STATE: QueueStats = QueueStats {
    ready: 1,
    scheduled: 1,
    due: 0,
    running: 0,
    expired_leases: 0,
    dead: 1,
};

async fn the_queue_is_rebuilt_after(loss: Loss) {
    let mut stores = Stores::start().await;
    let (members, later_at) = jobs_in_every_state(&stores).await;
    let queue = stores.queue.clone();
    let before = kept_all(&queue, &members).await;
    assert_eq!(before[1].scheduled_at, Some(later_at));
    assert_eq!(before[3].attempts, MAX_ATTEMPTS);
    assert_eq!(queue.stats().await.unwrap(), EVERY_STATE);
    // The first repair of a Redis finds no marker and rebuilds, touching nothing it knows.
    assert_eq!(
        queue.repair(&[]).await.unwrap(),
        Repaired {
            rebuilt: true,
            restored: 0
        }
    );
    assert_eq!(kept_all(&queue, &members).await, before);

    stores.redis.lose_everything(loss).await;
    assert_eq!(queue.stats().await.unwrap(), QueueStats::default());
    assert_eq!(kept(&queue, &members[0]).await.state, None);

    assert_eq!(
        queue.repair(&[]).await.unwrap(),
        Repaired {
            rebuilt: true,
            restored: 4
        }
    );
    assert_eq!(kept_all(&queue, &members).await, before);
    assert_eq!(queue.stats().await.unwrap(), EVERY_STATE);
    assert_eq!(queue.next_due().await.unwrap(), Some(later_at));
    assert_eq!(
        queue.repair(&[]).await.unwrap(),
        Repaired::default(),
        "a second repair finds the queue intact"
    );
    assert_eq!(kept_all(&queue, &members).await, before);
    assert_eq!(queue.stats().await.unwrap(), EVERY_STATE);

    stores.fetch(&members[0], LEASE).await;
    assert!(queue.fetch(LEASE).await.unwrap().is_none(), "the rest wait");
}

#[tokio::test]
async fn a_flushed_redis_is_rebuilt_from_the_database() {
    the_queue_is_rebuilt_after(Loss::Flushed).await;
}

#[tokio::test]
async fn a_redis_restarted_empty_is_rebuilt_from_the_database() {
    the_queue_is_rebuilt_after(Loss::Restarted).await;
}

#[tokio::test]
async fn repair_keeps_what_redis_knows_of_a_job_and_only_brings_a_lost_earlier_run_forward() {
    let mut stores = Stores::start().await;
    let queue = stores.queue.clone();
    let m = id("12345678");
    queue.repair(&[]).await.unwrap();
    let (in_one_hour, in_two_hours) = (in_hours(1), in_hours(2));
    queue.enqueue(&m, Timestamp::now()).await.unwrap();
    // The record says the job is overdue and failed twice; Redis has it ready, untried.
    let rewrite = "UPDATE sync_jobs SET run_at = now() - interval '1 hour', attempts = 2 \
                   WHERE member_id = $1";
    assert_eq!(stores.database.execute(rewrite, &m).await, 1);
    let ready = Kept {
        state: Some("ready".into()),
        scheduled_at: None,
        attempts: 0,
        message: None,
    };
    assert_eq!(queue.repair(&[]).await.unwrap(), Repaired::default());
    assert_eq!(kept(&queue, &m).await, ready);

    // Redis has the job an hour ahead of the record: the record's earlier run was asked for
    // and its Redis half lost, so the job is due now; what Redis counted is kept.
    let lease = stores.fetch(&m, LEASE).await;
    let later = Outcome::Done {
        next_run: in_one_hour,
    };
    queue.complete(&lease, later, MAX_ATTEMPTS).await.unwrap();
    assert_eq!(stores.database.execute(rewrite, &m).await, 1);
    assert_eq!(
        queue.repair(&[]).await.unwrap(),
        Repaired {
            rebuilt: false,
            restored: 1
        }
    );
    assert_eq!(kept(&queue, &m).await, ready);

    // Redis lost everything, and the member asked for a run before any worker repaired it;
    // the record, behind Redis, has the run later and failing.
    stores.redis.lose_everything(Loss::Flushed).await;
    queue.enqueue(&m, in_two_hours).await.unwrap();
    let behind = "UPDATE sync_jobs SET run_at = now() + interval '3 hours', attempts = 2 \
                  WHERE member_id = $1";
    assert_eq!(stores.database.execute(behind, &m).await, 1);
    assert_eq!(
        queue.repair(&[]).await.unwrap(),
        Repaired {
            rebuilt: true,
            restored: 0
        }
    );
    assert_eq!(
        kept(&queue, &m).await,
        Kept {
            state: Some("scheduled".into()),
            scheduled_at: Some(in_two_hours),
            ..ready
        }
    );
}

#[tokio::test]
async fn an_enqueue_whose_redis_half_was_lost_is_restored_by_the_overdue_sweep() {
    let stores = Stores::start().await;
    let queue = &stores.queue;
    let m = id("12345678");
    queue.repair(&[]).await.unwrap();
    queue.enqueue(&m, Timestamp::now()).await.unwrap();
    // Lose the Redis half of the enqueue.
    let redis = &stores.redis;
    redis.raw(&["DEL", "test:job:12345678"]).await;
    redis
        .raw(&["LREM", "test:queue:ready", "0", "12345678"])
        .await;
    redis
        .raw(&["ZREM", "test:queue:scheduled", "12345678"])
        .await;
    assert_eq!(queue.stats().await.unwrap(), QueueStats::default());
    assert_eq!(kept(queue, &m).await.state, None);
    assert_eq!(
        queue.repair(&[]).await.unwrap(),
        Repaired::default(),
        "a job due just now may still be on its way to Redis"
    );
    let overdue = "UPDATE sync_jobs SET run_at = now() - interval '3 minutes' WHERE member_id = $1";
    assert_eq!(stores.database.execute(overdue, &m).await, 1);
    assert_eq!(
        queue.repair(&[]).await.unwrap(),
        Repaired {
            rebuilt: false,
            restored: 1
        }
    );
    assert_eq!(kept(queue, &m).await.state.as_deref(), Some("ready"));
    stores.fetch(&m, LEASE).await;
}

#[tokio::test]
async fn an_enqueue_while_redis_is_down_is_kept_in_the_database_and_restored() {
    let mut stores = Stores::start().await;
    let m = id("12345678");
    stores.redis.server.kill().await;
    assert!(
        stores.queue.enqueue(&m, Timestamp::now()).await.is_err(),
        "Redis is down"
    );
    let recorded = stores.database.job(&m).await.expect("recorded first");
    assert_eq!(recorded.state, "waiting");
    stores.redis.server.restart().await.unwrap();
    assert_eq!(
        stores.queue.repair(&[]).await.unwrap(),
        Repaired {
            rebuilt: true,
            restored: 1
        }
    );
    stores.fetch(&m, LEASE).await;
}

#[tokio::test]
async fn a_member_connected_without_a_job_is_queued_by_repair() {
    let stores = Stores::start().await;
    let queue = &stores.queue;
    for member in ["11111111", "22222222"] {
        stores.sign_in(&id(member), "oh").await;
    }
    stores.connect_fitbit(&id("11111111"), "g").await;
    assert_eq!(
        queue.repair(&[]).await.unwrap(),
        Repaired {
            rebuilt: true,
            restored: 1
        }
    );
    assert_eq!(
        kept(queue, &id("22222222")).await.state,
        None,
        "not connected"
    );
    assert_eq!(queue.repair(&[]).await.unwrap(), Repaired::default());
    // And while the queue is intact.
    stores.sign_in(&id("33333333"), "oh").await;
    stores.connect_fitbit(&id("33333333"), "g").await;
    assert_eq!(
        queue.repair(&[]).await.unwrap(),
        Repaired {
            rebuilt: false,
            restored: 1
        }
    );
    for member in ["11111111", "33333333"] {
        assert_eq!(
            kept(queue, &id(member)).await.state.as_deref(),
            Some("ready")
        );
    }
    let first = queue.fetch(LEASE).await.unwrap().unwrap();
    let second = queue.fetch(LEASE).await.unwrap().unwrap();
    assert_eq!(
        (first.member, second.member),
        (id("11111111"), id("33333333"))
    );
    assert!(queue.fetch(LEASE).await.unwrap().is_none());
}

#[tokio::test]
async fn members_with_an_erasure_to_do_are_queued_by_repair() {
    let stores = Stores::start().await;
    let (queue, members) = (&stores.queue, &stores.members);
    let departed = id("12345678");
    stores.sign_in(&departed, "oh").await;
    members.forget(&departed).await.unwrap();
    queue.repair(&[]).await.unwrap();
    assert_eq!(kept(queue, &departed).await.state, None);
    let erasures = members.erasures_pending().await.unwrap();
    assert_eq!(erasures, std::slice::from_ref(&departed));
    assert_eq!(
        queue.repair(&erasures).await.unwrap(),
        Repaired {
            rebuilt: false,
            restored: 1
        }
    );
    stores.fetch(&departed, LEASE).await;
}
