//! A member leaving the service (they left the project on Open Humans, or an operator dropped
//! a member whose Open Humans grant is gone): nothing of theirs is kept.

use open_humans::ProjectMemberId;

use crate::{Error, error_chain, members::MemberStore, queue::JobQueue, tokens::TokenKeeper};

/// Revokes the member's Google grant, deletes their record and tokens, and queues the job that
/// erases their staged files (a worker does it under the member's lease). Returns whether the
/// member was known. Safe to repeat.
///
/// The erasure is recorded in the database with the deletion; if queueing its job fails, the
/// workers' repair sweep queues it (every erasure request is worked until done).
///
/// A revocation Google does not confirm is logged and the rest goes ahead: once our copy of the
/// token is deleted nobody can use the grant, and the member can still remove it in their
/// Google account.
pub async fn forget_member(
    members: &MemberStore,
    queue: &JobQueue,
    tokens: &TokenKeeper,
    id: &ProjectMemberId,
) -> Result<bool, Error> {
    match members.load(id).await {
        Ok(Some(member)) => match tokens.revoke_google(&member).await {
            Ok(()) => tracing::info!(member = %id, "revoked the member's Google grant"),
            Err(error) => tracing::warn!(
                member = %id,
                error = %error_chain(&error),
                "Google did not confirm the revocation of a departing member's grant"
            ),
        },
        Ok(None) => return Ok(false),
        // A record that cannot be read must still be deletable.
        Err(error @ (Error::Corrupt(_) | Error::Crypto(_))) => tracing::warn!(
            member = %id,
            error = %error_chain(&error),
            "a departing member's record is unreadable; deleting it without revoking"
        ),
        Err(error) => return Err(error),
    }
    members.forget(id).await?;
    if let Err(error) = queue.enqueue(id, jiff::Timestamp::now()).await {
        tracing::warn!(
            member = %id,
            error = %error_chain(&error),
            "could not queue a departed member's erasure; the repair sweep will"
        );
    }
    Ok(true)
}
