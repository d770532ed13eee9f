//! The S3 backend: one object per key, in a bucket on AWS or on an S3-compatible server. A PUT
//! replaces an object atomically, so no temporary objects are needed.

use std::time::Duration;

use aws_sdk_s3::{
    Client,
    config::{
        BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
        ResponseChecksumValidation, timeout::TimeoutConfig,
    },
    error::SdkError,
    operation::get_object::GetObjectError,
    primitives::ByteStream,
    types::{Delete, ObjectIdentifier},
};
use secrecy::ExposeSecret;

use super::StagingKey;
use crate::{Error, config::S3Config};

/// DeleteObjects takes at most this many keys per request.
const DELETE_BATCH: usize = 1000;

#[derive(Clone, Debug)]
pub struct S3Bucket {
    client: Client,
    bucket: String,
    key_prefix: String,
}

impl S3Bucket {
    pub fn new(config: &S3Config) -> Self {
        Self {
            client: client(config),
            bucket: config.bucket.clone(),
            key_prefix: config.key_prefix.clone(),
        }
    }

    /// The configured client, for what the store does not offer.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the bucket, for the local stack and the tests; an operator provisions a real
    /// one (SETUP.md). A bucket that exists already is fine.
    pub async fn create(&self) -> Result<(), Error> {
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error)
                if error.as_service_error().is_some_and(|service| {
                    service.is_bucket_already_owned_by_you() || service.is_bucket_already_exists()
                }) =>
            {
                Ok(())
            }
            Err(error) => Err(self.sdk_error("CreateBucket", "", error)),
        }
    }

    pub(super) async fn put(&self, key: &StagingKey, bytes: &[u8]) -> Result<(), Error> {
        let object = self.object_key(key);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&object)
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(|error| self.sdk_error("PutObject", &object, error))?;
        Ok(())
    }

    pub(super) async fn get(&self, key: &StagingKey) -> Result<Option<Vec<u8>>, Error> {
        self.read(key, None).await
    }

    /// The first `length` bytes under `key` (fewer if it is shorter), in one ranged request.
    pub(super) async fn get_start(
        &self,
        key: &StagingKey,
        length: usize,
    ) -> Result<Option<Vec<u8>>, Error> {
        self.read(key, Some(length)).await
    }

    /// The object under `key`, or its first `length` bytes; `None` when there is none.
    async fn read(
        &self,
        key: &StagingKey,
        length: Option<usize>,
    ) -> Result<Option<Vec<u8>>, Error> {
        let object = self.object_key(key);
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&object)
            .set_range(length.map(|length| format!("bytes=0-{}", length.saturating_sub(1))));
        let output = match request.send().await {
            Ok(output) => output,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(GetObjectError::is_no_such_key) =>
            {
                return Ok(None);
            }
            // An empty object has no first byte to range over.
            Err(error)
                if error
                    .raw_response()
                    .is_some_and(|raw| raw.status().as_u16() == 416) =>
            {
                return Ok(Some(Vec::new()));
            }
            Err(error) => return Err(self.sdk_error("GetObject", &object, error)),
        };
        // The body streams after the headers, so a dropped connection shows up here.
        let body = output
            .body
            .collect()
            .await
            .map_err(|error| self.error("GetObject", &object, true, error))?;
        let mut bytes = body.to_vec();
        if let Some(length) = length {
            // A server that ignores the range sends the whole object.
            bytes.truncate(length);
        }
        Ok(Some(bytes))
    }

    /// Every key under `prefix/`; an object whose name is not a key cannot have been stored
    /// through the store, and is not listed.
    pub(super) async fn list_under(&self, prefix: &StagingKey) -> Result<Vec<StagingKey>, Error> {
        let listed = format!("{}/", self.object_key(prefix));
        let mut keys: Vec<StagingKey> = self
            .list(&listed)
            .await?
            .iter()
            .filter_map(|object| object.strip_prefix(&self.key_prefix))
            .filter_map(|key| StagingKey::parse(key).ok())
            .collect();
        keys.sort_unstable();
        Ok(keys)
    }

    pub(super) async fn delete_under(&self, prefix: &StagingKey) -> Result<(), Error> {
        // The trailing slash keeps `members/1` from matching `members/12/...`.
        let listed = format!("{}/", self.object_key(prefix));
        let keys = self.list(&listed).await?;
        for batch in keys.chunks(DELETE_BATCH) {
            self.delete_batch(&listed, batch).await?;
        }
        Ok(())
    }

    /// Every key under `prefix`, listed in full before anything is deleted: some S3-compatible
    /// servers page by offset, which would skip keys if the pages shrank while being read.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| self.sdk_error("ListObjectsV2", prefix, error))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    async fn delete_batch(&self, prefix: &str, keys: &[String]) -> Result<(), Error> {
        let objects = keys
            .iter()
            .map(|key| {
                ObjectIdentifier::builder()
                    .key(key)
                    .build()
                    .expect("the key, the only required field, is set")
            })
            .collect();
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .expect("the objects, the only required field, are set");
        let output = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|error| self.sdk_error("DeleteObjects", prefix, error))?;
        // DeleteObjects answers 200 even when some keys could not be deleted.
        match output.errors().first() {
            None => Ok(()),
            Some(failed) => Err(self.error(
                "DeleteObjects",
                failed.key().unwrap_or(prefix),
                false,
                format!(
                    "{} of {} objects were not deleted, this one with {}: {}",
                    output.errors().len(),
                    keys.len(),
                    failed.code().unwrap_or("no error code"),
                    failed.message().unwrap_or("no message"),
                ),
            )),
        }
    }

    fn object_key(&self, key: &StagingKey) -> String {
        format!("{}{}", self.key_prefix, key.as_str())
    }

    fn sdk_error<E>(&self, operation: &'static str, key: &str, error: SdkError<E>) -> Error
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let transient = is_transient(&error);
        self.error(operation, key, transient, error)
    }

    fn error(
        &self,
        operation: &'static str,
        key: &str,
        transient: bool,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::StagingS3 {
            operation,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            transient,
            source: source.into(),
        }
    }
}

fn client(config: &S3Config) -> Client {
    let credentials = Credentials::new(
        config.access_key_id.expose_secret(),
        config.secret_access_key.expose_secret(),
        None,
        None,
        "staging configuration",
    );
    // The SDK's default has no limit on a request that hangs after connecting.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(60))
        .build();
    let mut builder = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .credentials_provider(credentials)
        .force_path_style(config.path_style)
        .timeout_config(timeouts);
    if let Some(endpoint) = &config.endpoint {
        // Many S3-compatible servers reject the CRC checksums the SDK sends by default since
        // 2025; checksums the API requires (DeleteObjects) are still sent.
        builder = builder
            .endpoint_url(endpoint.as_str().trim_end_matches('/'))
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    }
    Client::from_conf(builder.build())
}

/// Network trouble, throttling and server-side errors may pass; a refusal (bad credentials,
/// missing bucket) will not.
fn is_transient<E>(error: &SdkError<E>) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status();
            status.is_server_error() || status.as_u16() == 429
        }
        _ => false,
    }
}
