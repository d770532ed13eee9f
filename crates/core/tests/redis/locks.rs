use std::time::Duration;

use oh_fitbit_core::{Error, locks::Locks};

use crate::TestRedis;

#[tokio::test]
async fn a_lock_has_one_holder_at_a_time() {
    let redis = TestRedis::start().await;
    let locks = Locks::new(redis.connection.clone(), "test:");
    let held = locks
        .acquire("refresh:google:1", Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    let second = locks
        .acquire(
            "refresh:google:1",
            Duration::from_secs(30),
            Duration::from_millis(120),
        )
        .await;
    assert!(matches!(second, Err(Error::LockTimeout(_))));
    let other = locks
        .acquire("refresh:google:2", Duration::from_secs(30), Duration::ZERO)
        .await;
    assert!(other.is_ok(), "locks of other members are independent");
    locks.release(held).await.unwrap();
    assert!(
        locks
            .acquire("refresh:google:1", Duration::from_secs(30), Duration::ZERO)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_lock_whose_holder_died_expires_and_a_late_release_frees_nothing() {
    let redis = TestRedis::start().await;
    let locks = Locks::new(redis.connection.clone(), "test:");
    let dead_holder = locks
        .acquire("l", Duration::from_millis(100), Duration::ZERO)
        .await
        .unwrap();
    let next = locks
        .acquire("l", Duration::from_secs(30), Duration::from_secs(10))
        .await
        .expect("the expired lock can be taken");
    locks.release(dead_holder).await.unwrap();
    let third = locks
        .acquire("l", Duration::from_secs(30), Duration::ZERO)
        .await;
    assert!(
        matches!(third, Err(Error::LockTimeout(_))),
        "the dead holder released nothing"
    );
    locks.release(next).await.unwrap();
}
