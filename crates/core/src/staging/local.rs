//! The local directory backend: one file per key. Writes go to a temporary file that is then
//! renamed over the old one, so a crash never leaves a half-written object behind.

use std::{io::ErrorKind, path::Path};

use super::StagingKey;
use crate::Error;

pub(super) async fn put(root: &Path, key: &StagingKey, bytes: &[u8]) -> Result<(), Error> {
    let path = root.join(key.as_str());
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

pub(super) async fn get(root: &Path, key: &StagingKey) -> Result<Option<Vec<u8>>, Error> {
    match tokio::fs::read(root.join(key.as_str())).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::Staging(error)),
    }
}

pub(super) async fn delete(root: &Path, key: &StagingKey) -> Result<(), Error> {
    ignore_not_found(tokio::fs::remove_file(root.join(key.as_str())).await)
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
    let mut file = tokio::fs::File::create(path).await?;
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
}
