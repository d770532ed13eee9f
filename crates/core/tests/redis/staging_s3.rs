//! The staging store's one contract, held against both backends: a local directory, and S3 as a
//! private moto_server serves it (a fresh bucket per test).

use std::future::Future;

use oh_fitbit_core::{
    Error,
    config::S3Config,
    error_chain,
    staging::{S3Bucket, Staging, StagingKey},
};
use secrecy::SecretString;
use tokio::task::JoinSet;
use url::Url;

use crate::moto;

fn key(text: &str) -> StagingKey {
    StagingKey::parse(text).unwrap()
}

fn s3_config(endpoint: &str, bucket: &str, key_prefix: &str) -> S3Config {
    S3Config {
        bucket: bucket.to_owned(),
        endpoint: Some(Url::parse(endpoint).unwrap()),
        region: "us-east-1".to_owned(),
        path_style: true,
        key_prefix: key_prefix.to_owned(),
        access_key_id: SecretString::from("test"),
        secret_access_key: SecretString::from("test"),
    }
}

/// A bucket of its own in this process's moto_server.
async fn fresh_bucket() -> S3Config {
    let bucket = format!("ohfb-test-{}", oh_fitbit_core::random_token());
    let config = s3_config(&moto::endpoint().await, &bucket, "");
    let s3 = S3Bucket::new(&config);
    s3.client()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    config
}

/// Runs `operation` on every key, many at a time; the results come in no particular order.
async fn each_key<F, Fut, T>(keys: &[StagingKey], operation: F) -> Vec<T>
where
    F: Fn(StagingKey) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut results = Vec::with_capacity(keys.len());
    for batch in keys.chunks(64) {
        let mut tasks = JoinSet::new();
        for key in batch {
            tasks.spawn(operation(key.clone()));
        }
        results.extend(tasks.join_all().await);
    }
    results
}

async fn present(staging: &Staging, keys: &[StagingKey]) -> usize {
    let found = each_key(keys, |key| {
        let staging = staging.clone();
        async move { staging.get(&key).await.unwrap().is_some() }
    })
    .await;
    found.into_iter().filter(|&found| found).count()
}

async fn put_all(staging: &Staging, keys: &[StagingKey]) {
    each_key(keys, |key| {
        let staging = staging.clone();
        async move { staging.put(&key, key.as_str().as_bytes()).await.unwrap() }
    })
    .await;
}

/// What every backend must do.
async fn contract(staging: &Staging) {
    binary_bodies_round_trip(staging).await;
    put_replaces_and_missing_keys_read_as_none(staging).await;
    delete_is_idempotent(staging).await;
    delete_under_removes_exactly_the_prefix(staging).await;
}

async fn binary_bodies_round_trip(staging: &Staging) {
    // The gzip magic number, then every byte value (NULs, invalid UTF-8, CR/LF).
    let body: Vec<u8> = [0x1f, 0x8b, 0x08, 0x00]
        .into_iter()
        .chain((0..=255).cycle().take(70_000))
        .collect();
    let file = key("members/7/fitbit-daily.json.gz");
    staging.put(&file, &body).await.unwrap();
    assert_eq!(staging.get(&file).await.unwrap(), Some(body));
    let empty = key("members/7/empty");
    staging.put(&empty, b"").await.unwrap();
    assert_eq!(staging.get(&empty).await.unwrap(), Some(Vec::new()));
}

async fn put_replaces_and_missing_keys_read_as_none(staging: &Staging) {
    let file = key("members/8/file.json.gz");
    assert_eq!(staging.get(&file).await.unwrap(), None);
    staging.put(&file, b"first, and longer").await.unwrap();
    staging.put(&file, b"second").await.unwrap();
    assert_eq!(
        staging.get(&file).await.unwrap().as_deref(),
        Some(&b"second"[..])
    );
    assert_eq!(staging.get(&key("members/8/other")).await.unwrap(), None);
}

async fn delete_is_idempotent(staging: &Staging) {
    let file = key("members/9/file.json.gz");
    staging.put(&file, b"data").await.unwrap();
    staging.delete(&file).await.unwrap();
    assert_eq!(staging.get(&file).await.unwrap(), None);
    staging.delete(&file).await.unwrap();
    staging
        .delete(&key("members/404/never-written"))
        .await
        .unwrap();
}

