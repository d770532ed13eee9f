//! Checking a member's own OAuth client before sending them to consent with it, so that a
//! mistyped id or secret, or a redirect URI missing from the client, is explained on our page
//! rather than on Google's error page (which never comes back to us).
//!
//! Two requests that cannot grant anything:
//! * the consent URL without a `scope`: Google checks the client and the redirect URI before
//!   the parameters, and answers an unknown client or an unregistered redirect URI with its
//!   error page (`Error 401: invalid_client`, `Error 400: redirect_uri_mismatch`), and the
//!   missing scope with another;
//! * a code exchange with a code that cannot exist: Google authenticates the client first
//!   (`invalid_client` for a wrong secret), then rejects the code (`invalid_grant`).

use reqwest::header::ACCEPT;
use secrecy::SecretString;
use url::Url;

use crate::{ClientCredentials, GoogleOAuth, OAuthError};

/// A code no consent ever issued; its exchange can only be refused.
const IMPOSSIBLE_CODE: &str = "4/oh-fitbit-client-check";
/// Any well-formed PKCE verifier: the exchange is refused before it is compared.
const ANY_VERIFIER: &str = "oh-fitbit-client-check-verifier-0123456789abcdef";

/// What Google says about a client before anyone consents to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientCheck {
    /// Google knows the client, the redirect URI is registered and the secret is right.
    Accepted,
    /// No client with this id (`invalid_client` on the consent page).
    UnknownClient,
    /// The redirect URI is not among the client's authorised redirect URIs.
    RedirectUriNotRegistered,
    /// The id is known but the secret is not its secret (`invalid_client` at the token
    /// endpoint).
    WrongSecret,
}

impl GoogleOAuth {
    pub async fn check_client(
        &self,
        credentials: &ClientCredentials,
        redirect_uri: &Url,
    ) -> Result<ClientCheck, OAuthError> {
        let consent = self.consent_page_verdict(credentials, redirect_uri).await?;
        if consent != ClientCheck::Accepted {
            return Ok(consent);
        }
        let exchange = self
            .exchange_code(
                credentials,
                IMPOSSIBLE_CODE,
                redirect_uri,
                &SecretString::from(ANY_VERIFIER),
            )
            .await;
        match exchange {
            Err(OAuthError::InvalidClient) => Ok(ClientCheck::WrongSecret),
            Err(OAuthError::InvalidGrant | OAuthError::Rejected { .. }) => {
                Ok(ClientCheck::Accepted)
            }
            Err(other) => Err(other),
            Ok(_) => Err(OAuthError::Rejected {
                error: "unexpected_grant".to_owned(),
                description: Some("an impossible code was exchanged".to_owned()),
            }),
        }
    }

    async fn consent_page_verdict(
        &self,
        credentials: &ClientCredentials,
        redirect_uri: &Url,
    ) -> Result<ClientCheck, OAuthError> {
        let mut url = self.endpoints.authorize.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &credentials.client_id)
            .append_pair("redirect_uri", redirect_uri.as_str())
            .append_pair("response_type", "code");
        let response = self
            .http
            .get(url)
            .header(ACCEPT, "text/html")
            .send()
            .await
            .map_err(|error| OAuthError::Transport(error.without_url()))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(OAuthError::Server {
                status: status.as_u16(),
            });
        }
        if !status.is_client_error() {
            return Ok(ClientCheck::Accepted);
        }
        let page = response
            .text()
            .await
            .map_err(|error| OAuthError::Transport(error.without_url()))?;
        Ok(if page.contains("redirect_uri_mismatch") {
            ClientCheck::RedirectUriNotRegistered
        } else if page.contains("invalid_client") {
            ClientCheck::UnknownClient
        } else {
            ClientCheck::Accepted
        })
    }
}
