pub mod callback;
pub mod dashboard;
pub mod deauth;
pub mod disconnect;
pub mod fitbit;
pub mod intraday;
pub mod openhumans;
pub mod pages;
pub mod settings;
pub mod signout;
pub mod sync_now;

use askama::Template;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

use crate::error::WebError;

/// A page rendered with `status` (a form shown again with what was wrong is a 400).
pub fn render(page: &impl Template, status: StatusCode) -> Result<Response, WebError> {
    let html = page.render().map_err(WebError::internal)?;
    Ok((status, Html(html)).into_response())
}
