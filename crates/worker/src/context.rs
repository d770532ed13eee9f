//! Everything a sync needs, built once per worker process.

use std::sync::Arc;

use google_health::HealthApi;
use oh_fitbit_core::{
    clients,
    config::{GoogleConfig, OpenHumansConfig, PublicUrl, WorkerConfig},
    dialect::DialectStore,
    members::MemberStore,
    queue::JobQueue,
    staging::Staging,
    tokens::TokenKeeper,
};
use open_humans::OpenHumans;

pub struct WorkerContext {
    pub members: MemberStore,
    pub queue: JobQueue,
    pub staging: Staging,
    /// What this deployment learned about Google's undocumented behaviour.
    pub dialect: DialectStore,
    pub open_humans: OpenHumans,
    pub tokens: TokenKeeper,
    pub health: HealthApi,
    pub config: WorkerConfig,
    /// Where a member sees their status and reconnects, for messages to them.
    pub dashboard_url: String,
    /// Intraday data only through a member's own OAuth client (operator setting).
    pub intraday_requires_own_client: bool,
}

/// What the context is built from.
pub struct Dependencies {
    pub members: MemberStore,
    pub queue: JobQueue,
    pub staging: Staging,
    pub public_url: PublicUrl,
    pub open_humans: OpenHumansConfig,
    pub google: GoogleConfig,
    pub config: WorkerConfig,
}

impl WorkerContext {
    pub fn new(deps: Dependencies) -> Arc<Self> {
        let http = clients::http_client();
        let open_humans = clients::open_humans(&deps.open_humans, &deps.public_url, http.clone());
        let tokens = TokenKeeper::new(
            deps.members.clone(),
            open_humans.clone(),
            clients::google_oauth(&deps.google, http.clone()),
            clients::google_credentials(&deps.google),
        );
        Arc::new(Self {
            dialect: DialectStore::new(deps.members.database().clone()),
            members: deps.members,
            queue: deps.queue,
            staging: deps.staging,
            open_humans,
            tokens,
            health: clients::health_api(&deps.google, http),
            config: deps.config,
            dashboard_url: deps.public_url.join("dashboard").to_string(),
            intraday_requires_own_client: deps.google.intraday_requires_own_client,
        })
    }
}
