//! What every handler can reach, built once at start.

use std::sync::Arc;

use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use google_health::{ClientCredentials, GoogleOAuth, HealthApi, Scope};
use oh_fitbit_core::{
    clients,
    config::{GoogleConfig, OpenHumansConfig, PublicUrl, WebLimits},
    members::{ImportPreferences, Member, MemberStore},
    oauth_state::OAuthStates,
    progress::DATA_CATEGORIES,
    queue::JobQueue,
    redis_conn::Redis,
    seen_notices::SeenNotices,
    tokens::TokenKeeper,
};
use open_humans::{OpenHumans, ProjectMemberId};
use secrecy::{ExposeSecret, SecretString};

use crate::error::WebError;

/// The read scopes asked for: the data categories the member chose, and where history starts
/// and the member's time zone. The member may still untick any but activity on Google's
/// consent screen; the types of an unticked category are skipped. (Location is not asked for:
/// it only serves GPS track exports, which the import does not read.)
pub(crate) fn requested_scopes(preferences: &ImportPreferences) -> Vec<Scope> {
    DATA_CATEGORIES
        .into_iter()
        .filter(|category| {
            *category == Scope::ActivityAndFitness || preferences.includes(*category)
        })
        .chain([Scope::Profile, Scope::Settings])
        .collect()
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub public_url: PublicUrl,
    pub cookie_key: Key,
    pub redis: Redis,
    pub members: MemberStore,
    pub queue: JobQueue,
    pub states: OAuthStates,
    pub tokens: TokenKeeper,
    pub open_humans: OpenHumans,
    pub google_oauth: GoogleOAuth,
    pub google_client: ClientCredentials,
    pub health: HealthApi,
    pub webhook_secret: Option<SecretString>,
    pub intraday_requires_own_client: bool,
    pub cloud_console_url: url::Url,
    /// Where the consent page is (`https://accounts.google.com`): forms may lead there.
    pub google_consent_origin: String,
    pub limits: WebLimits,
    /// Deauthorisation notices already acted on (see the `deauth` route).
    pub seen_notices: SeenNotices,
}

/// What the state is built from.
pub struct Dependencies {
    pub public_url: PublicUrl,
    /// At least 32 bytes; the cookie keys are derived from it.
    pub session_key: SecretString,
    pub limits: WebLimits,
    pub redis: Redis,
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
            open_humans.clone(),
            google_oauth.clone(),
            google_client.clone(),
        );
        Self(Arc::new(Inner {
            cookie_key: Key::derive_from(deps.session_key.expose_secret().as_bytes()),
            queue: JobQueue::new(deps.redis.clone(), deps.members.database().clone()),
            states: OAuthStates::new(deps.redis.clone()),
            health: clients::health_api(&deps.google, http),
            webhook_secret: deps.open_humans.webhook_secret.clone(),
            intraday_requires_own_client: deps.google.intraday_requires_own_client,
            cloud_console_url: deps.google.cloud_console_url.clone(),
            google_consent_origin: deps.google.authorize_url.origin().ascii_serialization(),
            limits: deps.limits,
            seen_notices: SeenNotices::new(deps.members.database().clone()),
            public_url: deps.public_url,
            redis: deps.redis,
            members: deps.members,
            tokens,
            open_humans,
            google_oauth,
            google_client,
        }))
    }

    /// The signed-in member's record; gone means the session outlived them (they left).
    pub async fn signed_in_member(&self, id: &ProjectMemberId) -> Result<Member, WebError> {
        self.members.load(id).await?.ok_or(WebError::NotSignedIn)
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
