//! The Open Humans simulator's own control endpoints (§11.4), next to the shared clock,
//! journal and fault endpoints. Not journaled and never faulted.

use std::{collections::HashMap, sync::Arc};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use jiff::Timestamp;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    authorize::{self, AuthorizeParams, Decision},
    leave,
    state::{Settings, SimState},
};

pub(super) fn routes(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/__admin/reset", post(reset))
        .route("/__admin/authorize", post(authorize))
        .route("/__admin/members/{project_member_id}/leave", post(leave))
        .route("/__admin/files", get(files))
        .route("/__admin/messages", get(messages))
        .route(
            "/__admin/settings",
            get(read_settings).post(change_settings),
        )
        .with_state(state)
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

/// A JSON body that may also be left out entirely.
fn optional_json<T: Default + for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

/// Clears members, grants, tokens, files, objects, messages and settings, and the journal
/// and faults too.
async fn reset(State(state): State<Arc<SimState>>) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}

/// Authorises without a browser. Takes the authorize page's parameters (`sim_user`,
/// `redirect_uri`, `state`, …) as JSON, `client_id` defaulting to the project's, and returns
/// where the member's browser would have been sent.
async fn authorize(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let mut params: AuthorizeParams = match optional_json(&body) {
        Ok(params) => params,
        Err(message) => return bad_request(message),
    };
    params
        .client_id
        .get_or_insert_with(|| state.config.project.client_id.clone());
    params
        .response_type
        .get_or_insert_with(|| "code".to_owned());
    match authorize::decide(&state, &params) {
        Decision::Redirect(location) => {
            let code = location
                .query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned());
            Json(json!({ "location": location, "code": code })).into_response()
        }
        Decision::ErrorPage(status, message) => {
            (status, Json(json!({ "error": message }))).into_response()
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaveRequest {
    #[serde(default)]
    erasure_requested: bool,
}

/// The member leaves the project on Open Humans; the answer reports the webhook attempts.
async fn leave(
    State(state): State<Arc<SimState>>,
    Path(project_member_id): Path<String>,
    body: Bytes,
) -> Response {
    let request: LeaveRequest = match optional_json(&body) {
        Ok(request) => request,
        Err(message) => return bad_request(message),
    };
    match leave::leave(&state, &project_member_id, request.erasure_requested).await {
        Some(left) => Json(left).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no member {project_member_id:?} has joined the project") })),
        )
            .into_response(),
    }
}

/// A file for inspection: its bytes are summarised, not included.
#[derive(Serialize)]
struct FileView {
    id: u64,
    project_member_id: String,
    basename: String,
    key: String,
    metadata: serde_json::Value,
    completed: bool,
    created: Timestamp,
    size: Option<usize>,
    md5: Option<String>,
}

/// Every file, completed or not; `?project_member_id=` narrows it to one member.
async fn files(
    State(state): State<Arc<SimState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Vec<FileView>> {
    let wanted = query.get("project_member_id");
    let inner = state.lock();
    let views = inner
        .files
        .values()
        .filter(|file| wanted.is_none_or(|id| &file.project_member_id == id))
        .map(|file| {
            let object = inner.objects.get(&file.key);
            FileView {
                id: file.id,
                project_member_id: file.project_member_id.clone(),
                basename: file.basename().to_owned(),
                key: file.key.clone(),
                metadata: file.metadata.clone(),
                completed: file.completed,
                created: file.created,
                size: object.map(|o| o.bytes.len()),
                md5: object.map(|o| hex::encode(Md5::digest(&o.bytes))),
            }
        })
        .collect();
    Json(views)
}

async fn messages(State(state): State<Arc<SimState>>) -> Response {
    Json(state.lock().messages.clone()).into_response()
}

async fn read_settings(State(state): State<Arc<SimState>>) -> Json<Settings> {
    Json(state.lock().settings.clone())
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsChange {
    deny_consent: Option<bool>,
    invalid_grant_status: Option<u16>,
    username_shared: Option<bool>,
}

/// Changes only the settings named in the body and answers with all of them.
async fn change_settings(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let change: SettingsChange = match optional_json(&body) {
        Ok(change) => change,
        Err(message) => return bad_request(message),
    };
    if let Some(status) = change
        .invalid_grant_status
        .filter(|s| !matches!(s, 400 | 401))
    {
        return bad_request(format!(
            "invalid_grant_status must be 400 or 401, got {status}"
        ));
    }
    let mut inner = state.lock();
    let settings = &mut inner.settings;
    if let Some(deny) = change.deny_consent {
        settings.deny_consent = deny;
    }
    if let Some(status) = change.invalid_grant_status {
        settings.invalid_grant_status = status;
    }
    if let Some(shared) = change.username_shared {
        settings.username_shared = shared;
    }
    Json(settings.clone()).into_response()
}
