//! Open Humans' authorize page (§2.2, §11.2 A1), with auto-consent: the configured member
//! (or `sim_user=<username>`) "clicks Authorize project" at once, unless the
//! `deny_consent` setting makes them click Cancel.

use std::sync::Arc;

use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use jiff::SignedDuration;
use serde::Deserialize;
use url::Url;

use super::{
    responses::html_page,
    state::{Grant, Inner, Membership, SimState},
};

const CODE_SECONDS: i64 = 1800;

pub(super) fn routes() -> Router<Arc<SimState>> {
    Router::new().route("/direct-sharing/projects/oauth2/authorize/", get(authorize))
}

/// The authorize request's parameters; the admin endpoint takes the same ones as JSON.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AuthorizeParams {
    pub client_id: Option<String>,
    pub response_type: Option<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub approval_prompt: Option<String>,
    pub origin: Option<String>,
    /// Who is logged in; the first configured user when absent.
    pub sim_user: Option<String>,
}

/// What the authorize page does: redirect back to the project, or show an error page
/// because there is nowhere safe to redirect to.
#[derive(Debug)]
pub(super) enum Decision {
    Redirect(Url),
    ErrorPage(StatusCode, String),
}

async fn authorize(
    State(state): State<Arc<SimState>>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    match decide(&state, &params) {
        Decision::Redirect(location) => match HeaderValue::from_str(location.as_str()) {
            Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
            Err(_) => html_page(StatusCode::BAD_REQUEST, "The redirect URI is not valid."),
        },
        Decision::ErrorPage(status, message) => html_page(status, &message),
    }
}

pub(super) fn decide(state: &SimState, params: &AuthorizeParams) -> Decision {
    let project = &state.config.project;
    let Some(client_id) = params.client_id.as_deref() else {
        return Decision::ErrorPage(
            StatusCode::BAD_REQUEST,
            "invalid_request: Missing client_id parameter.".into(),
        );
    };
    if client_id != project.client_id {
        return Decision::ErrorPage(StatusCode::NOT_FOUND, "Not Found".into());
    }
    let redirect_uri = match &params.redirect_uri {
        None => project.redirect_uris.first().cloned().unwrap_or_default(),
        Some(uri)
            if project
                .redirect_uris
                .iter()
                .any(|r| redirect_allowed(uri, r)) =>
        {
            uri.clone()
        }
        Some(uri) => {
            return Decision::ErrorPage(
                StatusCode::BAD_REQUEST,
                format!("invalid_request: Mismatching redirect URI {uri:?}."),
            );
        }
    };
    let Ok(mut location) = Url::parse(&redirect_uri) else {
        return Decision::ErrorPage(
            StatusCode::BAD_REQUEST,
            "invalid_request: Invalid redirect URI.".into(),
        );
    };
    let user = match &params.sim_user {
        None => state.config.users.first(),
        Some(name) => state.config.users.iter().find(|u| &u.username == name),
    };
    let Some(user) = user else {
        return Decision::ErrorPage(
            StatusCode::BAD_REQUEST,
            "No such simulated Open Humans user is configured.".into(),
        );
    };
    let error = match params.response_type.as_deref() {
        None => Some("invalid_request"),
        Some("code") => None,
        Some(_) => Some("unsupported_response_type"),
    };
    let mut inner = state.lock();
    let error = error.or(inner.settings.deny_consent.then_some("access_denied"));
    let mut query = location.query_pairs_mut();
    if let Some(error) = error {
        query.append_pair("error", error);
    } else {
        let force = params.approval_prompt.as_deref() == Some("force");
        let code = consent(
            state,
            &mut inner,
            &user.project_member_id,
            redirect_uri,
            force,
        );
        query.append_pair("code", &code);
    }
    if let Some(oauth_state) = &params.state {
        query.append_pair("state", oauth_state);
    }
    if error.is_none() {
        let origin = match params.origin.as_deref() {
            Some("open-humans") => "open-humans",
            _ => "external",
        };
        query.append_pair("origin", origin);
    }
    drop(query);
    Decision::Redirect(location)
}

/// The member clicked "Authorize project": their membership is (re)activated and a code
/// issued. Returns the code.
fn consent(
    state: &SimState,
    inner: &mut Inner,
    member_id: &str,
    redirect_uri: String,
    force_prompt: bool,
) -> String {
    let now = state.now();
    // Without `approval_prompt=force`, a member with a live token never sees the page, and
    // the membership is left as it is (faithful quirk).
    if force_prompt || !inner.has_live_token(member_id, now) {
        // Created on the first visit, authorised on every consent; `created` and the
        // project member id never change.
        let membership = inner
            .memberships
            .entry(member_id.to_owned())
            .or_insert(Membership {
                created: now,
                joined: false,
                authorized: false,
                revoked: false,
            });
        membership.joined = true;
        membership.authorized = true;
        membership.revoked = false;
    }
    let code = state.rng.alphanumeric(30);
    inner.grants.insert(
        code.clone(),
        Grant {
            project_member_id: member_id.to_owned(),
            redirect_uri,
            expires_at: now + SignedDuration::from_secs(CODE_SECONDS),
        },
    );
    code
}

/// django-oauth-toolkit's `redirect_to_uri_allowed`: same scheme, host, port and path, the
/// registered query a subset of the requested one, and any port for a loopback IP
/// registered without one (RFC 8252).
fn redirect_allowed(requested: &str, registered: &str) -> bool {
    let (Ok(requested), Ok(registered)) = (Url::parse(requested), Url::parse(registered)) else {
        return false;
    };
    let loopback_any_port = registered.scheme() == "http"
        && matches!(registered.host_str(), Some("127.0.0.1" | "[::1]"))
        && registered.port().is_none();
    let query_subset = registered
        .query_pairs()
        .all(|pair| requested.query_pairs().any(|p| p == pair));
    registered.scheme() == requested.scheme()
        && registered.host_str() == requested.host_str()
        && (loopback_any_port || registered.port() == requested.port())
        && registered.path() == requested.path()
        && query_subset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_like_django_oauth_toolkit() {
        let registered = "https://fitbit.example.org/openhumans/complete/";
        assert!(redirect_allowed(registered, registered));
        assert!(!redirect_allowed(
            "https://fitbit.example.org/openhumans/complete",
            registered
        ));
        assert!(!redirect_allowed(
            "http://fitbit.example.org/openhumans/complete/",
            registered
        ));
        assert!(!redirect_allowed(
            "https://fitbit.example.org:8443/openhumans/complete/",
            registered
        ));
        assert!(!redirect_allowed(
            "https://evil.example.org/openhumans/complete/",
            registered
        ));
    }

    #[test]
    fn registered_query_parameters_must_be_kept() {
        let registered = "https://a.example/cb/?tenant=1";
        assert!(redirect_allowed(
            "https://a.example/cb/?tenant=1&x=2",
            registered
        ));
        assert!(!redirect_allowed("https://a.example/cb/?x=2", registered));
    }

    #[test]
    fn a_loopback_ip_registered_without_port_matches_any_port() {
        assert!(redirect_allowed(
            "http://127.0.0.1:41234/cb/",
            "http://127.0.0.1/cb/"
        ));
        assert!(!redirect_allowed(
            "http://127.0.0.1:41234/cb/",
            "http://127.0.0.1:8000/cb/"
        ));
        assert!(!redirect_allowed(
            "http://localhost:41234/cb/",
            "http://localhost/cb/"
        ));
    }
}
