//! The simulated Google Health API v4: routing and the request pipeline of reference §8.3.

mod catalogue;
mod filter;
mod list;
pub(crate) mod paging;
mod params;
mod payload;
mod pipeline;
mod rollup;
mod users;

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{Method, Uri},
    response::{IntoResponse, Response},
};

use self::pipeline::Context;
use super::{
    responses::{GoogleError, not_found_html},
    state::Shared,
};

/// Larger request bodies are refused before parsing.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The Health API methods this simulator routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    GetIdentity,
    GetProfile,
    GetSettings,
    ListDataPoints,
    DailyRollUpDataPoints,
}

impl Operation {
    /// The gRPC method name Google puts in `ErrorInfo.metadata.method`.
    pub(crate) fn grpc_method(self) -> &'static str {
        match self {
            Operation::GetIdentity => {
                "google.devicesandservices.health.v4.HealthProfileService.GetIdentity"
            }
            Operation::GetProfile => {
                "google.devicesandservices.health.v4.HealthProfileService.GetProfile"
            }
            Operation::GetSettings => {
                "google.devicesandservices.health.v4.HealthProfileService.GetSettings"
            }
            Operation::ListDataPoints => {
                "google.devicesandservices.health.v4.DataPointsService.ListDataPoints"
            }
            Operation::DailyRollUpDataPoints => {
                "google.devicesandservices.health.v4.DataPointsService.DailyRollUpDataPoints"
            }
        }
    }
}

/// A routed request: the operation and the path parameters.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    pub operation: Operation,
    /// `{user}`: `me` or a Health user id.
    pub user: String,
    /// `{dataType}` for data point methods.
    pub data_type: Option<String>,
}

impl Route {
    /// Matches the route table (reference §2.2); `None` is Google's HTML 404.
    fn parse(method: &Method, path: &str) -> Option<Self> {
        let segments: Vec<&str> = path.strip_prefix("/v4/")?.split('/').collect();
        let route = |operation, user: &str, data_type: Option<&str>| {
            Some(Route {
                operation,
                user: user.to_owned(),
                data_type: data_type.map(str::to_owned),
            })
        };
        match (method, segments.as_slice()) {
            (&Method::GET, ["users", user, "identity"]) if !user.is_empty() => {
                route(Operation::GetIdentity, user, None)
            }
            (&Method::GET, ["users", user, "profile"]) if !user.is_empty() => {
                route(Operation::GetProfile, user, None)
            }
            (&Method::GET, ["users", user, "settings"]) if !user.is_empty() => {
                route(Operation::GetSettings, user, None)
            }
            (&Method::GET, ["users", user, "dataTypes", data_type, "dataPoints"])
                if !user.is_empty() && !data_type.is_empty() =>
            {
                route(Operation::ListDataPoints, user, Some(data_type))
            }
            (
                &Method::POST,
                [
                    "users",
                    user,
                    "dataTypes",
                    data_type,
                    "dataPoints:dailyRollUp",
                ],
            ) if !user.is_empty() && !data_type.is_empty() => {
                route(Operation::DailyRollUpDataPoints, user, Some(data_type))
            }
            _ => None,
        }
    }
}

/// Google's front-end 404 for anything that is not a route (also wrong verbs on OAuth paths).
pub(crate) async fn not_found(uri: Uri) -> Response {
    not_found_html(uri.path())
}

/// Every request no other route took: a Health API call, or Google's HTML 404.
pub(crate) async fn dispatch(
    State(shared): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let Some(route) = Route::parse(&parts.method, parts.uri.path()) else {
        return not_found_html(parts.uri.path());
    };
    let query = params::Query::parse(parts.uri.query());
    let context = match pipeline::admit(&shared, &route, &parts.headers, &query) {
        Ok(context) => context,
        Err(error) => return error.into_response(),
    };
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return GoogleError::bad_payload(
                None,
                &format!("Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes."),
            )
            .into_response();
        }
    };
    handle(&context, &route, &query, &body).unwrap_or_else(IntoResponse::into_response)
}

/// Step 7 (validation) and the handler, after authentication, account state, quota and scope.
fn handle(
    context: &Context,
    route: &Route,
    query: &params::Query,
    body: &[u8],
) -> Result<Response, GoogleError> {
    if route.user != "me" && route.user != context.persona.health_user_id() {
        return Err(GoogleError::not_found());
    }
    match route.operation {
        Operation::GetIdentity => query.check_names(&[]).map(|()| users::identity(context)),
        Operation::GetProfile => query.check_names(&[]).map(|()| users::profile(context)),
        Operation::GetSettings => query.check_names(&[]).map(|()| users::settings(context)),
        Operation::ListDataPoints => {
            let data_type = params::data_type(route)?;
            list::list(context, data_type, query)
        }
        Operation::DailyRollUpDataPoints => {
            let data_type = params::data_type(route)?;
            query.check_names(&[])?;
            rollup::daily_roll_up(context, data_type, body)
        }
    }
}

/// Handler-level test helpers: a context for a frozen clock, and response bodies as JSON.
#[cfg(test)]
pub(crate) mod test_support {
    use axum::response::Response;
    use serde_json::Value;

    use super::{paging::PageTokens, pipeline::Context};
    use crate::{
        clock::SimClock,
        google::{knobs::Knobs, persona::Persona},
    };

    pub(crate) const NOW: &str = "2026-11-21T12:00:00Z";

    pub(crate) fn context(knobs: serde_json::Value) -> Context {
        let clock = SimClock::starting_at(NOW.parse().unwrap());
        clock.freeze(true);
        Context {
            persona: Persona::new(42, clock),
            knobs: Knobs::default().merged(&knobs).unwrap(),
            page_tokens: PageTokens::new(42),
            scopes: Vec::new(),
        }
    }

    pub(crate) async fn body(response: Response) -> (u16, Value) {
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// The `(reason, message)` of a Google error body.
    pub(crate) fn error_of(body: &Value) -> (Option<&str>, &str) {
        let error = &body["error"];
        let reason = error["details"]
            .as_array()
            .and_then(|details| details.iter().find_map(|detail| detail["reason"].as_str()));
        (reason, error["message"].as_str().unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_table() {
        let route = |method: Method, path: &str| {
            Route::parse(&method, path).map(|r| (r.operation, r.user, r.data_type))
        };
        assert_eq!(
            route(Method::GET, "/v4/users/me/identity"),
            Some((Operation::GetIdentity, "me".into(), None))
        );
        assert_eq!(
            route(
                Method::POST,
                "/v4/users/me/dataTypes/heart-rate/dataPoints:dailyRollUp"
            ),
            Some((
                Operation::DailyRollUpDataPoints,
                "me".into(),
                Some("heart-rate".into())
            ))
        );
        assert_eq!(
            route(Method::GET, "/v4/users/123/dataTypes/x/dataPoints").map(|r| r.0),
            Some(Operation::ListDataPoints)
        );
        assert!(route(Method::POST, "/v4/users/me/identity").is_none());
        assert!(
            route(
                Method::GET,
                "/v4/users/me/dataTypes/steps/dataPoints:dailyRollUp"
            )
            .is_none()
        );
        assert!(route(Method::GET, "/v4/users/me/devices").is_none());
        assert!(route(Method::GET, "/v4/users/me/identity/").is_none());
        assert!(route(Method::GET, "/v4/users//identity").is_none());
        assert!(route(Method::GET, "/v3/users/me/identity").is_none());
    }
}
