//! The simulated Google Health API v4: routing and the request pipeline of reference §8.3.

mod catalogue;
mod daily_rollup;
mod filter;
mod get;
#[cfg(test)]
mod invariants;
mod list;
#[cfg(test)]
mod over_http;
pub(crate) mod paging;
mod params;
mod payload;
mod pipeline;
mod rollup;
mod truth;
mod users;
mod windows;

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{Method, Uri},
    response::{IntoResponse, Response},
};

use self::pipeline::Context;
pub(crate) use self::truth::{ground_truth_daily_roll_up, ground_truth_points};
use super::{
    responses::{GoogleError, not_found_html},
    state::Shared,
};
use crate::journal::attribute;

/// Larger request bodies are refused before parsing.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The Health API methods this simulator routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    GetIdentity,
    GetProfile,
    GetSettings,
    GetIrnProfile,
    ListPairedDevices,
    GetPairedDevice,
    ListDataPoints,
    GetDataPoint,
    RollUpDataPoints,
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
            Operation::GetIrnProfile => {
                "google.devicesandservices.health.v4.HealthProfileService.GetIrnProfile"
            }
            Operation::ListPairedDevices => {
                "google.devicesandservices.health.v4.PairedDevicesService.ListPairedDevices"
            }
            Operation::GetPairedDevice => {
                "google.devicesandservices.health.v4.PairedDevicesService.GetPairedDevice"
            }
            Operation::ListDataPoints => {
                "google.devicesandservices.health.v4.DataPointsService.ListDataPoints"
            }
            Operation::GetDataPoint => {
                "google.devicesandservices.health.v4.DataPointsService.GetDataPoint"
            }
            Operation::RollUpDataPoints => {
                "google.devicesandservices.health.v4.DataPointsService.RollUpDataPoints"
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
    /// `{dataPoint}` or `{pairedDevice}` of a `get`.
    pub id: Option<String>,
}

