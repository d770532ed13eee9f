//! The staging store keeps the canonical content of each member's files, so a sync rebuilds and
//! re-uploads only what changed without downloading old files back from Open Humans.
//!
//! Production on Heroku needs S3 (dynos have no lasting disk); the local directory backend is the
//! default for the local stack. Writes are atomic (write to a temporary file, then rename), so a
//! crash never leaves a half-written object behind.

use std::path::{Path, PathBuf};

use crate::Error;

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

#[derive(Clone, Debug)]
pub enum Staging {
    LocalDirectory(PathBuf),
}

impl Staging {
    pub fn local_directory(dir: impl Into<PathBuf>) -> Self {
        Self::LocalDirectory(dir.into())
    }

    pub async fn put(&self, key: &StagingKey, bytes: &[u8]) -> Result<(), Error> {
        match self {
            Self::LocalDirectory(root) => {
                let path = root.join(&key.0);
                let parent = path.parent().unwrap_or(root);
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(Error::Staging)?;
                let temporary = parent.join(format!(".{}.tmp", crate::random_token()));
                write_synced(&temporary, bytes)
                    .await
                    .map_err(Error::Staging)?;
                tokio::fs::rename(&temporary, &path)
                    .await
                    .map_err(Error::Staging)
            }
        }
    }

    pub async fn get(&self, key: &StagingKey) -> Result<Option<Vec<u8>>, Error> {
        match self {
            Self::LocalDirectory(root) => match tokio::fs::read(root.join(&key.0)).await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(Error::Staging(error)),
            },
        }
    }

    pub async fn delete(&self, key: &StagingKey) -> Result<(), Error> {
        match self {
            Self::LocalDirectory(root) => match tokio::fs::remove_file(root.join(&key.0)).await {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    Err(Error::Staging(error))
                }
                _ => Ok(()),
            },
        }
    }

    /// Deletes every key under `prefix` (a member's whole staged history).
    pub async fn delete_under(&self, prefix: &StagingKey) -> Result<(), Error> {
        match self {
            Self::LocalDirectory(root) => {
                match tokio::fs::remove_dir_all(root.join(&prefix.0)).await {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                        Err(Error::Staging(error))
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

async fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::File::create(path).await?;
    file.write_all(bytes).await?;
    file.sync_all().await
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

    #[tokio::test]
    async fn put_replaces_atomically_and_get_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::local_directory(dir.path());
        let key = StagingKey::parse("members/1/file.json.gz").unwrap();
        assert_eq!(staging.get(&key).await.unwrap(), None);
        staging.put(&key, b"first").await.unwrap();
        staging.put(&key, b"second").await.unwrap();
        assert_eq!(
            staging.get(&key).await.unwrap().as_deref(),
            Some(&b"second"[..])
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("members/1"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("file.json.gz")]);
        staging.delete(&key).await.unwrap();
        staging.delete(&key).await.unwrap();
        assert_eq!(staging.get(&key).await.unwrap(), None);
    }
}
