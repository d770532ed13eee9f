//! Google OAuth 2.0 for a confidential web client with PKCE (reference §1.1–§1.5).

use jiff::SignedDuration;
use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::{error::OAuthError, scope::Scope};

/// Where Google's (or the simulator's) OAuth endpoints live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthEndpoints {
    pub authorize: Url,
    pub token: Url,
    pub revoke: Url,
}

impl OAuthEndpoints {
    /// Google's production endpoints.
    pub fn google() -> Self {
        Self {
            authorize: fixed("https://accounts.google.com/o/oauth2/v2/auth"),
            token: fixed("https://oauth2.googleapis.com/token"),
            revoke: fixed("https://oauth2.googleapis.com/revoke"),
        }
    }

    /// The endpoints of a server that mounts them all under `base` the way the simulator does:
    /// `{base}o/oauth2/v2/auth`, `{base}token`, `{base}revoke`. A missing trailing slash on
    /// `base` is added, so `http://host/sim` and `http://host/sim/` mean the same.
    pub fn under(base: &Url) -> Self {
        let mut base = base.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        // `join` fails only for URLs that cannot be a base (`mailto:`…), which reqwest cannot
        // send to anyway: the request then fails as a transport error instead of a panic here.
        let join = |path: &str| base.join(path).unwrap_or_else(|_| base.clone());
        Self {
            authorize: join("o/oauth2/v2/auth"),
            token: join("token"),
            revoke: join("revoke"),
        }
    }
}

fn fixed(url: &'static str) -> Url {
    Url::parse(url).expect("a hard-coded endpoint is a valid URL")
}

/// An OAuth client registered in Google Cloud (ours, or a member's own "bring your own client").
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// What goes into one consent redirect.
#[derive(Clone, Copy, Debug)]
pub struct AuthorizationRequest<'a> {
    pub credentials: &'a ClientCredentials,
    /// Must equal, character for character, a redirect URI registered on the client.
    pub redirect_uri: &'a Url,
    pub scopes: &'a [Scope],
    /// The single-use CSRF value bound to the member's session.
    pub state: &'a str,
    /// [`crate::Pkce::challenge`].
    pub code_challenge: &'a str,
}

/// Google OAuth client: builds consent URLs and calls the token and revoke endpoints.
///
/// Give it a `reqwest::Client` that does not follow redirects: a token endpoint that redirects
/// is an attack, not a feature.
#[derive(Clone, Debug)]
pub struct GoogleOAuth {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoints: OAuthEndpoints,
}

/// Tokens from a code exchange or a refresh.
#[derive(Clone, Debug)]
pub struct GoogleTokens {
    pub access_token: SecretString,
    /// Present after a consent with `access_type=offline`; after a refresh usually `None`
    /// (keep the old one), `Some` when Google rotated it (store the new one before using it).
    pub refresh_token: Option<SecretString>,
    /// Lifetime of the access token from the moment Google answered (3599 s).
    pub expires_in: SignedDuration,
    /// Remaining lifetime of the refresh token when it is time-limited, e.g. 604799 s (7 days)
    /// for clients in "Testing" publishing status. `None` for production clients.
    pub refresh_token_expires_in: Option<SignedDuration>,
    /// The scopes this token carries: with granular consent, possibly fewer than requested.
    pub granted_scopes: Vec<Scope>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(deserialize_with = "lifetime")]
    expires_in: i64,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "optional_lifetime")]
    refresh_token_expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
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

fn optional_lifetime<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Lifetime(#[serde(deserialize_with = "lifetime")] i64);
    Ok(Option::<Lifetime>::deserialize(deserializer)?.map(|Lifetime(seconds)| seconds))
}

impl TokenResponse {
    fn into_tokens(self) -> Result<GoogleTokens, serde_json::Error> {
        if self.access_token.is_empty() {
            return Err(serde::de::Error::custom("access_token is empty"));
        }
        if let Some(kind) = &self.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(serde::de::Error::custom(format!(
                "token_type {kind:?} is not Bearer"
            )));
        }
        Ok(GoogleTokens {
            access_token: SecretString::from(self.access_token),
            refresh_token: self
                .refresh_token
                .filter(|token| !token.is_empty())
                .map(SecretString::from),
            expires_in: SignedDuration::from_secs(self.expires_in),
            refresh_token_expires_in: self.refresh_token_expires_in.map(SignedDuration::from_secs),
            granted_scopes: crate::scope::parse_granted(self.scope.as_deref().unwrap_or("")),
        })
    }
}

