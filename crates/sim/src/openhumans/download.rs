//! `datafile-download/<id>/` (§6.2, §11.2 B6): a one-hour key in the URL is the capability,
//! and the answer is a redirect to a short-lived presigned S3 GET.

use std::{collections::HashMap, sync::Arc};

use axum::{
    Router,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use jiff::SignedDuration;

use super::{responses::html_page, state::SimState};

const KEY_SECONDS: i64 = 3600;
/// django-storages' `querystring_expires`.
const GET_URL_SECONDS: i64 = 600;

pub(super) fn routes() -> Router<Arc<SimState>> {
    Router::new().route("/data-management/datafile-download/{id}/", get(download))
}

async fn download(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    // Django's URL pattern only matches digits.
    let Ok(id) = id.parse::<u64>() else {
        return html_page(StatusCode::NOT_FOUND, "Not Found");
    };
    let now = state.now();
    let inner = state.lock();
    let Some(file) = inner.files.get(&id).filter(|file| file.completed) else {
        return html_page(StatusCode::FORBIDDEN, "This file is unavailable.");
    };
    let key = query.get("key").map(String::as_str).unwrap_or("");
    let authorized = inner.download_keys.get(key).is_some_and(|k| {
        k.file_id == id && now < k.created + SignedDuration::from_secs(KEY_SECONDS)
    });
    if !authorized {
        return html_page(
            StatusCode::FORBIDDEN,
            "You are not authorized to view this file.",
        );
    }
    let expires = (now + SignedDuration::from_secs(GET_URL_SECONDS)).as_second();
    let mut url = state
        .signer
        .presign(&state.base_url, "GET", &file.key, expires);
    url.query_pairs_mut().append_pair("x-oh-key", key);
    match HeaderValue::from_str(url.as_str()) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => html_page(StatusCode::INTERNAL_SERVER_ERROR, "Server Error (500)"),
    }
}
