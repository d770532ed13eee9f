//! Disconnecting Fitbit: the Google grant is revoked and our tokens deleted at once; if the
//! member asks, our files on Open Humans and our staged copies are deleted by their next job
//! (under their lease, so an import still finishing cannot upload a file after the deletion).

use askama::Template;
use axum::{
    Form,
    extract::{State, rejection::FormRejection},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::PrivateCookieJar;
use jiff::Timestamp;
use oh_fitbit_core::{Provider, members::Erasure};
use serde::Deserialize;

use crate::{
    error::WebError,
    routes::render,
    session::{self, SignedIn},
    state::AppState,
};

#[derive(Template)]
#[template(path = "disconnect.html")]
struct DisconnectPage {
    csrf: String,
}

pub(crate) async fn confirm(
    SignedIn(_): SignedIn,
    jar: PrivateCookieJar,
) -> Result<Response, WebError> {
    let csrf = session::csrf_token(&jar).ok_or(WebError::NotSignedIn)?;
    render(&DisconnectPage { csrf }, StatusCode::OK)
}

#[derive(Deserialize)]
pub(crate) struct DisconnectForm {
    csrf: Option<String>,
    /// The checkbox: `yes` when ticked, absent otherwise.
    delete_files: Option<String>,
}

pub(crate) async fn disconnect(
    State(state): State<AppState>,
    SignedIn(id): SignedIn,
    jar: PrivateCookieJar,
    form: Result<Form<DisconnectForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| WebError::BadForm)?;
    session::check_csrf(&jar, form.csrf.as_deref())?;
    let delete_files = match form.delete_files.as_deref() {
        None => false,
        Some("yes") => true,
        Some(_) => return Err(WebError::BadForm),
    };
    let member = state.signed_in_member(&id).await?;
    state
        .tokens
        .revoke_google(&member)
        .await
        .map_err(|error| WebError::unavailable(Provider::Google, error))?;
    let erasure = delete_files.then_some(Erasure::AlsoOpenHumansFiles);
    state.members.disconnect_fitbit(&id, erasure).await?;
    if delete_files {
        state.queue.enqueue(&id, Timestamp::now()).await?;
    } else {
        state.queue.forget(&id).await?;
    }
    // A browser that was signed in elsewhere (a shared or lost device) must not reconnect
    // Fitbit: every other session ends, and this browser's starts again.
    let stamp = state
        .members
        .end_sessions(&id)
        .await?
        .ok_or(WebError::NotSignedIn)?;
    let jar = session::sign_in(jar, &id, stamp, state.secure_cookies());
    tracing::info!(member = %id, delete_files, "member disconnected Fitbit");
    Ok((jar, Redirect::to("/dashboard")).into_response())
}
