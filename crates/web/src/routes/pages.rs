//! The landing page, the health check and the static files.

use askama::Template;
use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use axum_extra::extract::PrivateCookieJar;

use crate::{error::WebError, session, state::AppState};

#[derive(Template)]
#[template(path = "landing.html")]
pub(crate) struct LandingPage {
    pub signed_in: bool,
}

pub(crate) async fn landing(jar: PrivateCookieJar) -> Result<Html<String>, WebError> {
    let page = LandingPage {
        signed_in: session::signed_in_member(&jar).is_some(),
    };
    page.render().map(Html).map_err(WebError::internal)
}

/// For the platform's health checks: the process answers, and the database and Redis do.
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    let checks = [
        ("database", state.members.database().ping().await),
        ("redis", state.redis.ping().await),
    ];
    let down: Vec<&str> = checks
        .iter()
        .filter_map(|(name, result)| {
            let error = result.as_ref().err()?;
            tracing::warn!(error = %oh_fitbit_core::error_chain(error), "health check: {name} unreachable");
            Some(*name)
        })
        .collect();
    if down.is_empty() {
        (StatusCode::OK, "ok").into_response()
    } else {
        let body = format!("{} unreachable", down.join(" and "));
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

pub(crate) async fn stylesheet() -> Response {
    static_file(
        "text/css; charset=utf-8",
        include_str!("../../static/style.css"),
    )
}

/// The copy buttons (the pages work without it).
pub(crate) async fn copy_script() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("../../static/copy.js"),
    )
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
