//! Open Humans' deauthorisation webhook (reference `openhumans-api.md` §2.6): the member left
//! the project, so we revoke their Google grant and keep nothing of theirs.
//!
//! With a webhook secret configured, only a body signed with it (HMAC-SHA1, compared in
//! constant time) is accepted. Without one, anybody could post a member id, so the claim is
//! believed only once Open Humans refuses the member's token. Open Humans re-posts once, with
//! the JSON double-encoded, when the first answer is not 2xx; both forms are read.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use hmac::{Hmac, Mac};
use oh_fitbit_core::{Provider, departure};
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
struct Deauthorisation {
    project_member_id: String,
    /// `null` or absent for a plain leave; we keep nothing either way.
    #[serde(default)]
    erasure_requested: Option<bool>,
}

pub async fn receive(
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
    let notice = parse(&body).ok_or(WebError::BadWebhook(WebhookProblem::Malformed))?;
    let member: ProjectMemberId = notice
        .project_member_id
        .parse()
        .map_err(|_| WebError::BadWebhook(WebhookProblem::Malformed))?;
    if !signed {
        confirm_with_open_humans(&state, &member).await?;
    }
    let known =
        departure::forget_member(&state.members, &state.queue, &state.tokens, &member).await?;
    tracing::info!(
        %member,
        known,
        erasure_requested = notice.erasure_requested.unwrap_or(false),
        "member left the project on Open Humans: record deleted, staged files queued for erasure"
    );
    Ok(StatusCode::OK)
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

/// The JSON object, or the same object inside a JSON string (the re-post).
fn parse(body: &[u8]) -> Option<Deauthorisation> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::String(inner) => serde_json::from_str(&inner).ok(),
        object => serde_json::from_value(object).ok(),
    }
}

/// An unsigned webhook is believed only when Open Humans no longer accepts the member's token
/// (and refreshing it fails too).
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
        Ok(Err(error)) if error.needs_reauthorization() => Ok(()),
        Ok(Err(error)) => Err(WebError::unavailable(Provider::OpenHumans, error)),
        Err(oh_fitbit_core::Error::GrantRevoked(Provider::OpenHumans)) => Ok(()),
        Err(error) => Err(WebError::unavailable(Provider::OpenHumans, error)),
    }
}
