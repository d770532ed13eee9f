//! Everything a sync needs, built once per worker process.

use std::sync::Arc;

use google_health::HealthApi;
use oh_fitbit_core::{
    clients,
    config::{GoogleConfig, OpenHumansConfig, PublicUrl, WorkerConfig},
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
    pub open_humans: OpenHumans,
    pub tokens: TokenKeeper,
    pub health: HealthApi,
    pub config: WorkerConfig,
}

impl WorkerContext {
    pub fn new(
        members: MemberStore,
        queue: JobQueue,
        staging: Staging,
        public_url: &PublicUrl,
        open_humans: &OpenHumansConfig,
        google: &GoogleConfig,
        config: WorkerConfig,
    ) -> Arc<Self> {
        let http = clients::http_client();
        let open_humans = clients::open_humans(open_humans, public_url, http.clone());
        let tokens = TokenKeeper::new(
            members.clone(),
            open_humans.clone(),
            clients::google_oauth(google, http.clone()),
            clients::google_credentials(google),
        );
        Arc::new(Self {
            members,
            queue,
            staging,
            open_humans,
            tokens,
            health: clients::health_api(google, http),
            config,
        })
    }
}
