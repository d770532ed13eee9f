//! Signing in with Open Humans: the member's record is keyed by their project member id.

use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::PrivateCookieJar;
use jiff::Timestamp;
use oh_fitbit_core::{Provider, members::OpenHumansTokens, random_token};

use crate::{
    error::WebError,
    routes::{
        callback::{self, CallbackQuery},
        sync_now,
    },
    session::{self, FLOW_LIFETIME, FlowProvider, PendingFlow},
    state::AppState,
};

pub(crate) async fn login(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
) -> Result<Response, WebError> {
    let csrf = random_token();
    state
        .states
        .issue(&csrf, FLOW_LIFETIME.unsigned_abs())
        .await?;
    let flow = PendingFlow {
        provider: FlowProvider::OpenHumans,
        state: csrf.clone(),
        verifier: None,
        member: None,
        own_client: false,
        pending_client: None,
        started_at: Timestamp::now(),
    };
    let jar = session::start_flow(jar, &flow, state.secure_cookies());
    Ok((
        jar,
        Redirect::to(state.open_humans.authorize_url(&csrf).as_str()),
    )
        .into_response())
}

pub(crate) async fn callback(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let (jar, verified) = callback::verify(&state, jar, query, Provider::OpenHumans).await;
    let signed_in = async {
        let member = complete_sign_in(&state, verified).await?;
        let stamp = state
            .members
            .session_stamp(&member)
            .await?
            .ok_or(WebError::NotSignedIn)?;
        Ok::<_, WebError>((member, stamp))
    }
    .await;
    match signed_in {
        Ok((member, stamp)) => {
            let jar = session::sign_in(jar, &member, stamp, state.secure_cookies());
            (jar, Redirect::to("/dashboard")).into_response()
        }
        Err(error) => (jar, error).into_response(),
    }
}

async fn complete_sign_in(
    state: &AppState,
    verified: Result<callback::VerifiedCallback, WebError>,
) -> Result<open_humans::ProjectMemberId, WebError> {
    let verified = verified?;
    let tokens = state
        .open_humans
        .exchange_code(&verified.code)
        .await
        .map_err(|error| match error {
            open_humans::Error::InvalidGrant => WebError::CodeRefused(Provider::OpenHumans),
            open_humans::Error::InvalidClient => WebError::internal(error),
            other => WebError::unavailable(Provider::OpenHumans, other),
        })?;
    let member = state
        .open_humans
        .exchange_member(&tokens.access_token)
        .await
        .map_err(|error| WebError::unavailable(Provider::OpenHumans, error))?;
    let stored = OpenHumansTokens {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at: Timestamp::now() + tokens.expires_in,
    };
    let id = member.project_member_id;
    state.members.save_open_humans_link(&id, &stored).await?;
    // A member whose import waited for them to sign in again (their Open Humans grant had
    // lapsed) continues now.
    let fitbit_connected = state.members.has_fitbit(&id).await?;
    let job = state.queue.status(&id).await?;
    let queued = matches!(
        job.state.as_deref(),
        Some("ready" | "scheduled" | "running")
    );
    if fitbit_connected && !queued {
        sync_now::queue_first_sync(state, &id).await?;
    }
    tracing::info!(member = %id, "member signed in with Open Humans");
    Ok(id)
}
