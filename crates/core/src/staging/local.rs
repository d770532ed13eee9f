//! The local directory backend: one file per key. Writes go to a temporary file that is then
//! renamed over the old one, so a crash never leaves a half-written object behind. Health data
//! lives here: files are readable by their owner only (0600), in directories only the owner
//! may enter (0700), whatever the process's umask.

use std::{io::ErrorKind, path::Path};

use super::StagingKey;
use crate::Error;

pub(super) async fn put(root: &Path, key: &StagingKey, bytes: &[u8]) -> Result<(), Error> {
    let path = root.join(key.as_str());
    let parent = path.parent().unwrap_or(root);
    tokio::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(parent)
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

pub(super) async fn get(root: &Path, key: &StagingKey) -> Result<Option<Vec<u8>>, Error> {
    match tokio::fs::read(root.join(key.as_str())).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::Staging(error)),
    }
}

pub(super) async fn delete_under(root: &Path, prefix: &StagingKey) -> Result<(), Error> {
    ignore_not_found(tokio::fs::remove_dir_all(root.join(prefix.as_str())).await)
}

/// Deleting what is already gone succeeds, as on S3.
fn ignore_not_found(result: std::io::Result<()>) -> Result<(), Error> {
    match result {
        Err(error) if error.kind() != ErrorKind::NotFound => Err(Error::Staging(error)),
        _ => Ok(()),
    }
}

async fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .await?;
    file.write_all(bytes).await?;
    file.sync_all().await
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[tokio::test]
    async fn put_leaves_no_temporary_files_behind() {
        let dir = tempfile::tempdir().unwrap();
        let key = StagingKey::parse("members/1/file.json.gz").unwrap();
        put(dir.path(), &key, b"first").await.unwrap();
        put(dir.path(), &key, b"second").await.unwrap();
        let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path().join("members/1"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        assert_eq!(leftovers, vec![dir.path().join(key.as_str())]);
    }

    #[tokio::test]
    async fn only_the_owner_may_read_or_enter() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("staging");
        let key = StagingKey::parse("members/1/standard/steps/2016.json").unwrap();
        put(&root, &key, b"sealed").await.unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root.join(key.as_str())), 0o600);
        for directory in ["", "members", "members/1", "members/1/standard/steps"] {
            assert_eq!(mode(&root.join(directory)), 0o700, "{directory:?}");
        }
    }
}