impl GoogleOAuth {
    pub fn new(endpoints: OAuthEndpoints, http: reqwest::Client) -> Self {
        Self { http, endpoints }
    }

    /// The consent URL to redirect the member's browser to. Always asks for an offline grant
    /// with a fresh consent screen (`access_type=offline`, `prompt=consent`): only that pair
    /// guarantees a refresh token on a repeat consent.
    pub fn authorize_url(&self, request: &AuthorizationRequest<'_>) -> Url {
        let scopes = request
            .scopes
            .iter()
            .map(|scope| scope.url())
            .collect::<Vec<_>>()
            .join(" ");
        let mut url = self.endpoints.authorize.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &request.credentials.client_id)
            .append_pair("redirect_uri", request.redirect_uri.as_str())
            .append_pair("response_type", "code")
            .append_pair("scope", &scopes)
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent")
            .append_pair("state", request.state)
            .append_pair("code_challenge", request.code_challenge)
            .append_pair("code_challenge_method", "S256");
        url
    }

    /// Exchanges the `code` of the consent redirect for tokens. A wrong `code_verifier`, or a
    /// code that is used or expired, is [`OAuthError::InvalidGrant`].
    pub async fn exchange_code(
        &self,
        credentials: &ClientCredentials,
        code: &str,
        redirect_uri: &Url,
        code_verifier: &SecretString,
    ) -> Result<GoogleTokens, OAuthError> {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", code_verifier.expose_secret()),
            ("client_id", &credentials.client_id),
            ("client_secret", credentials.client_secret.expose_secret()),
        ])
        .await
    }

    /// A new access token from a refresh token. The result's `refresh_token` is usually `None`
    /// (Google keeps the old one valid); `Some` when Google rotated it.
    pub async fn refresh(
        &self,
        credentials: &ClientCredentials,
        refresh_token: &SecretString,
    ) -> Result<GoogleTokens, OAuthError> {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
            ("client_id", &credentials.client_id),
            ("client_secret", credentials.client_secret.expose_secret()),
        ])
        .await
    }

    /// Revokes the whole grant behind an access or refresh token (all scopes, all tokens).
    /// A token that is already expired or revoked is `Rejected { error: "invalid_token", .. }`.
    pub async fn revoke(&self, token: &SecretString) -> Result<(), OAuthError> {
        let response = self
            .http
            .post(self.endpoints.revoke.clone())
            .header(ACCEPT, "application/json")
            .form(&[("token", token.expose_secret())])
            .send()
            .await
            .map_err(|error| OAuthError::Transport(error.without_url()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response
            .bytes()
            .await
            .map_err(|error| OAuthError::Transport(error.without_url()))?;
        let error = OAuthError::from_response(status.as_u16(), &body);
        tracing::debug!(status = status.as_u16(), %error, "Google OAuth revoke failed");
        Err(error)
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<GoogleTokens, OAuthError> {
        let response = self
            .http
            .post(self.endpoints.token.clone())
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|error| OAuthError::Transport(error.without_url()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| OAuthError::Transport(error.without_url()))?;
        if !status.is_success() {
            let error = OAuthError::from_response(status.as_u16(), &body);
            if let Ok(detail) = serde_json::from_slice::<crate::error::OAuthErrorBody>(&body) {
                // Google's descriptions never contain credentials; they help an operator tell
                // an expired grant from a misconfigured client.
                tracing::debug!(
                    status = status.as_u16(),
                    error = detail.error,
                    description = detail.error_description,
                    "Google OAuth token request failed"
                );
            }
            return Err(error);
        }
        read_token_response(&body)
    }
}

/// The tokens in a token endpoint's success body.
pub(crate) fn read_token_response(body: &[u8]) -> Result<GoogleTokens, OAuthError> {
    serde_json::from_slice::<TokenResponse>(body)
        .and_then(TokenResponse::into_tokens)
        .map_err(|source| OAuthError::Malformed {
            what: "token response",
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> ClientCredentials {
        ClientCredentials {
            client_id: "123-abc.apps.googleusercontent.com".to_owned(),
            client_secret: SecretString::from("GOCSPX-secret"),
        }
    }

    #[test]
    fn endpoints_under_a_base_with_or_without_slash() {
        for base in ["http://127.0.0.1:9/sim/", "http://127.0.0.1:9/sim"] {
            let endpoints = OAuthEndpoints::under(&Url::parse(base).unwrap());
            assert_eq!(
                endpoints.authorize.as_str(),
                "http://127.0.0.1:9/sim/o/oauth2/v2/auth"
            );
            assert_eq!(endpoints.token.as_str(), "http://127.0.0.1:9/sim/token");
            assert_eq!(endpoints.revoke.as_str(), "http://127.0.0.1:9/sim/revoke");
        }
        assert_eq!(
            OAuthEndpoints::google().token.host_str(),
            Some("oauth2.googleapis.com")
        );
    }

    #[test]
    fn the_consent_url_asks_for_an_offline_pkce_grant() {
        let oauth = GoogleOAuth::new(OAuthEndpoints::google(), reqwest::Client::new());
        let credentials = credentials();
        let redirect = Url::parse("https://oh.example/google/callback").unwrap();
        let url = oauth.authorize_url(&AuthorizationRequest {
            credentials: &credentials,
            redirect_uri: &redirect,
            scopes: &[Scope::ActivityAndFitness, Scope::Settings],
            state: "st4te",
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        });
        let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["client_id"], credentials.client_id);
        assert_eq!(pairs["redirect_uri"], "https://oh.example/google/callback");
        assert_eq!(pairs["response_type"], "code");
        assert_eq!(
            pairs["scope"],
            format!("{} {}", Scope::ActivityAndFitness, Scope::Settings)
        );
        assert_eq!(pairs["access_type"], "offline");
        assert_eq!(pairs["prompt"], "consent");
        assert_eq!(pairs["state"], "st4te");
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert!(!url.as_str().contains("GOCSPX"));
    }

    #[test]
    fn token_responses_become_tokens() {
        let body = format!(
            r#"{{"access_token":"ya29.x","expires_in":3599,"refresh_token":"1//r","scope":"{} openid","token_type":"Bearer","refresh_token_expires_in":604799}}"#,
            Scope::Sleep
        );
        let tokens = serde_json::from_str::<TokenResponse>(&body)
            .unwrap()
            .into_tokens()
            .unwrap();
        assert_eq!(tokens.access_token.expose_secret(), "ya29.x");
        assert_eq!(tokens.refresh_token.unwrap().expose_secret(), "1//r");
        assert_eq!(tokens.expires_in, SignedDuration::from_secs(3599));
        assert_eq!(
            tokens.refresh_token_expires_in,
            Some(SignedDuration::from_secs(604799))
        );
        assert_eq!(tokens.granted_scopes, vec![Scope::Sleep]);
        let refreshed = serde_json::from_str::<TokenResponse>(
            r#"{"access_token":"ya29.y","expires_in":3599,"token_type":"Bearer"}"#,
        )
        .unwrap()
        .into_tokens()
        .unwrap();
        assert!(refreshed.refresh_token.is_none() && refreshed.granted_scopes.is_empty());
        // A lifetime that would overflow the expiry arithmetic is refused, not added.
        for implausible in [
            r#"{"access_token":"a","expires_in":9223372036854775807}"#,
            r#"{"access_token":"a","expires_in":-5}"#,
            r#"{"access_token":"a","expires_in":3599,"refresh_token_expires_in":9223372036854775807}"#,
        ] {
            let error = serde_json::from_str::<TokenResponse>(implausible)
                .err()
                .unwrap_or_else(|| panic!("{implausible} was accepted"));
            assert!(error.to_string().contains("not plausible"), "{error}");
        }
        assert!(
            serde_json::from_str::<TokenResponse>(
                r#"{"access_token":"x","expires_in":1,"token_type":"mac"}"#
            )
            .unwrap()
            .into_tokens()
            .is_err()
        );
    }
}
