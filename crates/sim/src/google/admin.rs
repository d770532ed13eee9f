//! Google-specific test controls (reference §8.6), next to the shared clock, journal and
//! faults of [`crate::admin`]. They are neither journaled nor subject to faults.
//!
//! * `POST /__admin/reset` `{"seed"?: u64, "knobs"?: {…}}`: a fresh persona and knobs (defaults
//!   overlaid with the given fields); clears codes, tokens, grants, quota, journal and faults.
//!   Registered clients (configured, added with `register_client` or created in the console)
//!   stay.
//! * `GET /__admin/knobs`, `POST /__admin/knobs` `{…}`: read, or change the given fields.
//! * `POST /__admin/tokens/expire` `{"access"?: true, "refresh"?: false}`: expire live tokens now.
//! * `POST /__admin/grants/revoke` `{"client_id"?: "…", "account"?: "…"}`: accounts (all, or
//!   the one named) remove the app (all, or the one named) at myaccount.google.com.
//! * `POST /__admin/authorize`: the consent request's parameters as JSON; answers with the
//!   code instead of a browser redirect.

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::{
    knobs::Knobs,
    oauth::{ConsentRequest, Outcome, consent},
    state::Shared,
};

pub(crate) fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__admin/reset", post(reset))
        .route("/__admin/knobs", get(read_knobs).post(change_knobs))
        .route("/__admin/tokens/expire", post(expire_tokens))
        .route("/__admin/grants/revoke", post(revoke_grants))
        .route("/__admin/authorize", post(authorize))
        .with_state(shared)
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn bad_request(message: impl std::fmt::Display) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        json!({ "error": message.to_string() }),
    )
}

/// Parses a JSON body; an empty body is the type's default.
fn body<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ResetRequest {
    seed: Option<u64>,
    knobs: Option<Value>,
}

async fn reset(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let request: ResetRequest = match body(&bytes) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    let knobs = match &request.knobs {
        Some(changes) => match Knobs::default().merged(changes) {
            Ok(knobs) => knobs,
            Err(error) => return bad_request(error),
        },
        None => Knobs::default(),
    };
    shared.reset(request.seed, knobs);
    read_knobs(State(shared)).await
}

async fn read_knobs(State(shared): State<Arc<Shared>>) -> Response {
    let knobs = shared.lock().knobs.clone();
    answer(StatusCode::OK, json!(knobs))
}

async fn change_knobs(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let changes: Value = match body(&bytes) {
        Ok(changes) => changes,
        Err(error) => return bad_request(error),
    };
    let mut state = shared.lock();
    match state.knobs.merged(&changes) {
        Ok(knobs) => {
            state.knobs = knobs;
            answer(StatusCode::OK, json!(state.knobs))
        }
        Err(error) => bad_request(error),
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ExpireRequest {
    access: bool,
    refresh: bool,
}

impl Default for ExpireRequest {
    fn default() -> Self {
        Self {
            access: true,
            refresh: false,
        }
    }
}

async fn expire_tokens(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let request: ExpireRequest = match body(&bytes) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    let now = shared.now();
    let (access, refresh) = shared
        .lock()
        .oauth
        .expire(request.access, request.refresh, now);
    answer(
        StatusCode::OK,
        json!({ "access_tokens": access, "refresh_tokens": refresh }),
    )
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RevokeRequest {
    client_id: Option<String>,
    account: Option<String>,
}

async fn revoke_grants(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let request: RevokeRequest = match body(&bytes) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    let named =
        |wanted: &Option<String>, actual: &String| wanted.as_ref().is_none_or(|w| w == actual);
    let revoked = shared.lock().oauth.revoke_grants(|grantee| {
        named(&request.client_id, &grantee.client_id) && named(&request.account, &grantee.user)
    });
    answer(StatusCode::OK, json!({ "revoked": revoked }))
}

async fn authorize(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let request: ConsentRequest = match body(&bytes) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    match consent(&shared, &request) {
        Outcome::ErrorPage { heading, detail } => answer(
            StatusCode::BAD_REQUEST,
            json!({ "error": heading, "error_description": detail }),
        ),
        Outcome::Redirect { location, code } => {
            let param = |name: &str| {
                location
                    .query_pairs()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.into_owned())
            };
            let status = if code.is_some() {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            };
            answer(
                status,
                json!({
                    "location": location.as_str(),
                    "code": code,
                    "state": param("state"),
                    "scope": param("scope"),
                    "error": param("error"),
                }),
            )
        }
    }
}
