//! Fault injection: rules that make the next matching requests fail in a chosen way
//! (a status with a body, a malformed body, a delay), so tests can reproduce outages.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use regex::Regex;
use serde::{Deserialize, Serialize};

/// One rule, as posted to `POST /__admin/faults`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct FaultSpec {
    /// HTTP method to match; any method when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Regular expression matched against the request path.
    pub path: String,
    /// Status to answer with. When absent the request is only delayed and then served normally.
    #[serde(default)]
    pub status: Option<u16>,
    /// Body to answer with; when absent a Google-style JSON error for `status` is used.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    /// How many matching requests the rule applies to.
    #[serde(default = "one")]
    pub times: u32,
    /// How many matching requests to let through before the rule starts applying.
    #[serde(default)]
    pub skip: u32,
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}

#[derive(Debug)]
struct FaultRule {
    spec: FaultSpec,
    path: Regex,
}

#[derive(Clone, Debug, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<FaultRule>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid path pattern {pattern:?}: {source}")]
pub struct InvalidFault {
    pattern: String,
    source: regex::Error,
}

enum Action {
    Pass,
    Delay(Duration),
    Respond(Duration, FaultSpec),
}

impl Faults {
    pub fn add(&self, spec: FaultSpec) -> Result<(), InvalidFault> {
        let path = Regex::new(&spec.path).map_err(|source| InvalidFault {
            pattern: spec.path.clone(),
            source,
        })?;
        self.lock().push(FaultRule { spec, path });
        Ok(())
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    fn take(&self, method: &str, path: &str) -> Action {
        let mut rules = self.lock();
        let Some(index) = rules.iter().position(|rule| {
            rule.spec.times > 0
                && rule
                    .spec
                    .method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && rule.path.is_match(path)
        }) else {
            return Action::Pass;
        };
        let rule = &mut rules[index];
        if rule.spec.skip > 0 {
            rule.spec.skip -= 1;
            return Action::Pass;
        }
        rule.spec.times -= 1;
        let delay = Duration::from_millis(rule.spec.delay_ms);
        let action = match rule.spec.status {
            Some(_) => Action::Respond(delay, rule.spec.clone()),
            None => Action::Delay(delay),
        };
        rules.retain(|rule| rule.spec.times > 0);
        action
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        self.rules
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The canonical Google status name and message for an HTTP status, as Google's front end
/// words them (`reference/google-health-api.md` §3.3).
fn google_status(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        500 => ("INTERNAL", "Internal error encountered."),
        502 => ("UNAVAILABLE", "Bad Gateway"),
        503 => ("UNAVAILABLE", "The service is currently unavailable."),
        504 => ("DEADLINE_EXCEEDED", "The request timed out."),
        429 => ("RESOURCE_EXHAUSTED", "Quota exceeded."),
        _ => ("UNKNOWN", "Injected fault."),
    }
}

fn fault_response(spec: FaultSpec) -> Response {
    let status = spec
        .status
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (body, content_type) = match spec.body {
        Some(body) => (
            body,
            spec.content_type
                .unwrap_or_else(|| "application/json; charset=UTF-8".to_owned()),
        ),
        None => {
            let (name, message) = google_status(status);
            let body = serde_json::json!({
                "error": {"code": status.as_u16(), "message": message, "status": name}
            });
            (
                body.to_string(),
                "application/json; charset=UTF-8".to_owned(),
            )
        }
    };
    let mut response = (status, body).into_response();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// Middleware that applies the first matching rule before the request reaches its handler.
pub async fn inject(State(faults): State<Faults>, request: Request<Body>, next: Next) -> Response {
    match faults.take(request.method().as_str(), request.uri().path()) {
        Action::Pass => next.run(request).await,
        Action::Delay(delay) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Action::Respond(delay, spec) => {
            tokio::time::sleep(delay).await;
            fault_response(spec)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> FaultSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_rule_skips_then_applies_the_given_number_of_times() {
        let faults = Faults::default();
        faults
            .add(spec(serde_json::json!({"method": "GET", "path": "^/v4/", "status": 500, "times": 2, "skip": 1})))
            .unwrap();
        assert!(matches!(faults.take("GET", "/v4/x"), Action::Pass));
        assert!(matches!(faults.take("POST", "/v4/x"), Action::Pass));
        assert!(matches!(faults.take("GET", "/other"), Action::Pass));
        assert!(matches!(faults.take("GET", "/v4/x"), Action::Respond(..)));
        assert!(matches!(faults.take("GET", "/v4/x"), Action::Respond(..)));
        assert!(matches!(faults.take("GET", "/v4/x"), Action::Pass));
    }

    #[test]
    fn an_invalid_pattern_is_rejected() {
        let faults = Faults::default();
        assert!(
            faults
                .add(spec(serde_json::json!({"path": "(", "status": 500})))
                .is_err()
        );
    }
}
