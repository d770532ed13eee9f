//! The token endpoint (§2.3, §11.2 A2): authorization-code and refresh-token grants with
//! django-oauth-toolkit's lifetimes and refresh-token rotation, and oauthlib's checks in
//! oauthlib's order.

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde::Serialize;

use super::{
    body::Fields,
    state::{Inner, SimState},
};
use crate::journal::attribute;

/// django-oauth-toolkit's default `ACCESS_TOKEN_EXPIRE_SECONDS`.
pub(super) const ACCESS_TOKEN_SECONDS: i64 = 36_000;

/// Every scope Open Humans defines; a request without `scope` gets them all.
const SCOPE: &str = "read write american-gut go-viral pgp wildlife open-humans";

pub(super) fn routes() -> Router<Arc<SimState>> {
    Router::new().route("/oauth2/token/", post(token))
}

/// The success body, keys in oauthlib's order.
#[derive(Serialize)]
struct TokenBody {
    access_token: String,
    expires_in: i64,
    token_type: &'static str,
    scope: &'static str,
    refresh_token: String,
}

/// An RFC 6749 error; `status` is decided by the caller where Open Humans' versions differ.
#[derive(Debug, PartialEq, Eq)]
struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: Option<&'static str>,
}

impl OAuthError {
    fn bad_request(code: &'static str, description: Option<&'static str>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description,
        }
    }
}

async fn token(State(state): State<Arc<SimState>>, headers: HeaderMap, body: Bytes) -> Response {
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    // oauthlib reads `request.POST`, which only a form body fills.
    let fields = if form_encoded {
        Fields::parse(&headers, &body).unwrap_or_default()
    } else {
        Fields::default()
    };
    let mut inner = state.lock();
    let invalid_grant_status = StatusCode::from_u16(inner.settings.invalid_grant_status)
        .unwrap_or(StatusCode::BAD_REQUEST);
    let result = match fields.text("grant_type") {
        Some("authorization_code") => exchange_code(&state, &mut inner, &headers, &fields),
        Some("refresh_token") => refresh(&state, &mut inner, &headers, &fields),
        _ => Err(OAuthError::bad_request("unsupported_grant_type", None)),
    };
    drop(inner);
    match result {
        Ok((member_id, body)) => attribute(
            no_store((StatusCode::OK, axum::Json(body)).into_response()),
            &member_id,
        ),
        Err(mut error) => {
            if error.code == "invalid_grant" {
                error.status = invalid_grant_status;
            }
            error_response(&error)
        }
    }
}

fn exchange_code(
    state: &SimState,
    inner: &mut Inner,
    headers: &HeaderMap,
    fields: &Fields,
) -> Result<(String, TokenBody), OAuthError> {
    let Some(code) = fields.text("code") else {
        return Err(OAuthError::bad_request(
            "invalid_request",
            Some("Missing code parameter."),
        ));
    };
    authenticate_client(state, headers, fields)?;
    let now = state.now();
    let grant = inner
        .grants
        .get(code)
        .filter(|grant| grant.expires_at >= now)
        .cloned()
        .ok_or_else(invalid_grant)?;
    let redirect_uri = fields
        .text("redirect_uri")
        .map(str::to_owned)
        .or_else(|| state.config.project.redirect_uris.first().cloned());
    if redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return Err(OAuthError::bad_request(
            "invalid_request",
            Some("Mismatching redirect URI."),
        ));
    }
    // Single use: the grant is deleted on exchange.
    inner.grants.remove(code);
    let (access_token, refresh_token) =
        inner.issue_tokens(&state.rng, &grant.project_member_id, now);
    Ok((
        grant.project_member_id,
        token_body(access_token, refresh_token),
    ))
}

/// Rotation: the old refresh token is revoked and its access token deleted (§2.4).
fn refresh(
    state: &SimState,
    inner: &mut Inner,
    headers: &HeaderMap,
    fields: &Fields,
) -> Result<(String, TokenBody), OAuthError> {
    let Some(presented) = fields.text("refresh_token") else {
        return Err(OAuthError::bad_request(
            "invalid_request",
            Some("Missing refresh token parameter."),
        ));
    };
    authenticate_client(state, headers, fields)?;
    let old = inner
        .refresh_tokens
        .get_mut(presented)
        .filter(|token| !token.revoked)
        .ok_or_else(invalid_grant)?;
    old.revoked = true;
    let (member_id, old_access) = (old.project_member_id.clone(), old.access_token.clone());
    inner.access_tokens.remove(&old_access);
    let (access_token, refresh_token) = inner.issue_tokens(&state.rng, &member_id, state.now());
    Ok((member_id, token_body(access_token, refresh_token)))
}

fn token_body(access_token: String, refresh_token: String) -> TokenBody {
    TokenBody {
        access_token,
        expires_in: ACCESS_TOKEN_SECONDS,
        token_type: "Bearer",
        scope: SCOPE,
        refresh_token,
    }
}

fn invalid_grant() -> OAuthError {
    OAuthError::bad_request("invalid_grant", None)
}

/// HTTP Basic first, then `client_id`/`client_secret` in the body, as django-oauth-toolkit
/// tries them.
fn authenticate_client(
    state: &SimState,
    headers: &HeaderMap,
    fields: &Fields,
) -> Result<(), OAuthError> {
    let project = &state.config.project;
    let matches =
        |id: &str, secret: &str| id == project.client_id && secret == project.client_secret;
    let basic = basic_credentials(headers).is_some_and(|(id, secret)| matches(&id, &secret));
    let in_body = matches!(
        (fields.text("client_id"), fields.text("client_secret")),
        (Some(id), Some(secret)) if matches(id, secret)
    );
    if basic || in_body {
        Ok(())
    } else {
        Err(OAuthError {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_client",
            description: None,
        })
    }
}

/// The decoded `id:secret` of a Basic header; both halves are URL-decoded as
/// django-oauth-toolkit does.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unquote = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unquote(id)?, unquote(secret)?))
}

fn error_response(error: &OAuthError) -> Response {
    let body = match error.description {
        Some(description) => {
            serde_json::json!({"error": error.code, "error_description": description})
        }
        None => serde_json::json!({"error": error.code}),
    };
    let mut response = no_store((error.status, axum::Json(body)).into_response());
    if error.status == StatusCode::UNAUTHORIZED {
        let challenge = format!("Bearer error=\"{}\"", error.code);
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("pragma"),
        HeaderValue::from_static("no-cache"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_decoded_and_unquoted() {
        let mut headers = HeaderMap::new();
        let encoded = BASE64.encode("my%20id:s3cr%3At");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("my id".to_owned(), "s3cr:t".to_owned()))
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic_credentials(&headers), None);
    }
}
