//! Replacing a member's file on Open Humans without ever leaving them with no copy:
//! upload the new file and complete it, then delete the old ones by id. A crash in between leaves
//! at most a duplicate, which the next run removes. The lease's fencing token is checked before
//! anything is deleted, so a worker whose lease was handed on never deletes the newer file.
//! And a file never shrinks by accident: a new version must hold at least the records of the
//! one it replaces, except where Google was asked again.

use std::collections::BTreeSet;

use jiff::civil::Date;
use oh_fitbit_core::{
    members::{Member, PublishedFile},
    queue::Lease,
};
use open_humans::{FileMetadata, NewFile, RemoteFile};

use crate::{archive::Archive, chunks::Tier, context::WorkerContext, error::SyncError};

pub(crate) struct FileDescription {
    pub filename: String,
    pub description: String,
    pub tags: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Published {
    Uploaded {
        file_id: u64,
    },
    /// The same content is already on Open Humans.
    Unchanged {
        file_id: u64,
    },
}

impl Published {
    pub(crate) fn file_id(&self) -> u64 {
        match self {
            Self::Uploaded { file_id } | Self::Unchanged { file_id } => *file_id,
        }
    }
}

/// Refuses `file` if, for a data type and period this run did not read again from Google, it
/// holds fewer records than `previous`, the version on Open Humans: staging lost something
/// (a chunk gone or damaged), and the file on Open Humans is the better copy.
pub(crate) fn refuse_shrinking(
    previous: &PublishedFile,
    file: &Archive,
    tier: Tier,
    restaged: &BTreeSet<(Tier, &'static str, Date)>,
) -> Result<(), SyncError> {
    let lost: Vec<String> = previous
        .counts
        .iter()
        .filter_map(|((data_type, period), before)| {
            let now = file
                .counts
                .get(&(data_type.clone(), *period))
                .copied()
                .unwrap_or(0);
            let read_again = restaged
                .iter()
                .any(|(t, id, start)| (*t, *id, *start) == (tier, data_type.as_str(), *period));
            (now < *before && !read_again)
                .then(|| format!("{data_type} {period}: {before} → {now}"))
        })
        .collect();
    if lost.is_empty() {
        return Ok(());
    }
    let detail = lost.join(", ");
    tracing::warn!(
        file = %previous.name,
        records = %detail,
        "refused to publish a file with fewer records than the one on Open Humans"
    );
    Err(SyncError::WouldShrink {
        file: previous.name.clone(),
        detail,
    })
}

pub(crate) async fn replace_file(
    ctx: &WorkerContext,
    member: &mut Member,
    lease: &Lease,
    file: &FileDescription,
    archive: &Archive,
) -> Result<Published, SyncError> {
    let remote = ctx
        .tokens
        .with_open_humans(member, |open_humans, token| async move {
            open_humans.exchange_member(&token).await
        })
        .await??;
    let mut previous: Vec<&RemoteFile> = remote
        .own_files()
        .filter(|existing| existing.basename == file.filename)
        .collect();
    // Newest first, so that of several identical copies the newest is the one kept.
    previous.sort_by_key(|existing| std::cmp::Reverse(existing.created));

    // A copy uploaded before its metadata recorded the size is replaced once, so every file
    // the dashboard lists has one.
    let unchanged = previous.iter().position(|existing| {
        existing.metadata.get("md5").and_then(|m| m.as_str()) == Some(archive.md5.as_str())
            && existing.metadata.get("size_bytes").and_then(|s| s.as_u64())
                == Some(archive.bytes.len() as u64)
    });
    let kept = match unchanged {
        Some(index) => Published::Unchanged {
            file_id: previous.remove(index).id,
        },
        None => {
            // A run that lost the member uploads nothing: the run holding it publishes.
            lease.fence().ensure_held().await?;
            // A 401 anywhere in the three steps re-runs the upload from the start; a file left
            // incomplete by the failed attempt stays invisible and Open Humans purges it.
            let upload = new_file(file, archive);
            let uploaded = ctx
                .tokens
                .with_open_humans(member, |open_humans, token| {
                    let upload = upload.clone();
                    async move { open_humans.upload(&token, upload).await }
                })
                .await??;
            Published::Uploaded {
                file_id: uploaded.id,
            }
        }
    };
    if !previous.is_empty() {
        lease.fence().ensure_held().await?;
        for old in previous {
            let id = old.id;
            ctx.tokens
                .with_open_humans(member, |open_humans, token| async move {
                    open_humans.delete_file(&token, id).await
                })
                .await??;
        }
    }
    Ok(kept)
}

fn new_file(file: &FileDescription, archive: &Archive) -> NewFile {
    let mut extra = serde_json::Map::new();
    extra.insert("schema_version".into(), archive.schema_version.into());
    NewFile {
        filename: file.filename.clone(),
        bytes: archive.bytes.clone(),
        metadata: FileMetadata {
            description: file.description.clone(),
            tags: file.tags.clone(),
            start_date: archive.first_date,
            end_date: archive.last_date,
            creation_date: Some(jiff::Timestamp::now()),
            md5: Some(archive.md5.clone()),
            size_bytes: Some(archive.bytes.len() as u64),
            extra,
        },
    }
}