async fn delete_under_removes_exactly_the_prefix(staging: &Staging) {
    // More than one page of ListObjectsV2 and more than one DeleteObjects batch.
    let doomed: Vec<StagingKey> = (0..1050)
        .map(|i| key(&format!("members/1/tier-{}/chunk-{i}.json.gz", i % 3)))
        .chain([key("members/1/fitbit-daily.json.gz")])
        .collect();
    let kept = [
        key("members/12/fitbit-daily.json.gz"),
        key("members/1.json.gz"),
        key("members/10/tier-0/chunk-1.json.gz"),
        key("other/members/1/file"),
    ];
    put_all(staging, &doomed).await;
    put_all(staging, &kept).await;
    staging.delete_under(&key("members/1")).await.unwrap();
    assert_eq!(present(staging, &doomed).await, 0);
    assert_eq!(present(staging, &kept).await, kept.len());
    staging.delete_under(&key("members/1")).await.unwrap();
    staging.delete_under(&key("members/404")).await.unwrap();
}

#[tokio::test]
async fn the_local_directory_backend_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(&Staging::local_directory(dir.path())).await;
}

#[tokio::test]
async fn the_s3_backend_keeps_the_contract() {
    let config = fresh_bucket().await;
    contract(&Staging::S3(S3Bucket::new(&config))).await;
}

#[tokio::test]
async fn the_s3_key_prefix_is_applied_to_every_key() {
    let shared = fresh_bucket().await;
    let prefixed = S3Bucket::new(&S3Config {
        key_prefix: "tenant/a/".to_owned(),
        ..shared.clone()
    });
    let client = prefixed.client().clone();
    let (prefixed, unprefixed) = (Staging::S3(prefixed), Staging::S3(S3Bucket::new(&shared)));
    let file = key("members/1/file.json.gz");
    prefixed.put(&file, b"tenant").await.unwrap();
    unprefixed.put(&file, b"bare").await.unwrap();
    let listing = client
        .list_objects_v2()
        .bucket(&shared.bucket)
        .send()
        .await
        .unwrap();
    let mut stored: Vec<_> = listing.contents().iter().filter_map(|o| o.key()).collect();
    stored.sort_unstable();
    assert_eq!(
        stored,
        ["members/1/file.json.gz", "tenant/a/members/1/file.json.gz"]
    );
    assert_eq!(
        prefixed.get(&file).await.unwrap().as_deref(),
        Some(&b"tenant"[..])
    );
    prefixed.delete_under(&key("members/1")).await.unwrap();
    assert_eq!(prefixed.get(&file).await.unwrap(), None);
    assert_eq!(
        unprefixed.get(&file).await.unwrap().as_deref(),
        Some(&b"bare"[..])
    );
}

#[tokio::test]
async fn s3_errors_name_the_operation_and_the_key() {
    let file = key("members/1/file.json.gz");
    let missing_bucket = Staging::S3(S3Bucket::new(&s3_config(
        &moto::endpoint().await,
        "ohfb-test-no-such-bucket",
        "p/",
    )));
    let error = missing_bucket.get(&file).await.unwrap_err();
    assert_names(&error, "GetObject", "p/members/1/file.json.gz");
    assert!(
        error.to_string().contains("ohfb-test-no-such-bucket"),
        "{error}"
    );
    assert!(
        error_chain(&error).contains("NoSuchBucket"),
        "{}",
        error_chain(&error)
    );
    assert!(!error.is_transient(), "a missing bucket stays missing");
    let error = missing_bucket.put(&file, b"x").await.unwrap_err();
    assert_names(&error, "PutObject", "p/members/1/file.json.gz");
    let error = missing_bucket
        .delete_under(&key("members/1"))
        .await
        .unwrap_err();
    assert_names(&error, "ListObjectsV2", "p/members/1/");

    let closed_port = format!("http://127.0.0.1:{}", moto::free_port());
    let unreachable = Staging::S3(S3Bucket::new(&s3_config(&closed_port, "bucket", "")));
    let error = unreachable.get(&file).await.unwrap_err();
    assert_names(&error, "GetObject", "members/1/file.json.gz");
    assert!(error.is_transient(), "a server that is down may come back");
}

fn assert_names(error: &Error, operation: &str, key: &str) {
    let message = error.to_string();
    for part in [operation, key] {
        assert!(message.contains(part), "{message:?} should name {part:?}");
    }
    assert!(matches!(error, Error::StagingS3 { .. }), "{error:?}");
}
