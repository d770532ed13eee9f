//! The client handle and its configuration.

use std::sync::Arc;

use secrecy::SecretString;
use url::Url;

/// What Open Humans knows our project by, and where it lives.
#[derive(Clone, Debug)]
pub struct Config {
    /// Usually `https://www.openhumans.org/`; a simulator's URL in tests and the local stack.
    pub base_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Must be one of the project's registered redirect URIs, byte for byte: the token
    /// endpoint compares it with the one used at authorisation (§2.3).
    pub redirect_uri: Url,
}

/// A cheap-to-clone handle on the Open Humans API for one project.
#[derive(Clone, Debug)]
pub struct OpenHumans {
    pub(crate) http: reqwest::Client,
    pub(crate) config: Arc<Config>,
}

impl OpenHumans {
    /// `http` is built by the caller so that timeouts and TLS are decided in one place; it
    /// must not follow redirects, because a redirected OAuth or API call would carry our
    /// credentials to wherever the redirect points.
    pub fn new(mut config: Config, http: reqwest::Client) -> Self {
        // Endpoints are appended to the base path, so a base without its trailing slash
        // would lose its last segment.
        if !config.base_url.path().ends_with('/') {
            let path = format!("{}/", config.base_url.path());
            config.base_url.set_path(&path);
        }
        Self {
            http,
            config: Arc::new(config),
        }
    }

    /// The absolute URL of an endpoint path such as `oauth2/token/`. Every Open Humans path
    /// ends with a slash; without it Django answers a redirect that drops a POST body (§1.1).
    pub(crate) fn endpoint(&self, path: &str) -> Url {
        let mut url = self.config.base_url.clone();
        let full = format!("{}{path}", url.path());
        url.set_path(&full);
        url.set_query(None);
        url.set_fragment(None);
        url
    }
}
