//! The outside-service clients, built from configuration the same way in every process.

use google_health::{ClientCredentials, GoogleOAuth, HealthApi, OAuthEndpoints};
use open_humans::OpenHumans;

use crate::config::{GoogleConfig, OpenHumansConfig, PublicUrl};

/// The path of the Open Humans OAuth callback, relative to the public URL.
pub const OPEN_HUMANS_CALLBACK: &str = "openhumans/callback";
/// The path of the Google (Fitbit) OAuth callback, relative to the public URL.
pub const GOOGLE_CALLBACK: &str = "fitbit/callback";
/// Where Open Humans posts its deauthorisation webhook (the project's "Deauthorization
/// webhook URL"), relative to the public URL.
pub const DEAUTH_WEBHOOK: &str = "openhumans/deauth";

/// The longest any OAuth or API request of [`http_client`] takes, answer included.
pub const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// OAuth and API calls never follow redirects (a redirect to another host would carry the token
/// along) and never wait forever.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(HTTP_TIMEOUT)
        .user_agent(concat!("oh-fitbit/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the TLS backend initialises")
}

pub fn open_humans(
    config: &OpenHumansConfig,
    public_url: &PublicUrl,
    http: reqwest::Client,
) -> OpenHumans {
    OpenHumans::new(
        open_humans::Config {
            base_url: config.base_url.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            redirect_uri: public_url.join(OPEN_HUMANS_CALLBACK),
        },
        http,
    )
}

pub fn google_oauth(config: &GoogleConfig, http: reqwest::Client) -> GoogleOAuth {
    GoogleOAuth::new(
        OAuthEndpoints {
            authorize: config.authorize_url.clone(),
            token: config.token_url.clone(),
            revoke: config.revoke_url.clone(),
        },
        http,
    )
}

pub fn google_credentials(config: &GoogleConfig) -> ClientCredentials {
    ClientCredentials {
        client_id: config.client_id.clone(),
        client_secret: config.client_secret.clone(),
    }
}

pub fn health_api(config: &GoogleConfig, http: reqwest::Client) -> HealthApi {
    HealthApi::new(config.health_api_url.clone(), http)
}
