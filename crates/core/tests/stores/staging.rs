//! The staging store's one contract, held against both backends: a local directory, and S3 as a
//! private moto_server serves it (a fresh bucket per test). Every object is sealed, bound to its
//! key, and written only by the run that holds the member.

use std::{future::Future, path::PathBuf};

use aws_sdk_s3::{Client, primitives::ByteStream};
use oh_fitbit_core::{
    Error,
    config::{S3Config, StagingConfig},
    error_chain,
    fence::Fence,
    local::LocalS3,
    staging::{S3Bucket, Staging, StagingKey},
};
use secrecy::SecretString;
use tokio::task::JoinSet;
use url::Url;

use crate::{Handover, Stores, fixtures::id, free_port};

fn key(text: &str) -> StagingKey {
    StagingKey::parse(text).unwrap()
}

fn s3_config(endpoint: Url, bucket: &str, key_prefix: &str) -> S3Config {
    S3Config {
        bucket: bucket.to_owned(),
        endpoint: Some(endpoint),
        region: "us-east-1".to_owned(),
        path_style: true,
        key_prefix: key_prefix.to_owned(),
        access_key_id: SecretString::from("test"),
        secret_access_key: SecretString::from("test"),
    }
}

/// Where a backend keeps its objects, reached around the store: what anyone with access to
/// the directory or the bucket sees.
enum Stored {
    Directory(PathBuf),
    Bucket {
        client: Client,
        bucket: String,
        prefix: String,
    },
}

impl Stored {
    async fn read(&self, key: &StagingKey) -> Option<Vec<u8>> {
        match self {
            Stored::Directory(root) => std::fs::read(root.join(key.as_str())).ok(),
            Stored::Bucket {
                client,
                bucket,
                prefix,
            } => {
                let object = client
                    .get_object()
                    .bucket(bucket)
                    .key(format!("{prefix}{}", key.as_str()))
                    .send()
                    .await
                    .ok()?;
                Some(object.body.collect().await.unwrap().to_vec())
            }
        }
    }

