//! Intraday data with the member's own Google OAuth client: a guide to creating it, the exact
//! redirect URI to register, a check of the pasted id and secret with Google before anything
//! is stored, then consent again with that client (which replaces a working one only once that
//! consent succeeds). Or skipping intraday data altogether.

use askama::Template;
use axum::{
    Form,
    extract::{State, rejection::FormRejection},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::PrivateCookieJar;
use google_health::{ClientCheck, ClientCredentials};
use oh_fitbit_core::{Provider, clients::GOOGLE_CALLBACK, members::Member};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::{
    error::{OwnClientProblem, WebError},
    forms::{self, RESOLUTIONS},
    routes::{fitbit, render, sync_now},
    session::{self, PendingClient, SignedIn},
    state::AppState,
};

/// Preselected for a member who has not chosen: fine enough for most analyses, and a month
/// of it stays a small file.
const DEFAULT_RESOLUTION: &str = "1min";

#[derive(Template)]
#[template(path = "intraday.html")]
struct IntradayPage {
    csrf: String,
    redirect_uri: String,
    console_url: String,
    requires_own_client: bool,
    /// The id of the client already set up (its secret is never shown again).
    current_client_id: Option<String>,
    connected_via_own_client: bool,
    resolution: &'static str,
    resolutions: &'static [(&'static str, &'static str)],
    entered_client_id: String,
    problem: Option<&'static str>,
}

impl IntradayPage {
    fn of(state: &AppState, member: &Member, csrf: String) -> Self {
        let current_client_id = member.own_client.as_ref().map(|c| c.client_id.clone());
        Self {
            csrf,
            redirect_uri: state.public_url.join(GOOGLE_CALLBACK).to_string(),
            console_url: state.cloud_console_url.to_string(),
            requires_own_client: state.intraday_requires_own_client,
            entered_client_id: current_client_id.clone().unwrap_or_default(),
            current_client_id,
            connected_via_own_client: member.connected_via_own_client(),
            resolution: match member.preferences.intraday {
                None => DEFAULT_RESOLUTION,
                chosen => forms::intraday_value(chosen),
            },
            resolutions: &RESOLUTIONS,
            problem: None,
        }
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(id): SignedIn,
    jar: PrivateCookieJar,
) -> Result<Response, WebError> {
    let csrf = session::csrf_token(&jar).ok_or(WebError::NotSignedIn)?;
    let member = state.signed_in_member(&id).await?;
    render(&IntradayPage::of(&state, &member, csrf), StatusCode::OK)
}

#[derive(Deserialize)]
pub(crate) struct ClientForm {
    csrf: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) resolution: Option<String>,
}

pub(crate) async fn save_client(
    State(state): State<AppState>,
    SignedIn(id): SignedIn,
    jar: PrivateCookieJar,
    form: Result<Form<ClientForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| WebError::BadForm)?;
    let csrf = form.csrf.clone();
    session::check_csrf(&jar, csrf.as_deref())?;
    let resolution = forms::parse_intraday(form.resolution.as_deref().unwrap_or_default())?
        .ok_or(WebError::BadForm)?;
    let member = state.signed_in_member(&id).await?;
    let entered_id = form.client_id.unwrap_or_default();
    let refuse = |problem: OwnClientProblem| {
        let mut page = IntradayPage::of(&state, &member, csrf.clone().unwrap_or_default());
        page.entered_client_id = entered_id.trim().chars().take(200).collect();
        page.resolution = forms::intraday_value(Some(resolution));
        page.problem = Some(problem.explanation());
        tracing::info!(member = %id, ?problem, "own OAuth client refused");
        render(&page, StatusCode::BAD_REQUEST)
    };
    let Some(client_id) = forms::parse_client_id(&entered_id) else {
        return refuse(OwnClientProblem::MalformedId);
    };
    let Some(secret) = form
        .client_secret
        .as_deref()
        .and_then(forms::parse_client_secret)
    else {
        return refuse(OwnClientProblem::MalformedSecret);
    };
    let credentials = ClientCredentials {
        client_id,
        client_secret: secret.into(),
    };
    let redirect_uri = state.public_url.join(GOOGLE_CALLBACK);
    let verdict = state
        .google_oauth
        .check_client(&credentials, &redirect_uri)
        .await
        .map_err(|error| WebError::unavailable(Provider::Google, error))?;
    let problem = match verdict {
        ClientCheck::Accepted => None,
        ClientCheck::UnknownClient => Some(OwnClientProblem::UnknownClient),
        ClientCheck::RedirectUriNotRegistered => Some(OwnClientProblem::RedirectUriNotRegistered),
        ClientCheck::WrongSecret => Some(OwnClientProblem::WrongSecret),
    };
    if let Some(problem) = problem {
        return refuse(problem);
    }
    // The working client (if any) stays until Google's consent with the new one succeeds.
    let pending = PendingClient {
        client_id: credentials.client_id.clone(),
        client_secret: credentials.client_secret.expose_secret().to_owned(),
        resolution,
    };
    tracing::info!(member = %id, "own OAuth client checked; consent follows");
    fitbit::start_consent(&state, jar, &member, &credentials, true, Some(pending)).await
}

#[derive(Deserialize)]
pub(crate) struct SkipForm {
    csrf: Option<String>,
}

/// Daily data only: intraday off, whatever client the grant is with.
pub(crate) async fn skip(
    State(state): State<AppState>,
    SignedIn(id): SignedIn,
    jar: PrivateCookieJar,
    form: Result<Form<SkipForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| WebError::BadForm)?;
    session::check_csrf(&jar, form.csrf.as_deref())?;
    let member = state.signed_in_member(&id).await?;
    if member.preferences.intraday.is_some() {
        let mut preferences = member.preferences.clone();
        preferences.intraday = None;
        state.members.save_preferences(&id, &preferences).await?;
    }
    // The end of a settings change that led here: its other choices are read now.
    if member.fitbit.is_some() {
        sync_now::queue_sync(&state, &id).await?;
    }
    Ok(Redirect::to("/dashboard").into_response())
}
