//! `project/message/` (§6.3, §11.2 B7): recorded instead of e-mailed.

use std::sync::{Arc, LazyLock};

use axum::{
    extract::{Request, State},
    http::{Method, StatusCode},
    response::Response,
};
use regex::Regex;
use serde_json::json;

use super::{
    SimMessage,
    api::ApiCall,
    responses::{ApiError, json_response},
    state::SimState,
};

/// The one template variable Open Humans documents for message bodies.
static MEMBER_ID_VARIABLE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\{\{[ \t]*PROJECT_MEMBER_ID[ \t]*\}\}").ok());

/// With a member's token the recipients are forced to that member, so `all_members` and
/// `project_member_ids` are ignored.
pub(super) async fn send(
    State(state): State<Arc<SimState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let call = ApiCall::accept(&state, request, Method::POST).await?;
    let Some(message) = call.fields.text("message") else {
        return Err(ApiError::BadRequest(
            json!({"errors": {"message": ["This field is required."]}}),
        ));
    };
    let member_id = call.project_member_id.as_str();
    let mut inner = state.lock();
    if !inner.is_active_member(member_id) {
        return Err(ApiError::BadRequest(json!({"errors": {
            "project_member_ids": [format!("Invalid project member ID(s): {member_id}")]
        }})));
    }
    let subject = match call.fields.text("subject") {
        Some(subject) => subject.to_owned(),
        None => format!("From \"{}\"", state.config.project.name),
    };
    let body = render(message, member_id);
    inner.messages.push(SimMessage {
        project_member_ids: vec![member_id.to_owned()],
        subject: format!("[Open Humans Project Message] {subject}"),
        body,
        at: state.now(),
    });
    Ok(json_response(StatusCode::OK, &"success"))
}

/// Open Humans renders the body as a Django template with the member's id in it.
fn render(template: &str, member_id: &str) -> String {
    match MEMBER_ID_VARIABLE.as_ref() {
        Some(variable) => variable.replace_all(template, member_id).into_owned(),
        None => template.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_member_id_variable_is_filled_in() {
        assert_eq!(
            render(
                "Hi {{ PROJECT_MEMBER_ID }}, {{PROJECT_MEMBER_ID}}!",
                "12345678"
            ),
            "Hi 12345678, 12345678!"
        );
    }
}
