//! The data point and user methods over HTTP: routing, authentication and the scope check of
//! the pipeline (reference §8.3) apply to `rollUp`, `get`, `pairedDevices` and `irnProfile` as
//! to every other method.

use serde_json::{Value, json};

use super::test_support::NOW;
use crate::{
    clock::SimClock,
    google::{GoogleSim, GoogleSimConfig},
};

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const PREFIX: &str = "https://www.googleapis.com/auth/googlehealth.";

/// An access token for `scopes` (short names such as `settings.readonly`).
async fn connect(sim: &GoogleSim, http: &reqwest::Client, scopes: &[&str]) -> String {
    let config = GoogleSimConfig::local(REDIRECT_URI);
    let client = &config.clients[0];
    let scope: Vec<String> = scopes.iter().map(|s| format!("{PREFIX}{s}")).collect();
    let consent: Value = http
        .post(sim.base_url().join("__admin/authorize").unwrap())
        .json(&json!({
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": scope.join(" "),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tokens: Value = http
        .post(sim.base_url().join("token").unwrap())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", consent["code"].as_str().unwrap()),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_new_methods_run_through_the_pipeline() {
    let clock = SimClock::starting_at(NOW.parse().unwrap());
    clock.freeze(true);
    let config = GoogleSimConfig::local(REDIRECT_URI);
    let sim = GoogleSim::start("127.0.0.1:0".parse().unwrap(), config, clock)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let activity = connect(&sim, &http, &["activity_and_fitness.readonly"]).await;
    let everything = connect(
        &sim,
        &http,
        &[
            "activity_and_fitness.readonly",
            "health_metrics_and_measurements.readonly",
            "settings.readonly",
            "irn.readonly",
        ],
    )
    .await;
    let url = |path: &str| sim.base_url().join(path).unwrap();
    let status = |token: &str, path: &str| {
        let request = http.get(url(path)).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };

    assert_eq!(status(&everything, "v4/users/me/pairedDevices").await, 200);
    assert_eq!(status(&activity, "v4/users/me/pairedDevices").await, 403);
    assert_eq!(
        status(&everything, "v4/users/me/pairedDevices/1").await,
        200
    );
    assert_eq!(
        status(&everything, "v4/users/me/pairedDevices/9").await,
        404
    );
    assert_eq!(status(&everything, "v4/users/me/irnProfile").await, 200);
    assert_eq!(status(&activity, "v4/users/me/irnProfile").await, 403);
    let anonymous = http
        .get(url("v4/users/me/irnProfile"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let weight = "v4/users/me/dataTypes/weight/dataPoints/1234567890";
    assert_eq!(status(&activity, weight).await, 403);
    assert_eq!(status(&everything, weight).await, 404);
    assert_eq!(
        status(&everything, "v4/users/me/dataTypes/steps/dataPoints:rollUp").await,
        404,
        "rollUp is a POST"
    );

    let roll_up = http
        .post(url("v4/users/me/dataTypes/heart-rate/dataPoints:rollUp"))
        .bearer_auth(&everything)
        .json(&json!({
            "range": {"startTime": "2026-11-20T17:00:00Z", "endTime": "2026-11-20T18:00:00Z"},
            "windowSize": "600s",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(roll_up.status(), 200);
    let page: Value = roll_up.json().await.unwrap();
    let windows = page["rollupDataPoints"].as_array().unwrap();
    assert_eq!(windows.len(), 6);
    assert_eq!(windows[0]["startTime"], "2026-11-20T17:50:00Z");
    assert!(windows[0]["heartRate"]["beatsPerMinuteAvg"].is_number());
    sim.shutdown().await;
}

#[tokio::test]
async fn withdrawn_scopes_answer_403_in_the_shape_the_knob_asks_for() {
    let clock = SimClock::starting_at(NOW.parse().unwrap());
    clock.freeze(true);
    let mut config = GoogleSimConfig::local(REDIRECT_URI);
    config.knobs = config
        .knobs
        .merged(&json!({"insufficient_scope_types": ["sleep"], "scope_error_shape": "oauth"}))
        .unwrap();
    let sim = GoogleSim::start("127.0.0.1:0".parse().unwrap(), config, clock)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let token = connect(
        &sim,
        &http,
        &["activity_and_fitness.readonly", "sleep.readonly"],
    )
    .await;
    let get = |path: &str| {
        let request = http
            .get(sim.base_url().join(path).unwrap())
            .bearer_auth(&token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let challenge = response
                .headers()
                .get("www-authenticate")
                .map(|value| value.to_str().unwrap().to_owned());
            let body: Value = response.json().await.unwrap();
            (status, challenge, body)
        }
    };
    let sleep = "v4/users/me/dataTypes/sleep/dataPoints";
    let (status, challenge, body) = get(sleep).await;
    assert_eq!(status, 403);
    assert_eq!(
        challenge.as_deref(),
        Some(&*format!(
            r#"Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="{PREFIX}sleep.readonly""#
        ))
    );
    assert_eq!(
        body,
        json!({"error": "insufficient_scope", "error_description": "Request had insufficient authentication scopes."})
    );
    assert_eq!(
        get("v4/users/me/dataTypes/steps/dataPoints?pageSize=1")
            .await
            .0,
        200,
        "other types keep working"
    );
    // A scope left out at consent answers in the same shape.
    let (status, challenge, body) = get("v4/users/me/dataTypes/heart-rate/dataPoints").await;
    assert_eq!(status, 403);
    assert!(challenge.unwrap().ends_with(&format!(
        r#"scope="{PREFIX}health_metrics_and_measurements.readonly""#
    )));
    assert_eq!(body["error"], "insufficient_scope");

    http.post(sim.base_url().join("__admin/knobs").unwrap())
        .json(&json!({"scope_error_shape": "aip193"}))
        .send()
        .await
        .unwrap();
    let (status, _, body) = get(sleep).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(
        body["error"]["details"][0]["reason"],
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    );
    http.post(sim.base_url().join("__admin/knobs").unwrap())
        .json(&json!({"insufficient_scope_types": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&format!("{sleep}?pageSize=1")).await.0, 200);
    sim.shutdown().await;
}
