//! `POST /token`: authorization-code exchange (with PKCE) and refresh, with Google's error
//! matrix (reference §1.3, §8.2). Clients authenticate with form fields or HTTP Basic.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    field, form_fields, is_pkce_string, oauth_error, oauth_json,
    store::{ChallengeMethod, Grantee},
};
use crate::{
    google::{
        PublishingStatus, RegisteredClient,
        state::{Shared, SimState},
    },
    journal::attribute,
};

/// Lifetime of refresh tokens of clients in "Testing" publishing status.
const TESTING_REFRESH_TTL: SignedDuration = SignedDuration::from_secs(604_799);

/// Client id and secret from HTTP Basic (RFC 6749 §2.3.1: form-encoded, then base64) or from
/// the form.
fn client_credentials(
    headers: &HeaderMap,
    fields: &[(String, String)],
) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok());
    if let Some(pair) = basic
        && let Some((id, secret)) = pair.split_once(':')
    {
        let decode = |text: &str| {
            url::form_urlencoded::parse(format!("x={text}").as_bytes())
                .next()
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default()
        };
        return (Some(decode(id)), Some(decode(secret)));
    }
    (
        field(fields, "client_id").map(str::to_owned),
        field(fields, "client_secret").map(str::to_owned),
    )
}

fn verifier_matches(verifier: &str, challenge: &str, method: ChallengeMethod) -> bool {
    is_pkce_string(verifier)
        && match method {
            ChallengeMethod::S256 => {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
            }
            ChallengeMethod::Plain => verifier == challenge,
        }
}

/// An OAuth error answer.
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl Refusal {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    fn invalid_grant(description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }
}

fn required<'a>(fields: &'a [(String, String)], name: &str) -> Result<&'a str, Refusal> {
    field(fields, name).ok_or_else(|| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("Missing required parameter: {name}"),
        )
    })
}

/// What a grant yields besides the access token.
struct Granted {
    grantee: Grantee,
    scopes: Vec<String>,
    refresh_token: Option<String>,
    /// When the refresh token the client should keep expires (Testing clients).
    refresh_expires_at: Option<Timestamp>,
}

pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = form_fields(&body);
    let now = shared.now();
    let mut state = shared.lock();
    match grant(&mut state, &headers, &fields, now) {
        Ok((grantee, body)) => attribute(oauth_json(StatusCode::OK, &body), &grantee.user),
        Err(refusal) => oauth_error(refusal.status, refusal.error, &refusal.description),
    }
}

fn grant(
    state: &mut SimState,
    headers: &HeaderMap,
    fields: &[(String, String)],
    now: Timestamp,
) -> Result<(Grantee, Value), Refusal> {
    let grant_type = required(fields, "grant_type")?;
    let client = authenticate(state, headers, fields)?;
    let granted = match grant_type {
        "authorization_code" => exchange_code(state, &client, fields, now)?,
        "refresh_token" => refresh(state, &client, fields, now)?,
        other => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("Invalid grant_type: {other}"),
            ));
        }
    };
    let ttl = SignedDuration::from_secs(i64::from(state.knobs.access_token_ttl_s));
    let access_token =
        state
            .oauth
            .issue_access_token(&granted.grantee, granted.scopes.clone(), ttl, now);
    let mut body = json!({
        "access_token": access_token,
        "expires_in": ttl.as_secs(),
        "scope": granted.scopes.join(" "),
        "token_type": "Bearer",
    });
    if let Some(refresh_token) = granted.refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    if let Some(at) = granted.refresh_expires_at {
        body["refresh_token_expires_in"] = json!(at.duration_since(now).as_secs().max(0));
    }
    Ok((granted.grantee, body))
}

/// The registered client the request authenticates as.
fn authenticate(
    state: &SimState,
    headers: &HeaderMap,
    fields: &[(String, String)],
) -> Result<RegisteredClient, Refusal> {
    let (client_id, secret) = client_credentials(headers, fields);
    let client_id = client_id.filter(|id| !id.is_empty()).ok_or_else(|| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Could not determine client ID from request.",
        )
    })?;
    let client = state.client(&client_id).cloned().ok_or_else(|| {
        Refusal::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        )
    })?;
    match secret.filter(|secret| !secret.is_empty()) {
        None => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_secret is missing.",
        )),
        Some(secret) if secret != client.client_secret => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Unauthorized",
        )),
        Some(_) => Ok(client),
    }
}

