//! The local directory backend: one file per key. Writes go to a temporary file that is then
//! renamed over the old one, so a crash never leaves a half-written object behind. Health data
//! lives here: files are readable by their owner only (0600), in directories only the owner
//! may enter (0700), whatever the process's umask.

use std::{io::ErrorKind, path::Path};

use tokio::io::AsyncReadExt;

use super::StagingKey;
use crate::Error;

/// How a temporary file `put` writes before renaming it ends (its name starts with a dot).
const TEMPORARY_SUFFIX: &str = ".tmp";

pub(super) async fn put(root: &Path, key: &StagingKey, bytes: &[u8]) -> Result<(), Error> {
    let path = root.join(key.as_str());
    let parent = path.parent().unwrap_or(root);
    tokio::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(parent)
        .await
        .map_err(Error::Staging)?;
    let temporary = parent.join(format!(".{}{TEMPORARY_SUFFIX}", crate::random_token()));
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

/// The first `length` bytes under `key` (fewer if it is shorter).
pub(super) async fn get_start(
    root: &Path,
    key: &StagingKey,
    length: usize,
) -> Result<Option<Vec<u8>>, Error> {
    let file = match tokio::fs::File::open(root.join(key.as_str())).await {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::Staging(error)),
    };
    let mut start = Vec::with_capacity(length);
    file.take(length as u64)
        .read_to_end(&mut start)
        .await
        .map_err(Error::Staging)?;
    Ok(Some(start))
}

/// Every key under `prefix/`. Temporary files are not objects, and nothing whose path is not
/// a key can have been stored through the store, so neither is listed.
pub(super) async fn list_under(root: &Path, prefix: &StagingKey) -> Result<Vec<StagingKey>, Error> {
    let mut keys = Vec::new();
    let mut directories = vec![prefix.as_str().to_owned()];
    while let Some(directory) = directories.pop() {
        let mut entries = match tokio::fs::read_dir(root.join(&directory)).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == ErrorKind::NotFound => continue,
            Err(error) => return Err(Error::Staging(error)),
        };
        while let Some(entry) = entries.next_entry().await.map_err(Error::Staging)? {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let path = format!("{directory}/{name}");
            let kind = entry.file_type().await.map_err(Error::Staging)?;
            if kind.is_dir() {
                directories.push(path);
            } else if kind.is_file() && !is_temporary(&name) {
                keys.extend(StagingKey::parse(&path).ok());
            }
        }
    }
    keys.sort_unstable();
    Ok(keys)
}

fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMPORARY_SUFFIX)
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
    async fn listing_finds_every_object_under_the_prefix_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = |text: &str| StagingKey::parse(text).unwrap();
        let under = [
            key("members/1/generation"),
            key("members/1/standard/steps/2016.json"),
            key("members/1/intraday/heart-rate/2016-03.json"),
        ];
        for stored in under.iter().chain(&[key("members/12/generation")]) {
            put(dir.path(), stored, b"sealed").await.unwrap();
        }
        std::fs::write(dir.path().join("members/1/.abc.tmp"), b"half").unwrap();
        let mut expected = under.to_vec();
        expected.sort_unstable();
        assert_eq!(
            list_under(dir.path(), &key("members/1")).await.unwrap(),
            expected
        );
        assert!(
            list_under(dir.path(), &key("members/404"))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            get_start(dir.path(), &under[0], 3)
                .await
                .unwrap()
                .as_deref(),
            Some(&b"sea"[..])
        );
        assert_eq!(
            get_start(dir.path(), &under[0], 100)
                .await
                .unwrap()
                .as_deref(),
            Some(&b"sealed"[..])
        );
        assert_eq!(
            get_start(dir.path(), &key("members/1/gone"), 3)
                .await
                .unwrap(),
            None
        );
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
