//! What a project can read about its member and itself: `exchange-member` (§4.1) and
//! `project/` (§4.3).

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{Method, StatusCode},
    response::Response,
};
use serde::Serialize;
use serde_json::{Value, json};
use url::Url;

use super::{
    api::ApiCall,
    pagination::Window,
    responses::{ApiError, json_response, oh_datetime},
    state::{DownloadKey, SimState},
};

/// The body, with its keys in Open Humans' order.
#[derive(Serialize)]
struct ExchangeMember {
    count: usize,
    next: Option<Url>,
    previous: Option<Url>,
    created: String,
    project_member_id: String,
    sources_shared: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    data: Vec<FileItem>,
}

#[derive(Serialize)]
struct FileItem {
    id: u64,
    basename: String,
    created: String,
    datatypes: Vec<String>,
    download_url: Url,
    metadata: Value,
    source: String,
    source_project: Url,
}

pub(super) async fn exchange_member(
    State(state): State<Arc<SimState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let call = ApiCall::accept(&state, request, Method::GET).await?;
    let window = Window::from_query(call.query.as_deref());
    let now = state.now();
    let id_label = state.config.id_label();
    let source_project = state.url(&format!("/api/public/project/{}/", state.config.project.id));
    let mut inner = state.lock();
    let membership = inner
        .memberships
        .get(&call.project_member_id)
        .cloned()
        .ok_or_else(ApiError::invalid_member)?;
    let username = inner
        .settings
        .username_shared
        .then(|| state.config.user_by_member_id(&call.project_member_id))
        .flatten()
        .map(|user| user.username.clone());
    // Only this project exists, so every file of the member has the project's own source
    // and the order by (source, id) is the order by id.
    let files: Vec<_> = inner
        .files
        .values()
        .filter(|f| f.completed && f.project_member_id == call.project_member_id)
        .cloned()
        .collect();
    let mut data = Vec::new();
    for file in &files[window.range(files.len())] {
        // Every listing mints a fresh one-hour key per file (§6.2).
        let key = state.rng.uuid4();
        inner.download_keys.insert(
            key.clone(),
            DownloadKey {
                file_id: file.id,
                created: now,
            },
        );
        let mut download_url =
            state.url(&format!("/data-management/datafile-download/{}/", file.id));
        download_url.query_pairs_mut().append_pair("key", &key);
        data.push(FileItem {
            id: file.id,
            basename: file.basename().to_owned(),
            created: oh_datetime(file.created),
            datatypes: Vec::new(),
            download_url,
            metadata: file.metadata.clone(),
            source: id_label.clone(),
            source_project: source_project.clone(),
        });
    }
    drop(inner);
    let mut request_url = state.url("/api/direct-sharing/project/exchange-member/");
    request_url.set_query(call.query.as_deref());
    let (next, previous) = window.links(&request_url, files.len());
    let body = ExchangeMember {
        count: files.len(),
        next,
        previous,
        created: oh_datetime(membership.created),
        project_member_id: call.project_member_id,
        sources_shared: Vec::new(),
        username,
        data,
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// The project's public description; URLs in it are relative, as Open Humans gives them.
pub(super) async fn project(
    State(state): State<Arc<SimState>>,
    request: Request,
) -> Result<Response, ApiError> {
    ApiCall::accept(&state, request, Method::GET).await?;
    let project = &state.config.project;
    let inner = state.lock();
    let authorized_members = inner.memberships.values().filter(|m| m.is_active()).count();
    let body = json!({
        "active": true,
        "approved": false,
        "authorized_members": authorized_members,
        "badge_image": null,
        "contact_email": "sim@example.org",
        "id": project.id,
        "id_label": state.config.id_label(),
        "info_url": "",
        "is_academic_or_nonprofit": true,
        "is_study": false,
        "leader": "Simulated Project Leader",
        "long_description": format!("{} on the Open Humans simulator.", project.name),
        "name": project.name,
        "organization": "",
        "registered_datatypes": [],
        "requested_sources": [],
        "request_sources_access": [],
        "request_username_access": inner.settings.username_shared,
        "returned_data_description": "Fitbit data, read through the Google Health API",
        "short_description": project.name,
        "slug": slugify(&project.name),
        "type": "oauth2",
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// Django's `slugify` for ASCII names.
fn slugify(name: &str) -> String {
    let lowered: String = name
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || *c == '-')
        .collect();
    lowered.split_whitespace().collect::<Vec<_>>().join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_django_like() {
        assert_eq!(
            slugify("Fitbit Connection (simulated)"),
            "fitbit-connection-simulated"
        );
    }
}