impl Route {
    /// Matches the route table (reference §2.2); `None` is Google's HTML 404.
    fn parse(method: &Method, path: &str) -> Option<Self> {
        let segments: Vec<&str> = path.strip_prefix("/v4/")?.split('/').collect();
        if segments.iter().any(|segment| segment.is_empty()) {
            return None;
        }
        let route = |operation, user: &str, data_type: Option<&str>, id: Option<&str>| {
            Some(Route {
                operation,
                user: user.to_owned(),
                data_type: data_type.map(str::to_owned),
                id: id.map(str::to_owned),
            })
        };
        use Operation as Op;
        match (method, segments.as_slice()) {
            (&Method::GET, ["users", user, "identity"]) => route(Op::GetIdentity, user, None, None),
            (&Method::GET, ["users", user, "profile"]) => route(Op::GetProfile, user, None, None),
            (&Method::GET, ["users", user, "settings"]) => route(Op::GetSettings, user, None, None),
            (&Method::GET, ["users", user, "irnProfile"]) => {
                route(Op::GetIrnProfile, user, None, None)
            }
            (&Method::GET, ["users", user, "pairedDevices"]) => {
                route(Op::ListPairedDevices, user, None, None)
            }
            (&Method::GET, ["users", user, "pairedDevices", device]) => {
                route(Op::GetPairedDevice, user, None, Some(device))
            }
            (&Method::GET, ["users", user, "dataTypes", data_type, "dataPoints"]) => {
                route(Op::ListDataPoints, user, Some(data_type), None)
            }
            // `{id}:exportExerciseTcx` is not routed.
            (&Method::GET, ["users", user, "dataTypes", data_type, "dataPoints", id])
                if !id.contains(':') =>
            {
                route(Op::GetDataPoint, user, Some(data_type), Some(id))
            }
            (&Method::POST, ["users", user, "dataTypes", data_type, "dataPoints:rollUp"]) => {
                route(Op::RollUpDataPoints, user, Some(data_type), None)
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
            ) => route(Op::DailyRollUpDataPoints, user, Some(data_type), None),
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
        Err(refused) => {
            let response = refused.error.into_response();
            return match refused.account {
                Some(account) => attribute(response, &account),
                None => response,
            };
        }
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
    let response =
        handle(&context, &route, &query, &body).unwrap_or_else(IntoResponse::into_response);
    attribute(response, &context.account)
}

/// Step 7 (validation) and the handler, after authentication, account state, quota and scope.
fn handle(
    context: &Context,
    route: &Route,
    query: &params::Query,
    body: &[u8],
) -> Result<Response, GoogleError> {
    if route.user != "me" && route.user != context.identity.health_user_id {
        return Err(GoogleError::not_found());
    }
    let user = route.user.as_str();
    let id = route.id.as_deref().unwrap_or("");
    match route.operation {
        Operation::GetIdentity => query.check_names(&[]).map(|()| users::identity(context)),
        Operation::GetProfile => query.check_names(&[]).map(|()| users::profile(context)),
        Operation::GetSettings => query.check_names(&[]).map(|()| users::settings(context)),
        Operation::GetIrnProfile => query
            .check_names(&[])
            .map(|()| users::irn_profile(context, user)),
        Operation::ListPairedDevices => users::paired_devices(context, user, query),
        Operation::GetPairedDevice => {
            query.check_names(&[])?;
            users::paired_device_by_id(context, user, id)
        }
        Operation::ListDataPoints => list::list(context, params::data_type(route)?, query),
        Operation::GetDataPoint => {
            let data_type = params::data_type(route)?;
            query.check_names(&[])?;
            get::get(context, data_type, id)
        }
        Operation::RollUpDataPoints => {
            let data_type = params::data_type(route)?;
            query.check_names(&[])?;
            rollup::roll_up(context, data_type, body)
        }
        Operation::DailyRollUpDataPoints => {
            let data_type = params::data_type(route)?;
            query.check_names(&[])?;
            daily_rollup::daily_roll_up(context, data_type, body)
        }
    }
}

/// Handler-level test helpers: a context for a frozen clock, and response bodies as JSON.
#[cfg(test)]
pub(crate) mod test_support {
    use axum::response::{IntoResponse, Response};
    use serde_json::Value;

    use super::{paging::PageTokens, pipeline::Context};
    use crate::{
        clock::SimClock,
        google::{
            accounts::{Identity, PERSONA_ACCOUNT},
            knobs::Knobs,
            persona::Persona,
        },
    };

    pub(crate) const NOW: &str = "2026-11-21T12:00:00Z";

    pub(crate) fn context(knobs: serde_json::Value) -> Context {
        context_at(NOW, knobs)
    }

    /// [`context`] with the clock frozen at `now` (RFC 3339).
    pub(crate) fn context_at(now: &str, knobs: serde_json::Value) -> Context {
        let clock = SimClock::starting_at(now.parse().unwrap());
        clock.freeze(true);
        let knobs = Knobs::default().merged(&knobs).unwrap();
        let persona = Persona::new(42, clock).with_generation(knobs.generation());
        Context {
            account: PERSONA_ACCOUNT.to_owned(),
            identity: Identity::of(&persona, PERSONA_ACCOUNT),
            persona,
            knobs,
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

    /// A `list` call: (status, body).
    pub(crate) async fn list(context: &Context, data_type: &str, query: &str) -> (u16, Value) {
        let data_type = super::catalogue::find(data_type).unwrap();
        let response = super::list::list(
            context,
            data_type,
            &super::params::Query::parse(Some(query)),
        )
        .unwrap_or_else(IntoResponse::into_response);
        body(response).await
    }

    /// All points of a `list` query, following page tokens: (points, pages).
    pub(crate) async fn list_all(
        context: &Context,
        data_type: &str,
        query: &str,
    ) -> (Vec<Value>, usize) {
        let (mut points, mut pages, mut token) = (Vec::new(), 0, None::<String>);
        loop {
            let paged = match &token {
                Some(token) => format!("{query}&pageToken={token}"),
                None => query.to_owned(),
            };
            let (status, page) = list(context, data_type, &paged).await;
            assert_eq!(status, 200, "{page}");
            points.extend(page["dataPoints"].as_array().cloned().unwrap_or_default());
            pages += 1;
            match page["nextPageToken"].as_str() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return (points, pages),
            }
        }
    }

    /// `filter=<text>`, URL-encoded.
    pub(crate) fn filter(text: &str) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", text)
            .finish()
    }

    /// `ErrorInfo.metadata.detailedReasons` of a Google error body (filter errors).
    pub(crate) fn detailed_reasons(body: &Value) -> Option<&str> {
        body["error"]["details"].as_array().and_then(|details| {
            details
                .iter()
                .find_map(|detail| detail["metadata"]["detailedReasons"].as_str())
        })
    }

    /// The `(field, description)` of every `BadRequest` field violation of a Google error body.
    pub(crate) fn violations(body: &Value) -> Vec<(String, String)> {
        let text = |value: &Value| value.as_str().unwrap_or("").to_owned();
        body["error"]["details"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|detail| detail["fieldViolations"].as_array())
            .flatten()
            .map(|violation| (text(&violation["field"]), text(&violation["description"])))
            .collect()
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
        let operation =
            |method: Method, path: &str| Route::parse(&method, path).map(|r| r.operation);
        assert_eq!(
            operation(
                Method::POST,
                "/v4/users/me/dataTypes/steps/dataPoints:rollUp"
            ),
            Some(Operation::RollUpDataPoints)
        );
        let get =
            Route::parse(&Method::GET, "/v4/users/me/dataTypes/sleep/dataPoints/123").unwrap();
        assert_eq!(
            (get.operation, get.id.as_deref()),
            (Operation::GetDataPoint, Some("123"))
        );
        assert!(
            operation(
                Method::GET,
                "/v4/users/me/dataTypes/exercise/dataPoints/1:exportExerciseTcx"
            )
            .is_none()
        );
        assert_eq!(
            operation(Method::GET, "/v4/users/me/pairedDevices"),
            Some(Operation::ListPairedDevices)
        );
        assert_eq!(
            operation(Method::GET, "/v4/users/me/pairedDevices/1"),
            Some(Operation::GetPairedDevice)
        );
        assert_eq!(
            operation(Method::GET, "/v4/users/me/irnProfile"),
            Some(Operation::GetIrnProfile)
        );
        assert!(
            operation(
                Method::GET,
                "/v4/users/me/dataTypes/steps/dataPoints:rollUp"
            )
            .is_none()
        );
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
