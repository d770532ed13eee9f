//! A simulator of Open Humans' project API and of the S3 bucket its presigned URLs point
//! into, faithful to `reference/openhumans-api.md` §11: OAuth2 with auto-consent, token
//! rotation, `exchange-member` with paging, the three-step direct upload with SigV2
//! presigned PUTs, deletes, downloads, messages, and member "leave" with the deauthorisation
//! webhook. The S3 bucket is served path-style under `/s3/<bucket>/` on the same server.
//!
//! Only member OAuth2 tokens are supported: a data source never uses the project's master
//! token (§3), so a master token is just an unknown token here.
//!
//! Control endpoints, besides the shared `/__admin/{clock,journal,faults}`:
//!
//! * `POST /__admin/reset`: forget members, tokens, files, messages and settings, and clear
//!   the journal and faults;
//! * `POST /__admin/authorize`: consent without a browser; takes the authorize page's
//!   parameters as JSON (`sim_user`, `redirect_uri`, `state`, …) and returns
//!   `{"location", "code"}`;
//! * `POST /__admin/members/{project_member_id}/leave` with `{"erasure_requested": bool}`:
//!   the member leaves on Open Humans; returns the deauthorisation webhook attempts;
//! * `GET /__admin/files[?project_member_id=]` and `GET /__admin/messages`;
//! * `GET`/`POST /__admin/settings`: `deny_consent`, `invalid_grant_status` (400 or 401) and
//!   `username_shared`.

mod admin;
mod api;
mod authorize;
mod body;
mod config;
mod download;
mod files;
mod leave;
mod member;
mod message;
mod metadata;
mod pagination;
mod random;
mod responses;
mod s3;
mod signing;
mod state;
#[cfg(test)]
mod tests;
mod token;
mod upload;
mod webhook;

use std::{io, net::SocketAddr, sync::Arc};

use axum::{Router, middleware};
use jiff::Timestamp;
use serde::Serialize;
use url::Url;

pub use config::{OpenHumansSimConfig, SimProject, SimUser};

use crate::{Instruments, SimClock, SimServer};
use state::SimState;

/// A running Open Humans simulator.
#[derive(Debug)]
pub struct OpenHumansSim {
    server: SimServer,
    state: Arc<SimState>,
}

/// A file as the simulator holds it, completed or not.
#[derive(Clone, Debug, PartialEq)]
pub struct SimFile {
    pub id: u64,
    pub basename: String,
    pub key: String,
    pub metadata: serde_json::Value,
    pub completed: bool,
    /// What was PUT to the presigned URL, if anything was.
    pub bytes: Option<Vec<u8>>,
    pub created: Timestamp,
}

/// A project message as Open Humans would have e-mailed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimMessage {
    pub project_member_ids: Vec<String>,
    /// The final subject, with Open Humans' prefix.
    pub subject: String,
    /// The body with `{{ PROJECT_MEMBER_ID }}` filled in.
    pub body: String,
    pub at: Timestamp,
}

impl OpenHumansSim {
    pub async fn start(
        addr: SocketAddr,
        config: OpenHumansSimConfig,
        clock: SimClock,
    ) -> io::Result<Self> {
        config.validate()?;
        let (listener, base_url) = SimServer::bind(addr).await?;
        let state = Arc::new(SimState::new(
            base_url.clone(),
            config,
            Instruments::new(clock),
        )?);
        let server = SimServer::serve(listener, base_url, router(state.clone()));
        Ok(Self { server, state })
    }

    /// The simulator's stand-in for `https://www.openhumans.org/`.
    pub fn base_url(&self) -> &Url {
        self.server.base_url()
    }

    pub fn instruments(&self) -> &Instruments {
        &self.state.instruments
    }

    /// Every file of that member, completed or not, with its bytes if they were PUT.
    pub fn files(&self, project_member_id: &str) -> Vec<SimFile> {
        self.state.files_of(project_member_id)
    }

    /// Waits until the member has a completed file whose basename is `basename`, for at most
    /// `limit`; returns it, or None when the time ran out.
    pub async fn wait_for_completed_file(
        &self,
        project_member_id: &str,
        basename: &str,
        limit: std::time::Duration,
    ) -> Option<SimFile> {
        let mut completions = self.state.completions.subscribe();
        let found = || {
            self.files(project_member_id)
                .into_iter()
                .find(|file| file.completed && file.basename == basename)
        };
        tokio::time::timeout(limit, async {
            loop {
                if let Some(file) = found() {
                    return file;
                }
                if completions.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        })
        .await
        .ok()
    }

    pub fn messages(&self) -> Vec<SimMessage> {
        self.state.lock().messages.clone()
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// The simulated service is journaled and subject to faults; the control endpoints are not.
fn router(state: Arc<SimState>) -> Router {
    let project_api = api::routes()
        .layer(middleware::map_response_with_state(
            state.clone(),
            responses::never_cache,
        ))
        .with_state(state.clone());
    let service = Router::new()
        .merge(authorize::routes())
        .merge(token::routes())
        .merge(download::routes())
        .merge(s3::routes())
        .fallback(responses::not_found)
        .with_state(state.clone())
        .merge(project_api);
    state
        .instruments
        .instrument(service)
        .merge(admin::routes(state.clone()))
}
