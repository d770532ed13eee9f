//! The staging store keeps the canonical content of each member's files, so a sync rebuilds and
//! re-uploads only what changed without downloading old files back from Open Humans.
//!
//! Production on Heroku needs S3 (dynos have no lasting disk); the local directory backend is the
//! default for the local stack. Both backends keep one contract: `put` replaces an object
//! atomically, `get` of a missing key is `None`, and deleting what is gone succeeds.

mod local;
mod s3;

use std::path::PathBuf;

pub use s3::S3Bucket;

use crate::{Error, config::StagingConfig};

/// A relative object key such as `members/12345678/fitbit-daily.json.gz`: segments of
/// `[A-Za-z0-9._-]` separated by `/`, none of them `.` or `..`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StagingKey(String);

impl StagingKey {
    pub fn parse(key: &str) -> Result<Self, Error> {
        let valid_segment = |segment: &str| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        };
        if key.split('/').all(valid_segment) {
            Ok(Self(key.to_owned()))
        } else {
            Err(Error::InvalidStagingKey(key.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The S3 arms box their futures: the SDK's are large and deeply nested, and unboxed they would
/// grow every caller's future (past the compiler's layout depth limit in the binary's `main`).
#[derive(Clone, Debug)]
pub enum Staging {
    LocalDirectory(PathBuf),
    S3(S3Bucket),
}

impl Staging {
    pub fn local_directory(dir: impl Into<PathBuf>) -> Self {
        Self::LocalDirectory(dir.into())
    }

    pub fn from_config(config: &StagingConfig) -> Self {
        match config {
            StagingConfig::LocalDirectory(dir) => Self::local_directory(dir),
            StagingConfig::S3(s3) => Self::S3(S3Bucket::new(s3)),
        }
    }

    pub async fn put(&self, key: &StagingKey, bytes: &[u8]) -> Result<(), Error> {
        match self {
            Self::LocalDirectory(root) => local::put(root, key, bytes).await,
            Self::S3(bucket) => Box::pin(bucket.put(key, bytes)).await,
        }
    }

    pub async fn get(&self, key: &StagingKey) -> Result<Option<Vec<u8>>, Error> {
        match self {
            Self::LocalDirectory(root) => local::get(root, key).await,
            Self::S3(bucket) => Box::pin(bucket.get(key)).await,
        }
    }

    pub async fn delete(&self, key: &StagingKey) -> Result<(), Error> {
        match self {
            Self::LocalDirectory(root) => local::delete(root, key).await,
            Self::S3(bucket) => Box::pin(bucket.delete(key)).await,
        }
    }

    /// Deletes every key under `prefix/` (a member's whole staged history).
    pub async fn delete_under(&self, prefix: &StagingKey) -> Result<(), Error> {
        match self {
            Self::LocalDirectory(root) => local::delete_under(root, prefix).await,
            Self::S3(bucket) => Box::pin(bucket.delete_under(prefix)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_store() {
        for bad in [
            "", "/abs", "a//b", "../x", "a/../b", "a/./b", "sp ace", "a\\b",
        ] {
            assert!(
                StagingKey::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(StagingKey::parse("members/12345678/fitbit-daily.json.gz").is_ok());
    }
}
