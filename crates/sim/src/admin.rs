//! The control endpoints every simulator shares: clock, request journal and fault injection.
//! Each simulator adds its own `POST /__admin/reset` and state-specific endpoints.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::{
    clock::SimClock,
    faults::{FaultSpec, Faults},
    journal::{self, Journal},
    wire::{self, WireMeter},
};

/// What every simulator carries besides its own state.
#[derive(Clone, Debug, Default)]
pub struct Instruments {
    pub clock: SimClock,
    pub journal: Journal,
    pub faults: Faults,
    pub wire: WireMeter,
}

impl Instruments {
    pub fn new(clock: SimClock) -> Self {
        Self {
            clock,
            journal: Journal::default(),
            faults: Faults::default(),
            wire: WireMeter::default(),
        }
    }

    /// Wraps a simulator's routes with the wire meter (innermost), fault injection and the
    /// journal (outermost), and adds the shared `/__admin/{clock,journal,faults}` endpoints,
    /// which are neither journaled nor subject to faults.
    pub fn instrument(&self, routes: Router) -> Router {
        let routes = routes
            .layer(middleware::from_fn_with_state(
                self.wire.clone(),
                wire::measure,
            ))
            .layer(middleware::from_fn_with_state(
                self.faults.clone(),
                crate::faults::inject,
            ))
            .layer(middleware::from_fn_with_state(
                (self.journal.clone(), self.clock.clone()),
                journal::record,
            ));
        routes.merge(self.admin_routes())
    }

    fn admin_routes(&self) -> Router {
        Router::new()
            .route("/__admin/clock", get(read_clock).post(set_clock))
            .route("/__admin/journal", get(read_journal).delete(clear_journal))
            .route("/__admin/faults", post(add_faults).delete(clear_faults))
            .with_state(self.clone())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    now: Option<Timestamp>,
    /// A duration such as `"3600s"` or `"2h"`.
    advance: Option<String>,
    freeze: Option<bool>,
}

async fn read_clock(State(inst): State<Instruments>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "now": inst.clock.now() }))
}

async fn set_clock(State(inst): State<Instruments>, Json(change): Json<ClockChange>) -> Response {
    if let Some(now) = change.now {
        inst.clock.set(now);
    }
    if let Some(advance) = change.advance {
        let Ok(by) = parse_duration(&advance) else {
            return (
                StatusCode::BAD_REQUEST,
                format!("advance must be a duration such as \"3600s\", got {advance:?}"),
            )
                .into_response();
        };
        inst.clock.advance(by);
    }
    if let Some(frozen) = change.freeze {
        inst.clock.freeze(frozen);
    }
    read_clock(State(inst)).await.into_response()
}

fn parse_duration(text: &str) -> Result<SignedDuration, jiff::Error> {
    match text.strip_suffix('s').and_then(|n| n.parse::<i64>().ok()) {
        Some(seconds) => Ok(SignedDuration::from_secs(seconds)),
        None => text.parse(),
    }
}

async fn read_journal(State(inst): State<Instruments>) -> Response {
    Json(inst.journal.entries()).into_response()
}

async fn clear_journal(State(inst): State<Instruments>) -> StatusCode {
    inst.journal.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(FaultSpec),
    Many(Vec<FaultSpec>),
}

async fn add_faults(State(inst): State<Instruments>, Json(specs): Json<OneOrMany>) -> Response {
    let specs = match specs {
        OneOrMany::One(spec) => vec![spec],
        OneOrMany::Many(specs) => specs,
    };
    for spec in specs {
        if let Err(error) = inst.faults.add(spec) {
            return (StatusCode::BAD_REQUEST, error.to_string()).into_response();
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(inst): State<Instruments>) -> StatusCode {
    inst.faults.clear();
    StatusCode::NO_CONTENT
}
