//! Everything the simulated Open Humans remembers (§11.1), behind one lock.

use std::{
    collections::{BTreeMap, HashMap},
    io,
    sync::{Mutex, MutexGuard},
};

use jiff::Timestamp;
use serde::Serialize;
use url::Url;

use super::{OpenHumansSimConfig, SimFile, SimMessage, random::SimRng, signing::Signer};
use crate::Instruments;

/// Ids start well above 1 so that code confusing an id with an index fails.
const FIRST_FILE_ID: u64 = 10_001;

#[derive(Debug)]
pub(super) struct SimState {
    pub base_url: Url,
    pub instruments: Instruments,
    pub config: OpenHumansSimConfig,
    pub signer: Signer,
    pub rng: SimRng,
    /// Counts completed uploads, so a test can await the next one instead of polling.
    pub completions: tokio::sync::watch::Sender<u64>,
    inner: Mutex<Inner>,
}

/// Behaviour switches a test can flip through `/__admin/settings`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(super) struct Settings {
    /// The member clicks "Cancel" instead of "Authorize project".
    pub deny_consent: bool,
    /// 400 (oauthlib 3, the default) or 401 (oauthlib 2, as recorded in 2018), §12 q2.
    pub invalid_grant_status: u16,
    /// The project asks members to share their username, so `exchange-member` shows it.
    pub username_shared: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            deny_consent: false,
            invalid_grant_status: 400,
            username_shared: true,
        }
    }
}

#[derive(Debug)]
pub(super) struct Inner {
    /// By project member id.
    pub memberships: BTreeMap<String, Membership>,
    /// By authorization code.
    pub grants: HashMap<String, Grant>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub files: BTreeMap<u64, DataFile>,
    pub next_file_id: u64,
    /// By S3 key.
    pub objects: HashMap<String, S3Object>,
    /// By key (a UUID).
    pub download_keys: HashMap<String, DownloadKey>,
    pub messages: Vec<SimMessage>,
    pub settings: Settings,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            memberships: BTreeMap::new(),
            grants: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            files: BTreeMap::new(),
            next_file_id: FIRST_FILE_ID,
            objects: HashMap::new(),
            download_keys: HashMap::new(),
            messages: Vec::new(),
            settings: Settings::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct Membership {
    pub created: Timestamp,
    pub joined: bool,
    pub authorized: bool,
    pub revoked: bool,
}

impl Membership {
    pub(super) fn is_active(&self) -> bool {
        self.joined && self.authorized && !self.revoked
    }
}

#[derive(Clone, Debug)]
pub(super) struct Grant {
    pub project_member_id: String,
    /// The URI the authorize request named, or the registered default.
    pub redirect_uri: String,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug)]
pub(super) struct AccessToken {
    pub project_member_id: String,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug)]
pub(super) struct RefreshToken {
    pub project_member_id: String,
    pub access_token: String,
    pub revoked: bool,
}

#[derive(Clone, Debug)]
pub(super) struct DataFile {
    pub id: u64,
    pub project_member_id: String,
    pub key: String,
    pub metadata: serde_json::Value,
    pub completed: bool,
    pub created: Timestamp,
}

impl DataFile {
    pub(super) fn basename(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or(&self.key)
    }
}

#[derive(Clone, Debug)]
pub(super) struct S3Object {
    pub bytes: Vec<u8>,
    pub etag: String,
    pub version_id: String,
    pub last_modified: Timestamp,
}

#[derive(Clone, Debug)]
pub(super) struct DownloadKey {
    pub file_id: u64,
    pub created: Timestamp,
}

impl SimState {
    pub(super) fn new(
        base_url: Url,
        config: OpenHumansSimConfig,
        instruments: Instruments,
    ) -> io::Result<Self> {
        let rng = SimRng::new()?;
        let signer = Signer::new(&rng)?;
        Ok(Self {
            base_url,
            instruments,
            config,
            signer,
            rng,
            completions: tokio::sync::watch::Sender::new(0),
            inner: Mutex::new(Inner::default()),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a handler panicked; the state itself is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The simulated clock at Open Humans' resolution: Django stores microseconds.
    pub(super) fn now(&self) -> Timestamp {
        let now = self.instruments.clock.now();
        Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
    }

    /// Forgets everything, as if the service had just started.
    pub(super) fn reset(&self) {
        *self.lock() = Inner::default();
        self.instruments.journal.clear();
        self.instruments.faults.clear();
    }

    /// An absolute URL on the simulator for a path such as `/api/...`.
    pub(super) fn url(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        url.set_path(path);
        url
    }

    pub(super) fn files_of(&self, project_member_id: &str) -> Vec<SimFile> {
        let inner = self.lock();
        inner
            .files
            .values()
            .filter(|file| file.project_member_id == project_member_id)
            .map(|file| SimFile {
                id: file.id,
                basename: file.basename().to_owned(),
                key: file.key.clone(),
                metadata: file.metadata.clone(),
                completed: file.completed,
                bytes: inner.objects.get(&file.key).map(|o| o.bytes.clone()),
                created: file.created,
            })
            .collect()
    }
}

impl Inner {
    /// Mints an access/refresh token pair for the member (§2.3, §2.4).
    pub(super) fn issue_tokens(
        &mut self,
        rng: &SimRng,
        project_member_id: &str,
        now: Timestamp,
    ) -> (String, String) {
        let access = rng.alphanumeric(30);
        let refresh = rng.alphanumeric(30);
        self.access_tokens.insert(
            access.clone(),
            AccessToken {
                project_member_id: project_member_id.to_owned(),
                expires_at: now
                    + jiff::SignedDuration::from_secs(super::token::ACCESS_TOKEN_SECONDS),
            },
        );
        self.refresh_tokens.insert(
            refresh.clone(),
            RefreshToken {
                project_member_id: project_member_id.to_owned(),
                access_token: access.clone(),
                revoked: false,
            },
        );
        (access, refresh)
    }

    /// Whether the member holds an unexpired access token (the auto-approval quirk, §11.2 A1).
    pub(super) fn has_live_token(&self, project_member_id: &str, now: Timestamp) -> bool {
        self.access_tokens
            .values()
            .any(|t| t.project_member_id == project_member_id && t.expires_at >= now)
    }

    /// Deletes every token of the member, as leaving a project does (§2.4).
    pub(super) fn revoke_tokens(&mut self, project_member_id: &str) {
        self.access_tokens
            .retain(|_, t| t.project_member_id != project_member_id);
        self.refresh_tokens
            .retain(|_, t| t.project_member_id != project_member_id);
        self.grants
            .retain(|_, g| g.project_member_id != project_member_id);
    }

    pub(super) fn is_active_member(&self, project_member_id: &str) -> bool {
        self.memberships
            .get(project_member_id)
            .is_some_and(Membership::is_active)
    }

    /// Deletes a file row with its stored object and download keys.
    pub(super) fn delete_file(&mut self, id: u64) {
        if let Some(file) = self.files.remove(&id) {
            self.objects.remove(&file.key);
        }
        self.download_keys.retain(|_, key| key.file_id != id);
    }
}
