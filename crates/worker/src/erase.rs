//! Erasing what we hold of a member when they leave or disconnect Fitbit asking for their
//! files to be deleted. It runs at the start of the member's job, under their lease, so no
//! import of theirs can stage or upload anything meanwhile; until it has finished, the request
//! stays and the next run repeats it.

use oh_fitbit_core::{members::Erasure, queue::Lease};

use crate::{chunks::member_prefix, context::WorkerContext, error::SyncError};

pub async fn erase_if_requested(ctx: &WorkerContext, lease: &Lease) -> Result<(), SyncError> {
    let id = &lease.member;
    let Some(erasure) = ctx.members.erasure_requested(id).await? else {
        return Ok(());
    };
    if erasure == Erasure::AlsoOpenHumansFiles {
        let deleted = delete_files_on_open_humans(ctx, lease).await?;
        tracing::info!(deleted, "deleted the member's files on Open Humans");
    }
    ctx.staging.delete_under(&member_prefix(id)).await?;
    ctx.members.finish_erasure(id).await?;
    tracing::info!(?erasure, "erased the member's staged files");
    Ok(())
}

/// Deletes every file this project uploaded for the member; returns how many.
async fn delete_files_on_open_humans(
    ctx: &WorkerContext,
    lease: &Lease,
) -> Result<usize, SyncError> {
    let Some(mut member) = ctx.members.load(&lease.member).await? else {
        // Gone with their Open Humans tokens: the files can no longer be reached.
        return Ok(0);
    };
    let remote = ctx
        .tokens
        .with_open_humans(&mut member, |open_humans, token| async move {
            open_humans.exchange_member(&token).await
        })
        .await??;
    let ids: Vec<u64> = remote.own_files().map(|file| file.id).collect();
    if !ctx.queue.still_holds(lease).await? {
        return Err(SyncError::LeaseLost);
    }
    for id in &ids {
        let id = *id;
        ctx.tokens
            .with_open_humans(&mut member, |open_humans, token| async move {
                open_humans.delete_file(&token, id).await
            })
            .await??;
    }
    Ok(ids.len())
}