    async fn write(&self, key: &StagingKey, bytes: &[u8]) {
        match self {
            Stored::Directory(root) => {
                let path = root.join(key.as_str());
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
            Stored::Bucket {
                client,
                bucket,
                prefix,
            } => {
                client
                    .put_object()
                    .bucket(bucket)
                    .key(format!("{prefix}{}", key.as_str()))
                    .body(ByteStream::from(bytes.to_vec()))
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// A backend under test, the stores its fences live in, and a run that holds the member
/// beside one whose lease was handed on.
struct Backend {
    staging: Staging,
    stored: Stored,
    current: Fence,
    stale: Fence,
    stores: Stores,
    _dir: Option<tempfile::TempDir>,
    /// The S3 server of an S3 backend's bucket.
    s3: Option<LocalS3>,
}

impl Backend {
    async fn with(
        config: StagingConfig,
        dir: Option<tempfile::TempDir>,
        s3: Option<LocalS3>,
    ) -> Self {
        let mut stores = Stores::start().await;
        let (stale, current) = stores.handed_on(&id("12345678"), Handover::Reaped).await;
        let staging = Staging::from_config(&config, stores.cipher.clone());
        let stored = match &config {
            StagingConfig::LocalDirectory(root) => Stored::Directory(root.clone()),
            StagingConfig::S3(s3) => Stored::Bucket {
                client: staging.bucket().expect("an S3 store").client().clone(),
                bucket: s3.bucket.clone(),
                prefix: s3.key_prefix.clone(),
            },
        };
        Self {
            staging,
            stored,
            current: current.fence().clone(),
            stale: stale.fence().clone(),
            stores,
            _dir: dir,
            s3,
        }
    }

    async fn local_directory() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("staging");
        Self::with(StagingConfig::LocalDirectory(root), Some(dir), None).await
    }

    /// A bucket in a private moto_server.
    async fn s3(key_prefix: &str) -> Self {
        let s3 = LocalS3::start().await.expect("moto_server starts");
        let config = fresh_bucket(&s3, key_prefix).await;
        Self::with(StagingConfig::S3(config), None, Some(s3)).await
    }

    fn s3_endpoint(&self) -> Url {
        self.s3.as_ref().expect("an S3 backend").endpoint()
    }

    async fn put(&self, key: &StagingKey, bytes: &[u8]) {
        self.staging
            .put(&self.current, key, bytes.to_vec())
            .await
            .unwrap();
    }

    async fn get(&self, key: &StagingKey) -> Option<Vec<u8>> {
        self.staging.get(key).await.unwrap()
    }
}

async fn fresh_bucket(s3: &LocalS3, key_prefix: &str) -> S3Config {
    let bucket = format!("ohfb-test-{}", oh_fitbit_core::random_token());
    let config = s3_config(s3.endpoint(), &bucket, key_prefix);
    S3Bucket::new(&config)
        .client()
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

async fn present(backend: &Backend, keys: &[StagingKey]) -> usize {
    let found = each_key(keys, |key| {
        let staging = backend.staging.clone();
        async move { staging.get(&key).await.unwrap().is_some() }
    })
    .await;
    found.into_iter().filter(|&found| found).count()
}

async fn put_all(backend: &Backend, keys: &[StagingKey]) {
    each_key(keys, |key| {
        let (staging, fence) = (backend.staging.clone(), backend.current.clone());
        async move {
            staging
                .put(&fence, &key, key.as_str().as_bytes().to_vec())
                .await
                .unwrap()
        }
    })
    .await;
}

/// What every backend must do.
async fn contract(backend: &Backend) {
    binary_bodies_round_trip(backend).await;
    put_replaces_and_missing_keys_read_as_none(backend).await;
    what_is_stored_is_sealed(backend).await;
    an_object_opens_only_under_its_own_key(backend).await;
    a_stale_fence_writes_nothing(backend).await;
    delete_under_removes_exactly_the_prefix(backend).await;
}

async fn binary_bodies_round_trip(backend: &Backend) {
    // The gzip magic number, then every byte value (NULs, invalid UTF-8, CR/LF).
    let body: Vec<u8> = [0x1f, 0x8b, 0x08, 0x00]
        .into_iter()
        .chain((0..=255).cycle().take(70_000))
        .collect();
    let file = key("members/7/fitbit-daily.json.gz");
    backend.put(&file, &body).await;
    assert_eq!(backend.get(&file).await, Some(body));
    let empty = key("members/7/empty");
    backend.put(&empty, b"").await;
    assert_eq!(backend.get(&empty).await, Some(Vec::new()));
}

async fn put_replaces_and_missing_keys_read_as_none(backend: &Backend) {
    let file = key("members/8/file.json.gz");
    assert_eq!(backend.get(&file).await, None);
    backend.put(&file, b"first, and longer").await;
    backend.put(&file, b"second").await;
    assert_eq!(backend.get(&file).await.as_deref(), Some(&b"second"[..]));
    assert_eq!(backend.get(&key("members/8/other")).await, None);
}

async fn what_is_stored_is_sealed(backend: &Backend) {
    let file = key("members/9/standard/steps/2016.json");
    let chunk = br#"{"date":"2016-03-01","steps":8412,"marker":"HEALTH-DATA"}"#;
    backend.put(&file, chunk).await;
    let stored = backend
        .stored
        .read(&file)
        .await
        .expect("stored under its key");
    assert!(stored.starts_with(b"v1"), "sealed in the binary format");
    assert!(
        stored.len() > chunk.len(),
        "with a key id, a nonce and a tag"
    );
    for plain in [&b"HEALTH-DATA"[..], b"8412", b"steps", b"2016-03-01"] {
        assert!(
            !stored.windows(plain.len()).any(|window| window == plain),
            "{:?} is readable in the store",
            String::from_utf8_lossy(plain)
        );
    }
}

async fn an_object_opens_only_under_its_own_key(backend: &Backend) {
    let original = key("members/10/standard/steps/2016.json");
    backend.put(&original, b"member 10's steps").await;
    let sealed = backend.stored.read(&original).await.unwrap();
    for elsewhere in [
        key("members/10/standard/steps/2017.json"),
        key("members/11/standard/steps/2016.json"),
    ] {
        backend.stored.write(&elsewhere, &sealed).await;
        let error = backend.staging.get(&elsewhere).await.unwrap_err();
        assert!(
            matches!(&error, Error::StagingUnreadable { key, .. } if key == elsewhere.as_str()),
            "{error:?}"
        );
    }
    let mut damaged = sealed;
    *damaged.last_mut().unwrap() ^= 1;
    backend.stored.write(&original, &damaged).await;
    assert!(matches!(
        backend.staging.get(&original).await,
        Err(Error::StagingUnreadable { .. })
    ));
}

async fn a_stale_fence_writes_nothing(backend: &Backend) {
    let (kept, never) = (key("members/12/kept.json"), key("members/12/never.json"));
    backend.put(&kept, b"the current run's").await;
    let stale = &backend.stale;
    for file in [&kept, &never] {
        let refused = backend
            .staging
            .put(stale, file, b"the stale run's".to_vec())
            .await;
        assert!(matches!(refused, Err(Error::LeaseLost)), "{refused:?}");
    }
    let refused = backend
        .staging
        .delete_under(stale, &key("members/12"))
        .await;
    assert!(matches!(refused, Err(Error::LeaseLost)), "{refused:?}");
    assert_eq!(
        backend.get(&kept).await.as_deref(),
        Some(&b"the current run's"[..])
    );
    assert_eq!(backend.stored.read(&never).await, None);
}

async fn delete_under_removes_exactly_the_prefix(backend: &Backend) {
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
    put_all(backend, &doomed).await;
    put_all(backend, &kept).await;
    let fence = &backend.current;
    backend
        .staging
        .delete_under(fence, &key("members/1"))
        .await
        .unwrap();
    assert_eq!(present(backend, &doomed).await, 0);
    assert_eq!(present(backend, &kept).await, kept.len());
    backend
        .staging
        .delete_under(fence, &key("members/1"))
        .await
        .unwrap();
    backend
        .staging
        .delete_under(fence, &key("members/404"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_local_directory_backend_keeps_the_contract() {
    contract(&Backend::local_directory().await).await;
}

#[tokio::test]
async fn the_s3_backend_keeps_the_contract() {
    contract(&Backend::s3("").await).await;
}

#[tokio::test]
async fn the_s3_key_prefix_is_applied_to_every_key() {
    let prefixed = Backend::s3("tenant/a/").await;
    let Stored::Bucket { client, bucket, .. } = &prefixed.stored else {
        unreachable!("an S3 backend")
    };
    let shared = s3_config(prefixed.s3_endpoint(), bucket, "");
    let unprefixed =
        Staging::from_config(&StagingConfig::S3(shared), prefixed.stores.cipher.clone());
    let file = key("members/1/file.json.gz");
    prefixed.put(&file, b"tenant").await;
    unprefixed
        .put(&prefixed.current, &file, b"bare".to_vec())
        .await
        .unwrap();
    let listing = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let mut stored: Vec<_> = listing.contents().iter().filter_map(|o| o.key()).collect();
    stored.sort_unstable();
    assert_eq!(
        stored,
        ["members/1/file.json.gz", "tenant/a/members/1/file.json.gz"]
    );
    assert_eq!(prefixed.get(&file).await.as_deref(), Some(&b"tenant"[..]));
    prefixed
        .staging
        .delete_under(&prefixed.current, &key("members/1"))
        .await
        .unwrap();
    assert_eq!(prefixed.get(&file).await, None);
    assert_eq!(
        unprefixed.get(&file).await.unwrap().as_deref(),
        Some(&b"bare"[..])
    );
}

#[tokio::test]
async fn s3_errors_name_the_operation_and_the_key() {
    let file = key("members/1/file.json.gz");
    let s3 = LocalS3::start().await.expect("moto_server starts");
    let missing = s3_config(s3.endpoint(), "ohfb-test-no-such-bucket", "p/");
    let backend = Backend::with(StagingConfig::S3(missing), None, Some(s3)).await;
    let (missing_bucket, fence) = (&backend.staging, &backend.current);
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
    let error = missing_bucket
        .put(fence, &file, b"x".to_vec())
        .await
        .unwrap_err();
    assert_names(&error, "PutObject", "p/members/1/file.json.gz");
    let error = missing_bucket
        .delete_under(fence, &key("members/1"))
        .await
        .unwrap_err();
    assert_names(&error, "ListObjectsV2", "p/members/1/");

    let closed_port = Url::parse(&format!("http://127.0.0.1:{}", free_port())).unwrap();
    let unreachable = Staging::from_config(
        &StagingConfig::S3(s3_config(closed_port, "bucket", "")),
        backend.stores.cipher.clone(),
    );
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
