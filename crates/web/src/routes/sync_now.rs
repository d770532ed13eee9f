//! "Sync now": a member may ask for a sync by hand, at most once per [`MANUAL_SYNC_INTERVAL`],
//! since every sync spends Google quota. The other actions that queue a sync (saving settings,
//! a new consent, signing in again) share that allowance: repeating them never reads more
//! often. The allowance is on the member's record, so it holds across web processes.

use axum::{
    Form,
    extract::{State, rejection::FormRejection},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::PrivateCookieJar;
use jiff::{SignedDuration, Timestamp};
use open_humans::ProjectMemberId;
use serde::Deserialize;

use crate::{
    error::WebError,
    session::{self, SignedIn},
    state::AppState,
};

pub(crate) const MANUAL_SYNC_INTERVAL: SignedDuration = SignedDuration::from_mins(15);

/// When the member may ask again; `None` when they may now.
pub(crate) async fn next_allowed(
    state: &AppState,
    member: &ProjectMemberId,
) -> Result<Option<Timestamp>, WebError> {
    Ok(state.members.syncs_allowed_from(member).await?)
}

/// Queues a sync for an action that spends Google quota: now when the member's allowance is
/// free, else for when it frees up.
pub(crate) async fn queue_sync(state: &AppState, member: &ProjectMemberId) -> Result<(), WebError> {
    let claimed = state
        .members
        .claim_sync(member, MANUAL_SYNC_INTERVAL)
        .await?;
    let run_at = claimed.unwrap_or_else(Timestamp::now);
    let queued = state.queue.enqueue(member, run_at).await?;
    tracing::info!(%member, ?queued, %run_at, "sync queued");
    Ok(())
}

/// Queues a sync now, without spending the allowance: a member's first connection (or a
/// reconnection after they disconnected, or signing in again to resume an import that waited
/// for them) is never made to wait, nor makes their next choice wait. Each takes a consent
/// screen, and the sign-in routes' rate limit.
pub(crate) async fn queue_first_sync(
    state: &AppState,
    member: &ProjectMemberId,
) -> Result<(), WebError> {
    let queued = state.queue.enqueue(member, Timestamp::now()).await?;
    tracing::info!(%member, ?queued, "first sync queued");
    Ok(())
}

#[derive(Deserialize)]
pub(crate) struct SyncForm {
    csrf: Option<String>,
}

pub(crate) async fn sync_now(
    State(state): State<AppState>,
    SignedIn(id): SignedIn,
    jar: PrivateCookieJar,
    form: Result<Form<SyncForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| WebError::BadForm)?;
    session::check_csrf(&jar, form.csrf.as_deref())?;
    if !state.members.has_fitbit(&id).await? {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    if let Some(next) = state.members.claim_sync(&id, MANUAL_SYNC_INTERVAL).await? {
        return Err(WebError::SyncTooSoon {
            next_allowed: crate::routes::dashboard::human_time(next),
        });
    }
    let queued = state.queue.enqueue(&id, Timestamp::now()).await?;
    tracing::info!(member = %id, ?queued, "member asked for a sync");
    Ok(Redirect::to("/dashboard").into_response())
}
