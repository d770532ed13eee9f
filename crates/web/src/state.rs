//! What every handler can reach, built once at start.

use std::sync::Arc;

use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use google_health::{ClientCredentials, GoogleOAuth, HealthApi, Scope};
use oh_fitbit_core::{
    clients,
    config::{GoogleConfig, OpenHumansConfig, PublicUrl},
    locks::Locks,
    members::MemberStore,
    oauth_state::OAuthStates,
    queue::JobQueue,
    tokens::TokenKeeper,
};
use open_humans::OpenHumans;
use redis::aio::ConnectionManager;
use secrecy::{ExposeSecret, SecretString};

/// The read scopes asked for: every data category the import reads, where history starts, and
/// the member's time zone and devices. The member may untick any but activity on Google's
/// consent screen; the types of an unticked category are skipped. (Location is not asked for:
/// it only serves GPS track exports, which the import does not read.)
pub const REQUESTED_SCOPES: &[Scope] = &[
    Scope::ActivityAndFitness,
    Scope::HealthMetricsAndMeasurements,
    Scope::Sleep,
    Scope::Nutrition,
    Scope::Ecg,
    Scope::Irn,
    Scope::Profile,
    Scope::Settings,
];

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub public_url: PublicUrl,
    pub cookie_key: Key,
    pub redis: ConnectionManager,
    pub members: MemberStore,
    pub queue: JobQueue,
    pub states: OAuthStates,
    pub tokens: TokenKeeper,
    pub open_humans: OpenHumans,
    pub google_oauth: GoogleOAuth,
    pub google_client: ClientCredentials,
    pub health: HealthApi,
    pub webhook_secret: Option<SecretString>,
}

/// What the state is built from.
pub struct Dependencies {
    pub public_url: PublicUrl,
    /// At least 32 bytes; the cookie keys are derived from it.
    pub session_key: SecretString,
    pub redis: ConnectionManager,
    pub key_prefix: String,
    pub members: MemberStore,
    pub open_humans: OpenHumansConfig,
    pub google: GoogleConfig,
}

impl AppState {
    pub fn new(deps: Dependencies) -> Self {
        let http = clients::http_client();
        let open_humans = clients::open_humans(&deps.open_humans, &deps.public_url, http.clone());
        let google_oauth = clients::google_oauth(&deps.google, http.clone());
        let google_client = clients::google_credentials(&deps.google);
        let tokens = TokenKeeper::new(
            deps.members.clone(),
            Locks::new(deps.redis.clone(), &deps.key_prefix),
            open_humans.clone(),
            google_oauth.clone(),
            google_client.clone(),
        );
        Self(Arc::new(Inner {
            cookie_key: Key::derive_from(deps.session_key.expose_secret().as_bytes()),
            queue: JobQueue::new(deps.redis.clone(), &deps.key_prefix),
            states: OAuthStates::new(deps.redis.clone(), &deps.key_prefix),
            health: clients::health_api(&deps.google, http),
            webhook_secret: deps.open_humans.webhook_secret.clone(),
            public_url: deps.public_url,
            redis: deps.redis,
            members: deps.members,
            tokens,
            open_humans,
            google_oauth,
            google_client,
        }))
    }

    /// Whether cookies may be marked `Secure` (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.0.public_url.is_https()
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.cookie_key.clone()
    }
}
