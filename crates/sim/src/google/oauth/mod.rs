//! The simulated Google OAuth 2.0 server (reference §1.1–§1.5, §8.2).

mod authorize;
mod revoke;
pub(crate) mod store;
mod token;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

pub(crate) use authorize::{ConsentRequest, Outcome, authorize, consent};
pub(crate) use revoke::revoke;
pub(crate) use token::token;

/// A JSON response of the token and revoke endpoints, never cached.
fn oauth_json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `{"error": …, "error_description": …}`, the OAuth error body (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    oauth_json(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

/// Form fields (a body or a query string) by name; the first occurrence wins.
fn form_fields(encoded: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(encoded).into_owned().collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Whether `text` is a valid PKCE verifier or challenge: 43–128 characters of RFC 7636's
/// unreserved set.
fn is_pkce_string(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}
