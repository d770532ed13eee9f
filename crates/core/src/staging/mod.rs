//! The staging store keeps the canonical content of each member's files, cut into chunks, so a
//! sync rebuilds and re-uploads only what changed.
//!
//! It is a cache: a dyno restart empties a local directory, and a bucket may be emptied too.
//! What it held is restored from the member's files on Open Humans (see the worker's `heal`),
//! and nothing is built from it before that. Every object is health data, sealed like the
//! tokens (with its key as associated data, so an object copied to another key or member fails
//! to open), and every write is fenced by the lease of the run making it, except re-sealing's
//! ([`crate::keys`]), which writes only while no run can hold the member.
//!
//! Production on Heroku needs S3 (dynos have no lasting disk) or accepts the restores; the
//! local directory backend is the default for the local stack. Both backends keep one
//! contract: `put` replaces an object atomically, `get` of a missing key is `None`, and
//! deleting what is gone succeeds.

mod local;
mod s3;

use std::{path::PathBuf, sync::Arc};

use open_humans::ProjectMemberId;
pub use s3::S3Bucket;

use crate::{
    Error,
    config::StagingConfig,
    crypto::{KEY_NAMING_LEN, Purpose, SealedWith, TokenCipher},
    fence::Fence,
    keys::HeldMember,
};

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

    /// Whether the key is `prefix` or lies under it.
    fn is_under(&self, prefix: &StagingKey) -> bool {
        self.0
            .strip_prefix(prefix.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// Where a member's objects are: every key the worker stages for them starts with it.
pub fn member_prefix(member: &ProjectMemberId) -> StagingKey {
    StagingKey::parse(&format!("members/{member}")).expect("member ids are valid key segments")
}

/// What [`Staging::reseal`] found.
#[derive(Debug)]
pub(crate) enum Resealed {
    /// Sealed with an old key, now with the current one.
    Written,
    /// Sealed with the current key already; left alone.
    Current,
    /// Nothing is stored under the key.
    Gone,
    /// No configured key opens it; left alone.
    Unreadable,
}

#[derive(Clone, Debug)]
pub struct Staging {
    backend: Backend,
    cipher: Arc<TokenCipher>,
}

/// The S3 arms box their futures: the SDK's are large and deeply nested, and unboxed they would
/// grow every caller's future (past the compiler's layout depth limit in the binary's `main`).
#[derive(Clone, Debug)]
enum Backend {
    LocalDirectory(PathBuf),
    S3(S3Bucket),
}

impl Staging {
    pub fn local_directory(dir: impl Into<PathBuf>, cipher: Arc<TokenCipher>) -> Self {
        Self {
            backend: Backend::LocalDirectory(dir.into()),
            cipher,
        }
    }

    pub fn from_config(config: &StagingConfig, cipher: Arc<TokenCipher>) -> Self {
        let backend = match config {
            StagingConfig::LocalDirectory(dir) => Backend::LocalDirectory(dir.clone()),
            StagingConfig::S3(s3) => Backend::S3(S3Bucket::new(s3)),
        };
        Self { backend, cipher }
    }

    /// The bucket, for what the store does not offer (the tests create and empty buckets).
    pub fn bucket(&self) -> Option<&S3Bucket> {
        match &self.backend {
            Backend::S3(bucket) => Some(bucket),
            Backend::LocalDirectory(_) => None,
        }
    }

    /// Seals `plaintext` and stores it under `key`, if the run still holds the member.
    pub async fn put(
        &self,
        fence: &Fence,
        key: &StagingKey,
        plaintext: Vec<u8>,
    ) -> Result<(), Error> {
        let sealed = self
            .cipher
            .seal_bytes(key.as_str(), Purpose::StagedChunk, plaintext);
        fence.ensure_held().await?;
        self.put_sealed(key, &sealed).await
    }

    /// The plaintext under `key`; `None` when there is none, an error when it cannot be opened
    /// (damaged, or sealed for another key).
    pub async fn get(&self, key: &StagingKey) -> Result<Option<Vec<u8>>, Error> {
        self.get_sealed(key)
            .await?
            .map(|sealed| {
                self.cipher
                    .open_bytes(key.as_str(), Purpose::StagedChunk, sealed)
                    .map_err(|source| Error::StagingUnreadable {
                        key: key.as_str().to_owned(),
                        source,
                    })
            })
            .transpose()
    }

    /// Every key under `prefix/`, for key rotation ([`crate::keys`]).
    pub async fn list_under(&self, prefix: &StagingKey) -> Result<Vec<StagingKey>, Error> {
        match &self.backend {
            Backend::LocalDirectory(root) => local::list_under(root, prefix).await,
            Backend::S3(bucket) => Box::pin(bucket.list_under(prefix)).await,
        }
    }

    /// Which key sealed the object under `key`, from its first bytes only; `None` when there
    /// is no object.
    pub async fn sealed_with(&self, key: &StagingKey) -> Result<Option<SealedWith>, Error> {
        let start = match &self.backend {
            Backend::LocalDirectory(root) => local::get_start(root, key, KEY_NAMING_LEN).await?,
            Backend::S3(bucket) => Box::pin(bucket.get_start(key, KEY_NAMING_LEN)).await?,
        };
        Ok(start.map(|start| self.cipher.bytes_sealed_with(&start)))
    }

    /// Seals the object under `key` again with the current key if an old key sealed it. The
    /// write is not fenced by a lease: `held` keeps every run from taking the member
    /// meanwhile, and no run held it when it was taken, so no run writes the object between
    /// this read and this write.
    pub(crate) async fn reseal(
        &self,
        held: &HeldMember,
        key: &StagingKey,
    ) -> Result<Resealed, Error> {
        if !key.is_under(&member_prefix(held.member())) {
            return Err(Error::InvalidStagingKey(key.as_str().to_owned()));
        }
        let Some(sealed) = self.get_sealed(key).await? else {
            return Ok(Resealed::Gone);
        };
        match self.cipher.bytes_sealed_with(&sealed) {
            SealedWith::Current => return Ok(Resealed::Current),
            SealedWith::Unknown => return Ok(Resealed::Unreadable),
            SealedWith::Old(_) => {}
        }
        match self
            .cipher
            .reseal_bytes(key.as_str(), Purpose::StagedChunk, sealed)
        {
            Ok(resealed) => {
                self.put_sealed(key, &resealed).await?;
                Ok(Resealed::Written)
            }
            Err(_) => Ok(Resealed::Unreadable),
        }
    }

    async fn get_sealed(&self, key: &StagingKey) -> Result<Option<Vec<u8>>, Error> {
        match &self.backend {
            Backend::LocalDirectory(root) => local::get(root, key).await,
            Backend::S3(bucket) => Box::pin(bucket.get(key)).await,
        }
    }

    async fn put_sealed(&self, key: &StagingKey, sealed: &[u8]) -> Result<(), Error> {
        match &self.backend {
            Backend::LocalDirectory(root) => local::put(root, key, sealed).await,
            Backend::S3(bucket) => Box::pin(bucket.put(key, sealed)).await,
        }
    }

    /// Deletes every key under `prefix/` (a member's whole staged history).
    pub async fn delete_under(&self, fence: &Fence, prefix: &StagingKey) -> Result<(), Error> {
        let delete = async {
            match &self.backend {
                Backend::LocalDirectory(root) => local::delete_under(root, prefix).await,
                Backend::S3(bucket) => Box::pin(bucket.delete_under(prefix)).await,
            }
        };
        fence.around(delete).await
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

    #[test]
    fn a_members_prefix_holds_their_keys_only() {
        let prefix = member_prefix(&"12345678".parse().unwrap());
        assert_eq!(prefix.as_str(), "members/12345678");
        for (key, under) in [
            ("members/12345678", true),
            ("members/12345678/generation", true),
            ("members/12345678/standard/steps/2016.json", true),
            ("members/123456789/generation", false),
            ("members/1234567/generation", false),
            ("members/12345678.json", false),
        ] {
            assert_eq!(
                StagingKey::parse(key).unwrap().is_under(&prefix),
                under,
                "{key}"
            );
        }
    }
}
