//! Checks shared by both OAuth callbacks, in an order that changes nothing until the request is
//! known to belong to the flow this browser started: the flow cookie is taken (a flow is used
//! once), the `state` must equal the cookie's (compared in constant time), and only then is the
//! state consumed in Redis (so a replayed callback URL is refused even with the cookie).

use axum_extra::extract::PrivateCookieJar;
use oh_fitbit_core::Provider;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::{
    error::{CallbackProblem, WebError},
    session::{FlowProvider, PendingFlow, take_flow},
    state::AppState,
};

#[derive(Debug, Deserialize)]
pub(crate) struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

pub(crate) struct VerifiedCallback {
    pub code: String,
    pub flow: PendingFlow,
}

pub(crate) async fn verify(
    state: &AppState,
    jar: PrivateCookieJar,
    query: CallbackQuery,
    provider: Provider,
) -> (PrivateCookieJar, Result<VerifiedCallback, WebError>) {
    let (jar, flow) = take_flow(jar);
    (jar, check(state, flow, query, provider).await)
}

async fn check(
    state: &AppState,
    flow: Option<PendingFlow>,
    query: CallbackQuery,
    provider: Provider,
) -> Result<VerifiedCallback, WebError> {
    let bad = |problem| WebError::BadCallback { provider, problem };
    let returned_state = query.state.ok_or(bad(CallbackProblem::MissingState))?;
    let expected = match provider {
        Provider::OpenHumans => FlowProvider::OpenHumans,
        Provider::Google => FlowProvider::Google,
    };
    let flow = flow
        .filter(|flow| flow.provider == expected)
        .ok_or(bad(CallbackProblem::NoFlowInProgress))?;
    if !bool::from(returned_state.as_bytes().ct_eq(flow.state.as_bytes())) {
        return Err(bad(CallbackProblem::StateMismatch));
    }
    if !state.states.consume(&returned_state).await? {
        return Err(bad(CallbackProblem::StateUsed));
    }
    if let Some(error) = query.error {
        return Err(if error == "access_denied" {
            WebError::Declined(provider)
        } else {
            let error = oh_fitbit_core::log_safe(&error);
            tracing::warn!(%provider, %error, "the provider answered the consent with an error");
            WebError::CodeRefused(provider)
        });
    }
    let code = query
        .code
        .filter(|code| !code.is_empty())
        .ok_or(bad(CallbackProblem::MissingCode))?;
    Ok(VerifiedCallback { code, flow })
}
