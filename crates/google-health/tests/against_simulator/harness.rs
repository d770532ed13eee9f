//! One simulator per test, on a free loopback port, with a frozen clock.

use google_health::{
    AuthorizationRequest, ClientCredentials, GoogleOAuth, GoogleTokens, HealthApi, OAuthEndpoints,
    Pkce, Scope,
};
use jiff::Timestamp;
use oh_fitbit_sim::{
    SimClock,
    google::{GoogleSim, GoogleSimConfig, PublishingStatus, RegisteredClient},
};
use secrecy::SecretString;
use serde_json::Value;
use url::Url;

pub(crate) const NOW: &str = "2026-11-21T12:00:00Z";
pub(crate) const REDIRECT_URI: &str = "http://127.0.0.1:1/google/callback";
/// What the importer asks for by default.
pub(crate) const SCOPES: [Scope; 3] = [Scope::ActivityAndFitness, Scope::Settings, Scope::Profile];

pub(crate) struct Harness {
    pub sim: GoogleSim,
    pub clock: SimClock,
    /// Follows no redirects, so tests can read the consent redirect's `Location`.
    pub http: reqwest::Client,
    pub oauth: GoogleOAuth,
    pub api: HealthApi,
    pub credentials: ClientCredentials,
    pub redirect_uri: Url,
}

/// The parameters of the consent redirect back to the client.
pub(crate) struct Redirect {
    pub code: Option<String>,
    pub state: Option<String>,
    pub scope: Option<String>,
    pub error: Option<String>,
}

impl Harness {
    pub(crate) async fn start() -> Self {
        let clock = SimClock::starting_at(NOW.parse::<Timestamp>().unwrap());
        clock.freeze(true);
        let config = GoogleSimConfig::local(REDIRECT_URI);
        let client = config.clients[0].clone();
        let sim = GoogleSim::start("127.0.0.1:0".parse().unwrap(), config, clock.clone())
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            oauth: GoogleOAuth::new(OAuthEndpoints::under(sim.base_url()), http.clone()),
            api: HealthApi::new(sim.base_url().clone(), http.clone()),
            credentials: ClientCredentials {
                client_id: client.client_id,
                client_secret: SecretString::from(client.client_secret),
            },
            redirect_uri: Url::parse(REDIRECT_URI).unwrap(),
            sim,
            clock,
            http,
        }
    }

    /// Registers another client with the same redirect URI.
    pub(crate) fn register(
        &self,
        client_id: &str,
        publishing_status: PublishingStatus,
    ) -> ClientCredentials {
        let secret = format!("GOCSPX-{client_id}");
        self.sim.register_client(RegisteredClient {
            client_id: client_id.to_owned(),
            client_secret: secret.clone(),
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            publishing_status,
        });
        ClientCredentials {
            client_id: client_id.to_owned(),
            client_secret: SecretString::from(secret),
        }
    }

    /// Opens the consent URL like a browser and returns the redirect back to the client.
    pub(crate) async fn consent(
        &self,
        credentials: &ClientCredentials,
        scopes: &[Scope],
        pkce: &Pkce,
    ) -> Redirect {
        let url = self.oauth.authorize_url(&AuthorizationRequest {
            credentials,
            redirect_uri: &self.redirect_uri,
            scopes,
            state: "csrf-state-1",
            code_challenge: pkce.challenge(),
        });
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 302, "consent must redirect back");
        let location = response.headers()["location"].to_str().unwrap();
        let location = Url::parse(location).unwrap();
        assert!(location.as_str().starts_with(REDIRECT_URI), "{location}");
        let param = |name: &str| {
            location
                .query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        Redirect {
            code: param("code"),
            state: param("state"),
            scope: param("scope"),
            error: param("error"),
        }
    }

    /// Consent plus code exchange with `credentials`.
    pub(crate) async fn connect_with(
        &self,
        credentials: &ClientCredentials,
        scopes: &[Scope],
    ) -> GoogleTokens {
        let pkce = Pkce::generate();
        let redirect = self.consent(credentials, scopes, &pkce).await;
        let code = redirect.code.expect("consent gives a code");
        self.oauth
            .exchange_code(credentials, &code, &self.redirect_uri, pkce.verifier())
            .await
            .unwrap()
    }

    /// Consent plus code exchange with the default client and scopes.
    pub(crate) async fn connect(&self) -> GoogleTokens {
        self.connect_with(&self.credentials, &SCOPES).await
    }

    pub(crate) async fn admin(&self, path: &str, body: Value) -> Value {
        let url = self.sim.base_url().join(path).unwrap();
        let response = self.http.post(url).json(&body).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub(crate) async fn knobs(&self, knobs: Value) {
        self.admin("__admin/knobs", knobs).await;
    }

    pub(crate) async fn fault(&self, fault: Value) {
        self.admin("__admin/faults", fault).await;
    }
}

/// One-day windows over `[start, end)`, with the server's default page size.
pub(crate) fn one_day_windows(
    start: jiff::civil::Date,
    end: jiff::civil::Date,
) -> google_health::DailyRollUpRequest {
    google_health::DailyRollUpRequest {
        start,
        end,
        window_days: 1,
        page_size: None,
        page_token: None,
    }
}