/// `grant_type=authorization_code`: a live code of this client, the same redirect URI, and
/// the PKCE verifier of its challenge.
fn exchange_code(
    state: &mut SimState,
    client: &RegisteredClient,
    fields: &[(String, String)],
    now: Timestamp,
) -> Result<Granted, Refusal> {
    let code = required(fields, "code")?;
    let redirect_uri = required(fields, "redirect_uri")?;
    let issued = state
        .oauth
        .code(code, &client.client_id, now)
        .ok_or_else(|| Refusal::invalid_grant("Bad Request"))?;
    if issued.redirect_uri != redirect_uri {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "Bad Request",
        ));
    }
    if let Some((challenge, method)) = &issued.challenge {
        let verifier = field(fields, "code_verifier")
            .ok_or_else(|| Refusal::invalid_grant("Missing code verifier."))?;
        if !verifier_matches(verifier, challenge, *method) {
            return Err(Refusal::invalid_grant("Invalid code verifier."));
        }
    }
    let issued = state
        .oauth
        .redeem_code(code)
        .ok_or_else(|| Refusal::invalid_grant("Bad Request"))?;
    if !issued.issue_refresh_token {
        return Ok(Granted {
            grantee: issued.grantee,
            scopes: issued.scopes,
            refresh_token: None,
            refresh_expires_at: None,
        });
    }
    let expires_at =
        (client.publishing_status == PublishingStatus::Testing).then(|| now + TESTING_REFRESH_TTL);
    let refresh_token =
        state
            .oauth
            .issue_refresh_token(&issued.grantee, issued.scopes.clone(), expires_at, now);
    Ok(Granted {
        grantee: issued.grantee,
        scopes: issued.scopes,
        refresh_token: Some(refresh_token),
        refresh_expires_at: expires_at,
    })
}

/// `grant_type=refresh_token`: a live refresh token of this client; rotated when the knob
/// says so.
fn refresh(
    state: &mut SimState,
    client: &RegisteredClient,
    fields: &[(String, String)],
    now: Timestamp,
) -> Result<Granted, Refusal> {
    let token = required(fields, "refresh_token")?;
    let refresh = state
        .oauth
        .use_refresh_token(token, &client.client_id, now)
        .ok_or_else(|| Refusal::invalid_grant("Token has been expired or revoked."))?;
    let rotated = state.knobs.rotate_refresh_tokens.then(|| {
        let rotated = state.oauth.issue_refresh_token(
            &refresh.grantee,
            refresh.scopes.clone(),
            refresh.expires_at,
            now,
        );
        state.oauth.retire_refresh_token(token, now);
        rotated
    });
    // Only Testing grants have a lifetime to report; a rotated-out token's grace period is not
    // one.
    let testing = client.publishing_status == PublishingStatus::Testing;
    Ok(Granted {
        grantee: refresh.grantee,
        scopes: refresh.scopes,
        refresh_token: rotated,
        refresh_expires_at: refresh.expires_at.filter(|_| testing),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_verification_follows_rfc_7636() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verifier_matches(verifier, challenge, ChallengeMethod::S256));
        assert!(!verifier_matches(
            challenge,
            challenge,
            ChallengeMethod::S256
        ));
        assert!(verifier_matches(
            challenge,
            challenge,
            ChallengeMethod::Plain
        ));
        assert!(!verifier_matches("short", "short", ChallengeMethod::Plain));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("my%3Aclient:s%2Bcret");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        let (id, secret) = client_credentials(&headers, &[("client_id".into(), "ignored".into())]);
        assert_eq!(id.as_deref(), Some("my:client"));
        assert_eq!(secret.as_deref(), Some("s+cret"));
        let (id, secret) =
            client_credentials(&HeaderMap::new(), &[("client_id".into(), "c".into())]);
        assert_eq!((id.as_deref(), secret), (Some("c"), None));
    }
}
