//! "Sync now": a member may ask for a sync by hand, at most once per [`MANUAL_SYNC_INTERVAL`],
//! since every sync spends Google quota. The limit is a Redis key that lives that long, so it
//! holds across web processes.

use axum::{
    Form,
    extract::{State, rejection::FormRejection},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::PrivateCookieJar;
use jiff::{SignedDuration, Timestamp};
use open_humans::ProjectMemberId;
use redis::AsyncCommands;
use serde::Deserialize;

use crate::{
    error::WebError,
    session::{self, SignedIn},
    state::AppState,
};

pub const MANUAL_SYNC_INTERVAL: SignedDuration = SignedDuration::from_mins(15);

fn key(state: &AppState, member: &ProjectMemberId) -> String {
    state.redis.key(&format!("manual_sync:{member}"))
}

/// When the member may ask again; `None` when they may now.
pub async fn next_allowed(
    state: &AppState,
    member: &ProjectMemberId,
) -> Result<Option<Timestamp>, WebError> {
    let seconds_left: i64 = state
        .redis
        .get()
        .await?
        .ttl(key(state, member))
        .await
        .map_err(oh_fitbit_core::Error::from)?;
    Ok((seconds_left > 0).then(|| Timestamp::now() + SignedDuration::from_secs(seconds_left)))
}

#[derive(Deserialize)]
pub struct SyncForm {
    csrf: Option<String>,
}

pub async fn sync_now(
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
    let claimed: Option<String> = redis::cmd("SET")
        .arg(key(&state, &id))
        .arg(Timestamp::now().as_millisecond())
        .arg("NX")
        .arg("EX")
        .arg(MANUAL_SYNC_INTERVAL.as_secs())
        .query_async(&mut state.redis.get().await?)
        .await
        .map_err(oh_fitbit_core::Error::from)?;
    if claimed.is_none() {
        let next = next_allowed(&state, &id)
            .await?
            .unwrap_or_else(Timestamp::now);
        return Err(WebError::SyncTooSoon {
            next_allowed: crate::routes::dashboard::human_time(next),
        });
    }
    let queued = state.queue.enqueue(&id, Timestamp::now()).await?;
    tracing::info!(member = %id, ?queued, "member asked for a sync");
    Ok(Redirect::to("/dashboard").into_response())
}
