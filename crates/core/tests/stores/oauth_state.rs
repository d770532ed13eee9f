use std::time::Duration;

use oh_fitbit_core::oauth_state::OAuthStates;

use crate::TestRedis;

#[tokio::test]
async fn a_state_is_consumed_exactly_once() {
    let redis = TestRedis::start().await;
    let states = OAuthStates::new(redis.redis.clone());
    states.issue("abc", Duration::from_secs(60)).await.unwrap();
    assert!(states.consume("abc").await.unwrap());
    assert!(!states.consume("abc").await.unwrap(), "a replay is refused");
    assert!(!states.consume("never-issued").await.unwrap());
}

#[tokio::test]
async fn only_a_hash_of_the_state_is_stored_and_it_expires() {
    let redis = TestRedis::start().await;
    let states = OAuthStates::new(redis.redis.clone());
    states
        .issue("visible-state", Duration::from_secs(60))
        .await
        .unwrap();
    let redis::Value::Array(keys) = redis.raw(&["KEYS", "*"]).await else {
        panic!("KEYS answers an array")
    };
    assert_eq!(keys.len(), 1);
    let redis::Value::BulkString(key) = &keys[0] else {
        panic!("a key is a bulk string")
    };
    let key = String::from_utf8(key.clone()).unwrap();
    assert!(key.starts_with("test:oauth-state:"), "{key}");
    assert!(!key.contains("visible-state"));
    let redis::Value::Int(ttl) = redis.raw(&["TTL", &key]).await else {
        panic!("TTL answers an integer")
    };
    assert!((1..=60).contains(&ttl));
}
