//! A member leaving the project (§2.4, §6.4, §11.3): membership revoked, every token of
//! theirs deleted, the deauthorisation webhook sent. Their files stay.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{Method, StatusCode},
    response::Response,
};
use serde::Serialize;

use super::{
    api::ApiCall,
    responses::{ApiError, json_response, python_isoformat},
    state::SimState,
    webhook::{self, Attempt},
};

#[derive(Debug, Serialize)]
pub(super) struct Left {
    pub project_member_id: String,
    pub erasure_requested: bool,
    /// Empty when the project has no webhook.
    pub webhook: Vec<Attempt>,
}

/// `None` when no such member ever joined.
pub(super) async fn leave(
    state: &SimState,
    project_member_id: &str,
    erasure_requested: bool,
) -> Option<Left> {
    let now = state.now();
    {
        let mut inner = state.lock();
        let membership = inner.memberships.get_mut(project_member_id)?;
        membership.joined = false;
        membership.authorized = false;
        membership.revoked = true;
        inner.revoke_tokens(project_member_id);
    }
    let project = &state.config.project;
    let webhook = match &project.deauth_webhook {
        // Open Humans stamps the erasure request's time; a plain leave may crash there
        // (§12 q4), so the simulator stamps the time of leaving instead.
        Some(url) => {
            let payload =
                webhook::payload(project_member_id, erasure_requested, &python_isoformat(now));
            webhook::deliver(url, project.webhook_secret.as_deref(), &payload).await
        }
        None => Vec::new(),
    };
    Some(Left {
        project_member_id: project_member_id.to_owned(),
        erasure_requested,
        webhook,
    })
}

/// With a member's token, `remove-members/` removes that member.
pub(super) async fn remove_members(
    State(state): State<Arc<SimState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let call = ApiCall::accept(&state, request, Method::POST).await?;
    leave(&state, &call.project_member_id, false)
        .await
        .ok_or_else(ApiError::invalid_member)?;
    Ok(json_response(StatusCode::OK, &"success"))
}
