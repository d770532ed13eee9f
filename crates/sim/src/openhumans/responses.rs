//! The shapes Open Humans answers in: DRF JSON (compact, never cached, errors as in §1.5)
//! and Django's small HTML pages.

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, Method, StatusCode, Uri, header},
    response::{Html, IntoResponse, Response},
};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::state::SimState;

/// DRF's datetime format: UTC, microseconds, `Z`, the fraction left out when it is zero
/// (§1.4).
pub(super) fn oh_datetime(at: Timestamp) -> String {
    let micros = at.subsec_microsecond();
    if micros == 0 {
        at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        format!("{}.{micros:06}Z", at.strftime("%Y-%m-%dT%H:%M:%S"))
    }
}

/// Python's `datetime.isoformat()` of an aware UTC datetime, as the webhook sends it.
pub(super) fn python_isoformat(at: Timestamp) -> String {
    let micros = at.subsec_microsecond();
    let seconds = at.strftime("%Y-%m-%dT%H:%M:%S");
    if micros == 0 {
        format!("{seconds}+00:00")
    } else {
        format!("{seconds}.{micros:06}+00:00")
    }
}

pub(super) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    (status, Json(body)).into_response()
}

pub(super) fn html_page(status: StatusCode, message: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>Open Humans</title></head><body><h1>{}</h1></body></html>\n",
        escape_html(message)
    );
    (status, Html(page)).into_response()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An error answer from the project API.
#[derive(Debug)]
pub(super) enum ApiError {
    /// 401 `{"detail": …}` with `WWW-Authenticate: Bearer realm="api"`.
    Unauthorized(&'static str),
    MethodNotAllowed(Method),
    UnsupportedMediaType(String),
    /// 400 with the body exactly as Open Humans words it.
    BadRequest(Value),
}

impl ApiError {
    /// Django `form.errors` for one field.
    pub(super) fn field(name: &str, message: &str) -> Self {
        Self::BadRequest(json!({ name: [message] }))
    }

    pub(super) fn detail(message: &str) -> Self {
        Self::BadRequest(json!({ "detail": message }))
    }

    /// The member is missing, has left, or never authorised (§5.1 step 1).
    pub(super) fn invalid_member() -> Self {
        Self::BadRequest(json!({"project_member_id": "project_member_id is invalid"}))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthorized(detail) => {
                let mut response =
                    json_response(StatusCode::UNAUTHORIZED, &json!({ "detail": detail }));
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"api\""),
                );
                response
            }
            Self::MethodNotAllowed(method) => json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({ "detail": format!("Method \"{method}\" not allowed.") }),
            ),
            Self::UnsupportedMediaType(media_type) => json_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &json!({ "detail": format!("Unsupported media type \"{media_type}\" in request.") }),
            ),
            Self::BadRequest(body) => json_response(StatusCode::BAD_REQUEST, &body),
        }
    }
}

/// Django's `never_cache`, which every project API view has (§1.4).
pub(super) async fn never_cache(
    State(state): State<Arc<SimState>>,
    mut response: Response,
) -> Response {
    let expires = state
        .now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=0, no-cache, no-store, must-revalidate, private"),
    );
    if let Ok(value) = HeaderValue::from_str(&expires) {
        headers.insert(header::EXPIRES, value);
    }
    response
}

/// Paths that exist with a trailing slash; Django's `APPEND_SLASH` redirects a GET without
/// it. A POST without it is answered 404 so that the client bug shows (§11.2 B).
const SLASHED_PATHS: &[&str] = &[
    "/direct-sharing/projects/oauth2/authorize",
    "/oauth2/token",
    "/api/direct-sharing/project",
    "/api/direct-sharing/project/exchange-member",
    "/api/direct-sharing/project/message",
    "/api/direct-sharing/project/remove-members",
    "/api/direct-sharing/project/files/upload/direct",
    "/api/direct-sharing/project/files/upload/complete",
    "/api/direct-sharing/project/files/delete",
];

pub(super) async fn not_found(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let slash_missing = SLASHED_PATHS.contains(&path)
        || (path.starts_with("/data-management/datafile-download/") && !path.ends_with('/'));
    if method == Method::GET && slash_missing {
        let location = match uri.query() {
            Some(query) => format!("{path}/?{query}"),
            None => format!("{path}/"),
        };
        if let Ok(location) = HeaderValue::from_str(&location) {
            return (
                StatusCode::MOVED_PERMANENTLY,
                [(header::LOCATION, location)],
            )
                .into_response();
        }
    }
    html_page(
        StatusCode::NOT_FOUND,
        "Not Found: the requested resource was not found on this server.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_look_like_drf_and_python() {
        let with_fraction: Timestamp = "2016-05-19T18:33:10.513837Z".parse().unwrap();
        assert_eq!(oh_datetime(with_fraction), "2016-05-19T18:33:10.513837Z");
        assert_eq!(
            python_isoformat(with_fraction),
            "2016-05-19T18:33:10.513837+00:00"
        );
        let whole: Timestamp = "2020-06-30T20:00:00Z".parse().unwrap();
        assert_eq!(oh_datetime(whole), "2020-06-30T20:00:00Z");
        assert_eq!(python_isoformat(whole), "2020-06-30T20:00:00+00:00");
        let small: Timestamp = "2020-06-30T20:00:00.000042Z".parse().unwrap();
        assert_eq!(oh_datetime(small), "2020-06-30T20:00:00.000042Z");
    }
}
