//! Google OAuth 2.0 and Google Health API v4 simulator (reference `google-health-api.md` §8).
//!
//! One HTTP server plays both Google hosts: OAuth at `{base}o/oauth2/v2/auth`, `{base}token`,
//! `{base}revoke`, the Health API at `{base}v4/…`, the test controls under `{base}__admin/`,
//! and the Google Cloud console's "Create OAuth client ID" page under `{base}console/`.
//! Data comes from a deterministic [`Persona`] (about ten years of history up to the shared
//! [`SimClock`]'s today), and every switch of §8.6 that applies is a [`Knobs`] field.
//!
//! Health API requests go through the pipeline of §8.3 in order: routing (unknown path or verb:
//! Google's HTML 404, before authentication) → authentication (401 bodies) → account state →
//! per-user quota → scope → validation (400 with Google's `ErrorInfo.reason`) → handler.
//!
//! What this slice serves, and the gaps it leaves on purpose:
//! * `users/me/identity`, `profile`, `settings`, `irnProfile` (static) and `pairedDevices` (list
//!   and get: the persona's trackers and scale);
//! * for every data type id of §2.9: `dataPoints` list, `get` (identifiable types),
//!   `dataPoints:rollUp` (physical windows) and `dataPoints:dailyRollUp` (civil days), each
//!   where §2.9 allows it, written once for all types over the generators' points
//!   (`points::Generator`, registered in `api::catalogue`). The activity, heart-rate, sleep,
//!   exercise, health-metric, body and log types have data; a type without a generator (such
//!   as basal-energy-burned, empty for Fitbit accounts, food, or the reproductive, mood and
//!   symptom types) passes the same validation (filter grammar, page sizes, rollup limits,
//!   unsupported operations) and answers with no points. An unknown id is 400
//!   `INVALID_PARENT_DATA_TYPE_COLLECTION`.
//!   [`GoogleSim::ground_truth_points`] and [`GoogleSim::ground_truth_daily_roll_up`] say what
//!   those handlers serve for a day.
//! * Not routed yet (so Google's HTML 404): `reconcile`, `exportExerciseTcx`, subscribers,
//!   `/v1/userinfo`, `/tokeninfo`; no `id_token` is issued for `openid`; the `fields` parameter
//!   is accepted but the full response is returned; there is no per-project quota, only the
//!   per-user one.
//! * Many accounts can sign in, each with its own grants, tokens, quota and identity, all
//!   wearing the persona's tracker (`accounts`); `login_hint` picks one.
//! * Tokens and codes are deterministic per simulator instance rather than random.
//! * A sliver of the Google Cloud console (`console`), for the "bring your own client" path
//!   (reference §1.9): `GET {base}console/clients/new` is the "Create OAuth client ID" form (a
//!   Web application client with one authorized redirect URI, Testing or In production), and
//!   `POST {base}console/clients` registers the client with a random id and secret in Google's
//!   shapes and shows them, so a person or a browser test sets the client up as a member
//!   would. Like the `__admin` routes, the console is neither journaled nor subject to faults,
//!   and its clients, like all registered ones, survive `POST /__admin/reset`.

mod accounts;
mod admin;
mod api;
mod civil;
mod console;
mod knobs;
mod oauth;
mod persona;
mod points;
mod responses;
mod scopes;
mod state;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    routing::{get, post},
};
use jiff::civil::Date;
use serde_json::Value;
use url::Url;

pub use accounts::PERSONA_ACCOUNT;
pub use knobs::{
    Consent, DailyFilterPrefix, EmptyWindows, FinalPageToken, Knobs, PersonaState, RollupEnd,
    ScopeErrorShape, SleepFilter,
};
pub use persona::Persona;

use self::state::Shared;
use crate::{admin::Instruments, clock::SimClock, server::SimServer};

/// A client's publishing status on the Google Auth Platform "Audience" page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishingStatus {
    /// Refresh tokens expire 7 days after the grant (`refresh_token_expires_in: 604799`).
    Testing,
    Production,
}

