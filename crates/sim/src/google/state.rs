//! The simulator's mutable state, shared by all handlers behind one mutex. Handlers hold the
//! lock only for bookkeeping (tokens, quota, knobs) and generate data after releasing it.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

use jiff::Timestamp;

use super::{
    GoogleSimConfig, RegisteredClient,
    api::paging::PageTokens,
    knobs::Knobs,
    oauth::store::{Grantee, OAuthStore},
    persona::Persona,
};
use crate::admin::Instruments;

#[derive(Debug)]
pub(crate) struct Shared {
    pub instruments: Instruments,
    default_seed: u64,
    state: Mutex<SimState>,
}

#[derive(Debug)]
pub(crate) struct SimState {
    pub knobs: Knobs,
    pub clients: Vec<RegisteredClient>,
    pub persona: Persona,
    pub page_tokens: PageTokens,
    pub oauth: OAuthStore,
    /// Per account and client, fixed one-minute windows: (window number, requests admitted
    /// in it).
    pub quota: HashMap<Grantee, (i64, u32)>,
}

impl SimState {
    pub(crate) fn client(&self, client_id: &str) -> Option<&RegisteredClient> {
        self.clients
            .iter()
            .find(|client| client.client_id == client_id)
    }
}

impl Shared {
    pub(crate) fn new(config: GoogleSimConfig, instruments: Instruments) -> Self {
        let persona = Persona::new(config.seed, instruments.clock.clone());
        Self {
            default_seed: config.seed,
            state: Mutex::new(SimState {
                knobs: config.knobs,
                clients: config.clients,
                persona,
                page_tokens: PageTokens::new(config.seed),
                oauth: OAuthStore::new(config.seed),
                quota: HashMap::new(),
            }),
            instruments,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SimState> {
        // A poisoned lock only means a handler panicked; the state is still consistent enough
        // for a test double, and refusing every later request would hide the original failure.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.instruments.clock.now()
    }

    /// Back to a fresh simulator: a new persona (seed, or the configured one), the given
    /// knobs, no codes, tokens, grants, quota usage, journal entries or faults. Registered
    /// clients stay.
    pub(crate) fn reset(&self, seed: Option<u64>, knobs: Knobs) {
        let seed = seed.unwrap_or(self.default_seed);
        {
            let mut state = self.lock();
            state.knobs = knobs;
            state.persona = Persona::new(seed, self.instruments.clock.clone());
            state.page_tokens = PageTokens::new(seed);
            state.oauth.clear();
            state.quota.clear();
        }
        self.instruments.journal.clear();
        self.instruments.faults.clear();
    }
}
