//! The OAuth2 authorization-code flow with Open Humans (§2): the consent URL, the code
//! exchange and the rotating refresh.

use jiff::SignedDuration;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::{Error, OpenHumans, reply::Reply};

/// A member's grant. Open Humans rotates refresh tokens, so the refresh token returned by
/// every exchange or refresh must be stored before the access token is used: the old one is
/// already revoked.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    /// Lifetime from the moment of the answer (36000 s today).
    pub expires_in: SignedDuration,
    pub scope: String,
}

/// The token endpoint's success body. Deliberately not `Debug`: it holds the raw tokens.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: String,
    #[serde(deserialize_with = "lifetime")]
    expires_in: i64,
    #[serde(default)]
    scope: String,
}

/// Token lifetimes longer than this are not what any OAuth server means (Google's longest is
/// months): such a value is refused rather than let overflow the expiry arithmetic.
const MAX_LIFETIME_S: i64 = 10 * 366 * 24 * 3600;

/// A lifetime in seconds, checked before it is added to a time.
fn lifetime<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let seconds = i64::deserialize(deserializer)?;
    if (0..=MAX_LIFETIME_S).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(serde::de::Error::custom(format!(
            "a token lifetime of {seconds} s is not plausible"
        )))
    }
}

/// The token endpoint's error body (RFC 6749 §5.2).
#[derive(Deserialize)]
struct TokenError {
    error: String,
}

impl OpenHumans {
    /// Where to send the member to grant us access. Open Humans' own authorize page is used
    /// rather than `/oauth2/authorize/` because only it records the project membership
    /// (§2.1). `state` comes back on the redirect and binds it to the member's session.
    pub fn authorize_url(&self, state: &str) -> Url {
        let mut url = self.endpoint("direct-sharing/projects/oauth2/authorize/");
        url.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", self.config.redirect_uri.as_str())
            .append_pair("state", state);
        url
    }

    pub async fn exchange_code(&self, code: &str) -> Result<Tokens, Error> {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.config.redirect_uri.as_str()),
        ])
        .await
    }

    /// On success the old refresh token and its access token are dead (§2.4).
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<Tokens, Error> {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ])
        .await
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<Tokens, Error> {
        let request = self
            .http
            .post(self.endpoint("oauth2/token/"))
            .basic_auth(
                &self.config.client_id,
                Some(self.config.client_secret.expose_secret()),
            )
            .form(form);
        read_tokens(Reply::send(request).await?)
    }
}

/// The grant in a token endpoint's answer, or the error it stands for.
pub(crate) fn read_tokens(reply: Reply) -> Result<Tokens, Error> {
    if !reply.status.is_success() {
        return Err(token_error(reply));
    }
    let body: TokenResponse = reply.json("the token endpoint")?;
    Ok(Tokens {
        access_token: body.access_token.into(),
        refresh_token: body.refresh_token.into(),
        expires_in: SignedDuration::from_secs(body.expires_in),
        scope: body.scope,
    })
}

/// oauthlib 2 answered `invalid_grant` with 401, oauthlib 3 with 400 (§12 q2), so the code
/// decides, not the status.
fn token_error(reply: Reply) -> Error {
    let code = serde_json::from_slice::<TokenError>(&reply.body)
        .ok()
        .map(|e| e.error);
    match (reply.status, code.as_deref()) {
        (StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED, Some("invalid_grant")) => {
            Error::InvalidGrant
        }
        (status, Some("invalid_client")) if status.is_client_error() => Error::InvalidClient,
        _ => reply.into_api_error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::reply;

    #[test]
    fn invalid_grant_is_the_same_at_400_and_401() {
        for status in [400, 401] {
            let error = token_error(reply(status, r#"{"error": "invalid_grant"}"#));
            assert!(matches!(error, Error::InvalidGrant), "status {status}");
        }
    }

    #[test]
    fn other_token_errors_are_told_apart() {
        assert!(matches!(
            token_error(reply(401, r#"{"error": "invalid_client"}"#)),
            Error::InvalidClient
        ));
        let body =
            r#"{"error": "invalid_request", "error_description": "Mismatching redirect URI."}"#;
        assert!(matches!(
            token_error(reply(400, body)),
            Error::Rejected { status: 400, body: b } if b == body
        ));
        assert!(matches!(
            token_error(reply(503, "<h1>down</h1>")),
            Error::Server { status: 503 }
        ));
    }
}