/// An OAuth client registered in the simulated Google Cloud project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredClient {
    pub client_id: String,
    pub client_secret: String,
    /// Compared with the request's `redirect_uri` character for character, as Google does.
    pub redirect_uris: Vec<String>,
    pub publishing_status: PublishingStatus,
}

#[derive(Clone, Debug)]
pub struct GoogleSimConfig {
    /// Seed of the persona and of page tokens and OAuth tokens.
    pub seed: u64,
    pub clients: Vec<RegisteredClient>,
    pub knobs: Knobs,
}

impl GoogleSimConfig {
    /// One production client with a fixed id and secret and `redirect_uri` registered; seed 42.
    pub fn local(redirect_uri: &str) -> Self {
        Self {
            seed: 42,
            clients: vec![RegisteredClient {
                client_id: "123456789012-ohfitbitsim.apps.googleusercontent.com".to_owned(),
                client_secret: "GOCSPX-ohfitbit-simulator-secret".to_owned(),
                redirect_uris: vec![redirect_uri.to_owned()],
                publishing_status: PublishingStatus::Production,
            }],
            knobs: Knobs::default(),
        }
    }
}

/// A running Google simulator.
#[derive(Debug)]
pub struct GoogleSim {
    server: SimServer,
    shared: Arc<Shared>,
}

impl GoogleSim {
    /// Binds `addr` (port 0 picks a free one) and serves until [`GoogleSim::shutdown`].
    pub async fn start(
        addr: SocketAddr,
        config: GoogleSimConfig,
        clock: SimClock,
    ) -> std::io::Result<Self> {
        let (listener, base_url) = SimServer::bind(addr).await?;
        let instruments = Instruments::new(clock);
        let shared = Arc::new(Shared::new(config, instruments.clone()));
        let service = Router::new()
            .route(
                "/o/oauth2/v2/auth",
                get(oauth::authorize).fallback(api::not_found),
            )
            .route("/token", post(oauth::token).fallback(api::not_found))
            .route("/revoke", post(oauth::revoke).fallback(api::not_found))
            .fallback(api::dispatch)
            .with_state(shared.clone());
        let router = instruments
            .instrument(service)
            .merge(admin::routes(shared.clone()))
            .merge(console::routes(shared.clone()));
        Ok(Self {
            server: SimServer::serve(listener, base_url, router),
            shared,
        })
    }

    /// E.g. `http://127.0.0.1:41234/`.
    pub fn base_url(&self) -> &Url {
        self.server.base_url()
    }

    /// Clock, request journal and fault injection.
    pub fn instruments(&self) -> &Instruments {
        &self.shared.instruments
    }

    /// The persona currently served (a reset with another seed replaces it).
    pub fn persona(&self) -> Persona {
        self.shared.lock().persona.clone()
    }

    /// Exactly the `DataPoint` objects `list` returns for the points of `data_type` counted on
    /// civil day `date` (the day they start), ascending, as of the sim clock's now and the
    /// current knobs: every source (the phone's steps too) and every shape of real accounts,
    /// and with `in_progress_sleep` the session in progress as `list` shows it. Empty for
    /// unknown types and types without data; rollup-only types give the points their rollups
    /// are computed from.
    pub fn ground_truth_points(&self, data_type: &str, date: Date) -> Vec<Value> {
        api::ground_truth_points(&self.shared, data_type, date)
    }

    /// The value object `dailyRollUp` returns for the one-day window of `date`
    /// (e.g. `{"countSum":"8412"}`), or `None` when that window has no data.
    pub fn ground_truth_daily_roll_up(&self, data_type: &str, date: Date) -> Option<Value> {
        api::ground_truth_daily_roll_up(&self.shared, data_type, date)
    }

    /// The registered clients, in the order they were added: the configured ones, then those
    /// of [`GoogleSim::register_client`] (a replaced one moves to the end) and of the
    /// console's `POST /console/clients`.
    pub fn clients(&self) -> Vec<RegisteredClient> {
        self.shared.lock().clients.clone()
    }

    /// Adds a client, or replaces the one with the same id.
    pub fn register_client(&self, client: RegisteredClient) {
        let mut state = self.shared.lock();
        state
            .clients
            .retain(|existing| existing.client_id != client.client_id);
        state.clients.push(client);
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
