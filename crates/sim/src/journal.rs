//! The request journal: every request a simulator answered, in order, for tests to assert on
//! (request counts, filters sent, refreshes per expiry, the absence of `Content-Type` on a PUT).

use std::sync::{Arc, Mutex};

use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use jiff::Timestamp;
use serde::Serialize;

use crate::clock::SimClock;

/// Query parameters whose values are credentials; the journal keeps only a short fingerprint.
const SECRET_QUERY_KEYS: &[&str] = &["access_token", "Signature", "key", "x-oh-key"];

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct JournalEntry {
    pub seq: u64,
    pub at: Timestamp,
    pub method: String,
    pub path: String,
    /// The query string with credential values replaced by a fingerprint.
    pub query: String,
    /// Request headers that matter to fidelity checks (`content-type`, `content-length`, …),
    /// lower-cased; `authorization` is reduced to a fingerprint of the token.
    pub headers: Vec<(String, String)>,
    pub status: u16,
    /// The account the request acted for, when the simulator could tell: the Google user of
    /// the token or code, the Open Humans project member id.
    pub principal: Option<String>,
}

/// Marks a response with the account its request acted for; [`record`] copies it into the
/// journal entry.
#[derive(Clone, Debug)]
pub struct Principal(pub String);

/// Attributes `response` to `principal` (see [`Principal`]).
pub fn attribute(mut response: Response, principal: &str) -> Response {
    response
        .extensions_mut()
        .insert(Principal(principal.to_owned()));
    response
}

#[derive(Clone, Debug, Default)]
pub struct Journal {
    entries: Arc<Mutex<Vec<JournalEntry>>>,
}

impl Journal {
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().clone()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Entries of requests made for `principal`.
    pub fn of(&self, principal: &str) -> Vec<JournalEntry> {
        self.lock()
            .iter()
            .filter(|e| e.principal.as_deref() == Some(principal))
            .cloned()
            .collect()
    }

    /// Entries whose method matches and whose path starts with `path_prefix`.
    pub fn matching(&self, method: &str, path_prefix: &str) -> Vec<JournalEntry> {
        self.lock()
            .iter()
            .filter(|e| e.method == method && e.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }

    fn record(&self, mut entry: JournalEntry) {
        let mut entries = self.lock();
        entry.seq = entries.len() as u64 + 1;
        entries.push(entry);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<JournalEntry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A short, stable fingerprint of a credential, so journal entries can be correlated without
/// holding the credential itself.
pub fn fingerprint(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(secret.as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..12])
}

fn redact_query(query: &str) -> String {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            let value = if SECRET_QUERY_KEYS.contains(&k.as_ref()) {
                fingerprint(&v)
            } else {
                v.into_owned()
            };
            format!("{k}={value}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-md5",
    "transfer-encoding",
    "authorization",
    "accept",
];

/// Middleware that records each request with the status it was answered with.
pub async fn record(
    State((journal, clock)): State<(Journal, SimClock)>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = redact_query(request.uri().query().unwrap_or(""));
    let headers = request
        .headers()
        .iter()
        .filter(|(name, _)| {
            KEPT_HEADERS.contains(&name.as_str()) || name.as_str().starts_with("x-amz-")
        })
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or("<non-ascii>");
            let value = if name == "authorization" {
                match value.split_once(' ') {
                    Some((scheme, token)) => format!("{scheme} {}", fingerprint(token)),
                    None => fingerprint(value),
                }
            } else {
                value.to_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect();
    let at = clock.now();
    let response = next.run(request).await;
    journal.record(JournalEntry {
        seq: 0,
        at,
        method,
        path,
        query,
        headers,
        status: response.status().as_u16(),
        principal: response
            .extensions()
            .get::<Principal>()
            .map(|principal| principal.0.clone()),
    });
    response
}
