//! The project API's routes and what every one of them does first: authenticate the token
//! (§3, §11.2 B), then check the method, then read the body.

use std::sync::Arc;

use axum::{
    Router,
    body::to_bytes,
    extract::Request,
    http::{HeaderMap, Method, header},
    routing::any,
};

use super::{
    body::Fields, files, leave, member, message, responses::ApiError, state::SimState, upload,
};

/// Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`; API bodies are small forms.
const MAX_FORM_BYTES: usize = 2_621_440;

/// Every route accepts any method, because authentication comes before the method check.
pub(super) fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/api/direct-sharing/project/", any(member::project))
        .route(
            "/api/direct-sharing/project/exchange-member/",
            any(member::exchange_member),
        )
        .route("/api/direct-sharing/project/message/", any(message::send))
        .route(
            "/api/direct-sharing/project/remove-members/",
            any(leave::remove_members),
        )
        .route(
            "/api/direct-sharing/project/files/upload/direct/",
            any(upload::direct),
        )
        .route(
            "/api/direct-sharing/project/files/upload/complete/",
            any(upload::complete),
        )
        .route(
            "/api/direct-sharing/project/files/delete/",
            any(files::delete),
        )
}

/// An authenticated call whose method has been checked.
pub(super) struct ApiCall {
    /// The member the OAuth2 token belongs to.
    pub project_member_id: String,
    pub query: Option<String>,
    pub fields: Fields,
}

impl ApiCall {
    pub(super) async fn accept(
        state: &SimState,
        request: Request,
        allowed: Method,
    ) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let query = parts.uri.query().map(str::to_owned);
        let project_member_id = authenticate(state, &parts.headers, query.as_deref())?;
        if parts.method != allowed {
            return Err(ApiError::MethodNotAllowed(parts.method));
        }
        let fields = if allowed == Method::POST {
            let body = to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|_| ApiError::detail("Request body exceeded the size limit."))?;
            Fields::parse(&parts.headers, &body)?
        } else {
            Fields::default()
        };
        Ok(Self {
            project_member_id,
            query,
            fields,
        })
    }
}

/// The member behind the request's token. `?access_token=` wins over the header, as Open
/// Humans' middleware copies it into the header (§1.2).
fn authenticate(
    state: &SimState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<String, ApiError> {
    let from_query = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
    });
    let token = match from_query {
        Some(token) => token,
        None => bearer_token(headers)?,
    };
    let inner = state.lock();
    match inner.access_tokens.get(&token) {
        Some(found) if found.expires_at < state.now() => {
            Err(ApiError::Unauthorized("Expired token."))
        }
        Some(found) => Ok(found.project_member_id.clone()),
        None => Err(ApiError::Unauthorized("Invalid token.")),
    }
}

/// DRF's bearer header parsing, with its messages.
fn bearer_token(headers: &HeaderMap) -> Result<String, ApiError> {
    let not_provided = ApiError::Unauthorized("Authentication credentials were not provided.");
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(not_provided);
    };
    let value = String::from_utf8_lossy(value.as_bytes());
    let mut words = value.split_whitespace();
    if !words
        .next()
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer"))
    {
        return Err(not_provided);
    }
    match (words.next(), words.next()) {
        (None, _) => Err(ApiError::Unauthorized(
            "Invalid token header. No credentials provided.",
        )),
        (Some(_), Some(_)) => Err(ApiError::Unauthorized(
            "Invalid token header. Token string should not contain spaces.",
        )),
        (Some(token), None) => Ok(token.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn header(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    fn detail(result: Result<String, ApiError>) -> &'static str {
        match result {
            Err(ApiError::Unauthorized(detail)) => detail,
            other => panic!("expected a 401, got {other:?}"),
        }
    }

    #[test]
    fn bearer_headers_are_parsed_like_drf() {
        assert_eq!(bearer_token(&header("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_token(&header("bearer abc")).unwrap(), "abc");
        assert_eq!(
            detail(bearer_token(&header("Bearer"))),
            "Invalid token header. No credentials provided."
        );
        assert_eq!(
            detail(bearer_token(&header("Bearer a b"))),
            "Invalid token header. Token string should not contain spaces."
        );
        assert_eq!(
            detail(bearer_token(&header("Basic abc"))),
            "Authentication credentials were not provided."
        );
        assert_eq!(
            detail(bearer_token(&HeaderMap::new())),
            "Authentication credentials were not provided."
        );
    }
}
