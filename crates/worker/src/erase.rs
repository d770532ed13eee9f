//! Erasing what we hold of a member when they leave or disconnect Fitbit asking for their
//! files to be deleted. It runs at the start of the member's job, under their lease, so no
//! import of theirs can stage or upload anything meanwhile; until it has finished, the request
//! stays in the database and the next run repeats it.

use oh_fitbit_core::{
    members::{Erasure, ErasureRequest},
    queue::Lease,
};
use open_humans::RemoteFile;
use secrecy::SecretString;

use crate::{chunks::member_prefix, context::WorkerContext, error::SyncError};

pub(crate) async fn erase_if_requested(
    ctx: &WorkerContext,
    lease: &Lease,
) -> Result<(), SyncError> {
    let id = &lease.member;
    let Some(request) = ctx.members.erasure_requested(id).await? else {
        return Ok(());
    };
    // Staging first: it is ours alone to delete, and nothing that happens on Open Humans
    // may keep the member's health data with us.
    ctx.staging
        .delete_under(lease.fence(), &member_prefix(id))
        .await?;
    if request.erasure == Erasure::AlsoOpenHumansFiles {
        match delete_files_on_open_humans(ctx, lease, &request).await {
            Ok(deleted) => tracing::info!(deleted, "deleted the member's files on Open Humans"),
            Err(SyncError::Core(oh_fitbit_core::Error::GrantRevoked(_))) => tracing::info!(
                "the member's files are beyond our reach: Open Humans no longer accepts their \
                 grant, and keeps the files for them"
            ),
            Err(other) => return Err(other),
        }
    }
    ctx.members
        .finish_erasure(lease.fence(), request.erasure)
        .await?;
    tracing::info!(erasure = ?request.erasure, "erased the member's staged files");
    Ok(())
}

/// Deletes every file this project uploaded for the member; returns how many.
async fn delete_files_on_open_humans(
    ctx: &WorkerContext,
    lease: &Lease,
    request: &ErasureRequest,
) -> Result<usize, SyncError> {
    let Some(mut member) = ctx.members.load(&lease.member).await? else {
        return delete_departed_members_files(ctx, lease, request).await;
    };
    let remote = ctx
        .tokens
        .with_open_humans(&mut member, |open_humans, token| async move {
            open_humans.exchange_member(&token).await
        })
        .await??;
    let files: Vec<&RemoteFile> = remote.own_files().collect();
    lease.fence().ensure_held().await?;
    for file in &files {
        let id = file.id;
        ctx.tokens
            .with_open_humans(&mut member, |open_humans, token| async move {
                open_humans.delete_file(&token, id).await
            })
            .await??;
    }
    Ok(files.len())
}

/// A member who left after asking for their files to be deleted: their record is gone, and
/// with it the refresh of their token, so the copy kept with the request is tried as it is.
/// Open Humans has usually revoked it already (leaving a project does): the files are then
/// beyond our reach, and Open Humans keeps them for the member to delete.
async fn delete_departed_members_files(
    ctx: &WorkerContext,
    lease: &Lease,
    request: &ErasureRequest,
) -> Result<usize, SyncError> {
    let Some(tokens) = &request.departed_tokens else {
        return Ok(0);
    };
    let token: &SecretString = &tokens.access_token;
    let remote = ctx.open_humans.exchange_member(token).await?;
    lease.fence().ensure_held().await?;
    let files: Vec<u64> = remote.own_files().map(|file| file.id).collect();
    for id in &files {
        ctx.open_humans.delete_file(token, *id).await?;
    }
    Ok(files.len())
}
