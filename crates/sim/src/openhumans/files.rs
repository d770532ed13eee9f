//! `files/delete/` (§6.1, §11.2 B5).

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{Method, StatusCode},
    response::Response,
};
use serde_json::json;

use super::{
    api::ApiCall,
    responses::{ApiError, json_response},
    state::SimState,
};

const ONE_SELECTOR: &str = "one of file_id, file_basename, or all_files is required";

pub(super) async fn delete(
    State(state): State<Arc<SimState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let call = ApiCall::accept(&state, request, Method::POST).await?;
    let fields = &call.fields;
    let file_id = fields
        .integer("file_id")
        .map_err(|message| ApiError::field("file_id", message))?;
    let basename = fields.text("file_basename");
    let all_files = fields.flag("all_files");
    let mut inner = state.lock();
    if !inner.is_active_member(&call.project_member_id) {
        return Err(ApiError::invalid_member());
    }
    let selectors =
        usize::from(file_id.is_some()) + usize::from(basename.is_some()) + usize::from(all_files);
    match selectors {
        0 => return Err(ApiError::BadRequest(json!({"missing_field": ONE_SELECTOR}))),
        1 => {}
        _ => return Err(ApiError::BadRequest(json!({"too_many": ONE_SELECTOR}))),
    }
    // Only completed files this project uploaded for this member are candidates; no match
    // is not an error.
    let ids: Vec<u64> = inner
        .files
        .values()
        .filter(|file| file.completed && file.project_member_id == call.project_member_id)
        .filter(|file| {
            all_files
                || file_id.is_some_and(|id| i64::try_from(file.id) == Ok(id))
                || basename.is_some_and(|name| file.basename() == name)
        })
        .map(|file| file.id)
        .collect();
    for &id in &ids {
        inner.delete_file(id);
    }
    Ok(json_response(StatusCode::OK, &json!({ "ids": ids })))
}
