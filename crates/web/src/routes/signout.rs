//! Signing out: this browser's session ends, or, "everywhere", every session of the member
//! (a cookie saved on another device stops working at once).

use axum::{
    Form,
    extract::{State, rejection::FormRejection},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::PrivateCookieJar;
use serde::Deserialize;

use crate::{
    error::WebError,
    session::{self, SignedIn},
    state::AppState,
};

#[derive(Deserialize)]
pub(crate) struct SignOutForm {
    csrf: Option<String>,
    /// The "Sign out everywhere" button: `yes`; absent for "Sign out".
    everywhere: Option<String>,
}

pub(crate) async fn sign_out(
    State(state): State<AppState>,
    SignedIn(id): SignedIn,
    jar: PrivateCookieJar,
    form: Result<Form<SignOutForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| WebError::BadForm)?;
    session::check_csrf(&jar, form.csrf.as_deref())?;
    let everywhere = match form.everywhere.as_deref() {
        None => false,
        Some("yes") => true,
        Some(_) => return Err(WebError::BadForm),
    };
    if everywhere {
        state.members.end_sessions(&id).await?;
    }
    tracing::info!(member = %id, everywhere, "member signed out");
    Ok((session::sign_out(jar), Redirect::to("/")).into_response())
}
