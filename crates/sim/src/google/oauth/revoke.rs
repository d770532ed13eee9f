//! `POST /revoke`: revoking an access or refresh token revokes the whole grant (reference
//! §1.5). The token may come in the form body or the query string.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::{field, form_fields, oauth_error};
use crate::{google::state::Shared, journal::attribute};

pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let from_body = form_fields(&body);
    let from_query = form_fields(query.as_deref().unwrap_or("").as_bytes());
    let Some(token) = field(&from_body, "token").or_else(|| field(&from_query, "token")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: token",
        );
    };
    let now = shared.now();
    let mut state = shared.lock();
    match state.oauth.grantee_of(token, now) {
        Some(grantee) => {
            state.oauth.revoke_grants(|revoked| *revoked == grantee);
            attribute(StatusCode::OK.into_response(), &grantee.user)
        }
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        ),
    }
}
