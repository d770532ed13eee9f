//! Steps 1 and 3 of the direct upload (§5.1, §11.2 B2, B4); step 2 is the S3 PUT in
//! [`super::s3`].

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    extract::{Request, State},
    http::{Method, StatusCode},
    response::Response,
};
use jiff::SignedDuration;
use serde_json::json;

use super::{
    api::ApiCall,
    metadata::{validate_datatypes, validate_metadata},
    responses::{ApiError, json_response},
    state::{DataFile, SimState},
};

/// `INCOMPLETE_FILE_EXPIRATION_HOURS`: how long the presigned PUT stays valid.
const PUT_URL_SECONDS: i64 = 6 * 3600;

pub(super) async fn direct(
    State(state): State<Arc<SimState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let call = ApiCall::accept(&state, request, Method::POST).await?;
    let fields = &call.fields;
    let mut errors = BTreeMap::new();
    let metadata = match validate_metadata(fields.get("metadata")) {
        Ok(metadata) => Some(metadata),
        Err(message) => {
            errors.insert("metadata", vec![message.to_owned()]);
            None
        }
    };
    if let Err(message) = validate_datatypes(fields.get("datatypes")) {
        errors.insert("datatypes", vec![message]);
    }
    let filename = fields.text("filename");
    if filename.is_none() {
        errors.insert("filename", vec!["This field is required.".to_owned()]);
    }
    let (Some(metadata), Some(filename), true) = (metadata, filename, errors.is_empty()) else {
        return Err(ApiError::BadRequest(json!(errors)));
    };
    let now = state.now();
    let key = format!(
        "member-files/{}/{}/{filename}",
        state.config.id_label(),
        state.rng.uuid1(now)
    );
    let mut inner = state.lock();
    if !inner.is_active_member(&call.project_member_id) {
        return Err(ApiError::invalid_member());
    }
    let id = inner.next_file_id;
    inner.next_file_id += 1;
    inner.files.insert(
        id,
        DataFile {
            id,
            project_member_id: call.project_member_id,
            key: key.clone(),
            metadata,
            completed: false,
            created: now,
        },
    );
    drop(inner);
    let expires = (now + SignedDuration::from_secs(PUT_URL_SECONDS)).as_second();
    let url = state.signer.presign(&state.base_url, "PUT", &key, expires);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"id": id, "url": url}),
    ))
}

/// Unlike Open Humans, an unknown file id or another member's file is refused with
/// `file does not exist` instead of a 500 or a silent success (§12 q9), so that a client
/// bug surfaces here.
pub(super) async fn complete(
    State(state): State<Arc<SimState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let call = ApiCall::accept(&state, request, Method::POST).await?;
    let file_id = call
        .fields
        .integer("file_id")
        .map_err(|message| ApiError::field("file_id", message))?;
    let mut guard = state.lock();
    let inner = &mut *guard;
    if !inner.is_active_member(&call.project_member_id) {
        return Err(ApiError::invalid_member());
    }
    let file_does_not_exist = || ApiError::detail("file does not exist");
    let file = file_id
        .and_then(|id| u64::try_from(id).ok())
        .and_then(|id| inner.files.get_mut(&id))
        .filter(|file| file.project_member_id == call.project_member_id)
        .ok_or_else(file_does_not_exist)?;
    // Open Humans marks the file complete, then reverts when storage has no object.
    let size = inner.objects.get(&file.key).map(|o| o.bytes.len());
    file.completed = size.is_some();
    drop(guard);
    match size {
        Some(size) => {
            state.completions.send_modify(|count| *count += 1);
            Ok(json_response(
                StatusCode::OK,
                &json!({"status": "ok", "size": size}),
            ))
        }
        None => Err(ApiError::detail("file not present")),
    }
}
