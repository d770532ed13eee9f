//! Open Humans' deauthorisation webhook (reference `openhumans-api.md` §2.6): the member left
//! the project, so we revoke their Google grant and keep nothing of theirs.
//!
//! With a webhook secret configured, only a body signed with it (HMAC-SHA1, compared in
//! constant time) is accepted. Without one (an operator's explicit choice), anybody could post
//! a member id, so the claim is believed only when Open Humans refuses to refresh the member's
//! token, which is what leaving does; a 401 on a call, which a lapsed access token or a
//! transient fault explains as well, is not enough. Either way a notice must be recent (its
//! `timestamp` within `WEBHOOK_MAX_AGE_MINUTES`) and is acted on once: what was seen is
//! remembered for that long, so a captured notice cannot erase a member who joined again.
//! Open Humans re-posts once, with the JSON double-encoded, when the first answer is not 2xx;
//! both forms are read.

use std::time::Duration;

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use oh_fitbit_core::{Provider, departure, error_chain};
use open_humans::ProjectMemberId;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha1::Sha1;

use crate::{
    error::{WebError, WebhookProblem},
    state::AppState,
};

const SIGNATURE_HEADER: &str = "x-openhumans-webhooks-signature";

#[derive(Deserialize)]
pub(crate) struct Deauthorisation {
    project_member_id: String,
    /// `null` or absent for a plain leave; we keep nothing either way.
    #[serde(default)]
    erasure_requested: Option<bool>,
    /// When Open Humans sent it (Python's `isoformat()`, with its offset).
    timestamp: Timestamp,
}

pub(crate) async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, WebError> {
    let signed = match &state.webhook_secret {
        Some(secret) => {
            verify_signature(secret, &headers, &body)?;
            true
        }
        None => false,
    };
    let max_age = state.limits.webhook_max_age;
    let (member, notice) = read_notice(&body, Timestamp::now(), max_age)?;
    // The body is what the signature covers: the same body is the same notice.
    if !state
        .seen_notices
        .first_sighting(&body, 2 * max_age)
        .await?
    {
        return Err(WebError::BadWebhook(WebhookProblem::Replayed));
    }
    let acted = act_on(&state, &member, signed).await;
    if acted.is_err() {
        // Not acted on: Open Humans' re-post, or the same notice again, may still be.
        if let Err(error) = state.seen_notices.forget(&body).await {
            tracing::warn!(error = %error_chain(&error), "forgetting a notice not acted on failed");
        }
    }
    let known = acted?;
    tracing::info!(
        %member,
        known,
        erasure_requested = notice.erasure_requested.unwrap_or(false),
        "member left the project on Open Humans: record deleted, staged files queued for erasure"
    );
    Ok(StatusCode::OK)
}

/// Forgets the member, once an unsigned notice is confirmed; whether we knew them.
async fn act_on(
    state: &AppState,
    member: &ProjectMemberId,
    signed: bool,
) -> Result<bool, WebError> {
    if !signed {
        confirm_with_open_humans(state, member).await?;
    }
    Ok(departure::forget_member(&state.members, &state.queue, &state.tokens, member).await?)
}

fn verify_signature(
    secret: &SecretString,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), WebError> {
    let refused = || WebError::BadWebhook(WebhookProblem::BadSignature);
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("sha1="))
        .and_then(|hex_digest| hex::decode(hex_digest).ok())
        .ok_or_else(refused)?;
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&signature).map_err(|_| refused())
}

/// The member a notice names, and the notice, if it is well formed and sent within `max_age`
/// of `now` (either way).
pub(crate) fn read_notice(
    body: &[u8],
    now: Timestamp,
    max_age: Duration,
) -> Result<(ProjectMemberId, Deauthorisation), WebError> {
    let notice = parse(body).ok_or(WebError::BadWebhook(WebhookProblem::Malformed))?;
    let member: ProjectMemberId = notice
        .project_member_id
        .parse()
        .map_err(|_| WebError::BadWebhook(WebhookProblem::Malformed))?;
    let age = now.duration_since(notice.timestamp);
    if age.unsigned_abs() > max_age {
        tracing::warn!(%member, %age, "a deauthorisation notice outside the accepted window");
        return Err(WebError::BadWebhook(WebhookProblem::Stale));
    }
    Ok((member, notice))
}

/// The JSON object, or the same object inside a JSON string (the re-post).
fn parse(body: &[u8]) -> Option<Deauthorisation> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::String(inner) => serde_json::from_str(&inner).ok(),
        object => serde_json::from_value(object).ok(),
    }
}

/// An unsigned webhook is believed only when Open Humans refuses to refresh the member's
/// token: leaving revokes every token of theirs (reference §2.4). A call that works, or a 401
/// that a refresh answers (a lapsed access token, a transient fault), says they are still in
/// the project; a refresh that fails otherwise says nothing, and nothing is done.
async fn confirm_with_open_humans(
    state: &AppState,
    member: &ProjectMemberId,
) -> Result<(), WebError> {
    let Some(mut record) = state.members.load(member).await? else {
        return Ok(());
    };
    let listed = state
        .tokens
        .with_open_humans(&mut record, |open_humans, token| async move {
            open_humans.exchange_member(&token).await
        })
        .await;
    match listed {
        Ok(Ok(_)) => Err(WebError::BadWebhook(WebhookProblem::NotConfirmed)),
        Ok(Err(error)) if error.needs_reauthorization() => {
            Err(WebError::BadWebhook(WebhookProblem::NotConfirmed))
        }
        Ok(Err(error)) => Err(WebError::unavailable(Provider::OpenHumans, error)),
        Err(oh_fitbit_core::Error::GrantRevoked(Provider::OpenHumans)) => Ok(()),
        Err(error) => Err(WebError::unavailable(Provider::OpenHumans, error)),
    }
}
