pub(crate) mod callback;
pub(crate) mod dashboard;
pub(crate) mod deauth;
pub(crate) mod disconnect;
pub(crate) mod fitbit;
pub(crate) mod intraday;
pub(crate) mod openhumans;
pub(crate) mod pages;
pub(crate) mod settings;
pub(crate) mod signout;
pub(crate) mod sync_now;

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

use crate::error::WebError;

/// A page rendered with `status` (a form shown again with what was wrong is a 400).
pub(crate) fn render(page: &impl Template, status: StatusCode) -> Result<Response, WebError> {
    let html = page.render().map_err(WebError::internal)?;
    Ok((status, Html(html)).into_response())
}
