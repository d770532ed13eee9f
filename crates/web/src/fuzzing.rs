//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): what a visitor or a
//! forger can send, read as the routes read it.

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
    time::Duration,
};

use axum::{
    Form,
    body::Body,
    extract::{FromRequest, Query, Request},
    http::{Uri, header::CONTENT_TYPE},
};
use jiff::Timestamp;
use serde::de::DeserializeOwned;

use crate::{
    forms,
    routes::{
        callback::CallbackQuery,
        deauth,
        disconnect::DisconnectForm,
        intraday::{ClientForm, SkipForm},
        settings::SettingsForm,
        signout::SignOutForm,
        sync_now::SyncForm,
    },
};

/// Reads `body` as a deauthorisation notice, checked against the default ten-minute window.
pub fn read_webhook_body(body: &[u8]) {
    let _ = deauth::read_notice(body, Timestamp::now(), Duration::from_secs(600));
}

/// Reads `body` as each form the pages post, and as the query of an OAuth callback, with the
/// parsing each route applies to the fields. Whatever a provider wrote in `?error=` must come
/// out of [`oh_fitbit_core::log_safe`] without a control character.
pub fn read_forms(body: &[u8]) {
    let _ = form::<SignOutForm>(body);
    let _ = form::<SyncForm>(body);
    let _ = form::<SkipForm>(body);
    let _ = form::<DisconnectForm>(body);
    if let Some(client) = form::<ClientForm>(body) {
        let _ = client.client_id.as_deref().map(forms::parse_client_id);
        let _ = client
            .client_secret
            .as_deref()
            .map(forms::parse_client_secret);
        let _ = client.resolution.as_deref().map(forms::parse_intraday);
    }
    if let Some(settings) =
        form::<Vec<(String, String)>>(body).and_then(|fields| SettingsForm::parse(fields).ok())
    {
        let _ = settings.intraday.as_deref().map(forms::parse_intraday);
        let _ = forms::parse_earliest_date(&settings.earliest_date, jiff::civil::date(2026, 12, 4));
    }
    let query = std::str::from_utf8(body).ok().and_then(|text| {
        let uri: Uri = format!("/callback?{text}").parse().ok()?;
        Query::<CallbackQuery>::try_from_uri(&uri).ok()
    });
    if let Some(error) = query.and_then(|Query(query)| query.error) {
        let safe = oh_fitbit_core::log_safe(&error);
        assert!(
            !safe.chars().any(char::is_control),
            "a control character reaches the log: {safe:?}"
        );
    }
}

/// What the `Form` extractor makes of `body` posted as a form.
fn form<T: DeserializeOwned + Send>(body: &[u8]) -> Option<T> {
    let request = Request::post("/")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_vec()))
        .expect("a request with a valid header");
    ready(Form::<T>::from_request(request, &()))
        .ok()
        .map(|Form(value)| value)
}

/// The output of a future that needs no waiting: the body is already whole.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("reading a whole body waited"),
    }
}
